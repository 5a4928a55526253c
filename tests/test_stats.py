"""Intervals clustered by request (sri_kit.stats) and the three-valued verdicts read from them."""
import numpy as np
import pytest

from sri_kit import stats
from sri_kit.errors import ConfigError
from sri_kit.results import Column, Table, clustered_rate, format_rate
from sri_kit.results.schema import interval_methods


def _iid_wilson_width(k, n):
    lo, hi = stats.wilson(k, n)
    return hi - lo


def test_identical_generations_per_request_widen_the_rate_interval_to_the_requests():
    # 40 requests x 9 identical generations: the information is that of 40 requests, not 360 draws
    per_request = np.array([1] * 10 + [0] * 30)
    x = np.repeat(per_request, 9)
    g = np.repeat(np.arange(40), 9)
    c = stats.rate_interval(x, clusters=g)
    naive = _iid_wilson_width(90, 360)
    assert c["hi"] - c["lo"] > 2.5 * naive, "a naive iid interval over generations would pass here"
    lo40, hi40 = stats.wilson(10, 40)
    assert (c["lo"], c["hi"]) == pytest.approx((lo40, hi40), abs=1e-6)
    assert c["clusters"] == 40 and c["deff"] == pytest.approx(9.0)


def test_one_generation_per_request_is_exactly_wilson():
    x = np.array([1, 0, 0, 1, 1, 0, 1, 0, 0, 0])
    c = stats.rate_interval(x)
    assert (c["lo"], c["hi"]) == pytest.approx(stats.wilson(4, 10), abs=1e-6) and c["deff"] == 1.0


def test_independent_generations_within_requests_keep_the_iid_width():
    rng = np.random.default_rng(0)
    x = (rng.random(360) < 0.3).astype(int)          # no within-request correlation
    g = np.repeat(np.arange(40), 9)
    c = stats.rate_interval(x, clusters=g)
    assert c["deff"] < 2.0 and c["hi"] - c["lo"] < 1.5 * _iid_wilson_width(int(x.sum()), 360)


def test_all_zero_rate_uses_the_request_count_conservatively():
    c = stats.rate_interval(np.zeros(360, int), clusters=np.repeat(np.arange(40), 9))
    assert c["hi"] == pytest.approx(stats.wilson(0, 40)[1], abs=1e-6)


def test_bootstrap_difference_and_auroc_cluster_by_request():
    rng = np.random.default_rng(1)
    base = rng.random(40) < 0.5
    a = np.repeat(base, 9).astype(int)
    b = np.repeat(base | (rng.random(40) < 0.3), 9).astype(int)
    g = np.repeat(np.arange(40), 9)
    d_clu = stats.paired_difference(a, b, clusters=g, seed=0)
    d_iid = stats.paired_difference(a, b, seed=0)
    assert d_clu["hi"] - d_clu["lo"] > 2 * (d_iid["hi"] - d_iid["lo"])
    scores = np.repeat(rng.normal(size=40), 9)
    labels = np.repeat(rng.random(40) < 0.5, 9)
    a_clu = stats.auroc_interval(scores + 0.5 * labels, labels, clusters=g, seed=0)
    a_iid = stats.auroc_interval(scores + 0.5 * labels, labels, seed=0)
    assert a_clu["hi"] - a_clu["lo"] > 2 * (a_iid["hi"] - a_iid["lo"])
    assert stats.auroc_interval([0.1, 0.9], [0, 1], seed=3) == stats.auroc_interval([0.1, 0.9], [0, 1], seed=3)


def test_auroc_matches_sklearn():
    from sklearn.metrics import roc_auc_score
    rng = np.random.default_rng(2)
    s = np.round(rng.normal(size=200), 1)           # ties
    y = rng.random(200) < 0.4
    assert stats.auroc(s, y) == pytest.approx(roc_auc_score(y, s))


@pytest.mark.parametrize("iv, kw, want", [
    ((0.6, 0.8), {"at_least": 0.5}, "meets"), ((0.4, 0.8), {"at_least": 0.5}, "inconclusive"),
    ((0.1, 0.4), {"at_least": 0.5}, "misses"), ((0.01, 0.1), {"at_most": 0.05}, "inconclusive"),
    ((0.0, 0.04), {"at_most": 0.05}, "meets"), ((0.81, 0.9), {"within": (0.8, 0.96), "kind": "paper"}, "agrees"),
    ((0.2, 0.5), {"within": (0.8, 0.96), "kind": "paper"}, "disagrees"),
    ((0.5, 0.9), {"within": (0.8, 0.96), "kind": "paper"}, "inconclusive"),
    ((-0.1, 0.2), {"above": 0.0, "kind": "paper"}, "inconclusive"), ((0.0, 0.0), {"above": 0.0, "kind": "paper"}, "disagrees"),
    (None, {"above": 0.0}, "inconclusive"), ((float("nan"), 1.0), {"above": 0.0}, "inconclusive"),
])
def test_verdicts_are_read_from_the_interval(iv, kw, want):
    assert stats.verdict(iv, **kw) == want


def test_verdict_bad_input():
    with pytest.raises(ConfigError):
        stats.verdict((0, 1), at_least=0.5, at_most=0.6)
    with pytest.raises(ConfigError):
        stats.verdict((0, 1), at_least=0.5, kind="vibes")
    with pytest.raises(ConfigError):
        stats.rate_interval([0, 1, 2])
    with pytest.raises(ConfigError):
        stats.rate_interval([0, 1], clusters=[0])


def test_store_round_trips_clustered_cells_and_rejects_a_narrowed_interval():
    cell = clustered_rate([1] * 9 + [0] * 27, clusters=np.repeat(np.arange(4), 9))
    t = Table(model="m", name="t", title="T", split="n/a", n=36, seed=0, mode="quick",
              columns=[Column("a", "a"), Column("r", "r", "rate")], rows=[{"a": "x", "r": cell}])
    back = Table.from_dict(t.to_dict())
    assert back.rows[0]["r"] == cell and interval_methods(back) == {stats.RATE_METHOD}
    assert format_rate(cell) == f"25 % [{100 * cell['lo']:.0f}, {100 * cell['hi']:.0f}]"
    bad = t.to_dict()
    bad["rows"][0]["r"] = dict(cell, lo=0.2, hi=0.3)          # an iid-looking interval on a clustered cell
    from sri_kit.errors import CorruptFileError
    with pytest.raises(CorruptFileError):
        Table.from_dict(bad)


def test_every_clustered_rate_passes_the_stores_own_check():
    """The interval is computed from the design effect as stored (rounded), so the schema check, which recomputes
    it from that value, accepts every cell rate_interval makes (it rejected some before)."""
    from sri_kit.results.schema import _check_clustered
    rng = np.random.default_rng(0)
    for _ in range(300):
        n_req = int(rng.integers(1, 40))
        per = rng.integers(1, 6, n_req)
        clusters = np.repeat(np.arange(n_req), per)
        p = rng.uniform(0, 1, n_req)[clusters]
        bits = (rng.uniform(0, 1, len(clusters)) < p).astype(int)
        cell = stats.rate_interval(bits, clusters)
        assert _check_clustered(cell), cell
