"""Follow the database's active versions while serving: a promotion on one instance reaches the others.

Every VERSION_POLL_SECONDS a thread reads each model's active version id and
content hash (one small query, no card and no blob). A model whose active
version is not the one this instance serves is loaded from the database, whole,
then swapped in (api/serving/registry.py ``swap``), as the promoting instance
did; a model this instance has never served (uploaded at run time elsewhere)
gets its endpoints the same way. The thread starts once start-up's loading is
done, and runs at the log writer's lower priority.
"""

from __future__ import annotations

import logging
import threading
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from api.serving.registry import Registry
    from api.settings import Settings
    from api.storage.connect import LazyEngine

__all__ = ["VersionPoller", "load_stored"]

logger = logging.getLogger("freeport.versions")


def load_stored(settings: Settings, stored, connection):
    """A stored version as the start-up loader would load it: written to MODEL_CACHE_DIR, then loaded.

    Returns its card, its folder and a ready Predictor; BundleError when it does not load.
    """
    from api.serving.bundle import load_engine
    from api.serving.predictor import Predictor
    from api.serving.versions import write_version
    from api.storage.versions import read_files

    card, folder = write_version(settings.model_cache_dir, stored, read_files(connection, stored.id))
    engine, _ = load_engine(
        folder, card, engine=settings.engine, allow_version_mismatch=settings.allow_version_mismatch
    )
    return card, folder, Predictor(card, engine)


class VersionPoller:
    """The thread that brings this instance to the database's active versions."""

    def __init__(self, registry: Registry, database: LazyEngine, settings: Settings) -> None:
        self._registry, self._database, self._settings = registry, database, settings
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._failed: dict[str, str] = {}  # model → the hash that failed to load: not retried every poll
        self._unreachable = False

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="version-poller", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(10)

    def _run(self) -> None:
        from api.storage.predlog import give_way_to_requests

        give_way_to_requests()
        while not self._stop.is_set() and not self._registry.wait_loaded(0.5):
            pass
        while not self._stop.wait(self._settings.version_poll_seconds):
            self.poll_once()

    def poll_once(self) -> list[str]:
        """Swap in every active version this instance does not serve; the names swapped."""
        from api.errors import BundleError
        from api.serving.versions import seed_registry
        from api.storage.versions import active_heads, get_version

        swapped = []
        if any(entry.state == "ready" and entry.sha256 is None for entry in self._registry):
            seed_registry(self._registry, self._database.get())  # the database was away at start-up
        try:
            with self._database.get().connect() as connection:
                heads = active_heads(connection)
                for name, (version_id, sha256) in heads.items():
                    entry = self._registry.find(name)
                    if (entry is not None and entry.sha256 == sha256) or self._failed.get(name) == sha256:
                        continue
                    stored = get_version(connection, version_id)
                    try:
                        card, folder, predictor = load_stored(self._settings, stored, connection)
                    except BundleError as exc:
                        self._failed[name] = sha256
                        logger.error("model %s: version %s cannot be served here: %s", name, stored.version,
                                     exc.message)
                        continue
                    self._registry.swap(name, card, folder, sha256, predictor)
                    swapped.append(name)
        except Exception as exc:  # any driver error: keep serving what is loaded, and try again next time
            if not self._unreachable:
                logger.warning("model versions: cannot poll the database (%s: %s)", type(exc).__name__,
                               (str(exc).strip().splitlines() or [""])[0])
            self._unreachable = True
            return swapped
        self._unreachable = False
        return swapped
