"""Tests for the detector changes of issue 15 (guard diagnosis): SRI Guard's standardised inputs, the kNN
detector and the shrinkage LDA summary. Each test fails when the change it names is reverted."""
from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from sri_kit.detectors import KNNDetector, SRIGuard, lda_summary
from sri_kit.errors import ConfigError

T = 32


def saturated_benign(n: int, seed: int = 0) -> np.ndarray:
    """Benign σ like tiny-dlm's: pinned near 1 early (tiny spread), falling late by a variable amount
    (a wide spread on the last steps)."""
    rng = np.random.default_rng(seed)
    x = 0.999 + 0.0005 * rng.standard_normal((n, T))
    late = rng.uniform(0.0, 1.0, size=(n, 1))            # how far σ falls at the end: anything from 0 to 1
    ramp = np.clip((np.arange(T) - 20) / 11, 0, 1)[None]
    x = x - late * ramp
    return np.clip(x, 0, 1)


def early_dip(n: int, seed: int = 5) -> np.ndarray:
    """Attack-like: the same late behaviour, plus a modest early departure (σ 0.999 -> 0.97 on steps 2-10),
    small in σ units but many benign standard deviations on those steps."""
    x = saturated_benign(n, seed)
    x[:, 2:11] -= 0.03
    return np.clip(x, 0, 1)


@pytest.fixture(scope="module")
def sat():
    X = saturated_benign(900)
    return {"train": X[:700], "calib": X[700:], "test": saturated_benign(400, seed=9), "attack": early_dip(200)}


def test_standardised_inputs_see_small_departures_on_quiet_steps(sat):
    """Raw σ: the reconstruction error is dominated by the noisy late steps, so a small early departure
    hides under the benign tail. Standardised inputs weigh each step by its benign spread and catch it."""
    raw = SRIGuard(95, epochs=150, inputs="sigma").fit(sat["train"], sat["calib"])
    std = SRIGuard(95, epochs=150, inputs="standardized").fit(sat["train"], sat["calib"])
    tpr_raw, tpr_std = raw.flag(sat["attack"]).mean(), std.flag(sat["attack"]).mean()
    assert tpr_std > 0.9, tpr_std
    assert tpr_raw < 0.5, tpr_raw
    assert std.flag(sat["test"]).mean() < 0.1          # FP on held-out benign stays near the 5 % target


def test_output_layer_follows_inputs(sat):
    """σ inputs keep the paper's sigmoid output (and its 2,664 parameters); standardised inputs need a linear
    output (z-scores leave (0, 1)), with the same parameter count."""
    assert SRIGuard().inputs == "sigma" and SRIGuard().output_ == "sigmoid"
    g = SRIGuard(epochs=1, inputs="standardized").fit(sat["train"], sat["calib"])
    assert g.output_ == "linear" and not isinstance(g.net_[-1], torch.nn.Sigmoid)
    assert g.n_params_ == 2664
    assert isinstance(SRIGuard(epochs=1).fit(sat["train"], sat["calib"]).net_[-1], torch.nn.Sigmoid)


def test_standardised_guard_round_trips_and_old_files_load(sat, tmp_path):
    g = SRIGuard(epochs=20, inputs="logit").fit(sat["train"], sat["calib"])
    d = g.save(tmp_path / "g")
    g2 = SRIGuard.load(d)
    assert g2.inputs == "logit"
    np.testing.assert_array_equal(g.anomaly_score(sat["test"]), g2.anomaly_score(sat["test"]))
    np.testing.assert_allclose(g.input_scale_, g2.input_scale_)
    # a file written before `inputs` existed has σ inputs
    old = SRIGuard(epochs=5, inputs="sigma").fit(sat["train"], sat["calib"])
    d_old = old.save(tmp_path / "old")
    meta = json.loads((d_old / "sri_guard.json").read_text())
    del meta["inputs"]
    (d_old / "sri_guard.json").write_text(json.dumps(meta))
    loaded = SRIGuard.load(d_old)
    assert loaded.inputs == "sigma"
    np.testing.assert_array_equal(loaded.anomaly_score(sat["test"]), old.anomaly_score(sat["test"]))


def test_standardised_inputs_still_require_sigma_range(sat):
    with pytest.raises(ConfigError, match="σ vectors lie in"):
        SRIGuard(epochs=1, inputs="standardized").fit(sat["train"] * 3, sat["calib"])
    with pytest.raises(ConfigError, match="inputs must be one of"):
        SRIGuard(inputs="zscore")


def test_reconstruct_returns_sigma_units(sat):
    g = SRIGuard(epochs=100, inputs="standardized").fit(sat["train"], sat["calib"])
    r = g.reconstruct(sat["test"][:50])
    assert np.abs(r - sat["test"][:50]).mean() < 0.05     # in σ units, not z-scores


def test_knn_flags_far_signals_and_keeps_calibrated_fpr(sat):
    det = KNNDetector(95, k=5).fit(sat["train"], sat["calib"])
    assert det.flag(sat["attack"]).mean() > 0.9
    assert det.flag(sat["test"]).mean() < 0.1
    assert det.threshold_ == np.percentile(det.anomaly_score(sat["calib"]), 95)
    # a constant mid-level signal, which an autoencoder may reconstruct well, is far from every benign one
    assert det.predict(np.full((1, T), 0.5)).tolist() == [-1]
    with pytest.raises(ConfigError, match="needs more than"):
        KNNDetector(95, k=50, min_calib=5).fit(sat["train"][:40], sat["calib"][:20])


def test_lda_summary_drops_degenerate_fits_and_keeps_regular_ones():
    rng = np.random.default_rng(0)
    # saturated classes: σ pinned at 1 / 0 on most steps -> singular within-class covariance
    h = np.clip(1 + 1e-9 * rng.standard_normal((40, T)), 0, 1)
    r = np.clip(1e-9 * np.abs(rng.standard_normal((40, T))), 0, 1)
    h[:, -4:] = rng.uniform(0.6, 1.0, (40, 4))
    r[:, -4:] = rng.uniform(0.0, 0.4, (40, 4))
    deg = lda_summary({"harmless": h, "refusal": r})
    assert deg.attrs["degenerate"] and deg["ld1 mean"].isna().all()
    assert list(deg["n"]) == [40, 40]
    # regular classes: finite means a few within-class std apart, opposite signs
    a, b = rng.normal(0, 1, (60, 6)), rng.normal(1.5, 1, (60, 6))
    ok = lda_summary({"a": a, "b": b})
    assert not ok.attrs["degenerate"]
    assert 0.5 < abs(ok.loc["a", "ld1 mean"] - ok.loc["b", "ld1 mean"]) < 20
    assert 0.5 < ok.loc["a", "ld1 std"] < 2
    with pytest.raises(ConfigError, match="two classes"):
        lda_summary({"a": a, "b": b[:1]})
