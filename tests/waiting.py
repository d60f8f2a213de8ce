"""Waiting for a server the tests started: one loop instead of one per test file."""
from __future__ import annotations

import subprocess
import time
from typing import Callable

import httpx


def wait_until_up(url: str, seconds: float, process: subprocess.Popen | None = None,
                  ok: Callable[[httpx.Response], bool] = lambda r: r.status_code == 200,
                  log: Callable[[], str] = lambda: "") -> None:
    """Poll ``url`` until ``ok`` holds; fail with ``log()`` if ``process`` exits or time runs out."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            if ok(httpx.get(url, timeout=2)):
                return
        except httpx.HTTPError:
            pass
        if process is not None and process.poll() is not None:
            raise RuntimeError(f"the server behind {url} exited (code {process.returncode}): {log()}")
        time.sleep(0.2)
    raise RuntimeError(f"{url} did not answer within {seconds:.0f} s: {log()}")
