"""Real processes for the demo's tests: the API (``python -m api``) and the demo (``python -m demo_app``).

Each gets a free port picked by binding port 0, its own SQLite file, and is
stopped by the test that started it. Nothing here is a stand-in: the demo
talks to the same API a student deploys.
"""

from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import requests

REPO = Path(__file__).resolve().parents[2]
EXAMPLE_MODELS = REPO / "models"
SCREENSHOTS = REPO / "artifacts" / "screenshots"


# uv is a dev requirement, so it sits beside the test interpreter even when not on PATH.
UV = str(Path(sys.executable).with_name("uv")) if Path(sys.executable).with_name("uv").exists() else "uv"


def find_python(version: str) -> str:
    """The interpreter for ``version`` (e.g. 3.10): on PATH, or one pyenv installed."""
    candidates = [shutil.which(f"python{version}")]
    root = subprocess.run(["pyenv", "root"], capture_output=True, text=True).stdout.strip() if shutil.which(
        "pyenv") else ""
    if root:
        candidates += sorted(glob.glob(f"{root}/versions/{version}.*/bin/python{version}"), reverse=True)
    for candidate in filter(None, candidates):
        probe = subprocess.run([candidate, "-c", "import sys; print(sys.version_info[:2])"], capture_output=True,
                               text=True)
        if probe.returncode == 0 and probe.stdout.strip() == str(tuple(int(p) for p in version.split("."))):
            return candidate
    raise AssertionError(f"Python {version} is not installed: the demo must be checked on it (pyenv install)")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _wait_until(check, timeout: float, what: str, process: subprocess.Popen, log: Path) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{what} exited with {process.returncode}:\n{log.read_text()[-3000:]}")
        try:
            if check():
                return
        except requests.RequestException:
            pass
        time.sleep(0.2)
    raise TimeoutError(f"{what} did not come up in {timeout:.0f} s:\n{log.read_text()[-3000:]}")


class ServerProcess:
    """A child process serving HTTP on 127.0.0.1:<port>, restartable on the same port."""

    name = "server"
    module = ""
    start_timeout = 90.0
    python = sys.executable
    cwd = REPO

    def __init__(self, workdir: Path, port: int | None = None, env: dict[str, str] | None = None) -> None:
        self.workdir = workdir
        self.port = port or free_port()
        self.extra_env = env or {}
        self.process: subprocess.Popen | None = None
        self.log = workdir / f"{self.name}-{self.port}.log"

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def environment(self) -> dict[str, str]:
        return {**os.environ, **self.extra_env}

    def is_up(self) -> bool:
        raise NotImplementedError

    def command(self) -> list[str]:
        return [self.python, "-m", self.module]

    def start(self, *, wait: bool = True) -> ServerProcess:
        assert self.process is None, f"{self.name} already running"
        handle = self.log.open("ab")
        self.process = subprocess.Popen(self.command(), cwd=self.cwd, env=self.environment(), stdout=handle,
                                        stderr=handle)
        handle.close()
        if wait:
            self.wait_up()
        return self

    def wait_up(self) -> None:
        assert self.process is not None
        _wait_until(self.is_up, self.start_timeout, f"{self.name} on port {self.port}", self.process, self.log)

    def stop(self) -> None:
        if self.process is None:
            return
        self.process.terminate()
        try:
            self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=10)
        self.process = None


class ApiProcess(ServerProcess):
    """``python -m api`` on its own port and SQLite file; ``MODELS_DIR`` from ``models_dir``."""

    name = "api"
    module = "api"

    def __init__(self, workdir: Path, models_dir: Path = EXAMPLE_MODELS, **kwargs) -> None:
        super().__init__(workdir, **kwargs)
        self.models_dir = models_dir

    def environment(self) -> dict[str, str]:
        return {
            **super().environment(),
            "HOST": "127.0.0.1",
            "PORT": str(self.port),
            "MODELS_DIR": str(self.models_dir),
            "DATABASE_URL": f"sqlite:///{self.workdir / f'predictions-{self.port}.db'}",
            "WEB_CONCURRENCY": "1",
            "LOG_LEVEL": "warning",
        }

    def is_up(self) -> bool:
        return requests.get(f"{self.url}/ready", timeout=2).status_code == 200


class DemoProcess(ServerProcess):
    """``python -m demo_app`` for the API at ``api_url``, configured only through its environment."""

    name = "demo"
    module = "demo_app"

    def __init__(self, workdir: Path, api_url: str, **kwargs) -> None:
        super().__init__(workdir, **kwargs)
        self.api_url = api_url

    def environment(self) -> dict[str, str]:
        return {
            **super().environment(),
            "API_URL": self.api_url,
            "GRADIO_SERVER_NAME": "127.0.0.1",
            "GRADIO_SERVER_PORT": str(self.port),
            "GRADIO_ANALYTICS_ENABLED": "False",
        }

    def is_up(self) -> bool:
        return requests.get(self.url, timeout=2).status_code == 200


class SpaceProcess(DemoProcess):
    """``python app.py`` in space/, as Hugging Face starts it, with another Python's virtualenv."""

    name = "space"

    def __init__(self, workdir: Path, api_url: str, *, python: str, space_dir: Path, **kwargs) -> None:
        super().__init__(workdir, api_url, **kwargs)
        self.python = python
        self.cwd = space_dir

    def command(self) -> list[str]:
        return [self.python, "app.py"]


class StreamlitProcess(DemoProcess):
    """The Streamlit front, started as ``make demo DEMO=streamlit`` starts it (scripts/run_demo.sh streamlit)."""

    name = "streamlit"

    def environment(self) -> dict[str, str]:
        env = super().environment()
        # run_demo.sh runs `streamlit` from PATH: this interpreter's, as `make` puts .venv/bin first.
        env["PATH"] = f"{Path(self.python).parent}{os.pathsep}{env.get('PATH', '')}"
        env["DEMO_PORT"] = str(self.port)
        return env

    def command(self) -> list[str]:
        return ["bash", str(REPO / "scripts" / "run_demo.sh"), "streamlit"]

    def is_up(self) -> bool:
        # Streamlit's own health endpoint: the server is up (each visit then runs the script).
        return requests.get(f"{self.url}/_stcore/health", timeout=2).status_code == 200
