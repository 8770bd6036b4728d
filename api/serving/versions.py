"""Bring the registry to the versions the database says are active, at start-up.

In the model loader's thread (api/serving/registry.py), around the loading:

1. before it (:func:`sync_registry`): the schema is brought up to date
   (api/storage/schema.py), and each model whose active version is not the bundle
   on disk, while the database knows that bundle (a restart after a promotion, an
   instance whose disk is older), is written to the cache folder from the
   database's copy and served from there; so is a model the database knows and
   the disk does not. A bundle on disk the database has never seen is served:
   it is a deploy;
2. after it (:func:`seed_registry`), under the schema's lock so instances starting
   at once agree: each bundle that loaded and that the database has never seen is
   stored and made active. Done once the models serve, so a first deploy's first
   prediction does not wait for its files to be stored.

A database that cannot be reached leaves the bundles on disk to be served as
before, with a warning; the version poller (api/serving/poller.py) stores them
once it answers. Predictions never wait for the database.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import TYPE_CHECKING

from api.serving.card import CARD_FILE, ModelCard

if TYPE_CHECKING:
    from sqlalchemy.engine import Engine

    from api.serving.registry import Registry
    from api.storage.versions import StoredVersion

__all__ = ["bundle_files", "seed_registry", "sync_registry", "write_version"]

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
    """Point each entry at its model's active version where the database says another than the disk's."""
    from api.storage.schema import current_revision, upgrade_schema
    from api.storage.versions import active_versions, bundle_sha256, find_version, read_files, version_taken

    adopted = []
    try:
        with engine.connect() as connection:
            fresh = current_revision(connection) is None
        if fresh:  # never set up, so no versions to follow: alembic runs after the models load (seed_registry)
            return
        upgrade_schema(engine)
        with engine.connect() as connection:
            for name, stored in active_versions(connection).items():
                entry = registry.find(name)
                on_disk = bundle_sha256(entry.card.model_dump(mode="json")) if entry and entry.card else None
                if on_disk == stored.sha256:
                    entry.sha256 = stored.sha256
                    continue
                if (on_disk is not None and find_version(connection, name, on_disk) is None
                        and not version_taken(connection, name, entry.card.version)):
                    continue  # new to the database: a deploy, made active once it loads (seed_registry)
                adopted.append((name, stored, read_files(connection, stored.id)))
    except Exception as exc:  # any driver error: serve what is on disk rather than nothing
        _warn_unreachable(exc)
        return
    for name, stored, files in adopted:
        card, folder = write_version(cache_dir, stored, files)
        registry.adopt(name, card, folder, stored.sha256)
        logger.info("model %s: serving version %s from the database", name, stored.version)


def seed_registry(registry: Registry, engine: Engine) -> None:
    """Store each loaded bundle the database has never seen as a version, and make it active."""
    from api.storage.schema import begin_locked, upgrade_schema
    from api.storage.versions import VersionConflictError, add_version, bundle_sha256, find_version, set_active

    unseen = [entry for entry in registry if entry.state == "ready" and entry.sha256 is None and entry.card]
    if not unseen:
        return
    seeded = []
    try:
        upgrade_schema(engine)
        with engine.connect() as connection:
            begin_locked(connection)
            for entry in unseen:
                card = entry.card.model_dump(mode="json")
                sha256 = bundle_sha256(card)
                if find_version(connection, entry.name, sha256) is None:
                    try:
                        stored, _ = add_version(connection, card, bundle_files(entry.card, entry.path),
                                                added_by=SEEDED_BY, reason=f"found in {entry.path} at start-up")
                    except (OSError, VersionConflictError) as exc:
                        logger.error("model %s: the bundle on disk is not stored as a version: %s", entry.name, exc)
                        continue
                    set_active(connection, entry.name, stored.id)
                    logger.info("model %s: version %s from %s is now active", entry.name, stored.version, entry.path)
                seeded.append((entry, sha256))
            connection.commit()
    except Exception as exc:  # any driver error: the poller tries again
        _warn_unreachable(exc)
        return
    for entry, sha256 in seeded:
        entry.sha256 = sha256


def _warn_unreachable(exc: Exception) -> None:
    first = (str(exc).strip().splitlines() or [""])[0]
    logger.warning("model versions: the database could not be reached (%s: %s); serving the bundles on disk",
                   type(exc).__name__, first)
