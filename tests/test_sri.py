"""SRI signal, centers, states and IRR against the formulas and hand-built cases."""
from __future__ import annotations

import numpy as np
import pytest
import torch

import sri_kit as sk
from sri_kit.sampling.trace import GenerationTrace


def loop_sigma(a, mh, mb, tau=0.1, eps=1e-8):
    """The paper's formula, one step at a time (the official code's order of operations)."""
    out = np.zeros(a.shape[:2])
    for n in range(a.shape[0]):
        for t in range(a.shape[1]):
            x = a[n, t]
            def cd(mu):
                return 1 - float(np.dot(x / (np.linalg.norm(x) + eps), mu / (np.linalg.norm(mu) + eps)))
            out[n, t] = 1 / (1 + np.exp(-(np.log(cd(mb[t]) + eps) - np.log(cd(mh[t]) + eps)) / tau))
    return out


def test_sri_signal_equals_formula():
    rng = np.random.default_rng(0)
    a, mh, mb = rng.normal(size=(6, 9, 32)), rng.normal(size=(9, 32)), rng.normal(size=(9, 32))
    ref = loop_sigma(a, mh, mb)
    for acts in (a, torch.tensor(a), torch.tensor(a, dtype=torch.float32)):
        got = sk.sri_signal(acts, (mh, mb))
        assert got.shape == (6, 9)
        assert np.max(np.abs(got - ref)) <= 1e-6
    assert np.max(np.abs(sk.sri_signal(a, sk.Centers(mh, mb)) - ref)) <= 1e-6
    assert np.allclose(sk.sri_signal(a[0], (mh, mb)), ref[0], atol=1e-6)        # one [T, D]


def test_sri_signal_chunks_and_trace_lists(monkeypatch):
    """Several chunks with a partial last one; traces whose activations are strided views (as generate()
    returns them); the list path equals the array path bit for bit and the per-step loop to 1e-6."""
    import sri_kit.sri as S

    rng = np.random.default_rng(3)
    N, T, D = 7, 5, 16
    batch = torch.tensor(rng.normal(size=(T, N, D)), dtype=torch.float32).transpose(0, 1)   # [N, T, D] view
    traces = [_trace(batch[i].numpy(), False) for i in range(N)]
    assert not traces[0].activations.flags["C_CONTIGUOUS"]
    a = batch.numpy().astype(np.float64)
    mh, mb = rng.normal(size=(T, D)), rng.normal(size=(T, D))
    ref = loop_sigma(a, mh, mb)
    monkeypatch.setattr(S, "_CHUNK_VALUES", 3 * T * D)                                 # chunks of 3, 3, 1
    from_list, from_array = sk.sri_signal(traces, (mh, mb)), sk.sri_signal(batch, (mh, mb))
    assert np.array_equal(from_list, from_array)
    assert np.max(np.abs(from_list - ref)) <= 1e-6
    with pytest.raises(ValueError, match="T steps"):
        sk.sri_signal(traces + [_trace(rng.normal(size=(T + 1, D)), False)], (mh, mb))


def test_sri_direction():
    mh, mb = np.eye(4)[[0, 0]], np.eye(4)[[1, 1]]
    a = np.stack([mh + 0.01, mb + 0.01])       # near harmless, near harmful
    s = sk.sri_signal(a, (mh, mb))
    assert (s[0] > 0.99).all() and (s[1] < 0.01).all()


def test_sri_signal_errors():
    rng = np.random.default_rng(0)
    with pytest.raises(ValueError, match="do not match"):
        sk.sri_signal(rng.normal(size=(2, 5, 8)), (rng.normal(size=(4, 8)), rng.normal(size=(4, 8))))
    with pytest.raises(ValueError, match="NaN"):
        sk.sri_signal(np.full((1, 2, 3), np.nan), (np.ones((2, 3)), np.ones((2, 3))))
    with pytest.raises(TypeError, match="centers"):
        sk.sri_signal(rng.normal(size=(1, 2, 3)), "nope")


def _trace(acts, refused, model="m", key="k"):
    T = acts.shape[0]
    return GenerationTrace(prompt="p", text="t", activations=acts.astype(np.float32, copy=False),
                           predicted=np.zeros((T, 2), np.int64), committed=np.ones((T, 2), bool),
                           confidence=np.ones((T, 2), np.float32), refused=refused, model_name=model,
                           config_key=key, meta={"pooling": "reference"})


def test_centers_fit_filters_and_averages(tmp_path):
    rng = np.random.default_rng(1)
    H = [_trace(rng.normal(size=(4, 8)), r) for r in (False, False, True)]
    B = [_trace(rng.normal(size=(4, 8)), r) for r in (True, False, True)]
    c = sk.Centers.fit(H, B)
    assert (c.n_harmless, c.n_harmful) == (2, 2)
    np.testing.assert_allclose(c.harmless, (H[0].activations.astype(np.float64) + H[1].activations) / 2, atol=1e-6)
    np.testing.assert_allclose(c.harmful, (B[0].activations.astype(np.float64) + B[2].activations) / 2, atol=1e-6)
    assert (c.model_name, c.config_key, c.pooling) == ("m", "k", "reference")
    c.save(tmp_path / "c")
    back = sk.Centers.load(tmp_path / "c")
    assert np.array_equal(back.harmless, c.harmless) and back.n_harmful == 2 and back.config_key == "k"
    s1 = sk.sri_signal(H, c)
    assert s1.shape == (3, 4)


def test_centers_errors():
    rng = np.random.default_rng(2)
    ok = [_trace(rng.normal(size=(4, 8)), False)]
    bad = [_trace(rng.normal(size=(4, 8)), True)]
    with pytest.raises(ValueError, match="harmful center would be empty"):
        sk.Centers.fit(ok, [_trace(rng.normal(size=(4, 8)), False)])
    with pytest.raises(ValueError, match="harmless center would be empty"):
        sk.Centers.fit(bad, bad)
    with pytest.raises(ValueError, match="model"):
        sk.Centers.fit(ok, [_trace(rng.normal(size=(4, 8)), True, model="other")])
    with pytest.raises(ValueError, match="config"):
        sk.Centers.fit(ok, [_trace(rng.normal(size=(4, 8)), True, key="other")])
    with pytest.raises(ValueError, match=r"\(4, 8\)"):
        sk.Centers.fit(ok, [_trace(rng.normal(size=(5, 8)), True)])
    c = sk.Centers.fit(ok, bad)
    with pytest.raises(ValueError, match="config"):
        sk.sri_signal([_trace(rng.normal(size=(4, 8)), True, key="x")], c)
    with pytest.raises(ValueError, match="model"):
        sk.sri_signal([_trace(rng.normal(size=(4, 8)), True, model="x")], c)
    with pytest.raises(ValueError):
        sk.Centers.fit([], bad)


def test_states_and_irr():
    sig = np.array([[0.9] * 4 + [0.05] * 4,            # recovers
                    [0.9] * 8,                          # stays compliant
                    [0.2] * 8,                          # never compliant
                    [0.6, 0.7, 0.2, 0.8, 0.9, 0.5, 0.4, 0.25],   # ends at 0.25 < 0.3
                    [0.9, 0.9, 0.9, 0.9, 0.9, 0.9, 0.9, 0.4]])   # ends transitioning
    assert sk.internal_recovery_rate(sig, lambda_r=0.3) == pytest.approx(2 / 5)
    assert sk.internal_recovery_rate(sig, lambda_r=0.5) == pytest.approx(3 / 5)
    assert sk.internal_recovery_rate(sig, lambda_r=0.1) == pytest.approx(1 / 5)
    st = sk.sri_states(sig, lambda_r=0.3)
    assert st[3].tolist() == [1, 1, -1, 1, 1, 0, 0, -1]
    with pytest.raises(ValueError):
        sk.sri_states(sig, lambda_r=0.7)
    with pytest.raises(ValueError, match="NaN"):
        sk.internal_recovery_rate(np.array([[np.nan, 0.2]]))
