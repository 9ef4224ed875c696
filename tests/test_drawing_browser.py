"""The SVG opens in a real browser: headless Chromium (Debian's `chromium`
package) screenshots it, and the screenshot shows the drawing."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

from PIL import Image

from modelspec.check import check_file
from modelspec.drawing import render

ROOT = Path(__file__).resolve().parent.parent


def _chromium() -> str:
    for name in ("chromium", "chromium-browser", "google-chrome"):
        path = shutil.which(name)
        if path:
            return path
    raise AssertionError("no chromium binary: apt-get install -y chromium")


def screenshot(svg_path: Path, out: Path, profile: Path, size=(1200, 1600)) -> Image:
    cmd = [
        _chromium(),
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--hide-scrollbars",
        f"--user-data-dir={profile}",
        f"--screenshot={out}",
        f"--window-size={size[0]},{size[1]}",
        svg_path.resolve().as_uri(),
    ]
    subprocess.run(cmd, capture_output=True, timeout=180, check=False)
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n", "chromium wrote no PNG"
    return Image.open(out).convert("RGB")


def _count(img: Image, test) -> int:
    return sum(1 for px in img.get_flattened_data() if test(px))


def test_resnet_svg_renders_in_chromium(tmp_path):
    svg = tmp_path / "resnet.svg"
    svg.write_text(render(check_file(ROOT / "specs/cifar10_resnet.toml"), "svg"))
    img = screenshot(svg, tmp_path / "shot.png", tmp_path / "profile")
    assert img.size == (1200, 1600)
    ink = _count(img, lambda p: sum(p) < 600)  # text, borders, edges
    assert ink > 5000
    # The residual edges are drawn in orange (#e07a1f).
    orange = _count(img, lambda p: p[0] > 200 and 100 < p[1] < 150 and p[2] < 70)
    assert orange > 200


def test_broken_svg_shows_red_in_chromium(tmp_path):
    spec = ROOT / "specs/broken/cifar10_seed000_as_written.toml"
    svg = tmp_path / "broken.svg"
    svg.write_text(render(check_file(spec), "svg"))
    img = screenshot(svg, tmp_path / "shot.png", tmp_path / "profile")
    red = _count(img, lambda p: p[0] > 150 and p[1] < 90 and p[2] < 90)
    assert red > 300  # the red border and the diagnostic text of conv4
