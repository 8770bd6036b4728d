"""The database's schema, brought up to date at start-up by alembic (api/storage/migrations/).

Several instances may start at once against one database (a deploy that
overlaps the old instance, two replicas), so the upgrade runs under a lock, in
one transaction: on PostgreSQL a transaction-level advisory lock, on SQLite
``BEGIN IMMEDIATE`` (the database's write lock). The second instance waits,
then finds the schema at its head and changes nothing.

Alembic itself is imported only when there is something to do: a database
already at ``HEAD`` (every start but the first after a deploy that brings a
migration) costs one query. tests/test_schema.py checks that ``HEAD`` is the
scripts' head.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from sqlalchemy.engine import Connection, Engine

__all__ = ["HEAD", "MIGRATIONS", "begin_locked", "current_revision", "upgrade_schema"]

logger = logging.getLogger("freeport.schema")

MIGRATIONS = Path(__file__).resolve().parent / "migrations"
# The newest script in migrations/versions; a new migration moves it.
HEAD = "0003"
# Any fixed 64-bit number names the lock; this one is "freeport" in ASCII, so it reads in pg_locks.
_ADVISORY_LOCK_KEY = 0x66726565706F7274
_VERSION_TABLE = "alembic_version"


def current_revision(connection: Connection) -> str | None:
    """The revision the database is at; None for a database alembic has never touched."""
    from sqlalchemy import inspect, text

    if not inspect(connection).has_table(_VERSION_TABLE):
        return None
    return connection.execute(text(f"SELECT version_num FROM {_VERSION_TABLE}")).scalar()


def upgrade_schema(engine: Engine) -> str | None:
    """Bring the database to ``HEAD``; return the revision it was at when this call upgraded it
    (``"none"`` for a database without one), None when it was already there."""
    with engine.connect() as connection:
        if current_revision(connection) == HEAD:
            return None
    with engine.connect() as connection:
        begin_locked(connection)
        try:
            # Asked again under the lock: another instance may have upgraded while this one waited.
            found = current_revision(connection)
            if found != HEAD:
                _run_alembic(connection)
            connection.commit()
        except BaseException:
            connection.rollback()
            raise
    if found == HEAD:
        return None
    logger.info("database schema upgraded from %s to %s", found or "none", HEAD)
    return found or "none"


def begin_locked(connection: Connection) -> None:
    """Open a transaction holding the lock that no other instance's upgrade (or seeding) can share."""
    from sqlalchemy import text

    if connection.dialect.name == "postgresql":
        connection.begin()
        # Released by the commit or rollback, and by PostgreSQL if this process dies meanwhile.
        connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _ADVISORY_LOCK_KEY})
    elif connection.dialect.name == "sqlite":
        # pysqlite issues no BEGIN of its own before DDL; an explicit one that takes the write lock at
        # once makes a second process wait here (its busy timeout) rather than interleave its DDL.
        connection.begin()
        connection.exec_driver_sql("BEGIN IMMEDIATE")
    else:  # another database: its own transactional DDL, without a cross-process lock
        connection.begin()


def _run_alembic(connection: Connection) -> None:
    from alembic import command
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    # env.py runs the scripts on this connection, inside the transaction that holds the lock.
    config.attributes["connection"] = connection
    command.upgrade(config, "head")
