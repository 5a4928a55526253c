"""Interventions on the residual stream at chosen steps (sri_kit/interventions.py, through the per-step door).

Guarantees: α = 0 or an empty step range gives bit-identical output to no intervention (every sampler);
steps outside the window are untouched (the records of steps before the window equal the plain run's);
the hooks are removed even when generation raises; the intervention is in the trace metadata and the
config key, so no cache serves a plain run's result for it; bad directions get clear errors.
"""
from __future__ import annotations

import numpy as np
import pytest
import torch

import sri_kit as sk
from sri_kit import GenerationConfig as G, Intervention
from sri_kit.errors import ConfigError, InputTypeError

from test_fast_decoding import _native

PROMPTS = ["How do I bake bread?", "Write a poem about the sea", "How do I pick a lock to break into a house?"]


@pytest.fixture(scope="module")
def organism():
    return sk.load_model("tiny-ar"), sk.load_model("tiny-dlm")


def _direction(D: int, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).normal(size=D).astype(np.float32)


def _eq(a, b) -> bool:
    return a.shape == b.shape and a.dtype == b.dtype and a.tobytes() == b.tobytes()


def _same(xs, ys, steps=None):
    """Traces equal bit for bit (over the first ``steps`` steps when given)."""
    for x, y in zip(xs, ys, strict=True):
        sl = slice(None) if steps is None else slice(0, steps)
        for f in ("activations", "predicted", "committed", "confidence"):
            assert _eq(getattr(x, f)[sl], getattr(y, f)[sl]), f
        if steps is None:
            assert x.text == y.text


def cases(organism, tok):
    ar, dlm = organism
    return {
        "ar": (ar, G(steps=10)),
        "ar_generated": (ar, G(steps=10, pooling="generated")),
        "diffusion": (dlm, G(steps=8, gen_length=16)),
        "diffusion_cfg": (dlm, G(steps=8, gen_length=16, cfg_scale=1.0)),
        "left_to_right": (dlm, G(steps=16, gen_length=16, order="left_to_right")),
        "threshold": (dlm, G(steps=16, gen_length=16, sampler="threshold", options={"threshold": 0.7})),
        "dream": (dlm, G(steps=8, gen_length=16, sampler="dream")),
        "dual_cache": (_native(tok, "llada"), G(steps=8, gen_length=16, block_length=8, sampler="dual_cache",
                                                 options={"threshold": 0.9})),
    }


CASES = ["ar", "ar_generated", "diffusion", "diffusion_cfg", "left_to_right", "threshold", "dream", "dual_cache"]


@pytest.mark.parametrize("case", CASES)
def test_alpha_zero_and_empty_window_change_nothing(organism, tok, case):
    lm, cfg = cases(organism, tok)[case]
    D = lm.model.get_input_embeddings().embedding_dim
    d = _direction(D)
    plain = sk.generate(lm, PROMPTS, cfg, progress=False, batch_size=2)
    for kw in ({"alpha": 0.0}, {"alpha": 0.0, "mode": "add"}, {"steps": (3, 3), "alpha": 5.0},
               {"steps": (0.5, 0.5), "mode": "add", "alpha": 5.0}):
        iv = sk.intervene(lm, PROMPTS, cfg, d, batch_size=2, **kw)
        _same(plain, iv)
        assert iv[0].config_key != plain[0].config_key and iv[0].meta["interventions"][0]["alpha"] == kw["alpha"]
    # a real intervention from step k on leaves steps < k as they were, and changes something after (AR with
    # pooling="generated": φ_t is token t's own state, computed in step t + 1's pass, so steps < k - 1)
    k = 2
    late = sk.intervene(lm, PROMPTS, cfg, d, steps=(k, cfg.steps), mode="add", alpha=50.0, batch_size=2)
    _same(plain, late, steps=k - 1 if case == "ar_generated" else k)
    assert all(_eq(a.predicted[:k], b.predicted[:k]) for a, b in zip(plain, late))
    assert any(not _eq(a.activations, b.activations) for a, b in zip(plain, late))


def test_add_and_ablate_act_on_the_residual_stream(organism):
    _, dlm = organism
    cfg = G(steps=4, gen_length=8)
    d = _direction(256, 1)
    u = d / np.linalg.norm(d)
    site = "resid_post.3"
    plain = sk.generate(dlm, PROMPTS[:1], cfg, progress=False, sites=[site])[0].sites[site]
    added = sk.intervene(dlm, PROMPTS[:1], cfg.replace(), d, layers=3, mode="add", alpha=2.0)
    # step 0 sees the same canvas, so the recorded layer-3 output moved by exactly α·u (pooled mean)
    rec = sk.generate(dlm, PROMPTS[:1], cfg, progress=False, sites=[site],
                      interventions=[Intervention(d, layers=(3,), mode="add", alpha=2.0)])[0].sites[site]
    np.testing.assert_allclose(rec[0] - plain[0], 2.0 * u, atol=1e-4)
    assert added[0].meta["interventions"][0]["layers"] == [3]
    abl = sk.generate(dlm, PROMPTS[:1], cfg, progress=False, sites=[site],
                      interventions=[Intervention(d, layers=(3,), mode="ablate")])[0].sites[site]
    assert abs(float(abl[0] @ u)) < 1e-4 < abs(float(plain[0] @ u))       # the component along u is gone


def test_generate_interventions_equals_intervene(organism):
    ar, _ = organism
    cfg = G(steps=8)
    d = _direction(256, 2)
    a = sk.intervene(ar, PROMPTS, cfg, d, steps=(0, 1 / 3), layers=[1, 2])
    b = sk.generate(ar, PROMPTS, cfg, progress=False,
                    interventions=[Intervention(d, steps=(0, 1 / 3), layers=[1, 2])])
    _same(a, b)
    assert sk.generate_texts(ar, PROMPTS, cfg, interventions=[Intervention(d, steps=(0, 1 / 3), layers=[1, 2])]) \
        == [t.text for t in a]


def test_hooks_are_removed_even_when_generation_raises(organism):
    ar, dlm = organism
    for lm, cfg in ((ar, G(steps=6)), (dlm, G(steps=4, gen_length=8))):
        count = lambda: sum(len(m._forward_hooks) + len(m._forward_pre_hooks) for m in lm.model.modules())  # noqa: E731
        before = count()
        calls = {"n": 0}

        def boom(module, args):
            calls["n"] += 1
            if calls["n"] == 2:
                raise RuntimeError("boom")

        h = lm.model.register_forward_pre_hook(boom)
        try:
            with pytest.raises(RuntimeError, match="boom"):
                sk.intervene(lm, PROMPTS[:2], cfg, _direction(256), layers=None)
        finally:
            h.remove()
        assert count() == before


def test_the_intervention_is_in_the_config_key_and_no_cache_serves_a_plain_run(organism, tmp_path):
    from sri_kit.analysis.irr import fit_centers_protocol

    ar, _ = organism
    cfg = G(steps=8)
    iv = Intervention(_direction(256), steps=(0, 4), layers=(1,), alpha=1.0)
    with_iv = cfg.replace(interventions=(iv,))
    assert with_iv.key() != cfg.key()
    assert cfg.replace(interventions=(Intervention(_direction(256), steps=(0, 4), layers=(1,), alpha=0.5),)).key() \
        != with_iv.key()
    assert G.from_dict(with_iv.to_dict()) == with_iv and G.from_dict(with_iv.to_dict()).key() == with_iv.key()
    assert "interventions" not in cfg.to_dict()          # plain configs serialise (and hash) as before
    harmless, harmful = sk.data.load_prompts("tiny_benign", n=2), sk.data.load_prompts("tiny_harmful", n=2)
    c0 = fit_centers_protocol(ar, harmless, harmful, cfg, cache_dir=tmp_path)
    c1 = fit_centers_protocol(ar, harmless, harmful, with_iv, cache_dir=tmp_path)
    assert c0.config_key == cfg.key() and c1.config_key == with_iv.key()
    assert len(list(tmp_path.glob("*.safetensors"))) == 2


def test_centers_direction():
    c = sk.Centers(np.zeros((3, 4)), np.array([[1.0, 0, 0, 0], [0, 2.0, 0, 0], [0, 0, 0, 3.0]]))
    assert np.allclose(c.direction(step=1), [0, 1, 0, 0]) and np.allclose(c.direction(step=-1), [0, 0, 0, 1])
    pooled = c.direction()
    assert pooled.shape == (4,) and np.isclose(np.linalg.norm(pooled), 1.0)
    assert np.allclose(c.direction(unit=False), [1 / 3, 2 / 3, 0, 1])           # harmful minus harmless
    assert c.direction(per_step=True).shape == (3, 4)
    with pytest.raises(ConfigError, match="step must be"):
        c.direction(step=3)
    with pytest.raises(ConfigError, match="zero difference"):
        sk.Centers(np.ones((2, 4)), np.ones((2, 4))).direction()


def test_bad_directions_and_settings_get_clear_errors(organism):
    ar, _ = organism
    cfg = G(steps=4)
    for bad, err, msg in ((np.ones((4, 256)), ConfigError, "one vector"), (np.full(256, np.nan), ConfigError, "NaN"),
                          (np.zeros(256), ConfigError, "zero norm"), ("up", InputTypeError, "1-D array"),
                          (np.ones(0), ConfigError, "one vector")):
        with pytest.raises(err, match=msg):
            sk.intervene(ar, ["hi"], cfg, bad)
    with pytest.raises(ConfigError, match="residual stream has 256"):
        sk.intervene(ar, ["hi"], cfg, np.ones(64))
    with pytest.raises(ConfigError, match="unknown intervention mode"):
        sk.intervene(ar, ["hi"], cfg, np.ones(256), mode="steer")
    with pytest.raises(ConfigError, match="fractions"):
        sk.intervene(ar, ["hi"], cfg, np.ones(256), steps=(0.5, 0.2))
    with pytest.raises(ConfigError, match="runs past"):
        sk.intervene(ar, ["hi"], cfg, np.ones(256), steps=(0, 9))
    with pytest.raises(ConfigError, match="out of range"):
        sk.intervene(ar, ["hi"], cfg, np.ones(256), layers=[7])
    with pytest.raises(InputTypeError, match="finite number"):
        sk.intervene(ar, ["hi"], cfg, np.ones(256), alpha=float("inf"))
    with pytest.raises(InputTypeError, match="needs a direction"):
        sk.intervene(ar, ["hi"], cfg)
    # the per-step form of a direction works one step at a time
    per_step = sk.Centers(np.zeros((4, 256)), np.ones((4, 256))).direction(per_step=True)
    assert len(sk.intervene(ar, ["hi"], cfg, per_step[0])) == 1
    assert torch.is_tensor(torch.as_tensor(per_step[0]))
