"""wrk as the load generator: distinct bodies sent in turn, percentiles from wrk's own histogram.

wrk (Debian's package) is a C load generator with one event loop per thread: at
one thread on its own core it loads one Python worker fully, which a Python
client could not. Its Lua hooks send each request's body from a list in turn
and print the percentiles this benchmark reports (p99.9 and max included).
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import tempfile
from dataclasses import dataclass

__all__ = ["Load", "requests_for", "run_wrk"]

_LUA = """
paths = %s
bodies = %s
local i = 0
request = function()
  i = i %% #bodies + 1
  return wrk.format("POST", paths[i], {["Content-Type"] = "application/json"}, bodies[i])
end
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format("RESULT %%d %%d %%d %%.3f %%.3f %%.3f %%.3f %%.3f\\n", summary.requests,
    e.connect + e.read + e.write + e.timeout + e.status, summary.duration,
    latency:percentile(50) / 1000, latency:percentile(90) / 1000, latency:percentile(99) / 1000,
    latency:percentile(99.9) / 1000, latency.max / 1000))
end
"""


@dataclass
class Load:
    """One measured load: requests per second, latency percentiles (ms), errors (non-2xx or socket)."""

    rps: float
    p50: float
    p90: float
    p99: float
    p999: float
    max: float
    errors: int
    requests: int


def run_wrk(base_url: str, requests: list[tuple[str, bytes]], connections: int, seconds: float, core: int) -> Load:
    """POST each (path, body) of ``requests`` in turn, from ``connections`` connections for ``seconds``,
    with wrk pinned to ``core``."""

    def listed(texts: list[str]) -> str:  # Lua long strings: no escaping to get wrong, whatever the JSON holds
        return "{" + ",".join(f"[==[{text}]==]" for text in texts) + "}"

    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as script:
        script.write(_LUA % (listed([path for path, _ in requests]), listed([body.decode() for _, body in requests])))
    try:
        out = subprocess.run(
            ["taskset", "-c", str(core), "wrk", "-t1", f"-c{connections}", f"-d{seconds}s", "--timeout", "10s",
             "-s", script.name, base_url],
            capture_output=True, text=True, check=True,
        ).stdout
    finally:
        os.unlink(script.name)
    found = re.search(r"^RESULT (.*)$", out, re.MULTILINE)
    if found is None:
        raise SystemExit(f"wrk printed no result for {base_url}:\n{out}")
    requests, errors, duration_us, p50, p90, p99, p999, slowest = found.group(1).split()
    return Load(rps=int(requests) / (int(duration_us) / 1e6), p50=float(p50), p90=float(p90), p99=float(p99),
                p999=float(p999), max=float(slowest), errors=int(errors), requests=int(requests))


def requests_for(path: str, rows: list[dict]) -> list[tuple[str, bytes]]:
    """Each row as a POST body to ``path``."""
    return [(path, json.dumps(row, separators=(",", ":")).encode()) for row in rows]
