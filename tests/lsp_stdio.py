"""A bare Language Server Protocol client over a subprocess's stdin/stdout.

The editor-snippet tests (tests/test_editors.py) start the server with exactly
the command an editor configuration names and speak to it with this client:
Content-Length framing and JSON-RPC written out here, independent of pygls, so a
framing or start-up fault in the server cannot be hidden by a client library
that shares its code. Every wait has a deadline; `close()` kills the server's
whole process group, so nothing outlives a failing test.
"""

from __future__ import annotations

import contextlib
import json
import os
import queue
import signal
import subprocess
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

Message = dict[str, Any]


def encode(message: Message) -> bytes:
    body = json.dumps(message, separators=(",", ":")).encode("utf-8")
    return b"Content-Length: %d\r\n\r\n" % len(body) + body


def read_message(stream) -> Message | None:
    """One framed message from a binary stream, None at end of stream."""
    length = None
    while True:
        line = stream.readline()
        if not line:
            return None
        line = line.strip()
        if not line:
            break
        name, _, value = line.decode("ascii").partition(":")
        if name.lower() == "content-length":
            length = int(value)
    if length is None:
        raise ValueError("LSP header block without Content-Length")
    body = stream.read(length)
    if len(body) != length:
        return None
    return json.loads(body)


class StdioClient:
    """Start `argv` and talk LSP to it; use as a context manager."""

    def __init__(self, argv: list[str], *, cwd: Path, env: dict[str, str]):
        # Closed by close(): the file outlives __init__ on purpose.
        self.stderr = tempfile.TemporaryFile()  # noqa: SIM115
        self.proc = subprocess.Popen(
            argv,
            cwd=cwd,
            env=env,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self.stderr,
            start_new_session=True,
        )
        self.inbox: queue.Queue[Message | None] = queue.Queue()
        self.notifications: list[Message] = []
        self._next_id = 0
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        while True:
            try:
                message = read_message(self.proc.stdout)
            except (ValueError, OSError) as exc:
                message = {"client_error": repr(exc)}
            self.inbox.put(message)
            if message is None or "client_error" in message:
                return

    def send(self, message: Message) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write(encode({"jsonrpc": "2.0", **message}))
        self.proc.stdin.flush()

    def notify(self, method: str, params: Any = None) -> None:
        self.send({"method": method, "params": params})

    def _next(self, deadline: float) -> Message:
        left = deadline - time.monotonic()
        try:
            message = self.inbox.get(timeout=max(left, 0))
        except queue.Empty:
            raise TimeoutError(self.describe("no message in time")) from None
        if message is None or "client_error" in message:
            raise ConnectionError(self.describe(f"stream ended: {message}"))
        return message

    def request(self, method: str, params: Any = None, timeout: float = 30) -> Any:
        self._next_id += 1
        rid = self._next_id
        self.send({"id": rid, "method": method, "params": params})
        deadline = time.monotonic() + timeout
        while True:
            message = self._next(deadline)
            if message.get("id") == rid and "method" not in message:
                if "error" in message:
                    raise RuntimeError(f"{method}: {message['error']}")
                return message.get("result")
            self._handle(message)

    def _handle(self, message: Message) -> None:
        if "id" in message and "method" in message:
            # A request from the server (registerCapability, configuration):
            # answer it as an editor without those features would.
            self.send({"id": message["id"], "result": None})
        elif "method" in message:
            self.notifications.append(message)

    def wait_for(self, pred: Callable[[Message], bool], timeout: float = 30) -> Message:
        """The first notification (already received or coming) matching pred."""
        deadline = time.monotonic() + timeout
        seen = 0
        while True:
            for message in self.notifications[seen:]:
                if pred(message):
                    return message
            seen = len(self.notifications)
            self._handle(self._next(deadline))

    def describe(self, what: str) -> str:
        self.stderr.seek(0)
        tail = self.stderr.read()[-2000:].decode("utf-8", "replace")
        return f"{what}; server exit code {self.proc.poll()}; stderr:\n{tail}"

    def close(self) -> None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait(timeout=30)
        for stream in (self.proc.stdin, self.proc.stdout):
            if stream is not None:
                stream.close()
        self.stderr.close()

    def __enter__(self) -> StdioClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
