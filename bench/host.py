"""Was the host quiet? CPU that other processes (and the hypervisor) took while a load ran.

The benchmark pins the server to one core and wrk to the other. Anything else
that runs meanwhile, a build, a test suite, another tenant's steal, moves the
tail first. So each measured load is bracketed: all the CPU time the host used
(/proc/stat), minus that of the server, of wrk and of this script, is the
others' share, and the `steal` column is the hypervisor's. A load with more than
BUSY_PERCENT of a core taken by either is reported as taken on a busy host.

For the server itself it also records what explains a slow request at one
connection: how long its event loop (the main thread) was ready to run but
waited for its core (the kernel's run-queue delay, /proc/<pid>/schedstat), and
how much of its core its other threads (the prediction log's writer) used.
"""

from __future__ import annotations

import os
import resource
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

import psutil

__all__ = ["BUSY_PERCENT", "HostWatch", "Quietness"]

BUSY_PERCENT = 5.0
_TICKS = os.sysconf("SC_CLK_TCK")


@dataclass
class Quietness:
    others_percent: float  # of one core, on average over the load
    steal_percent: float
    loop_waited_ms_per_s: float = 0.0  # the server's event loop: runnable, but its core was busy
    side_threads_percent: float = 0.0  # of the server's core: its threads other than the event loop

    @property
    def busy(self) -> bool:
        return self.others_percent > BUSY_PERCENT or self.steal_percent > BUSY_PERCENT


def _host_seconds() -> tuple[float, float]:
    """CPU seconds all processes used (user, nice, system, irq, softirq), and seconds stolen."""
    fields = [int(v) for v in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    user, nice, system, _idle, _iowait, irq, softirq, steal = (fields + [0] * 8)[:8]
    return (user + nice + system + irq + softirq) / _TICKS, steal / _TICKS


def _own_seconds(pids: Iterable[int]) -> float:
    """This script, its reaped children (wrk) and the live processes under test."""
    own = os.times()
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    total = own.user + own.system + children.ru_utime + children.ru_stime
    for pid in pids:
        try:
            times = psutil.Process(pid).cpu_times()
        except psutil.NoSuchProcess:
            continue
        total += times.user + times.system
    return total


def _loop_waited_s(pid: int | None) -> float:
    """Seconds the process's main thread has spent runnable but not running (its run-queue delay)."""
    if pid is None:
        return 0.0
    try:
        return int(Path(f"/proc/{pid}/schedstat").read_text().split()[1]) / 1e9
    except (OSError, IndexError, ValueError):  # gone, or a kernel without schedstats
        return 0.0


def _side_threads_s(pid: int | None) -> float:
    """CPU seconds of the process's threads other than its main thread (live ones)."""
    if pid is None:
        return 0.0
    try:
        return sum(t.user_time + t.system_time for t in psutil.Process(pid).threads() if t.id != pid)
    except psutil.NoSuchProcess:
        return 0.0


class HostWatch:
    """``with HostWatch(lambda: [server_pid], server_pid) as watch: run_wrk(...)``, then ``watch.result``."""

    def __init__(self, ours: Callable[[], Iterable[int]], server_pid: int | None = None) -> None:
        self._ours = ours
        self._server = server_pid
        self.result: Quietness | None = None

    def __enter__(self) -> HostWatch:
        self._started = time.monotonic()
        self._host, self._steal = _host_seconds()
        self._own = _own_seconds(self._ours())
        self._waited = _loop_waited_s(self._server)
        self._side = _side_threads_s(self._server)
        return self

    def __exit__(self, *exc: object) -> None:
        wall = time.monotonic() - self._started
        host, steal = _host_seconds()
        own = _own_seconds(self._ours())
        others = max(0.0, (host - self._host) - (own - self._own))
        self.result = Quietness(
            others / wall * 100, (steal - self._steal) / wall * 100,
            loop_waited_ms_per_s=(_loop_waited_s(self._server) - self._waited) / wall * 1000,
            side_threads_percent=max(0.0, _side_threads_s(self._server) - self._side) / wall * 100,
        )
