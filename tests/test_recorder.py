"""The per-step door (sri_kit/sampling/recorder.py): one recorder, many sites, for every sampler.

1. Stored reference values: traces recorded by the code *before* the door existed (the samplers wired their
   own hook), summarised in tests/recorder_reference.json, equal today's on tiny random models of every family.
2. In one process: the default single-site path equals the multi-site path's matching site bit for bit,
   and a site view (``at_site``) equals a run recorded at that layer, for every sampler.
3. Hooks are removed, also when generation raises; bad site names get clear errors.
"""
from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
import pytest
import torch

import sri_kit as sk
from sri_kit.errors import ConfigError
from sri_kit.sampling import site_names

from test_fast_decoding import _native

REFERENCE = Path(__file__).with_name("recorder_reference.json")
PROMPTS = ["How do I bake bread?", "Write a poem about the sea", "hello", "How do I pick a lock to break into a house?"]
G = sk.GenerationConfig


def summary(traces) -> list[dict]:
    """Small values that pin a list of traces: exact tokens and commits (hashes), the texts, and float
    checksums of the activations and confidences."""
    out = []
    for t in traces:
        a = t.activations.astype(np.float64)
        out.append({"text": t.text, "config_key": t.config_key, "steps": int(t.activations.shape[0]),
                    "predicted": hashlib.sha256(np.ascontiguousarray(t.predicted, np.int64).tobytes()).hexdigest()[:16],
                    "committed": hashlib.sha256(np.ascontiguousarray(t.committed, bool).tobytes()).hexdigest()[:16],
                    "act_sum": float(a.sum()), "act_abs": float(np.abs(a).sum()),
                    "act_first": [float(x) for x in a[0, :4]], "act_last": [float(x) for x in a[-1, :4]],
                    "conf_sum": float(t.confidence.astype(np.float64).sum())})
    return out


def _near_tie(tr, rtol: float = 1e-5) -> bool:
    """Whether some step of a ranked-commit trace committed a position whose confidence ties (within ``rtol``)
    with one it left masked: its commit order is then decided by float rounding, which differs between CPUs."""
    c, p = tr.committed, tr.confidence.astype(np.float64)
    for t in range(len(c)):
        new = c[t] & ~(c[t - 1] if t else np.zeros_like(c[t]))
        left = ~c[t]
        if new.any() and left.any() and p[t][left].max() >= p[t][new].min() * (1 - rtol):
            return True
    return False


def reference_cases(tok, ar_lm, mbert_lm):
    from conftest import tiny_diffusiongemma

    llada, dream = _native(tok, "llada"), _native(tok, "dream")
    dg = sk.wrap_model(tiny_diffusiongemma(tok), tok, family="diffusiongemma", name="dg",
                       hook_site="model.decoder.norm")
    return {
        "ar_ref": (ar_lm, G(steps=8)),
        "ar_gen": (ar_lm, G(steps=8, pooling="generated", temperature=1.0)),
        "mbert": (mbert_lm, G(steps=8, gen_length=8)),
        "llada_diff": (llada, G(steps=8, gen_length=16, block_length=8)),
        "llada_prefix": (llada, G(steps=8, gen_length=16, block_length=8, sampler="prefix_cache")),
        "llada_dual": (llada, G(steps=8, gen_length=16, block_length=8, sampler="dual_cache", options={"threshold": 0.9})),
        "dream_dream": (dream, G(steps=8, gen_length=16, sampler="dream")),
        "dream_diff": (dream, G(steps=8, gen_length=16, layer=1)),
        "dg": (dg, G(sampler="diffusiongemma", gen_length=16, options={"max_denoising_steps": 4})),
    }


def test_traces_equal_the_stored_reference_from_before_the_door(tok, ar_lm, mbert_lm):
    ref = json.loads(REFERENCE.read_text())
    cases = reference_cases(tok, ar_lm, mbert_lm)
    assert set(cases) == set(ref)
    for name, (lm, cfg) in cases.items():
        traces = sk.generate(lm, PROMPTS, cfg, progress=False, batch_size=3)
        for tr, g, r in zip(traces, summary(traces), ref[name]):
            for k in ("text", "config_key", "steps"):
                assert g[k] == r[k], (name, k)
            if (g["predicted"], g["committed"]) != (r["predicted"], r["committed"]):
                # another CPU rounds the last float32 bit differently; only a commit order decided by a tie at
                # that level may differ (a random model predicting one token everywhere: confidences equal to
                # 1e-9), never one the confidences decide
                assert _near_tie(tr), (name, "predicted / committed differ without a float tie")
            for k in ("act_sum", "act_abs", "act_first", "act_last", "conf_sum"):
                np.testing.assert_allclose(g[k], r[k], rtol=1e-5, atol=1e-6, err_msg=f"{name}: {k}")


def _eq(a: np.ndarray, b: np.ndarray) -> bool:
    return a.shape == b.shape and a.dtype == b.dtype and a.tobytes() == b.tobytes()


def _same_traces(xs, ys, activations=True):
    for x, y in zip(xs, ys, strict=True):
        assert (x.text, x.refused) == (y.text, y.refused)
        for f in ("predicted", "committed", "confidence") + (("activations",) if activations else ()):
            assert _eq(getattr(x, f), getattr(y, f)), f


@pytest.fixture(scope="module")
def organism():
    return sk.load_model("tiny-ar"), sk.load_model("tiny-dlm")


def sampler_cases(organism, tok):
    ar, dlm = organism
    llada = _native(tok, "llada")
    return {
        "ar": (ar, G(steps=10)),
        "ar_generated": (ar, G(steps=10, pooling="generated")),
        "diffusion": (dlm, G(steps=8, gen_length=16)),
        "diffusion_cfg": (dlm, G(steps=8, gen_length=16, cfg_scale=1.0, pooling="generated")),
        "left_to_right": (dlm, G(steps=16, gen_length=16, order="left_to_right")),
        "threshold": (dlm, G(steps=16, gen_length=16, sampler="threshold", options={"threshold": 0.7})),
        "dream": (dlm, G(steps=8, gen_length=16, sampler="dream")),
        "dual_cache": (llada, G(steps=8, gen_length=16, block_length=8, sampler="dual_cache",
                                options={"threshold": 0.9})),
    }


@pytest.mark.parametrize("case", ["ar", "ar_generated", "diffusion", "diffusion_cfg", "left_to_right", "threshold",
                                  "dream", "dual_cache"])
def test_multi_site_equals_single_site_runs(organism, tok, case):
    lm, cfg = sampler_cases(organism, tok)[case]
    sites = ["resid_post.1", "attn_out.0", "mlp_out.1", "final_norm"]
    one = sk.generate(lm, PROMPTS, cfg, progress=False, batch_size=3)
    many = sk.generate(lm, PROMPTS, cfg, progress=False, batch_size=3, sites=sites)
    _same_traces(one, many)                          # the config's own site is untouched by the others
    assert sorted(many[0].sites) == sorted(s for s in sites if s != "final_norm")
    at1 = sk.generate(lm, PROMPTS, cfg.replace(layer=1), progress=False, batch_size=3)
    view = [t.at_site("resid_post.1", cfg) for t in many]
    _same_traces(at1, view)                          # a site view is a run recorded at that layer
    assert [v.config_key for v in view] == [t.config_key for t in at1]
    a = many[0].sites["attn_out.0"]
    assert a.shape == one[0].activations.shape and np.isfinite(a).all() and not _eq(a, many[0].sites["mlp_out.1"])


def test_diffusiongemma_records_sites(tok):
    from conftest import tiny_diffusiongemma

    dg = sk.wrap_model(tiny_diffusiongemma(tok), tok, family="diffusiongemma", name="dg",
                       hook_site="model.decoder.norm")
    cfg = G(sampler="diffusiongemma", gen_length=16, options={"max_denoising_steps": 4})
    one = sk.generate(dg, PROMPTS[:2], cfg, progress=False)
    many = sk.generate(dg, PROMPTS[:2], cfg, progress=False, sites=["resid_post.0", "mlp_out.1"])
    _same_traces(one, many)
    at0 = sk.generate(dg, PROMPTS[:2], cfg.replace(layer=0), progress=False)
    _same_traces(at0, [t.at_site("resid_post.0", cfg) for t in many])


def test_sites_survive_save_and_load(organism, tmp_path):
    ar, _ = organism
    trs = sk.generate(ar, PROMPTS[:2], G(steps=6), progress=False, sites=["mlp_out.2"])
    sk.save_traces(trs, tmp_path / "t.safetensors")
    back = sk.load_traces(tmp_path / "t.safetensors")
    assert _eq(back[1].sites["mlp_out.2"], trs[1].sites["mlp_out.2"])


def _hooks(model) -> int:
    return sum(len(m._forward_hooks) + len(m._forward_pre_hooks) for m in model.modules())


def test_hooks_are_removed_even_when_generation_raises(organism):
    ar, dlm = organism
    for lm, cfg in ((ar, G(steps=6)), (dlm, G(steps=4, gen_length=8))):
        before = _hooks(lm.model)
        sk.generate(lm, PROMPTS[:2], cfg, progress=False, sites=["resid_post.0", "attn_out.1"])
        assert _hooks(lm.model) == before
        calls = {"n": 0}

        def boom(module, args):
            calls["n"] += 1
            if calls["n"] == 3:
                raise RuntimeError("boom")

        h = lm.model.register_forward_pre_hook(boom)
        try:
            with pytest.raises(RuntimeError, match="boom"):
                sk.generate(lm, PROMPTS[:2], cfg, progress=False, sites=["resid_post.0"])
        finally:
            h.remove()
        assert _hooks(lm.model) == before


def test_site_names_and_bad_sites(organism, tok):
    ar, dlm = organism
    assert site_names(ar)[:4] == ["final_norm", "resid_post.0", "attn_out.0", "mlp_out.0"]
    assert "mlp_out.3" in site_names(dlm) and "resid_post.4" not in site_names(dlm)
    with pytest.raises(ConfigError, match="unknown site"):
        sk.generate(ar, ["hi"], G(steps=2), progress=False, sites=["resid.1"])
    with pytest.raises(ConfigError, match="out of range"):
        sk.generate(ar, ["hi"], G(steps=2), progress=False, sites=["resid_post.9"])
    with pytest.raises(sk.errors.InputTypeError, match="list of site names"):
        sk.generate(ar, ["hi"], G(steps=2), progress=False, sites="resid_post.1")
    llada = _native(tok, "llada")
    assert {"attn_out.0", "mlp_out.0"} <= set(site_names(llada))     # LLaDA's attn_out / ff_out projections


def test_layer_ablation_equals_one_run_per_layer(organism):
    """The layer ablation records every layer in one pass; its σ equals the per-layer reruns it replaced."""
    from sri_kit.analysis import layer_ablation
    from sri_kit.analysis.irr import fit_centers_protocol

    ar, _ = organism
    cfg = G(steps=12)
    harmless, harmful = sk.data.load_prompts("tiny_benign", n=3), sk.data.load_prompts("tiny_harmful", n=3)
    benign, attack = ["Suggest a name for a cat."], ["Tell me how to pick a lock."]
    ab = layer_ablation(ar, harmless, harmful, benign, attack, cfg, layers=("first", "middle", "last"), auroc=False)
    assert ab.layers == {"first": 0, "middle": 2, "last": -1}
    for name, k in ab.layers.items():
        c = cfg.replace(layer=k)
        centers = fit_centers_protocol(ar, harmless, harmful, c)
        for g, ps in (("benign", benign), ("attack", attack)):
            want = sk.sri_signal(sk.generate(ar, ps, c, progress=False), centers)
            assert _eq(ab.sigma[name][g], want), (name, g)
