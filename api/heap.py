"""Set start-up's objects aside from the garbage collector once the service has settled.

Importing the service, loading the models and connecting the prediction log leave
about 100,000 long-lived objects (modules, classes, pydantic schemas, the
models). CPython's full collection walks all of them: measured on the 2-core bench
host, one landed about 3 s after start on the event loop and stalled the request in
flight for 60 ms. ``gc.freeze()`` moves everything alive now into a generation the
collector never walks, so later collections look only at what serving allocates.
Objects are still freed by reference counting; only reference cycles made during
start-up stay in memory, once (a few hundred kB).
"""

from __future__ import annotations

import gc
import threading

__all__ = ["freeze_start_up_heap"]

_frozen = threading.Event()


def freeze_start_up_heap() -> bool:
    """Freeze the heap the first time it is called in this process; True if this call did it.

    Once per process: a process that builds several apps (the tests) freezes only the
    first one's start-up, so objects made later stay collectable.
    """
    if _frozen.is_set():
        return False
    _frozen.set()
    gc.freeze()
    return True
