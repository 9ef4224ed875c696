"""How long from an edit to its diagnostics in `modelspec lsp`? A real client
(tests/lsp_client.py: pytest-lsp on pygls) starts the server as a subprocess,
opens a generated spec of 20 and of 1,000 layers and changes one value again
and again; each change is timed from sending `didChange` to receiving the
`publishDiagnostics` of that version. Measured twice: with the server's
debounce delay (as an editor sees it) and with the delay set to 0 (the work
alone). Writes the "lsp" section of docs/benchmarks.md.

    python benchmarks/lsp_latency.py [--repeat 21]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

from lsprotocol import types

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
from _report import machine, write_section
from bench_check import chain_spec
from lsp_client import SERVER, SpecClient, initialize, make_client
from modelspec.lsp.server import DEBOUNCE_ENV, DEBOUNCE_MS

SIZES = (20, 1000)
TARGETS_MS = {20: 50, 1000: 300}


async def _session(text: str, debounce_ms: int, repeat: int) -> list[float]:
    """Seconds from each change to its diagnostics, in one server process."""
    client: SpecClient = make_client()
    env = dict(os.environ, **{DEBOUNCE_ENV: str(debounce_ms)})
    await client.start_io(*SERVER, env=env)
    await client.initialize_session(initialize())
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "gen.toml"
        path.write_text(text)
        uri = client.open(path)
        diags = await client.diagnostics_for(uri, 1)
        assert diags == [], diags
        line0 = text.split("\n").index("units = 16")
        times = []
        for k in range(repeat + 1):  # the first change warms the caches
            value = "units = 17" if k % 2 == 0 else "units = 16"
            edit = types.TextEdit(
                types.Range(types.Position(line0, 0), types.Position(line0, 10)), value
            )
            start = time.perf_counter()
            version = client.edit(uri, edit)
            diags = await client.diagnostics_for(uri, version)
            times.append(time.perf_counter() - start)
            assert diags == [], diags
    await client.shutdown_session()
    await client.stop()
    return times[1:]


def _check_in_process(text: str, repeat: int) -> float:
    from modelspec.check import check_text

    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        check_text(text)
        times.append(time.perf_counter() - t)
    return statistics.median(times)


def _ms(seconds: float) -> str:
    return f"{seconds * 1000:.0f} ms" if seconds >= 0.01 else f"{seconds * 1000:.1f} ms"


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeat", type=int, default=21)
    args = ap.parse_args()
    load_before = os.getloadavg()
    rows = []
    for n in SIZES:
        text = chain_spec(n)
        plain = asyncio.run(_session(text, 0, args.repeat))
        debounced = asyncio.run(_session(text, DEBOUNCE_MS, args.repeat))
        check = _check_in_process(text, max(3, args.repeat // 3))
        p90 = sorted(plain)[int(0.9 * (len(plain) - 1))]
        rows.append(
            f"| {n} | **{_ms(statistics.median(plain))}** | {_ms(p90)} | "
            f"{_ms(statistics.median(debounced))} | {_ms(check)} | "
            f"< {TARGETS_MS[n]} ms |"
        )
        print(rows[-1], flush=True)
    load_after = os.getloadavg()
    body = (
        "## Language server (benchmarks/lsp_latency.py)\n\n"
        f"Machine: {machine()}; load average {load_before[0]:.1f} before and "
        f"{load_after[0]:.1f} after (other processes shared the cores). "
        f"{args.repeat} changes per row, each one value of a generated "
        "conv/batch-norm chain (benchmarks/bench_check.py's `chain_spec`), timed "
        "from sending `didChange` to receiving the `publishDiagnostics` of that "
        "version, through a real client and the server's stdio. Without the "
        f"debounce the server's delay is set to 0; with it, the default "
        f"{DEBOUNCE_MS} ms delay after the last keystroke is included. The "
        "server re-parses only the table an edit changed (modelspec/lsp/"
        "incremental.py) and runs every pass of the checker on the whole spec; "
        "`check_text` in process (parse included, as `check` runs) is the "
        "time without that reuse.\n\n"
        "| layers | change -> diagnostics (no debounce), median | p90 | "
        f"with the {DEBOUNCE_MS} ms debounce | `check_text` in process | target |\n"
        "| ---: | ---: | ---: | ---: | ---: | ---: |\n" + "\n".join(rows)
    )
    print(body)
    write_section("lsp", body)


if __name__ == "__main__":
    main()
