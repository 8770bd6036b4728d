"""Was the host quiet? CPU that other processes (and the hypervisor) took while a load ran.

The benchmark pins the server to one core and wrk to the other. Anything else
that runs meanwhile, a build, a test suite, another tenant's steal, moves the
tail first. So each measured load is bracketed: all the CPU time the host used
(/proc/stat), minus that of the server, of wrk and of this script, is the
others' share, and the `steal` column is the hypervisor's. A load with more than
BUSY_PERCENT of a core taken by either is reported as taken on a busy host.
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


class HostWatch:
    """``with HostWatch(lambda: [server_pid]) as watch: run_wrk(...)``, then ``watch.result``."""

    def __init__(self, ours: Callable[[], Iterable[int]]) -> None:
        self._ours = ours
        self.result: Quietness | None = None

    def __enter__(self) -> HostWatch:
        self._started = time.monotonic()
        self._host, self._steal = _host_seconds()
        self._own = _own_seconds(self._ours())
        return self

    def __exit__(self, *exc: object) -> None:
        wall = time.monotonic() - self._started
        host, steal = _host_seconds()
        own = _own_seconds(self._ours())
        others = max(0.0, (host - self._host) - (own - self._own))
        self.result = Quietness(others / wall * 100, (steal - self._steal) / wall * 100)
