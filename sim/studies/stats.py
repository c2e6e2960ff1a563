"""Confidence intervals over replications: the mean and its Student t-interval.

Paired differences (policy minus base, replication by replication) go through the same
`interval`, which gives the paired t-interval.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Interval:
    """A mean and its 95% t-interval over replications."""

    n: int
    mean: float
    sd: float
    low: float
    high: float

    @property
    def half_width(self) -> float:
        """Half the interval's width (nan with fewer than two replications)."""
        return (self.high - self.low) / 2

    @property
    def excludes_zero(self) -> bool:
        """The interval lies wholly above or below zero."""
        return self.low > 0 or self.high < 0


def t_quantile(df: int, level: float = 0.95) -> float:
    """Two-sided Student t quantile for `df` degrees of freedom."""
    from scipy.stats import t

    return float(t.ppf(0.5 + level / 2, df))


def interval(values: Sequence[float], level: float = 0.95) -> Interval:
    """Mean and t-interval of replications' values (paired differences give the paired interval)."""
    x = np.asarray(values, dtype=np.float64)
    n = len(x)
    mean = float(x.mean()) if n else math.nan
    if n < 2:
        return Interval(n, mean, math.nan, math.nan, math.nan)
    sd = float(x.std(ddof=1))
    half = t_quantile(n - 1, level) * sd / math.sqrt(n)
    return Interval(n, mean, sd, mean - half, mean + half)
