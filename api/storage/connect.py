"""The process's one database engine, created on first use in whichever thread needs it first.

The model loader (versions) and the prediction-log writer share it: one small pool for a
free database's few connections. Nothing here imports SQLAlchemy until then.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from sqlalchemy.engine import Engine

__all__ = ["LazyEngine"]


class LazyEngine:
    """``get()`` builds the engine with ``factory`` once; later calls return the same one."""

    def __init__(self, factory: Callable[[], Engine]) -> None:
        self._factory = factory
        self._engine: Engine | None = None
        self._lock = threading.Lock()  # the loader, the log writer and a request may all be first

    def get(self) -> Engine:
        with self._lock:
            if self._engine is None:
                self._engine = self._factory()
            return self._engine
