"""`--judge_model embedded`: a real OpenAI-compatible llama.cpp server (llama-cpp-python) on 127.0.0.1
serving the embedded SmolLM2 GGUF, started for the run and stopped on exit (also on errors)."""

from __future__ import annotations

import ctypes
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

from evalsuite.errors import EvalsuiteError
from evalsuite.results.store import loads_bounded

READY_TIMEOUT_S = 180.0
MAX_MODELS_BYTES = 64 * 1024  # a /v1/models listing of one model is a few hundred bytes


def free_port() -> int:
    """A TCP port free on 127.0.0.1 right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _die_with_parent() -> None:
    """Linux: the server gets SIGTERM when evalsuite dies (even by kill -9)."""
    try:
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass


class EmbeddedJudgeServer:
    """Context manager: `with EmbeddedJudgeServer(gguf) as server: server.base_url`."""

    def __init__(self, gguf_path: Path, *, n_ctx: int = 4096, ready_timeout_s: float = READY_TIMEOUT_S):
        self.gguf_path = Path(gguf_path)
        self.n_ctx = n_ctx
        self.ready_timeout_s = ready_timeout_s
        self.port = 0
        self.process: subprocess.Popen | None = None
        self._log = None

    @property
    def model_name(self) -> str:
        """The judge model name used in requests, caches and results."""
        return f"embedded-{self.gguf_path.stem}"

    @property
    def log_path(self) -> Path | None:
        """The server's log (its HTTP access lines included) while it runs."""
        return Path(self._log.name) if self._log is not None else None

    @property
    def base_url(self) -> str:
        """The /v1 base URL for an OpenAI client."""
        return f"http://127.0.0.1:{self.port}/v1"

    def start(self) -> "EmbeddedJudgeServer":
        """Start llama_cpp.server and wait until /v1/models answers."""
        try:
            import llama_cpp.server  # noqa: F401  (checks the optional dependency is installed)
        except ImportError as err:
            raise EvalsuiteError(
                "--judge_model embedded needs llama-cpp-python[server]: pip install 'llama-cpp-python[server]'"
            ) from err
        self.port = free_port()
        self._log = tempfile.NamedTemporaryFile(prefix="evalsuite-llama-", suffix=".log", delete=False)
        command = [
            sys.executable, "-m", "llama_cpp.server",
            "--model", str(self.gguf_path),
            "--model_alias", self.model_name,
            "--host", "127.0.0.1",
            "--port", str(self.port),
            "--n_ctx", str(self.n_ctx),
            # half the cores: llama.cpp threads spin at barriers, and oversubscribed cores (another
            # torch or llama.cpp process busy beside it) make every token take seconds
            "--n_threads", str(max(1, min((os.cpu_count() or 2) // 2, 8))),
            "--verbose", "False",
        ]
        preexec = _die_with_parent if sys.platform.startswith("linux") else None
        self.process = subprocess.Popen(
            command, stdout=self._log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
            preexec_fn=preexec,
        )
        try:
            self._wait_ready()
        except BaseException:
            self.stop()
            raise
        return self

    def _wait_ready(self) -> None:
        deadline = time.monotonic() + self.ready_timeout_s
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise EvalsuiteError(f"the llama.cpp judge server exited ({self.process.returncode}): {self._log_tail()}")
            if self._lists_models():
                return
            time.sleep(0.25)
        raise EvalsuiteError(f"the llama.cpp judge server was not ready after {self.ready_timeout_s:.0f} s")

    def _lists_models(self) -> bool:
        """Whether GET /v1/models answers 200 with a model list. Read bounded, as any reply: the port
        was free a moment before the server bound it, nothing more."""
        try:
            with urllib.request.urlopen(f"{self.base_url}/models", timeout=2) as response:
                body = response.read(MAX_MODELS_BYTES + 1)
                if response.status != 200 or len(body) > MAX_MODELS_BYTES:
                    return False
                listing = loads_bounded(body)
        except (urllib.error.URLError, OSError, ValueError):  # loads_bounded's UnreadableFile is a ValueError
            return False
        return isinstance(listing, dict) and isinstance(listing.get("data"), list)

    def _log_tail(self, chars: int = 400) -> str:
        try:
            with open(self._log.name, "rb") as handle:
                handle.seek(max(0, os.fstat(handle.fileno()).st_size - 4 * chars))
                return handle.read().decode("utf-8", errors="replace")[-chars:].strip()
        except (OSError, AttributeError):
            return ""

    def stop(self) -> None:
        """Terminate the server (kill after 10 s) and remove its log."""
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)
        if self._log is not None:
            self._log.close()
            try:
                os.unlink(self._log.name)
            except OSError:
                pass
            self._log = None

    def __enter__(self) -> "EmbeddedJudgeServer":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()
