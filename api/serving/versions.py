"""Bring the registry to the versions the database says are active, at start-up.

Runs in the model loader's thread before anything loads (api/serving/registry.py):

1. the schema is brought up to date (api/storage/schema.py);
2. seeding, under the schema's lock so two instances starting at once agree: each
   bundle in the models directory that the database has never seen is stored as a
   version and made active. A bundle already stored changes nothing, so a restart
   or a second instance serves what was promoted since, not what is on its disk;
3. each model whose active version is not the bundle on disk is written to the
   cache folder from the database's copy and served from there; a model the
   database knows and the disk does not is served too.

A database that cannot be reached leaves the bundles on disk to be served as
before, with a warning: predictions never wait for the database.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import TYPE_CHECKING

from api.serving.card import CARD_FILE, ModelCard

if TYPE_CHECKING:
    from sqlalchemy.engine import Connection, Engine

    from api.serving.registry import ModelEntry, Registry
    from api.storage.versions import StoredVersion

__all__ = ["bundle_files", "sync_registry", "write_version"]

logger = logging.getLogger("freeport.versions")

SEEDED_BY = "models/"


def bundle_files(card: ModelCard, folder: Path) -> dict[str, bytes]:
    """The artifacts ``card`` lists, read from ``folder``."""
    names = [card.artifact.file] + ([card.onnx.file] if card.onnx else [])
    return {name: (folder / name).read_bytes() for name in names}


def write_version(cache_dir: Path, stored: StoredVersion, files: dict[str, bytes]) -> tuple[ModelCard, Path]:
    """A version read from the database, written as a bundle folder the loader reads like any other."""
    card = ModelCard.model_validate(stored.card)
    folder = cache_dir / stored.model / stored.sha256[:16]
    folder.mkdir(parents=True, exist_ok=True)
    (folder / CARD_FILE).write_text(ModelCard.model_dump_json(card), encoding="utf-8")
    for file_name, data in files.items():
        (folder / file_name).write_bytes(data)
    return card, folder


def sync_registry(registry: Registry, engine: Engine, cache_dir: Path) -> None:
    """Seed the database from the registry's bundles, then point each entry at its active version."""
    from api.storage.schema import begin_locked, upgrade_schema
    from api.storage.versions import active_versions, bundle_sha256, read_files

    try:
        upgrade_schema(engine)
        with engine.connect() as connection:
            begin_locked(connection)
            _seed(connection, registry)
            active = active_versions(connection)
            connection.commit()
            wanted = {name: stored for name, stored in active.items() if _differs(registry, name, stored.sha256)}
            files = {name: read_files(connection, stored.id) for name, stored in wanted.items()}
    except Exception as exc:  # any driver error: serve what is on disk rather than nothing
        logger.warning("model versions: the database could not be read (%s); serving the bundles on disk",
                       f"{type(exc).__name__}: {str(exc).strip().splitlines()[0] if str(exc).strip() else ''}")
        return
    for name, stored in active.items():
        if name not in wanted:
            registry.get(name).sha256 = stored.sha256
            continue
        card, folder = write_version(cache_dir, stored, files[name])
        registry.adopt(name, card, folder, bundle_sha256(stored.card))
        logger.info("model %s: serving version %s from the database", name, stored.version)


def _differs(registry: Registry, name: str, sha256: str) -> bool:
    from api.storage.versions import bundle_sha256

    entry = _entry(registry, name)
    return entry is None or entry.card is None or bundle_sha256(entry.card.model_dump(mode="json")) != sha256


def _entry(registry: Registry, name: str) -> ModelEntry | None:
    return next((entry for entry in registry if entry.name == name), None)


def _seed(connection: Connection, registry: Registry) -> None:
    from api.storage.versions import VersionConflictError, add_version, bundle_sha256, find_version, set_active

    for entry in registry:
        if entry.card is None:
            continue  # a card that cannot be read is reported by the registry, and never stored
        card = entry.card.model_dump(mode="json")
        if find_version(connection, entry.name, bundle_sha256(card)) is not None:
            continue
        try:
            files = bundle_files(entry.card, entry.path)
            stored, _ = add_version(
                connection, card, files, added_by=SEEDED_BY, reason=f"found in {entry.path} at start-up"
            )
        except (OSError, VersionConflictError) as exc:
            logger.error("model %s: the bundle on disk is not stored as a version: %s", entry.name, exc)
            continue
        set_active(connection, entry.name, stored.id)
        logger.info("model %s: version %s from %s is now active", entry.name, stored.version, entry.path)
