"""The bins a number is counted in: cut once from the training values, reused for every drift report.

Deciles make each training bin hold about a tenth of the rows, so a shift anywhere
in the range moves some bin's share; a number with few distinct values (an hour,
a weekday) gets a bin per value instead, since deciles would merge them.
"""

from __future__ import annotations

from itertools import pairwise

import numpy as np

__all__ = ["bin_counts", "bin_labels", "cut_points"]

# At most this many distinct training values: one bin per value.
DISTINCT_BINS = 12
QUANTILES = 10


def cut_points(values: np.ndarray) -> list[float]:
    """Cut points for the non-null training ``values`` of a number (see the module's docstring)."""
    distinct = np.unique(values)
    if len(distinct) <= DISTINCT_BINS:
        return [float(v) for v in distinct[1:]]
    # Six significant digits: the card stays readable (36.62, not 36.620000000000005).
    cuts = sorted({float(f"{c:.6g}") for c in np.quantile(values, np.linspace(0, 1, QUANTILES + 1)[1:-1])})
    # A cut at the smallest value would leave the first bin empty in training.
    return [c for c in cuts if c > distinct[0]]


def bin_counts(values: np.ndarray, edges: list[float]) -> np.ndarray:
    """How many of ``values`` fall in each of the ``len(edges) + 1`` bins.

    A value v is in bin i when edges[i-1] <= v < edges[i].
    """
    return np.bincount(np.searchsorted(np.asarray(edges, dtype=float), values, side="right"), minlength=len(edges) + 1)


def bin_labels(edges: list[float]) -> list[str]:
    """A short name per bin, for reports and charts: ``< 6``, ``6 – 9``, ``≥ 21``."""
    if not edges:
        return ["all values"]
    shown = [f"{e:.4g}" for e in edges]
    middle = [f"{low} – {high}" for low, high in pairwise(shown)]
    return [f"< {shown[0]}", *middle, f"≥ {shown[-1]}"]
