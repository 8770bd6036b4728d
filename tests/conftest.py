"""Shared fixtures: apps built per test with create_app(Settings(...)), so the lifespan runs."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from api.settings import Settings
from tests.factories import EXAMPLE_MODELS
from tests.pg import ThrowawayCluster, fresh_database


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request, tmp_path: Path) -> Iterator[str]:
    """Each database test runs on SQLite and on the real PostgreSQL server."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'predictions.db'}"
    else:
        with fresh_database() as url:
            yield url


@pytest.fixture
def cluster() -> Iterator[ThrowawayCluster]:
    """A PostgreSQL server of the test's own (initdb on a free port), for a test that stops it:
    the shared server is never stopped."""
    cluster = ThrowawayCluster()
    cluster.start()
    yield cluster
    cluster.destroy()


@pytest.fixture
def serve(tmp_path: Path) -> Callable[..., TestClient]:
    """``with serve(models_dir=..., **settings) as client``: a running app (lifespan included)."""

    @contextmanager
    def _serve(**overrides) -> Iterator[TestClient]:
        values = {"models_dir": EXAMPLE_MODELS, "database_url": f"sqlite:///{tmp_path / 'serve.db'}",
                  "predlog_spill_dir": tmp_path / "spill", "model_cache_dir": tmp_path / "model-cache"}
        values.update(overrides)
        with TestClient(create_app(Settings(**values)), raise_server_exceptions=False) as client:
            client.app.state.registry.wait_loaded(60)  # models load after start-up, in a thread
            client.app.state.registry.wait_settled(60)  # then the bundles new to the database are stored
            yield client

    return _serve


@pytest.fixture(scope="module")
def examples_client(tmp_path_factory) -> Iterator[TestClient]:
    """One app over the bundled example models, shared by read-only tests of a module."""
    db = tmp_path_factory.mktemp("db") / "examples.db"
    settings = Settings(
        models_dir=EXAMPLE_MODELS, database_url=f"sqlite:///{db}", predlog_spill_dir=db.parent / "spill",
        model_cache_dir=db.parent / "model-cache",
    )
    with TestClient(create_app(settings), raise_server_exceptions=False) as client:
        client.app.state.registry.wait_loaded(60)  # models load after start-up, in a thread
        yield client


# Slow tests start real processes (a server, a deploy rehearsal that builds a virtualenv and sends
# 1,000 predictions): minutes on a loaded machine, so they get longer than pyproject's `timeout`.
SLOW_TEST_TIMEOUT = 900


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if item.get_closest_marker("slow") and not item.get_closest_marker("timeout"):
            item.add_marker(pytest.mark.timeout(SLOW_TEST_TIMEOUT))


# The service's own threads: a test that starts an app must stop it (its lifespan stops them).
SERVICE_THREADS = ("prediction-log", "model-loader", "version-poller")


@pytest.fixture(autouse=True, scope="session")
def nothing_outlives_the_run() -> Iterator[None]:
    """No thread or process a test started outlives the run, so pytest's output ends with its
    summary (a log writer left retrying a closed port used to print after it)."""
    import psutil

    yield
    deadline = time.monotonic() + 15
    for thread in threading.enumerate():
        if thread.name.startswith(SERVICE_THREADS):
            thread.join(max(0.0, deadline - time.monotonic()))
    threads = [t.name for t in threading.enumerate() if t.name.startswith(SERVICE_THREADS) and t.is_alive()]
    children = psutil.Process().children(recursive=True)
    _, alive = psutil.wait_procs(children, timeout=max(1.0, deadline - time.monotonic()))
    leftovers = [" ".join(p.cmdline()[:4]) for p in alive if p.is_running()]
    for process in alive:
        process.kill()
    assert not threads and not leftovers, f"still running after the tests: threads {threads}, processes {leftovers}"
