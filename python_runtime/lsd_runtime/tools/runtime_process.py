"""A real ``lsd-runtime serve`` process for tests and tools."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from ..server.state_file import STATE_FILE, read_state


class RuntimeProcess:
    """Starts ``python -m lsd_runtime serve`` on a free loopback port in a temporary
    state directory and stops it on exit. ``endpoint``, ``token`` and ``pid`` come from
    the state file the runtime writes once it is ready."""

    def __init__(
        self,
        args: list[str] | None = None,
        env: dict[str, str] | None = None,
        state_dir: Path | None = None,
        startup_timeout: float = 60.0,
        endpoint: str | None = "tcp://127.0.0.1:0",  # None: the runtime's default (ipc:// on POSIX)
    ):
        self.args = list(args or [])
        self.listen = endpoint
        self.env = env or {}
        self._own_dir = state_dir is None
        self.state_dir = state_dir or Path(tempfile.mkdtemp(prefix="lsd-test-"))
        self.startup_timeout = startup_timeout
        self.proc: subprocess.Popen[bytes] | None = None
        self.endpoint = ""
        self.token = ""
        self.server_key = ""
        self.log_path = self.state_dir / "runtime.log"

    def start(self) -> RuntimeProcess:
        self.state_dir.mkdir(mode=0o700, parents=True, exist_ok=True)  # the log goes there too
        state = self.state_dir / STATE_FILE
        if state.exists():
            state.unlink()
        env = dict(os.environ, PYTHONUNBUFFERED="1", **self.env)
        cmd = [
            sys.executable,
            "-m",
            "lsd_runtime",
            "serve",
            *(["--endpoint", self.listen] if self.listen else []),
            "--state-dir",
            str(self.state_dir),
            *self.args,
        ]
        self._log = open(self.log_path, "ab")  # noqa: SIM115 - lives as long as the process
        self.proc = subprocess.Popen(cmd, stdout=self._log, stderr=subprocess.STDOUT, env=env)
        deadline = time.monotonic() + self.startup_timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"runtime exited with {self.proc.returncode}:\n{self.log()}")
            if state.exists():
                info = read_state(self.state_dir)
                if info.pid == self.proc.pid:
                    self.endpoint, self.token, self.server_key = info.endpoint, info.token, info.server_key
                    return self
            time.sleep(0.05)
        self.stop()
        raise TimeoutError(f"runtime did not start within {self.startup_timeout} s:\n{self.log()}")

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    def log(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")[-4000:]
        except FileNotFoundError:
            return ""

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 10.0) -> int | None:
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self._log.close()
        return self.proc.returncode

    def __enter__(self) -> RuntimeProcess:
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.stop()
        if self._own_dir:
            shutil.rmtree(self.state_dir, ignore_errors=True)
