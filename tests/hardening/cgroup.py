"""A memory cgroup of 512 MB made for one test (as root), cgroup v2 or v1, whichever the machine has.

With cgroup v1 it is made inside the cgroup this test runs in, so whatever
limits that one has still hold. With cgroup v2 a group that holds processes
cannot give its children a memory controller (the "no internal processes"
rule), so the group is made at the top of the hierarchy instead, as a systemd
scope would be. Either way it is removed after, once its processes are gone.
"""

from __future__ import annotations

import contextlib
import os
import signal
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

__all__ = ["MemoryCgroup", "memory_cgroup"]

ROOT = Path("/sys/fs/cgroup")


@dataclass
class MemoryCgroup:
    path: Path
    version: int

    def join(self) -> None:
        """Move the calling process in (for a child's preexec_fn: everything it starts is in too)."""
        (self.path / "cgroup.procs").write_text(str(os.getpid()))

    def pids(self) -> list[int]:
        return [int(p) for p in (self.path / "cgroup.procs").read_text().split()]

    def peak_bytes(self) -> int:
        """The most memory the group has used (page cache included), as the kernel counts it for its limit."""
        name = "memory.peak" if self.version == 2 else "memory.max_usage_in_bytes"
        return int((self.path / name).read_text())

    def times_at_limit(self) -> int:
        """How often the group reached its limit (v1 failcnt; v2 the 'max' event)."""
        if self.version == 1:
            return int((self.path / "memory.failcnt").read_text())
        return self._events()["max"]

    def oom_kills(self) -> int:
        if self.version == 1:
            fields = dict(line.split() for line in (self.path / "memory.oom_control").read_text().splitlines())
            return int(fields.get("oom_kill", 0))
        return self._events().get("oom_kill", 0)

    def _events(self) -> dict[str, int]:
        return {k: int(v) for k, v in (line.split() for line in (self.path / "memory.events").read_text().splitlines())}


def _own_cgroup(controller: str) -> str:
    """This process's cgroup path in the hierarchy with ``controller`` ('' means the v2 one)."""
    for line in Path("/proc/self/cgroup").read_text().splitlines():
        _, controllers, path = line.split(":", 2)
        if controllers.split(",") == [controller] if controller else controllers == "":
            return path.lstrip("/")
    raise RuntimeError(f"no {controller or 'cgroup v2'} hierarchy for this process")


def _v2_mount() -> Path | None:
    for candidate in (ROOT, ROOT / "unified"):
        controllers = candidate / "cgroup.controllers"
        if controllers.exists() and "memory" in controllers.read_text().split():
            return candidate
    return None


@contextmanager
def memory_cgroup(limit_bytes: int) -> Iterator[MemoryCgroup]:
    """A new cgroup limited to ``limit_bytes`` of memory (swap included); RuntimeError when none can be made."""
    name = f"freeport-test-{uuid.uuid4().hex[:10]}"
    v2 = _v2_mount()
    try:
        if v2 is not None:
            if "memory" not in (v2 / "cgroup.subtree_control").read_text().split():
                (v2 / "cgroup.subtree_control").write_text("+memory")  # allowed at the root, which may hold processes
            group = MemoryCgroup(v2 / name, 2)
            group.path.mkdir()
            (group.path / "memory.max").write_text(str(limit_bytes))
            if (group.path / "memory.swap.max").exists():
                (group.path / "memory.swap.max").write_text("0")
        elif (ROOT / "memory").is_dir():
            parent = ROOT / "memory" / _own_cgroup("memory")
            group = MemoryCgroup(parent / name, 1)
            group.path.mkdir()
            (group.path / "memory.limit_in_bytes").write_text(str(limit_bytes))
            if (group.path / "memory.memsw.limit_in_bytes").exists():  # no escape into swap
                (group.path / "memory.memsw.limit_in_bytes").write_text(str(limit_bytes))
        else:
            raise RuntimeError("no memory controller mounted under /sys/fs/cgroup")
    except OSError as exc:
        raise RuntimeError(f"cannot make a memory cgroup (root and a writable cgroup fs are needed): {exc}") from exc
    try:
        yield group
    finally:
        _empty(group)
        group.path.rmdir()


def _empty(group: MemoryCgroup, timeout: float = 10.0) -> None:
    """End what the test started in the group (a shell's child, say) and wait until the kernel has let go."""
    for pid in group.pids():
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
    deadline = time.monotonic() + timeout
    while group.pids() and time.monotonic() < deadline:
        time.sleep(0.02)  # polling a kernel file: there is no event to wait on
