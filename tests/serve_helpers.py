"""A real `ocr-service serve` for tests: started on a free 127.0.0.1 port, stopped by its pid."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Iterator

import httpx

from pg import free_port

ROOT = Path(__file__).resolve().parents[1]


def wait_until(check, timeout: float = 30.0, what: str = "condition"):
    """``check()``'s first truthy result within ``timeout`` seconds; AssertionError naming ``what`` after."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        got = check()
        if got:
            return got
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


@contextlib.contextmanager
def running_serve(workdir: Path, data: Path, **env: str) -> Iterator[str]:
    """``ocr-service serve`` on the data dir ``data`` (extra ``OCR_SERVICE_*`` variables in ``env``),
    its output in ``workdir/server.log``; yields its URL once /health answers, and stops it by its pid
    (SIGTERM, then SIGKILL after 20 s)."""
    port = free_port()
    full = {**os.environ, "PYTHONPATH": str(ROOT), "OCR_SERVICE_DATA_DIR": str(data), **env}
    log_path = workdir / "server.log"
    with open(log_path, "wb") as log:
        proc = subprocess.Popen([sys.executable, "-m", "ocr_service.cli", "serve", "--port", str(port)], cwd=workdir,
                                env=full, stdout=log, stderr=subprocess.STDOUT)
        url = f"http://127.0.0.1:{port}"

        def healthy() -> bool:
            if proc.poll() is not None:
                raise AssertionError(f"serve exited with {proc.returncode}: {log_path.read_text()}")
            try:
                return httpx.get(url + "/health", timeout=1).status_code == 200
            except httpx.TransportError:
                return False

        try:
            wait_until(healthy, 60, "the server's /health")
            yield url
        finally:
            os.kill(proc.pid, signal.SIGTERM)
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.kill(proc.pid, signal.SIGKILL)
                proc.wait()
