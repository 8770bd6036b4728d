"""The schema under alembic: the scripts match the tables, old databases are adopted with their rows,
and instances starting at once upgrade it once."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from datetime import UTC, datetime

import pytest
import requests
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import func, insert, inspect, select

from api.settings import normalise_database_url
from api.storage.database import create_db_engine
from api.storage.schema import HEAD, MIGRATIONS, current_revision, upgrade_schema
from api.storage.tables import metadata, model_pointers, model_versions, predictions, spill_progress
from tests.factories import REPO
from tests.pg import free_port, fresh_database, wait_until

EXAMPLE_ROW = {"bill_length_mm": 39.1}  # any JSON: these rows are only kept, never served


def _engine(url: str):
    return create_db_engine(normalise_database_url(url), pool_size=2, connect_timeout=10)


def _old_row(request_id: str) -> dict:
    return {"created_at": datetime.now(UTC), "request_id": request_id, "model": "penguins",
            "model_version": "1", "inputs": EXAMPLE_ROW, "outputs": {"label": "Adelie"}, "latency_ms": 1.0}


def test_schema_head_is_the_newest_script():
    assert ScriptDirectory(str(MIGRATIONS)).get_current_head() == HEAD


def test_schema_migrations_build_exactly_the_tables(database_url):
    engine = _engine(database_url)
    try:
        assert upgrade_schema(engine) == "none"
        with engine.connect() as connection:
            assert current_revision(connection) == HEAD
            # What autogenerate would write next: nothing, or tables.py changed without a migration.
            assert compare_metadata(MigrationContext.configure(connection), metadata) == []
    finally:
        engine.dispose()


def test_schema_upgrade_at_head_changes_nothing_and_skips_alembic(tmp_path):
    url = f"sqlite:///{tmp_path / 'at-head.db'}"
    engine = _engine(url)
    upgrade_schema(engine)
    engine.dispose()
    # A fresh interpreter, as at start-up: the database is at HEAD, so alembic is never imported.
    probe = (
        "import sys\n"
        "from api.storage.database import create_db_engine\n"
        "from api.storage.schema import upgrade_schema\n"
        f"print(upgrade_schema(create_db_engine({url!r}, pool_size=1, connect_timeout=3)))\n"
        "print('alembic' in sys.modules)\n"
    )
    out = subprocess.run([sys.executable, "-c", probe], cwd=REPO, capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["None", "False"]


@pytest.mark.parametrize("made_before", ["create_all", "before_spill_progress"])
def test_schema_adopts_a_database_made_by_create_all_with_its_rows(database_url, made_before, serve):
    engine = _engine(database_url)
    tables = [predictions] if made_before == "before_spill_progress" else [predictions, spill_progress]
    metadata.create_all(engine, tables=tables)  # what the service did before alembic
    with engine.begin() as connection:
        connection.execute(insert(predictions), [_old_row(f"old-{i}") for i in range(3)])
    try:
        with serve(database_url=database_url) as client:
            assert client.post("/models/penguins/predict", json=client.get("/models/penguins").json()["card"]
                               ["examples"][0]).status_code == 200
            log = client.app.state.prediction_log
            assert wait_until(lambda: log.stats().written == 1, timeout=20)
        with engine.connect() as connection:
            assert current_revision(connection) == HEAD
            assert inspect(connection).has_table(spill_progress.name)
            stored = connection.execute(select(predictions.c.request_id).order_by(predictions.c.id)).scalars().all()
        assert stored[:3] == ["old-0", "old-1", "old-2"] and len(stored) == 4
    finally:
        engine.dispose()


def test_schema_concurrent_upgrades_run_the_migrations_once(database_url):
    engines = [_engine(database_url) for _ in range(4)]
    results: list[str | None] = []
    errors: list[BaseException] = []
    start = threading.Barrier(len(engines))

    def upgrade(engine) -> None:
        start.wait()
        try:
            results.append(upgrade_schema(engine))
        except BaseException as exc:  # collected: the assertion below shows it
            errors.append(exc)

    threads = [threading.Thread(target=upgrade, args=(engine,)) for engine in engines]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    try:
        assert errors == []
        assert len(results) == 4 and results.count("none") == 1 and results.count(None) == 3  # one migrated
        with engines[0].connect() as connection:
            assert current_revision(connection) == HEAD
            assert connection.execute(select(func.count()).select_from(predictions)).scalar() == 0
    finally:
        for engine in engines:
            engine.dispose()


def _serves(url: str, body: dict) -> bool:
    try:
        return requests.post(f"{url}/models/penguins/predict", json=body, timeout=5).status_code == 200
    except requests.RequestException:
        return False


@pytest.mark.slow
@pytest.mark.postgres
def test_schema_two_servers_starting_at_once_on_a_fresh_database_migrate_once_and_both_serve(tmp_path):
    body = json.loads((REPO / "models" / "penguins" / "card.json").read_text())["examples"][0]
    with fresh_database() as url:
        servers = []
        try:
            for i in range(2):
                port = free_port()
                env = {**os.environ, "HOST": "127.0.0.1", "PORT": str(port), "DATABASE_URL": url,
                       "PREDLOG_SPILL_DIR": str(tmp_path / f"spill-{i}"), "LOG_FORMAT": "text"}
                with (tmp_path / f"api-{i}.log").open("w") as log:
                    process = subprocess.Popen(
                        [sys.executable, "-m", "api"], cwd=REPO, env=env, stdout=log, stderr=log
                    )
                servers.append((f"http://127.0.0.1:{port}", process, tmp_path / f"api-{i}.log"))
            for base, process, _ in servers:
                assert wait_until(lambda base=base: _serves(base, body), timeout=60), process.poll()
            engine = _engine(url)
            try:
                with engine.connect() as connection:
                    assert wait_until(lambda: current_revision(connection) == HEAD, timeout=30)
                    assert wait_until(
                        lambda: connection.execute(select(func.count()).select_from(predictions)).scalar() >= 2,
                        timeout=30,
                    )
                    # Both seeded under the lock: each bundle on disk is stored once, and active.
                    stored = connection.execute(select(model_versions.c.model)).scalars().all()
                    assert sorted(stored) == ["flight-delay", "fuel-economy", "penguins"]
                    assert connection.execute(select(func.count()).select_from(model_pointers)).scalar() == 3
            finally:
                engine.dispose()
            logs = [path.read_text() for _, _, path in servers]
            assert sum(log.count("database schema upgraded from none to") for log in logs) == 1, logs
        finally:
            for _, process, _ in servers:
                process.kill()
                process.wait(10)
