"""Intervals that respect the design: the unit that varies is the *request*, not the generation.

An evaluation set is usually a few dozen requests, each generated several times (one request under
nine attack wrappers, or under several seeds). Generations of one request are correlated, so treating
360 generations of 40 requests as 360 independent draws makes every interval too narrow. Every rate,
rate difference and AUROC that the store or a verdict uses is computed here, with ``clusters`` (one
request id per generation) saying which generations belong together. The method is stated once, in
docs/STATISTICS.md:

- **rate** (:func:`rate_interval`): Wilson 95 % score interval on the *effective* sample size
  n_eff = n / deff, where the design effect deff is the ratio of the cluster-robust (sandwich)
  variance of the mean to the iid variance, clipped to [1, n / m] (m requests). With one generation
  per request it is exactly the Wilson interval; with every generation of a request identical it is
  the Wilson interval of the m requests. At k = 0 or k = n the data carry no information on the
  correlation, so deff takes its largest value n / m (conservative).
- **difference of rates, AUROC, difference of AUROCs** (:func:`cluster_bootstrap`, :func:`auroc_interval`,
  :func:`paired_difference`): percentile bootstrap over requests (every generation of a drawn request
  comes along), ``n_boot`` = 2000 resamples, a fixed seed, so the interval is reproducible.
- **verdicts** (:func:`verdict`): three-valued and read from the interval, never from the point
  estimate: the claim holds on the whole interval (*meets* / *agrees*), on none of it (*misses* /
  *disagrees*), or the interval straddles the boundary (*inconclusive*).

>>> import numpy as np
>>> x = np.repeat([1] * 10 + [0] * 30, 9)              # 40 requests x 9 identical generations
>>> iid = rate_interval(x)                              # pretends 360 independent draws
>>> clu = rate_interval(x, clusters=np.repeat(np.arange(40), 9))
>>> (clu["hi"] - clu["lo"]) > 2.5 * (iid["hi"] - iid["lo"]), clu["clusters"]
(True, 40)
>>> verdict((0.62, 0.71), at_least=0.5), verdict((0.42, 0.71), at_least=0.5), verdict((0.1, 0.3), at_least=0.5)
('meets', 'inconclusive', 'misses')
>>> verdict((0.02, 0.09), above=0.0, kind="paper")
'agrees'
"""
from __future__ import annotations

import math
from typing import Sequence

import numpy as np

from .errors import ConfigError

__all__ = ["Z95", "N_BOOT", "RATE_METHOD", "BOOTSTRAP_METHOD", "wilson", "design_effect", "rate_interval",
           "cluster_bootstrap", "paired_difference", "auroc", "auroc_interval", "verdict", "VERDICTS"]

Z95 = 1.959963984540054
#: Bootstrap resamples (fixed, like the seed, so every interval is reproducible).
N_BOOT = 2000
#: Method tags stored with every interval (``method`` in a stored rate cell).
RATE_METHOD = "wilson-deff-by-request"
BOOTSTRAP_METHOD = "bootstrap-by-request"
#: The words a verdict may take, per kind.
VERDICTS = {"target": ("meets", "misses", "inconclusive"), "paper": ("agrees", "disagrees", "inconclusive")}


def wilson(k: float, n: float, z: float = Z95) -> tuple[float, float]:
    """Wilson score interval of ``k`` successes in ``n`` trials (``n`` may be an effective, non-integer size).

    >>> tuple(round(v, 3) for v in wilson(0, 10))
    (0.0, 0.278)
    """
    if n <= 0:
        return float("nan"), float("nan")
    p = k / n
    den = 1 + z * z / n
    mid = (p + z * z / (2 * n)) / den
    half = z * math.sqrt(max(p * (1 - p), 0.0) / n + z * z / (4 * n * n)) / den
    return max(0.0, mid - half), min(1.0, mid + half)


def _as_clusters(n: int, clusters) -> np.ndarray:
    if clusters is None:
        return np.arange(n)
    c = np.asarray(clusters)
    if c.ndim != 1 or len(c) != n:
        raise ConfigError(f"clusters must give one request id per observation ({n}), got shape {c.shape}")
    _, inv = np.unique(c.astype(str), return_inverse=True)
    return inv


def _bits(x) -> np.ndarray:
    a = np.asarray(x)
    if a.ndim != 1:
        raise ConfigError(f"expected a 1-d array of 0/1 outcomes, got shape {a.shape}")
    if a.size and not np.isin(a, (0, 1, True, False)).all():
        raise ConfigError("outcomes must be 0/1 (or bool); got other values")
    return a.astype(float)


def design_effect(x, clusters=None) -> float:
    """Cluster-robust variance of the mean of ``x`` over its iid variance, clipped to [1, n / m].

    >>> design_effect([1, 1, 0, 0], clusters=[0, 0, 1, 1])
    2.0
    """
    x = _bits(x)
    n = len(x)
    g = _as_clusters(n, clusters)
    m = int(g.max()) + 1 if n else 0
    if n == 0 or m <= 1:
        return float(n) if n else 1.0
    cap = n / m
    p = x.mean()
    if p in (0.0, 1.0):
        return cap                       # no information on the correlation: assume the worst case
    resid = np.bincount(g, weights=x - p, minlength=m)
    v_cr = m / (m - 1) * float((resid ** 2).sum()) / n ** 2
    v_iid = p * (1 - p) / n
    return float(min(max(v_cr / v_iid, 1.0), cap))


def rate_interval(x, clusters=None, z: float = Z95) -> dict:
    """A stored rate cell of 0/1 outcomes ``x`` clustered by request: counts, rate, 95 % interval, method.

    Keys: ``k``, ``n``, ``rate``, ``lo``, ``hi``, ``clusters`` (requests), ``deff``, ``method``.

    >>> c = rate_interval([1, 0, 1, 1])
    >>> c["k"], c["n"], c["clusters"], round(c["lo"], 3), round(c["hi"], 3)
    (3, 4, 4, 0.301, 0.954)
    """
    x = _bits(x)
    n = len(x)
    g = _as_clusters(n, clusters)
    k = int(x.sum())
    if n == 0:
        return {"k": 0, "n": 0, "rate": None, "lo": None, "hi": None, "clusters": 0, "deff": None,
                "method": RATE_METHOD}
    deff = round(design_effect(x, g), 6)     # the interval is computed from the design effect as stored, so a
    lo, hi = wilson(k / deff, n / deff, z)   # reader (the store's schema check) recomputes the same interval
    return {"k": k, "n": n, "rate": k / n, "lo": round(lo, 6), "hi": round(hi, 6), "clusters": int(g.max()) + 1,
            "deff": round(deff, 6), "method": RATE_METHOD}


def cluster_bootstrap(stat, n: int, clusters=None, *, n_boot: int = N_BOOT, seed: int = 0,
                      level: float = 0.95) -> tuple[float, float, float]:
    """``(value, lo, hi)``: ``stat(idx)`` on all observations and its percentile interval over requests.

    ``stat`` takes an index array into the observations (with repeats) and returns a float (NaN for a
    resample where it is undefined: those are dropped). Requests are drawn with replacement and every
    observation of a drawn request comes along.

    >>> v, lo, hi = cluster_bootstrap(lambda i: float(np.mean(np.arange(10)[i])), 10, seed=1)
    >>> v, lo < v < hi
    (4.5, True)
    """
    g = _as_clusters(n, clusters)
    m = int(g.max()) + 1 if n else 0
    value = float(stat(np.arange(n)))
    if m == 0:
        return value, float("nan"), float("nan")
    members = [np.flatnonzero(g == j) for j in range(m)]
    rng = np.random.default_rng(seed)
    vals = []
    for _ in range(n_boot):
        pick = rng.integers(0, m, m)
        idx = np.concatenate([members[j] for j in pick])
        v = stat(idx)
        if v is not None and not (isinstance(v, float) and math.isnan(v)):
            vals.append(float(v))
    if not vals:
        return value, float("nan"), float("nan")
    a = (1 - level) / 2
    lo, hi = np.quantile(vals, [a, 1 - a])
    return value, float(lo), float(hi)


def paired_difference(a, b, clusters=None, *, n_boot: int = N_BOOT, seed: int = 0) -> dict:
    """``mean(b) - mean(a)`` over paired observations (same request, same slot), bootstrap over requests.

    Returns a stored ``pp`` cell: ``value``, ``lo``, ``hi``, ``clusters``, ``method``.

    >>> d = paired_difference([0, 0, 0, 0, 1, 0, 0, 0], [1, 1, 1, 1, 1, 1, 0, 1], seed=0)
    >>> round(d["value"], 3), d["lo"] > 0
    (0.75, True)
    """
    x, y = _bits(a), _bits(b)
    if len(x) != len(y):
        raise ConfigError(f"paired outcomes need equal lengths, got {len(x)} and {len(y)}")
    v, lo, hi = cluster_bootstrap(lambda i: float(y[i].mean() - x[i].mean()), len(x), clusters, n_boot=n_boot,
                                  seed=seed)
    return {"value": v, "lo": lo, "hi": hi, "clusters": int(_as_clusters(len(x), clusters).max()) + 1 if len(x) else 0,
            "method": BOOTSTRAP_METHOD}


def auroc(scores, labels) -> float:
    """Area under the ROC curve (ties count one half); NaN when one class is empty.

    >>> auroc([0.1, 0.4, 0.35, 0.8], [0, 0, 1, 1])
    0.75
    """
    s = np.asarray(scores, float)
    y = np.asarray(labels).astype(bool)
    pos, neg = s[y], s[~y]
    if len(pos) == 0 or len(neg) == 0:
        return float("nan")
    order = np.argsort(np.concatenate([pos, neg]), kind="mergesort")
    allv = np.concatenate([pos, neg])[order]
    ranks = np.empty(len(allv))
    i = 0
    while i < len(allv):                   # average ranks over ties
        j = i
        while j + 1 < len(allv) and allv[j + 1] == allv[i]:
            j += 1
        ranks[i:j + 1] = (i + j) / 2 + 1
        i = j + 1
    r = np.empty(len(allv))
    r[order] = ranks
    rp = r[:len(pos)].sum()
    return float((rp - len(pos) * (len(pos) + 1) / 2) / (len(pos) * len(neg)))


def auroc_interval(scores, labels, clusters=None, *, n_boot: int = N_BOOT, seed: int = 0) -> dict:
    """AUROC with a bootstrap-over-requests 95 % interval: ``value``, ``lo``, ``hi``, ``clusters``, ``method``.

    A request that has both benign and attacked generations (a matched negative and its jailbreaks) is
    one cluster: pass the same id for both.

    >>> r = auroc_interval([0.1, 0.2, 0.3, 0.9, 0.8, 0.7], [0, 0, 0, 1, 1, 1], seed=0)
    >>> r["value"], r["lo"], r["clusters"]
    (1.0, 1.0, 6)
    """
    s = np.asarray(scores, float)
    y = np.asarray(labels).astype(bool)
    if len(s) != len(y):
        raise ConfigError(f"scores and labels differ in length ({len(s)} vs {len(y)})")
    v, lo, hi = cluster_bootstrap(lambda i: auroc(s[i], y[i]), len(s), clusters, n_boot=n_boot, seed=seed)
    return {"value": v, "lo": lo, "hi": hi, "clusters": int(_as_clusters(len(s), clusters).max()) + 1 if len(s) else 0,
            "method": BOOTSTRAP_METHOD}


def verdict(interval: Sequence[float] | dict | None, *, at_least: float | None = None, at_most: float | None = None,
            above: float | None = None, below: float | None = None, within: tuple[float, float] | None = None,
            kind: str = "target") -> str:
    """Three-valued verdict of a claim about a quantity, read from its 95 % ``interval`` ``(lo, hi)``.

    The claim is one bound (``at_least`` / ``above``: the quantity is ≥ / > the value; ``at_most`` /
    ``below``: ≤ / <) or a band (``within=(a, b)``, e.g. the paper's range). The whole interval satisfies
    it: ``meets`` (``kind="paper"``: ``agrees``); none of it does: ``misses`` (``disagrees``); else
    ``inconclusive``. A missing or NaN interval is ``inconclusive``.

    >>> verdict({"lo": -0.05, "hi": 0.2}, above=0.0, kind="paper")
    'inconclusive'
    >>> verdict((0.0, 0.0), above=0.0, kind="paper")
    'disagrees'
    """
    if kind not in VERDICTS:
        raise ConfigError(f"kind must be one of {sorted(VERDICTS)}, got {kind!r}")
    yes, no, unsure = VERDICTS[kind]
    given = [v is not None for v in (at_least, at_most, above, below, within)]
    if sum(given) != 1:
        raise ConfigError("give exactly one of at_least, at_most, above, below, within")
    if interval is None:
        return unsure
    lo, hi = (interval["lo"], interval["hi"]) if isinstance(interval, dict) else interval
    if lo is None or hi is None or math.isnan(lo) or math.isnan(hi):
        return unsure
    if lo > hi:
        raise ConfigError(f"interval ({lo}, {hi}) has lo > hi")
    if at_least is not None:
        all_in, none_in = lo >= at_least, hi < at_least
    elif above is not None:
        all_in, none_in = lo > above, hi <= above
    elif at_most is not None:
        all_in, none_in = hi <= at_most, lo > at_most
    elif below is not None:
        all_in, none_in = hi < below, lo >= below
    else:
        a, b = within
        all_in, none_in = (a <= lo and hi <= b), (hi < a or lo > b)
    return yes if all_in else no if none_in else unsure
