"""Model versions in the database: each bundle's card and files, and each model's pointers.

A version is a bundle identified by its content hash: the sha256 of its card's
canonical JSON, which pins every artifact by its own sha256 (checked again when
the files are loaded). Responses and the prediction log name it by the card's
``version``, so that is unique per model as well.

Every model has one active version, at most one candidate, and the version it
served before (what a rollback returns to). Writes that must not interleave
between instances (seeding at start-up) run under the schema's lock.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import insert, select, update

from api.storage.tables import model_files, model_pointers, model_versions

if TYPE_CHECKING:
    from sqlalchemy.engine import Connection

__all__ = [
    "Pointers",
    "StoredVersion",
    "VersionConflictError",
    "active_heads",
    "active_versions",
    "add_version",
    "bundle_sha256",
    "find_version",
    "get_version",
    "list_versions",
    "move_pointers",
    "pointers_of",
    "read_files",
    "set_active",
    "set_candidate",
    "version_taken",
]


class VersionConflictError(Exception):
    """The model already has a different bundle under the same card version."""


@dataclass(frozen=True)
class StoredVersion:
    """One row of ``model_versions`` (the card as JSON, never the files)."""

    id: int
    model: str
    version: str
    sha256: str
    card: dict[str, Any]
    added_at: datetime
    added_by: str
    reason: str


@dataclass(frozen=True)
class Pointers:
    """A model's active, candidate and previous version ids."""

    active_id: int
    candidate_id: int | None
    previous_id: int | None
    changed_at: datetime


def bundle_sha256(card: dict[str, Any]) -> str:
    """The bundle's content hash: its card in canonical JSON (sorted keys, no spaces)."""
    canonical = json.dumps(card, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode()).hexdigest()


def _stored(row: Any) -> StoredVersion:
    return StoredVersion(
        id=row.id, model=row.model, version=row.version, sha256=row.sha256, card=row.card,
        added_at=row.added_at, added_by=row.added_by, reason=row.reason,
    )


def find_version(connection: Connection, model: str, sha256: str) -> StoredVersion | None:
    row = connection.execute(
        select(model_versions).where(model_versions.c.model == model, model_versions.c.sha256 == sha256)
    ).first()
    return _stored(row) if row else None


def version_taken(connection: Connection, model: str, version: str) -> bool:
    """Whether ``model`` has a bundle stored under the card version ``version``."""
    return connection.execute(
        select(model_versions.c.id).where(model_versions.c.model == model, model_versions.c.version == version)
    ).first() is not None


def add_version(
    connection: Connection, card: dict[str, Any], files: dict[str, bytes], *, added_by: str, reason: str
) -> tuple[StoredVersion, bool]:
    """Store a bundle unless it is there already; the stored version, and whether it is new.

    VersionConflictError when another bundle of the model has the card's ``version``.
    """
    sha256 = bundle_sha256(card)
    model, version = card["name"], card["version"]
    found = find_version(connection, model, sha256)
    if found is not None:
        return found, False
    clash = connection.execute(
        select(model_versions.c.sha256).where(model_versions.c.model == model, model_versions.c.version == version)
    ).first()
    if clash is not None:
        raise VersionConflictError(
            f"model '{model}' already has a different bundle as version '{version}'; "
            "save the new one with another version"
        )
    row = connection.execute(
        insert(model_versions)
        .values(model=model, version=version, sha256=sha256, card=card, added_at=datetime.now(UTC),
                added_by=added_by, reason=reason)
        .returning(*model_versions.c)
    ).one()
    if files:
        rows = [{"version_id": row.id, "name": name, "data": data} for name, data in files.items()]
        connection.execute(insert(model_files), rows)
    return _stored(row), True


def pointers_of(connection: Connection, model: str) -> Pointers | None:
    row = connection.execute(select(model_pointers).where(model_pointers.c.model == model)).first()
    if row is None:
        return None
    return Pointers(row.active_id, row.candidate_id, row.previous_id, row.changed_at)


def set_active(connection: Connection, model: str, version_id: int) -> None:
    """Make ``version_id`` the model's active version; the one it replaces becomes the previous one."""
    now = datetime.now(UTC)
    current = pointers_of(connection, model)
    if current is None:
        connection.execute(insert(model_pointers).values(model=model, active_id=version_id, changed_at=now))
    elif current.active_id != version_id:
        candidate = None if current.candidate_id == version_id else current.candidate_id
        connection.execute(
            update(model_pointers)
            .where(model_pointers.c.model == model)
            .values(active_id=version_id, previous_id=current.active_id, candidate_id=candidate, changed_at=now)
        )


def set_candidate(connection: Connection, model: str, version_id: int) -> bool:
    """Make ``version_id`` the model's one candidate (replacing any other); False when the model
    has no active version to be a candidate against."""
    done = connection.execute(
        update(model_pointers)
        .where(model_pointers.c.model == model)
        .values(candidate_id=version_id, changed_at=datetime.now(UTC))
    )
    return done.rowcount == 1


def get_version(connection: Connection, version_id: int) -> StoredVersion:
    return _stored(connection.execute(select(model_versions).where(model_versions.c.id == version_id)).one())


def move_pointers(connection: Connection, model: str, *, expected: Pointers, active_id: int,
                  previous_id: int | None, candidate_id: int | None) -> bool:
    """Set the model's three pointers at once, only if they are still ``expected``: False when another
    request (or instance) moved them since they were read."""
    done = connection.execute(
        update(model_pointers)
        .where(
            model_pointers.c.model == model,
            model_pointers.c.active_id == expected.active_id,
            model_pointers.c.candidate_id.is_(None) if expected.candidate_id is None
            else model_pointers.c.candidate_id == expected.candidate_id,
            model_pointers.c.previous_id.is_(None) if expected.previous_id is None
            else model_pointers.c.previous_id == expected.previous_id,
        )
        .values(active_id=active_id, previous_id=previous_id, candidate_id=candidate_id, changed_at=datetime.now(UTC))
    )
    return done.rowcount == 1


def active_heads(connection: Connection) -> dict[str, tuple[int, str]]:
    """Each model's active version id and content hash: what an instance polls (no card, no blob)."""
    rows = connection.execute(
        select(model_pointers.c.model, model_versions.c.id, model_versions.c.sha256)
        .join(model_versions, model_pointers.c.active_id == model_versions.c.id)
    ).all()
    return {row.model: (row.id, row.sha256) for row in rows}


def active_versions(connection: Connection) -> dict[str, StoredVersion]:
    """Each model's active version, by model name."""
    rows = connection.execute(
        select(model_versions).join(model_pointers, model_pointers.c.active_id == model_versions.c.id)
    ).all()
    return {row.model: _stored(row) for row in rows}


def list_versions(connection: Connection, model: str) -> list[StoredVersion]:
    """Every version of ``model``, oldest first."""
    rows = connection.execute(
        select(model_versions).where(model_versions.c.model == model).order_by(model_versions.c.id)
    ).all()
    return [_stored(row) for row in rows]


def read_files(connection: Connection, version_id: int) -> dict[str, bytes]:
    """The version's artifacts, by file name."""
    rows = connection.execute(
        select(model_files.c.name, model_files.c.data).where(model_files.c.version_id == version_id)
    ).all()
    return {row.name: bytes(row.data) for row in rows}
