"""Start-up as a visitor of a cold instance meets it: `python -m api` answers /health at once,
whatever the database and the models are doing, and the first prediction still succeeds."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import psutil
import pytest
import requests

from api.serving.card import read_card
from tests.factories import EXAMPLE_MODELS, REPO
from tests.pg import ThrowawayCluster, free_port, wait_until

pytestmark = pytest.mark.slow

PENGUIN = read_card(EXAMPLE_MODELS / "penguins").examples[0]


@contextmanager
def running_api(tmp_path: Path, models_dir: Path, database_url: str, **env: str) -> Iterator[str]:
    """``python -m api`` as the platforms start it; yields its base URL."""
    port = free_port()
    environment = {**os.environ, "PORT": str(port), "HOST": "127.0.0.1", "MODELS_DIR": str(models_dir),
                   "DATABASE_URL": database_url, "WEB_CONCURRENCY": "1", **env}
    log = (tmp_path / f"api-{port}.log").open("w")
    server = subprocess.Popen([sys.executable, "-m", "api"], cwd=REPO, env=environment, stdout=log, stderr=log)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.kill()
        server.wait(10)
        log.close()


def answers(url: str) -> bool:
    try:
        return requests.get(url, timeout=2).status_code == 200
    except requests.ConnectionError:
        return False


def _connected_to(port: int) -> bool:
    """This process holds an open connection to ``port``: a request sent there is in flight."""
    return any(c.raddr and c.raddr.port == port and c.status == psutil.CONN_ESTABLISHED
               for c in psutil.Process().net_connections(kind="tcp"))


def penguins_only(tmp_path: Path) -> Path:
    models = tmp_path / "models"
    models.mkdir()
    shutil.copytree(EXAMPLE_MODELS / "penguins", models / "penguins")
    return models


@contextmanager
def black_hole() -> Iterator[str]:
    """A PostgreSQL URL whose port completes the TCP handshake and then never says a word."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen(64)  # connections queue in the kernel's backlog; nothing ever accepts them
        yield f"postgresql://postgres@127.0.0.1:{sock.getsockname()[1]}/postgres"


@contextmanager
def frozen_postgres() -> Iterator[str]:
    """A real PostgreSQL whose server process is stopped (SIGSTOP): it accepts and never answers."""
    cluster = ThrowawayCluster()
    cluster.start()
    postmaster = int((cluster.data / "postmaster.pid").read_text().split()[0])
    os.kill(postmaster, signal.SIGSTOP)
    try:
        yield cluster.url
    finally:
        os.kill(postmaster, signal.SIGCONT)
        cluster.destroy()


@pytest.mark.parametrize("hung_database", [black_hole, frozen_postgres], ids=["black-hole-port", "stopped-postgres"])
def test_health_and_predictions_answer_while_the_database_hangs(tmp_path, hung_database):
    with hung_database() as database_url, running_api(
        tmp_path, penguins_only(tmp_path), database_url, DB_CONNECT_TIMEOUT="4"
    ) as api:
        assert wait_until(lambda: answers(f"{api}/health"), timeout=60)

        readiness: list[requests.Response] = []
        probe = threading.Thread(target=lambda: readiness.append(requests.get(f"{api}/ready", timeout=60)))
        probe.start()  # /ready now waits on the hung database for DB_CONNECT_TIMEOUT seconds
        assert requests.get(f"{api}/health", timeout=10).json() == {"status": "ok"}
        prediction = requests.post(f"{api}/models/penguins/predict", json=PENGUIN, timeout=60)
        probe.join(60)

    assert prediction.status_code == 200 and prediction.json()["prediction"]
    (ready,) = readiness
    assert ready.status_code == 503
    assert "database" in [d["field"] for d in ready.json()["details"]]  # models may still be pending then


def test_health_answers_while_a_model_is_still_loading_and_its_first_request_waits_for_it(tmp_path):
    models = penguins_only(tmp_path)
    card = read_card(models / "penguins")
    # The file the default engine reads: model.onnx when the bundle has one, else the pickle.
    artifact = models / "penguins" / (card.onnx.file if card.onnx else card.artifact.file)
    payload = artifact.read_bytes()
    artifact.unlink()
    os.mkfifo(artifact)  # loading blocks reading it until the test writes the model in

    with running_api(tmp_path, models, f"sqlite:///{tmp_path / 'log.db'}") as api:
        assert wait_until(lambda: answers(f"{api}/health"), timeout=60)
        pending = requests.get(f"{api}/ready", timeout=10)
        assert pending.status_code == 503
        assert pending.json()["details"][0] == {
            "field": "models.penguins", "message": "pending: still loading", "hint": None}

        answers_seen: list[requests.Response] = []
        first = threading.Thread(target=lambda: answers_seen.append(
            requests.post(f"{api}/models/penguins/predict", json=PENGUIN, timeout=60)))
        first.start()
        port = int(api.rsplit(":", 1)[1])
        assert wait_until(lambda: _connected_to(port), timeout=30), "the prediction never reached the server"
        assert requests.get(f"{api}/health", timeout=10).status_code == 200
        assert not answers_seen  # the prediction waits for its model rather than failing
        with artifact.open("wb") as fifo:
            fifo.write(payload)
        first.join(60)
        ready = requests.get(f"{api}/ready", timeout=10)

    (prediction,) = answers_seen
    assert prediction.status_code == 200 and prediction.json()["model"] == "penguins"
    assert ready.status_code == 200


def test_the_server_imports_no_database_or_model_library_before_it_listens():
    """SQLAlchemy, the driver and scikit-learn load after the server listens, in threads."""
    code = (
        "import sys, api.__main__\n"
        "from api.app import create_app\n"
        "from api.settings import Settings\n"
        f"create_app(Settings(models_dir={str(EXAMPLE_MODELS)!r}))\n"
        "print(' '.join(m for m in ('sqlalchemy', 'psycopg2', 'sklearn', 'pandas', 'joblib') if m in sys.modules))\n"
    )
    loaded = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, check=True)
    assert loaded.stdout.split() == []
