"""Exact binomial intervals for error rates measured on a finite sample (the residual error of
auto-accept from QA answers, the before/after of a refit): Clopper–Pearson, computed without scipy."""

from __future__ import annotations

import math

CONFIDENCE = 0.95


def _binom_cdf(k: int, n: int, p: float) -> float:
    """P(X ≤ k) for X ~ Binomial(n, p), summed in log space (exact up to rounding)."""
    if p <= 0.0:
        return 1.0
    if p >= 1.0:
        return 1.0 if k >= n else 0.0
    lp, lq = math.log(p), math.log1p(-p)
    base = math.lgamma(n + 1)
    terms = [base - math.lgamma(i + 1) - math.lgamma(n - i + 1) + i * lp + (n - i) * lq for i in range(k + 1)]
    top = max(terms)
    return min(1.0, math.exp(top) * sum(math.exp(t - top) for t in terms))


def _bisect(f, lo: float = 0.0, hi: float = 1.0) -> float:
    """The root of a function decreasing from f(lo) > 0 to f(hi) < 0, to 1e-12."""
    for _ in range(200):
        mid = (lo + hi) / 2
        if f(mid) > 0:
            lo = mid
        else:
            hi = mid
        if hi - lo < 1e-12:
            break
    return (lo + hi) / 2


def clopper_pearson(k: int, n: int, confidence: float = CONFIDENCE) -> tuple[float, float]:
    """The exact (Clopper–Pearson) two-sided interval for a binomial proportion: ``k`` events in
    ``n`` trials. The lower bound solves P(X ≥ k | p) = α/2, the upper P(X ≤ k | p) = α/2 (the
    beta quantiles B(α/2; k, n−k+1) and B(1−α/2; k+1, n−k)), found by bisection on the binomial
    tail. (0, 1) when n is 0."""
    if n <= 0:
        return 0.0, 1.0
    if not 0 <= k <= n:
        raise ValueError(f"k={k} events in n={n} trials")
    half = (1 - confidence) / 2
    lower = 0.0 if k == 0 else _bisect(lambda p: half - (1 - _binom_cdf(k - 1, n, p)))
    upper = 1.0 if k == n else _bisect(lambda p: _binom_cdf(k, n, p) - half)
    return lower, upper


def upper_bound(k: int, n: int, confidence: float = CONFIDENCE) -> float:
    """The one-sided Clopper–Pearson upper bound on a rate after ``k`` events in ``n`` trials: the p
    at which seeing at most ``k`` has probability 1 − ``confidence`` (0 in n: 1 − α^(1/n), ≈ 3/n).
    1 when n is 0 or every trial was an event."""
    if n <= 0 or k >= n:
        return 1.0
    alpha = 1.0 - confidence
    if k == 0:
        return 1.0 - alpha ** (1.0 / n)
    return _bisect(lambda p: _binom_cdf(k, n, p) - alpha)
