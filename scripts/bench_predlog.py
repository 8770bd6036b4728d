"""How fast the prediction log stores rows: spooling to the spill file, and the database's bulk write.

    .venv/bin/python scripts/bench_predlog.py                      # SQLite in a temporary folder
    .venv/bin/python scripts/bench_predlog.py --database-url postgresql://postgres@127.0.0.1:5432/test

Records are the example models' own rows in the shape of the issue's load (batches of
1,000 flight-delay, 344 penguins and 398 fuel-economy rows). They are all queued at
once, as if a burst had been answered, and the script prints rows per second spooled
to disk and stored in the database (the two run concurrently, as in the service). On
PostgreSQL the rows go to a fresh table in a new database that is dropped afterwards.
"""

from __future__ import annotations

import argparse
import tempfile
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

from api.serving.card import read_card
from api.settings import normalise_database_url
from api.storage.database import create_db_engine
from api.storage.predlog import PredictionLog
from api.storage.predlog_lines import encode_records

MODELS = Path(__file__).resolve().parent.parent / "models"
BATCHES = {"flight-delay": 1000, "penguins": 344, "fuel-economy": 398}


def requests_like_the_issue(rows: int) -> list[list[tuple]]:
    """Batch requests' records, models in turn, until ``rows`` rows."""
    requests, total = [], 0
    while total < rows:
        for model, size in BATCHES.items():
            examples = read_card(MODELS / model).examples
            now, rid = datetime.now(UTC), uuid.uuid4().hex
            outcome = {"prediction": "x", "probabilities": {"a": 0.25, "b": 0.75}, "out_of_range": []}
            requests.append([
                (now, rid, model, "1", examples[i % len(examples)], outcome, 12.5) for i in range(size)
            ])
            total += size
    return requests


def _fresh_postgres(url: str) -> tuple[str, callable]:
    import psycopg2

    name = f"freeport_bench_{uuid.uuid4().hex[:10]}"
    base = normalise_database_url(url).replace("postgresql+psycopg2://", "postgresql://")
    admin = psycopg2.connect(base)
    admin.autocommit = True
    with admin.cursor() as cursor:
        cursor.execute(f'CREATE DATABASE "{name}"')

    def drop() -> None:
        with admin.cursor() as cursor:
            cursor.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.close()

    return base.rsplit("/", 1)[0] + "/" + name, drop


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", default="", help="PostgreSQL server to bench on (default: SQLite)")
    parser.add_argument("--rows", type=int, default=200_000)
    args = parser.parse_args()
    requests = requests_like_the_issue(args.rows)
    rows = sum(map(len, requests))

    started = time.perf_counter()
    encoded = sum(len(encode_records(r)) for r in requests)
    encode_s = time.perf_counter() - started
    print(f"encoding: {rows / encode_s:,.0f} rows/s on one thread, {encoded / rows:.0f} bytes a row")

    with tempfile.TemporaryDirectory(prefix="freeport-bench-") as folder:
        drop = None
        if args.database_url:
            url, drop = _fresh_postgres(args.database_url)
        else:
            url = f"sqlite:///{folder}/bench.db"
        url = normalise_database_url(url)
        log = PredictionLog(
            lambda: create_db_engine(url, pool_size=2, connect_timeout=3),
            queue_size=10**9, batch_size=500, flush_seconds=0.05,
            spill_dir=Path(folder) / "spill", spill_max_bytes=10**10,
        )
        try:
            log.start()
            assert log.ping() is None  # connected and the table made, so only storing is timed
            while log.stats().written == 0 and log.stats().last_error is None:
                log.record(requests[0][:1])
                time.sleep(0.05)
            base = log.stats().written
            started = time.perf_counter()
            for records in requests:
                log.record(records)
            while (stats := log.stats()).queued > stats.spilled:  # some still in memory
                time.sleep(0.01)
            spooled_s = time.perf_counter() - started
            while log.stats().written < rows + base:
                time.sleep(0.01)
            stored_s = time.perf_counter() - started
        finally:
            log.stop(60)
            if drop:
                drop()
    backend = url.split(":", 1)[0].split("+", 1)[0]
    print(f"{backend}: {rows:,} rows in {len(requests)} batch requests")
    print(f"  spooled to the spill file: {rows / spooled_s:,.0f} rows/s")
    print(f"  stored in the database:    {rows / stored_s:,.0f} rows/s ({stored_s:.1f} s)")


if __name__ == "__main__":
    main()
