"""DiffusionGemma: the kit's recorded sampler equals transformers' own ``model.generate()`` token for token.

A tiny random DiffusionGemmaForBlockDiffusion (2 layers, 4 experts, canvases of 8 tokens, the test
tokenizer) is built in code: no download, no remote code. Its embeddings (tied to the LM head) are
scaled up so the logits are peaked enough for adaptive stopping to end canvases at different steps.
"""
from __future__ import annotations

import numpy as np
import pytest
import torch

import sri_kit as sk
from sri_kit.errors import ConfigError, InputTypeError
from sri_kit.sampling import get_sampler, register, sampler_names, unregister
from sri_kit.sampling.common import row_seed
from conftest import tiny_diffusiongemma

dg = pytest.importorskip("transformers.models.diffusion_gemma", reason="DiffusionGemma needs transformers >= 5.13")
from sri_kit.sampling.diffusiongemma import DiffusionGemmaBatch, DiffusionGemmaSampler  # noqa: E402

PROMPTS = ["hello", "write a poem about the sea", "how do I bake bread at home"]
C = 8                   # canvas length of the tiny model
# adaptive stopping that fires on this tiny model at different steps per row (stability always met)
VARIABLE = {"max_denoising_steps": 8, "confidence_threshold": 1.0, "stability_threshold": 0}


def _tiny(tok, eos_token_id=None):
    m = tiny_diffusiongemma(tok, canvas_length=C)
    with torch.no_grad():
        m.model.decoder.embed_tokens.weight.mul_(32.0)      # tied: encoder/decoder embeddings and the LM head
    m.generation_config.pad_token_id = tok.pad_token_id
    m.generation_config.max_denoising_steps = 6         # the checkpoint's own setting (transformers' default: 48)
    m.generation_config.eos_token_id = eos_token_id
    return m


@pytest.fixture(scope="module", autouse=True)
def registered():
    before = get_sampler("diffusiongemma") if "diffusiongemma" in sampler_names() else None
    register(DiffusionGemmaSampler(), replace=True)
    yield
    if before is None:
        unregister("diffusiongemma")
    else:
        register(before, replace=True)


@pytest.fixture(scope="module")
def lm(tok):
    return sk.wrap_model(_tiny(tok), tok, family="diffusiongemma", name="tiny-random-diffusiongemma",
                         hook_site="model.decoder.norm")


def cfg_of(options=None, **kw):
    kw.setdefault("gen_length", 2 * C)
    return sk.GenerationConfig(sampler="diffusiongemma", options=options or {"max_denoising_steps": 4}, **kw)


def hf_generate(model, ids, seed, **kw):
    """transformers' own generate, seeded as the kit seeds a row; the new tokens."""
    torch.manual_seed(seed)
    out = model.generate(torch.tensor([ids]), **kw)
    return out.sequences[0, len(ids):].tolist()


def run(lm, prompts, cfg, record=True):
    return get_sampler("diffusiongemma").run(lm, lm.encode_chat(prompts), cfg, record=record)


# ---------------------------------------------------------------- parity with model.generate()
# each case: the kit's options and the same settings written as model.generate() keywords
CASES = {
    "few-steps": ({"max_denoising_steps": 4}, dict(max_denoising_steps=4)),
    "schedule+bound": ({"max_denoising_steps": 3, "entropy_bound": 0.5, "t_min": 0.1, "t_max": 1.5},
                       dict(max_denoising_steps=3, t_min=0.1, t_max=1.5,
                            sampler_config=dg.EntropyBoundSamplerConfig(entropy_bound=0.5))),
    "adaptive": (VARIABLE, dict(max_denoising_steps=8, confidence_threshold=1.0, stability_threshold=0)),
    "no-stopping": ({"max_denoising_steps": 3, "adaptive_stopping": False},
                    dict(max_denoising_steps=3, stability_threshold=None, confidence_threshold=None)),
    "no-self-conditioning": ({"max_denoising_steps": 3, "self_conditioning": False},
                             dict(max_denoising_steps=3, self_conditioning_mask=torch.zeros(1, dtype=torch.bool))),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_tokens_equal_model_generate(lm, case):
    options, hf_kw = CASES[case]
    cfg = cfg_of(options, seed=5)
    out = run(lm, PROMPTS[:2], cfg)
    for i, ids in enumerate(lm.encode_chat(PROMPTS[:2])):
        ref = hf_generate(lm.model, ids, row_seed(5, ids), max_new_tokens=2 * C, **hf_kw)
        assert out.response_ids[i].tolist() == ref, case
    if case == "adaptive":        # the case that makes rows stop at different steps
        assert len(set(out.n_steps.tolist())) > 1 and out.n_steps.max() < 2 * 8


def test_default_options_equal_model_generate(lm):
    """No options: the model's generation_config (6 steps here), else transformers' defaults (bound 0.1, ...)."""
    cfg = sk.GenerationConfig(sampler="diffusiongemma", gen_length=C, seed=1)
    ids = lm.encode_chat(PROMPTS[:1])[0]
    out = run(lm, PROMPTS[:1], cfg)
    assert out.response_ids[0].tolist() == hf_generate(lm.model, ids, row_seed(1, ids), max_new_tokens=C)
    assert out.n_steps.tolist() == [6]


def test_seeded(lm):
    a, b, c = (run(lm, PROMPTS[:2], cfg_of(seed=s), record=False).response_ids for s in (0, 0, 1))
    assert torch.equal(a, b) and not torch.equal(a, c)


def test_end_token_stops_a_row_and_pads(tok, lm):
    """An end token in a canvas finishes the row after that canvas (transformers pads what follows it)."""
    cfg = cfg_of(seed=2)
    first = run(lm, PROMPTS[:2], cfg, record=False).response_ids
    eos = int(first[0, 2])                           # the third token of row 0's first canvas
    assert eos not in first[0, :2].tolist() + first[1, :C].tolist()     # ... not earlier, not in row 1's
    m = _tiny(tok, eos_token_id=eos)
    lm_eos = sk.wrap_model(m, tok, family="diffusiongemma", name="tiny-eos", hook_site="model.decoder.norm")
    out = run(lm_eos, PROMPTS[:2], cfg)
    for i, ids in enumerate(lm_eos.encode_chat(PROMPTS[:2])):
        ref = hf_generate(m, ids, row_seed(2, ids), max_new_tokens=2 * C, max_denoising_steps=4)
        assert out.response_ids[i, :len(ref)].tolist() == ref
    r0 = out.response_ids[0].tolist()
    assert r0[:3] == first[0, :3].tolist() and r0[3:] == [tok.pad_token_id] * (2 * C - 3)
    assert out.n_steps.tolist() == [4, 8]
    assert out.predicted[0, 3].tolist() == r0            # the finalised canvas is the last prediction
    assert out.committed[0, 3].all() and out.committed[0, 7].all()   # repeated up to T = 8


# ---------------------------------------------------------------- batching
def test_batch_equals_one_at_a_time(lm):
    cfg = cfg_of(VARIABLE, seed=3)
    batch = run(lm, PROMPTS, cfg)
    for i, p in enumerate(PROMPTS):
        solo = run(lm, [p], cfg)
        T = int(solo.n_steps[0])
        assert int(batch.n_steps[i]) == T
        assert torch.equal(batch.response_ids[i], solo.response_ids[0])
        for name in ("predicted", "committed", "accepted", "renoised", "canvas_ids", "canvas_index"):
            assert torch.equal(getattr(batch, name)[i, :T], getattr(solo, name)[0]), name
        torch.testing.assert_close(batch.activations[i, :T], solo.activations[0], rtol=0, atol=1e-6)
        torch.testing.assert_close(batch.confidence[i, :T], solo.confidence[0], rtol=0, atol=1e-6)
    a = sk.generate(lm, PROMPTS, cfg, batch_size=3, progress=False)
    b = sk.generate(lm, PROMPTS, cfg, batch_size=1, progress=False)
    assert [t.predicted.tolist() for t in a] == [t.predicted.tolist() for t in b]


# ---------------------------------------------------------------- records
def test_records_are_consistent(lm):
    cfg = cfg_of(VARIABLE, seed=1)
    states, forwards, inputs = [], [], []
    dec = lm.model.model.decoder
    h1 = dec.norm.register_forward_hook(lambda mod, a, out: states.append(out.detach().clone()))
    h2 = dec.register_forward_hook(lambda mod, a, out: forwards.append(1))
    h3 = dec.register_forward_pre_hook(lambda mod, a, kw: inputs.append(kw["decoder_input_ids"][0].clone()),
                                       with_kwargs=True)
    try:
        out = run(lm, PROMPTS[:1], cfg)
    finally:
        h1.remove(), h2.remove(), h3.remove()
    assert isinstance(out, DiffusionGemmaBatch)
    T, L = int(out.n_steps[0]), 2 * C
    assert len(forwards) == T == out.n_forward == out.activations.shape[1] and len(states) == T
    assert out.activations.shape == (1, T, 32) and out.activations.dtype == torch.float32
    for name in ("predicted", "committed", "confidence", "accepted", "renoised", "canvas_ids"):
        assert getattr(out, name).shape == (1, T, L), name
    # φ_t: the mean of the decoder's final norm over the canvas of that forward (reference pooling)
    torch.testing.assert_close(out.activations[0], torch.stack([s[0].float().mean(0) for s in states]))
    assert out.predicted[0, -1].tolist() == out.response_ids[0].tolist()
    canvas = out.canvas_index[0]
    assert canvas.tolist() == sorted(canvas.tolist()) and set(canvas.tolist()) == {0, 1}
    for t in range(T):
        c = int(canvas[t])
        active = torch.zeros(L, dtype=torch.bool)
        active[c * C:(c + 1) * C] = True
        acc, ren, com = out.accepted[0, t], out.renoised[0, t], out.committed[0, t]
        assert not (acc & ~active).any() and acc.any()              # the entropy bound accepts >= 1 token
        assert torch.equal(ren, active & ~acc)                      # every other canvas position is renoised
        assert com[: c * C].all() and not com[(c + 1) * C:].any()   # finished canvases / future ones
        last = t == T - 1 or int(canvas[t + 1]) != c
        assert torch.equal(com[active], torch.ones(C, dtype=torch.bool) if last else acc[active])
        assert (out.predicted[0, t, (c + 1) * C:] == lm.pad_token_id).all()
        conf = out.confidence[0, t]
        assert ((conf[active] > 0) & (conf[active] <= 1)).all() and (conf[(c + 1) * C:] == 0).all()
        if c:   # earlier canvases keep their output tokens
            assert torch.equal(out.predicted[0, t, : c * C], out.response_ids[0, : c * C])
            assert torch.equal(out.canvas_ids[0, t, : c * C], out.response_ids[0, : c * C])
        if not last:   # canvas_ids: what the decoder reads at the next step
            assert torch.equal(out.canvas_ids[0, t, active], inputs[t + 1])


def _capture(module, run_it):
    """Run ``run_it()`` with ``module``'s outputs collected."""
    states = []
    h = module.register_forward_hook(
        lambda mod, a, out: states.append((out[0] if isinstance(out, tuple) else out).detach().clone()))
    try:
        return run_it(), states
    finally:
        h.remove()


def test_generated_pooling_and_layer(lm):
    cfg = cfg_of(seed=4, pooling="generated")
    dec = lm.model.model.decoder
    gen, norm_states = _capture(dec.norm, lambda: run(lm, PROMPTS[:1], cfg))
    lay, layer_states = _capture(dec.layers[0], lambda: run(lm, PROMPTS[:1], cfg.replace(layer=0, pooling="reference")))
    assert torch.equal(gen.response_ids, lay.response_ids)      # what is recorded does not change the tokens
    T = int(lay.n_steps[0])
    torch.testing.assert_close(lay.activations[0], torch.stack([s[0].float().mean(0) for s in layer_states]))
    # generated pooling: the canvas's committed positions only (accepted ones; all of it at its last step)
    for t in range(T):
        c = int(gen.canvas_index[0, t])
        w = gen.committed[0, t, c * C:(c + 1) * C]
        torch.testing.assert_close(gen.activations[0, t], norm_states[t][0].float()[w].mean(0))


def test_record_false_same_tokens(lm):
    cfg = cfg_of(VARIABLE, seed=7)
    a, b = run(lm, PROMPTS, cfg), run(lm, PROMPTS, cfg, record=False)
    assert torch.equal(a.response_ids, b.response_ids) and torch.equal(a.n_steps, b.n_steps)
    assert b.activations is None and b.predicted is None


# ---------------------------------------------------------------- through sri_kit.generate, aligned, σ
def test_generate_traces_align_and_sigma(lm):
    cfg = cfg_of(VARIABLE, seed=1)
    traces = sk.generate(lm, PROMPTS * 2, cfg, progress=False)
    out = run(lm, PROMPTS, cfg)
    steps = [tr.steps for tr in traces]
    assert steps[:3] == out.n_steps.tolist() and len(set(steps)) > 1
    for tr in traces:
        assert tr.sampler == "diffusiongemma" and tr.meta["steps"] == tr.steps
        # the step budget: the resolved max_denoising_steps per canvas times the canvases (gen_length = 2 canvases)
        assert tr.meta["max_steps"] == 2 * VARIABLE["max_denoising_steps"] >= tr.steps
        assert tr.step_texts()[-1] == tr.text
    with pytest.raises(ConfigError, match="align_traces"):
        sk.Centers.fit(traces[:3], traces[3:])
    T = 6
    aligned = sk.align_traces(traces, T)
    for tr, n in zip(aligned, steps):
        assert tr.steps == T and tr.meta["source_steps"] == n and tr.meta["step_map"][-1] == n - 1
    for tr in aligned[3:]:
        tr.refused = True               # the random model never refuses: stand-in judge labels
    for tr in aligned[:3]:
        tr.refused = False
    centers = sk.Centers.fit(aligned[:3], aligned[3:])
    sigma = sk.sri_signal(aligned, centers)
    assert sigma.shape == (6, T) and np.isfinite(sigma).all() and ((sigma >= 0) & (sigma <= 1)).all()


# ---------------------------------------------------------------- options and errors
@pytest.mark.parametrize("options,error,fragment", [
    ({"t_min": 0.9, "t_max": 0.5}, ConfigError, "swap them or raise t_max"),
    ({"entropy_bound": 0}, ConfigError, "entropy_bound must be > 0"),
    ({"max_denoising_steps": 0}, ConfigError, "max_denoising_steps must be >= 1"),
    ({"max_denoising_steps": True}, InputTypeError, "max_denoising_steps must be an int"),
    ({"confidence_threshold": "high"}, InputTypeError, "confidence_threshold must be a number"),
    ({"adaptive_stopping": False, "stability_threshold": 2}, ConfigError, "drop them or set adaptive_stopping=True"),
    ({"self_conditioning": 1}, ConfigError, "self_conditioning must be True or False"),
    ({"renoise": False}, ConfigError, "its options are"),
])
def test_option_errors_name_the_fix(lm, options, error, fragment):
    cfg = sk.GenerationConfig(sampler="diffusiongemma", options=options)
    with pytest.raises(error, match=fragment):
        sk.generate(lm, PROMPTS[:1], cfg, progress=False)


def test_options_resolved_by_transformers(lm):
    """t_max alone below the model's default t_min (0.4) is refused by transformers: a ConfigError here."""
    with pytest.raises(ConfigError, match="change the options"):
        get_sampler("diffusiongemma").validate(lm, cfg_of({"t_max": 0.2}))
    assert get_sampler("diffusiongemma").generate_kwargs(cfg_of({"max_denoising_steps": 4})) == {
        "max_new_tokens": 2 * C, "max_length": None, "max_denoising_steps": 4}


def test_hook_site_must_be_in_the_decoder(tok, lm):
    enc = sk.wrap_model(lm.model, tok, family="diffusiongemma", hook_site="model.encoder.language_model.norm")
    with pytest.raises(ConfigError, match="hook_site='model.decoder.norm'"):
        sk.generate(enc, PROMPTS[:1], cfg_of(), progress=False)
    with pytest.raises(ConfigError, match="the decoder has 2 layers"):
        sk.generate(lm, PROMPTS[:1], cfg_of(layer=2), progress=False)


def test_not_a_diffusiongemma_model(tok, ar_lm):
    with pytest.raises(ConfigError, match="runs on diffusiongemma models"):
        sk.generate(ar_lm, PROMPTS[:1], cfg_of(), progress=False)
    wrong = sk.wrap_model(ar_lm.model, tok, family="diffusiongemma", hook_site="model.norm")
    with pytest.raises(ConfigError, match="not a DiffusionGemma model"):
        sk.generate(wrong, PROMPTS[:1], cfg_of(), progress=False)
