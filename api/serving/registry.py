"""The models this process serves: cards read first (cheap), estimators loaded once.

Reading cards and building schemas happens in ``create_app`` so routes and
/docs exist before anything heavy runs; unpickling happens in a thread the
lifespan starts, so the server listens (and /health answers) meanwhile.
A bundle that fails either step is kept as a failed entry: it is reported by
/ready, /models and the log, and every other model keeps serving.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from api.errors import BundleError, ModelNotFoundError, ModelUnavailableError, closest
from api.serving.bundle import ARTIFACT_FILE, ONNX_FILE, load_engine
from api.serving.card import CARD_FILE, ModelCard, read_card
from api.serving.engines import EngineChoice
from api.serving.predictor import Predictor
from api.serving.schemas import ModelSchemas, build_schemas

__all__ = ["ModelEntry", "Registry"]

logger = logging.getLogger("freeport.registry")

State = Literal["pending", "ready", "failed"]

# How long a request for a model still loading waits before "retry later" (503): loading
# takes tens of seconds on a tenth of a CPU, and the request that woke the instance should
# get its answer, as it did when the server listened only after loading.
LOAD_WAIT_SECONDS = 60.0


@dataclass
class ModelEntry:
    """One bundle folder and how far it got: pending → ready, or failed with a reason."""

    name: str
    path: Path
    card: ModelCard | None = None
    schemas: ModelSchemas | None = None
    predictor: Predictor | None = None
    state: State = "pending"
    error: str | None = None
    notes: list[str] = field(default_factory=list)
    load_seconds: float | None = None
    sha256: str | None = None  # the bundle's content hash, once the database has it (api/storage/versions.py)

    def fail(self, reason: str) -> None:
        self.state, self.error = "failed", reason
        logger.error("model %s cannot be served: %s", self.name, reason)


def _is_leftover(folder: Path) -> bool:
    """A folder with neither a card nor a model in it: what an interrupted save or a stray mkdir leaves.

    Serving it would fail; reporting it would keep /ready at 503 for a folder that holds no model.
    A folder with a model file but no card is still reported, since a model is missing its card.
    """
    return not (folder / CARD_FILE).exists() and not any(
        (folder / name).exists() for name in (ARTIFACT_FILE, ONNX_FILE)
    )


class Registry:
    """Every bundle found in the models directory, by name."""

    def __init__(
        self, entries: list[ModelEntry], models_dir: Path, *, tolerance: float | None, max_batch_rows: int
    ) -> None:
        # No defaults: both come from the settings (STRICT_RANGES, MAX_BATCH_ROWS), through discover().
        self._entries = {entry.name: entry for entry in entries}
        self.models_dir = models_dir
        self.tolerance, self.max_batch_rows = tolerance, max_batch_rows
        self._loader_done = threading.Event()
        self._models_done = threading.Event()  # load_all is done (before the loader's ``finish``)
        self._loading = False  # a background loader was started (wait_settled waits for it)
        self._swapping = threading.Lock()
        # Called with an entry whose card changed after the routes were built from it (api/app.py rebuilds them).
        self.on_card_change: Callable[[ModelEntry], None] | None = None

    @classmethod
    def discover(cls, models_dir: Path, *, tolerance: float | None, max_batch_rows: int) -> Registry:
        """Read every ``models_dir/*/card.json`` and build its schemas; load nothing yet.

        ``tolerance``: how far past the training range a number is refused; None serves and flags it.
        """
        entries = []
        folders = sorted(p for p in models_dir.iterdir() if p.is_dir()) if models_dir.is_dir() else []
        if not models_dir.is_dir():
            logger.warning("models directory %s does not exist: no model will be served", models_dir)
        for folder in folders:
            if folder.name.startswith((".", "_")):
                continue
            if _is_leftover(folder):
                logger.warning("skipping %s: it holds no card.json and no model file (a save that stopped?)", folder)
                continue
            entry = ModelEntry(name=folder.name, path=folder)
            try:
                entry.card = read_card(folder)
                entry.schemas = build_schemas(entry.card, tolerance=tolerance, max_batch_rows=max_batch_rows)
            except BundleError as exc:
                entry.fail(exc.message)
            entries.append(entry)
        return cls(entries, models_dir, tolerance=tolerance, max_batch_rows=max_batch_rows)

    def load_all(self, *, allow_version_mismatch: bool, engine: EngineChoice = "auto") -> None:
        """Load every pending bundle on the engine ENGINE picks, each on its own: one failure stops no other."""
        for entry in self._entries.values():
            if entry.state != "pending":
                continue
            started = time.perf_counter()
            try:
                loaded, entry.notes = load_engine(
                    entry.path, entry.card, engine=engine, allow_version_mismatch=allow_version_mismatch
                )
                entry.predictor = Predictor(entry.card, loaded)
            except BundleError as exc:
                entry.fail(exc.message)
                continue
            entry.load_seconds = time.perf_counter() - started
            entry.state = "ready"
            for note in entry.notes:
                logger.warning("model %s: %s", entry.name, note)
            logger.info(
                "model %s %s loaded on %s in %.2f s",
                entry.name, entry.card.version, loaded.name, entry.load_seconds,
            )

    def adopt(self, name: str, card: ModelCard, path: Path, sha256: str) -> ModelEntry:
        """Serve ``name`` from the bundle at ``path`` (a version read from the database) from now on.

        Before loading only: the entry is pending again, with the card's schemas. A card that
        differs from the one the routes were built from is passed to ``on_card_change``.
        """
        entry = self._entries.get(name)
        if entry is None:
            entry = ModelEntry(name=name, path=path)
            # A new dict rather than an insertion: requests iterate the entries meanwhile.
            self._entries = {**self._entries, name: entry}
        changed = entry.card != card
        entry.path, entry.sha256, entry.state, entry.error, entry.predictor = path, sha256, "pending", None, None
        # A card from the database was checked when it was read: its schemas build (read_card is what refuses).
        entry.schemas = build_schemas(card, tolerance=self.tolerance, max_batch_rows=self.max_batch_rows)
        entry.card = card
        if changed and self.on_card_change is not None:
            self.on_card_change(entry)
        return entry

    def swap(self, name: str, card: ModelCard, path: Path, sha256: str, predictor: Predictor) -> None:
        """Serve an already loaded version of ``name`` from now on (a promotion or a rollback).

        The entry's fields are set and then the predictor, one assignment each: a request takes
        the predictor once, so one in flight finishes on the version it started with and every
        later one gets the new version, whole. A card that differs gets its routes rebuilt first.
        """
        schemas = build_schemas(card, tolerance=self.tolerance, max_batch_rows=self.max_batch_rows)
        with self._swapping:  # a promotion's request and the poller may bring the same version at once
            entry = self._entries.get(name)
            if entry is None:  # a model first uploaded at run time: whole before anyone can reach it
                entry = ModelEntry(name=name, path=path, card=card, schemas=schemas, predictor=predictor,
                                   state="ready", sha256=sha256)
                self._entries = {**self._entries, name: entry}
                if self.on_card_change is not None:
                    self.on_card_change(entry)  # its routes
                logger.info("model %s: now serving version %s", name, card.version)
                return
            changed = entry.card != card
            entry.path, entry.sha256, entry.schemas = path, sha256, schemas
            entry.card = card
            if changed and self.on_card_change is not None:
                self.on_card_change(entry)
            entry.predictor, entry.state, entry.error = predictor, "ready", None
        logger.info("model %s: now serving version %s", name, card.version)

    def find(self, name: str) -> ModelEntry | None:
        """The entry called ``name``, or None."""
        return self._entries.get(name)

    def load_all_in_background(
        self,
        *,
        allow_version_mismatch: bool,
        engine: EngineChoice = "auto",
        prepare: Callable[[Registry], None] | None = None,
        finish: Callable[[Registry], None] | None = None,
    ) -> threading.Thread:
        """Start :meth:`load_all` in a thread, so the server listens (and /health answers) at once.

        On a tenth of a CPU unpickling takes tens of seconds; meanwhile /ready says
        "pending" and requests for a model wait for it (see :meth:`wait_loaded`).
        ``prepare(registry)`` runs first in the same thread: it brings each model to the
        version the database says is active; ``finish(registry)`` runs once the models
        serve: it stores the bundles on disk the database has never seen (api/serving/versions.py).
        """
        self._loading = True

        def load() -> None:
            try:
                if prepare is not None:
                    prepare(self)
                self.load_all(allow_version_mismatch=allow_version_mismatch, engine=engine)
                self._models_done.set()  # requests waiting for their model go on; finish runs after
                if finish is not None:
                    finish(self)
            except Exception as exc:  # a bug while loading must not leave models pending forever
                logger.exception("model loading stopped")
                for entry in self._entries.values():
                    if entry.state == "pending":
                        entry.fail(f"loading stopped: {type(exc).__name__}: {exc}")
            finally:
                self._models_done.set()
                self._loader_done.set()

        thread = threading.Thread(target=load, name="model-loader", daemon=True)
        thread.start()
        return thread

    def wait_settled(self, timeout: float) -> bool:
        """Block until the background loader is done, ``finish`` included (at most ``timeout`` s).

        Requests wait for their model only (:meth:`wait_loaded`); what comes after start-up's loading,
        such as the log writer's database work, waits for this.
        """
        return not self._loading or self._loader_done.wait(timeout)

    def wait_loaded(self, timeout: float) -> bool:
        """Block until no model is pending (at most ``timeout`` s); True when none is."""
        if not any(entry.state == "pending" for entry in self._entries.values()):
            return True
        self._models_done.wait(timeout)
        return not any(entry.state == "pending" for entry in self._entries.values())

    def __iter__(self):
        return iter(self._entries.values())

    def __len__(self) -> int:
        return len(self._entries)

    def get(self, name: str) -> ModelEntry:
        """The entry called ``name``; ModelNotFoundError suggests the closest name."""
        try:
            return self._entries[name]
        except KeyError:
            suggestion = closest(name, self._entries)
            hint = f"did you mean '{suggestion}'?" if suggestion else "GET /models lists the models served"
            raise ModelNotFoundError(f"no model is called '{name}'; {hint}") from None

    def predictor(self, name: str) -> Predictor:
        """The ready predictor for ``name``, or an error saying why there is none.

        Never blocks: callers that should wait for a pending model call :meth:`wait_loaded` first.
        """
        entry = self.get(name)
        if entry.state == "ready":
            return entry.predictor
        if entry.state == "pending":
            raise ModelUnavailableError(f"model '{name}' is still loading; retry in a few seconds")
        raise ModelUnavailableError(f"model '{name}' failed to load: {entry.error}")
