"""Fast DLM decoding: threshold / factor parallel decoding and the prefix / dual KV-cache samplers."""
from __future__ import annotations

import numpy as np
import pytest
import torch

import sri_kit as sk
from sri_kit.errors import ConfigError, InputTypeError
from sri_kit.sampling import generate_canvases, get_sampler, register, sampler_names, unregister
from sri_kit.sampling.cached import DualCacheSampler, PrefixCacheSampler
from sri_kit.sampling.threshold import FactorSampler, ThresholdSampler, commit_counts, response_closed

PROMPTS = ["write a poem about the sea", "how do I bake bread at home", "hello world"]


@pytest.fixture(scope="module", autouse=True)
def samplers():
    """Register the fast samplers for this module and leave the registry as it was (other tests and the
    doctests read ``sampler_names()``)."""
    before = {n: get_sampler(n) for n in sampler_names()}
    for s in (ThresholdSampler(), FactorSampler(), PrefixCacheSampler(), DualCacheSampler()):
        register(s, replace=True)
    yield
    for n in sampler_names():
        if n in before:
            register(before[n], replace=True)
        else:
            unregister(n)


@pytest.fixture(scope="module")
def tiny_dlm():
    return sk.load_model("tiny-dlm")


def _native(tok, kind):
    native = pytest.importorskip("sri_kit.native")
    torch.manual_seed(3)
    if kind == "llada":
        m = native.LLaDAForDiffusion(native.llada_config(
            d_model=64, n_heads=4, n_kv_heads=2, n_layers=2, mlp_hidden_size=128, vocab_size=len(tok),
            embedding_size=len(tok), mask_token_id=tok.mask_token_id, pad_token_id=tok.pad_token_id,
            eos_token_id=tok.eos_token_id))
        return sk.wrap_model(m.eval(), tok, family="diffusion", name="tiny-native-llada")
    m = native.DreamForDiffusion(native.dream_config(
        hidden_size=64, intermediate_size=128, num_hidden_layers=2, num_attention_heads=4, num_key_value_heads=2,
        vocab_size=len(tok)))
    return sk.wrap_model(m.eval(), tok, family="diffusion", name="tiny-native-dream", shift_logits=True)


@pytest.fixture(scope="module")
def llada_lm(tok):
    return _native(tok, "llada")


@pytest.fixture(scope="module")
def dream_lm(tok):
    return _native(tok, "dream")


def _run(lm, cfg, prompts=PROMPTS, record=True, name=None):
    return get_sampler(name or cfg.sampler or "diffusion").run(lm, lm.encode_chat(prompts), cfg, record=record)


# ---- the commit rules ------------------------------------------------------------------------------

def test_commit_counts_match_a_brute_force_count():
    g = torch.Generator().manual_seed(0)
    conf = torch.rand((50, 12), generator=g, dtype=torch.float64) ** 0.2
    conf[conf < 0.3] = float("-inf")                      # positions that do not compete
    floor = torch.randint(0, 3, (50,), generator=g)
    for thr in (0.0, 0.5, 0.9, 1.0):
        want = [max(int(f), int((row > thr).sum())) for row, f in zip(conf, floor)]
        assert commit_counts(conf, floor, threshold=thr).tolist() == want
    for fac in (0.5, 1.0, 3.0):
        want = []
        for row, f in zip(conf, floor):
            c = sorted(row[torch.isfinite(row)].tolist(), reverse=True)
            n = 0
            while n < len(c) and c[n] > 1 - fac / (n + 2):      # the (n+1)-th largest
                n += 1
            want.append(max(int(f), n))
        assert commit_counts(conf, floor, factor=fac).tolist() == want
    with pytest.raises(ValueError):
        commit_counts(conf, floor)


# ---- threshold 1.0 is the exact sampler -----------------------------------------------------------

@pytest.mark.parametrize("which", ["tiny_dlm", "bert_lm"])
@pytest.mark.parametrize("steps,block", [(16, 8), (8, 16)])
def test_threshold_one_is_exact_diffusion(request, which, steps, block):
    lm = request.getfixturevalue(which)
    cfg = sk.GenerationConfig(steps=steps, gen_length=16, block_length=block)
    ex = _run(lm, cfg)
    th = _run(lm, cfg.replace(sampler="threshold", options={"threshold": 1.0}))
    assert torch.equal(th.response_ids, ex.response_ids)
    assert torch.equal(th.committed, ex.committed) and torch.equal(th.predicted, ex.predicted)
    torch.testing.assert_close(th.confidence, ex.confidence)
    torch.testing.assert_close(th.activations, ex.activations)
    assert th.n_forward == ex.n_forward == steps and th.n_steps.tolist() == [steps] * len(PROMPTS)
    if steps == 16:                                       # steps == gen_length: one token per step
        assert (np.diff(th.committed.sum(-1).numpy(), axis=1) == 1).all()


def test_threshold_one_is_exact_when_sampling(bert_lm):
    cfg = sk.GenerationConfig(steps=8, gen_length=8, temperature=0.9, top_k=20, seed=4)
    ex = _run(bert_lm, cfg)
    th = _run(bert_lm, cfg.replace(sampler="threshold", options={"threshold": 1.0}))
    assert torch.equal(th.response_ids, ex.response_ids) and torch.equal(th.committed, ex.committed)


# ---- lower thresholds: fewer forwards, consistent records ------------------------------------------

def test_low_threshold_takes_fewer_forwards(tiny_dlm):
    cfg = tiny_dlm.default_config            # 32 steps, 64 tokens, 2 blocks
    exact = _run(tiny_dlm, cfg, record=False, name="diffusion")
    fast = {t: _run(tiny_dlm, cfg.replace(sampler="threshold", options={"threshold": t}), record=False)
            for t in (0.9, 0.3, 0.0)}
    assert fast[0.0].n_forward == 2 and fast[0.0].n_steps.tolist() == [2] * len(PROMPTS)   # a block per pass
    assert exact.n_forward == 32
    assert fast[0.3].n_steps.sum() <= fast[0.9].n_steps.sum() <= 32 * len(PROMPTS)
    # the rows' passes drop, not necessarily the batch's: on the v3 organism the poem prompt still takes all 32
    # steps at threshold 0.3 (its confidences stay low; fewer steps are not monotone in the threshold)
    assert fast[0.3].n_steps.sum() < 32 * len(PROMPTS)
    f = _run(tiny_dlm, cfg.replace(sampler="threshold_factor", options={"factor": 4.0}), record=False)
    assert f.n_forward < 32


@pytest.mark.parametrize("name,opts", [("threshold", {"threshold": 0.5}), ("threshold_factor", {"factor": 2.0})])
def test_record_false_and_batching_give_the_same_tokens(bert_lm, tiny_dlm, name, opts):
    for lm in (bert_lm, tiny_dlm):
        cfg = sk.GenerationConfig(steps=16, gen_length=16, block_length=8, sampler=name, options=opts)
        rec = _run(lm, cfg)
        txt = _run(lm, cfg, record=False)
        assert torch.equal(rec.response_ids, txt.response_ids) and torch.equal(rec.n_steps, txt.n_steps)
        assert rec.predicted.shape[1] == int(rec.n_steps.max())
        for i, p in enumerate(PROMPTS):
            alone = _run(lm, cfg, prompts=[p])
            n = int(alone.n_steps[0])
            assert n == int(rec.n_steps[i])
            assert torch.equal(alone.response_ids[0], rec.response_ids[i])
            assert torch.equal(alone.committed[0], rec.committed[i, :n])
            # a row that stopped early repeats its last step
            assert (rec.committed[i, n:] == rec.committed[i, n - 1]).all()
            torch.testing.assert_close(alone.activations[0], rec.activations[i, :n], atol=1e-4, rtol=1e-4)


def test_generate_keeps_each_rows_steps(tiny_dlm):
    cfg = tiny_dlm.default_config.replace(sampler="threshold", options={"threshold": 0.5})
    traces = sk.generate(tiny_dlm, PROMPTS, cfg, progress=False)
    out = _run(tiny_dlm, cfg, record=False)
    got = sorted(tr.steps for tr in traces)
    assert got == sorted(out.n_steps.tolist())
    for tr in traces:
        assert tr.meta["steps"] == tr.steps and tr.committed[-1].all()
        assert tr.step_texts()[-1] == tr.text
    assert sk.generate_texts(tiny_dlm, PROMPTS, cfg) == [tr.text for tr in traces]


# ---- options ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("name,opts,err,fragment", [
    ("threshold", {"threshold": 1.5}, ConfigError, "threshold must be <= 1.0"),
    ("threshold", {"threshold": -0.1}, ConfigError, "threshold must be >= 0.0"),
    ("threshold", {"threshold": "high"}, InputTypeError, "threshold must be a number"),
    ("threshold", {"threshold": True}, InputTypeError, "threshold must be a number"),
    ("threshold", {"factor": 1.0}, ConfigError, "no option(s) ['factor']"),
    ("threshold_factor", {"factor": 0.0}, ConfigError, "factor must be > 0.0"),
    ("threshold_factor", {"factor": float("nan")}, ConfigError, "finite"),
    ("dual_cache", {"cache": "yes"}, InputTypeError, "cache must be True or False"),
])
def test_options_are_validated(bert_lm, name, opts, err, fragment):
    cfg = sk.GenerationConfig(steps=8, gen_length=8, sampler=name, options=opts)
    with pytest.raises(err, match=None) as e:
        get_sampler(name).validate(bert_lm, cfg)
    assert fragment in str(e.value)


def test_config_errors_name_the_fix(bert_lm, mbert_lm):
    cfg = sk.GenerationConfig(steps=8, gen_length=8, sampler="threshold", remasking="random")
    with pytest.raises(ConfigError, match="remasking='low_confidence'"):
        get_sampler("threshold").validate(bert_lm, cfg)
    for lm in (bert_lm, mbert_lm):                        # encoders without a KV cache
        with pytest.raises(ConfigError, match="'threshold' sampler"):
            get_sampler("prefix_cache").validate(lm, cfg.replace(sampler="prefix_cache", remasking="low_confidence"))
    with pytest.raises(ConfigError, match="steps <= gen_length"):
        get_sampler("threshold").validate(bert_lm, cfg.replace(steps=16, remasking="low_confidence"))


# ---- the KV-cache samplers ---------------------------------------------------------------------------

@pytest.mark.parametrize("model", ["llada_lm", "dream_lm"])
@pytest.mark.parametrize("name", ["prefix_cache", "dual_cache"])
def test_disabled_cache_is_exact_decoding(request, model, name):
    lm = request.getfixturevalue(model)
    cfg = sk.GenerationConfig(steps=16, gen_length=16, block_length=8)
    ex = _run(lm, cfg)
    off = _run(lm, cfg.replace(sampler=name, options={"cache": False}))
    assert torch.equal(off.response_ids, ex.response_ids) and torch.equal(off.committed, ex.committed)
    torch.testing.assert_close(off.activations, ex.activations)
    th = _run(lm, cfg.replace(sampler="threshold", options={"threshold": 0.05}))
    off = _run(lm, cfg.replace(sampler=name, options={"cache": False, "threshold": 0.05}))
    assert torch.equal(off.response_ids, th.response_ids) and torch.equal(off.n_steps, th.n_steps)


@pytest.mark.parametrize("model", ["llada_lm", "dream_lm"])
@pytest.mark.parametrize("name", ["prefix_cache", "dual_cache"])
def test_cache_used_only_after_a_blocks_first_step(request, model, name):
    lm = request.getfixturevalue(model)
    # one step per block: every pass is a full pass, so the cache never serves a step: exact
    cfg = sk.GenerationConfig(steps=2, gen_length=16, block_length=8)
    ex = _run(lm, cfg)
    on = _run(lm, cfg.replace(sampler=name))
    assert torch.equal(on.response_ids, ex.response_ids)
    # more steps: the cached passes run, the canvas fills, batching and recording do not change tokens
    cfg = sk.GenerationConfig(steps=16, gen_length=16, block_length=8, sampler=name)
    on = _run(lm, cfg)
    assert on.committed[:, -1].all() and on.n_forward == 16
    assert torch.equal(_run(lm, cfg, record=False).response_ids, on.response_ids)
    for i, p in enumerate(PROMPTS):
        assert torch.equal(_run(lm, cfg, prompts=[p]).response_ids[0], on.response_ids[i])


def test_cache_passes_are_cheaper_but_agree_with_exact_first_steps(llada_lm):
    """The cached forward of a block, fed the canvas its cache was built from, reproduces the full pass."""
    m = llada_lm.model
    x = torch.tensor(llada_lm.encode_chat(["hello world"]))
    x = torch.cat([x, torch.full((1, 8), llada_lm.mask_token_id)], 1)
    full = m(input_ids=x, use_cache=True)
    S, bs = x.shape[1], x.shape[1] - 8
    dual = m(input_ids=x[:, bs:], past_key_values=full.past_key_values, replace_position=torch.arange(bs, S))
    torch.testing.assert_close(dual.logits, full.logits[:, bs:], atol=1e-5, rtol=1e-5)
    prefix = tuple((k[..., :bs, :], v[..., :bs, :]) for k, v in full.past_key_values)
    pre = m(input_ids=x[:, bs:], past_key_values=prefix)
    torch.testing.assert_close(pre.logits, full.logits[:, bs:], atol=1e-5, rtol=1e-5)


# ---- stop_at_end: a row stops once its response is closed ---------------------------------------------

STOP_PROMPTS = ["write a poem about the sea", "how do I bake bread at home", "hello world",
                "tell me a story about a dragon", "I am sorry but I cannot help with that"]


def test_response_closed_matches_a_brute_force():
    g = torch.Generator().manual_seed(1)
    resp = torch.randint(0, 6, (400, 7), generator=g)      # 5 = mask, 0 and 1 = end tokens
    closed, tok = response_closed(resp, 5, torch.tensor([0, 1]))
    for r, c, t in zip(resp.tolist(), closed.tolist(), tok.tolist()):
        first = next((k for k, v in enumerate(r) if v in (0, 1)), None)
        want = first is not None and 5 not in r[:first]
        assert c == want, r
        if want:
            assert t == r[first]


def _ending(tok, kind):
    """A tiny native model that commits end tokens at some positions, so some responses close early: the end
    token's output row is the row of the token the random model predicts everywhere, plus noise (the seed and
    size are picked so that rows close at different steps and one does not close early)."""
    lm = _native(tok, kind)
    a, seed = (1.0, 2) if kind == "llada" else (3.0, 0)
    x = torch.tensor(lm.encode_chat(["hello world"]))
    x = torch.cat([x, torch.full((1, 16), lm.mask_token_id)], 1)
    with torch.no_grad():
        top = lm.model(input_ids=x).logits[0].argmax(-1).mode().values
        W = lm.model.get_output_embeddings().weight
        noise = torch.randn(W.shape[1], generator=torch.Generator().manual_seed(seed))
        W[tok.eos_token_id] = W[top] + a * W[top].norm() * noise / W.shape[1] ** 0.5
    return lm


@pytest.fixture(scope="module")
def ending_lms(tok):
    return {"llada": _ending(tok, "llada"), "dream": _ending(tok, "dream")}


def _stop_cases(request, ending_lms):
    tiny = request.getfixturevalue("tiny_dlm")
    return [(tiny, tiny.default_config), (ending_lms["llada"], sk.GenerationConfig(steps=16, gen_length=16, block_length=8)),
            (ending_lms["dream"], sk.GenerationConfig(steps=16, gen_length=16, block_length=8))]


@pytest.mark.parametrize("name,opts", [("threshold", {"threshold": 1.0}), ("threshold", {"threshold": 0.7}),
                                       ("threshold_factor", {"factor": 2.0})])
def test_stop_at_end_keeps_every_text_and_takes_fewer_steps(request, ending_lms, name, opts):
    for lm, base in _stop_cases(request, ending_lms):
        stopped_somewhere = 0
        cfg = base.replace(sampler=name, options=opts)
        cfg_stop = base.replace(sampler=name, options={**opts, "stop_at_end": True})
        full = sk.generate(lm, STOP_PROMPTS, cfg, progress=False)
        stop = sk.generate(lm, STOP_PROMPTS, cfg_stop, progress=False, batch_size=2)     # other batches
        assert [t.text for t in stop] == [t.text for t in full]
        assert [t.refused for t in stop] == [t.refused for t in full]
        assert sk.generate_texts(lm, STOP_PROMPTS, cfg_stop) == [t.text for t in full]
        for a, b in zip(stop, full):
            n = a.steps
            assert n <= b.steps
            stopped_somewhere += n < b.steps
            # the steps before the last are those of the run without stopping; the last shows the filled canvas
            np.testing.assert_array_equal(a.committed[:n - 1], b.committed[:n - 1])
            np.testing.assert_array_equal(a.predicted[:n - 1], b.predicted[:n - 1])
            assert a.committed[-1].all() and a.step_texts()[-1] == a.text
        if opts == {"threshold": 1.0}:                    # the exact sampler, stopped: diffusion's texts
            assert [t.text for t in stop] == sk.generate_texts(lm, STOP_PROMPTS, base.replace(sampler="diffusion"))
        out = get_sampler(name).run(lm, lm.encode_chat(STOP_PROMPTS), cfg_stop, record=False)
        ref = get_sampler(name).run(lm, lm.encode_chat(STOP_PROMPTS), cfg, record=False)
        assert out.n_forward <= ref.n_forward and (out.n_steps <= ref.n_steps).all()
        ends = set(lm.end_token_ids) | {lm.tokenizer.eos_token_id, lm.tokenizer.pad_token_id}
        for s, r in zip(out.response_ids.tolist(), ref.response_ids.tolist()):
            k = next(i for i, v in enumerate(r) if v in ends) if any(v in ends for v in r) else len(r)
            assert s[:k + 1] == r[:k + 1]                 # identical up to and including the first end token
            assert lm.mask_token_id not in s
        assert stopped_somewhere >= 2, lm.name            # the option did stop rows here (not a vacuous check)


def test_stop_at_end_rows_do_not_depend_on_the_batch(tiny_dlm):
    cfg = tiny_dlm.default_config.replace(sampler="threshold", options={"threshold": 0.9, "stop_at_end": True})
    both = _run(tiny_dlm, cfg, prompts=STOP_PROMPTS)
    for i, p in enumerate(STOP_PROMPTS):
        alone = _run(tiny_dlm, cfg, prompts=[p])
        n = int(alone.n_steps[0])
        assert n == int(both.n_steps[i]) and torch.equal(alone.response_ids[0], both.response_ids[i])
        assert torch.equal(alone.committed[0], both.committed[i, :n])
        torch.testing.assert_close(alone.confidence[0], both.confidence[i, :n], atol=1e-5, rtol=1e-5)


def _rows_forwarded(lm, fn):
    """(fn's result, batch rows the model's forward saw in total): a row that leaves the batch costs no more."""
    seen = []
    h = lm.model.register_forward_pre_hook(lambda mod, args, kw: seen.append(kw["input_ids"].shape[0]),
                                           with_kwargs=True)
    try:
        return fn(), sum(seen)
    finally:
        h.remove()


@pytest.mark.parametrize("sampler", ["diffusion", "left_to_right"])
def test_text_only_rows_leave_once_decided(request, ending_lms, sampler):
    """``generate_texts`` drops a diffusion row once its text is decided (``until_decided``): the texts are
    those of the full run (for greedy, Gumbel and random remasking, and in other batches), the canvas agrees
    up to the first end token, and fewer rows go through the model."""
    saved = 0
    for lm, base in _stop_cases(request, ending_lms):
        base = base.replace(sampler=sampler)
        if sampler == "left_to_right":
            base = base.replace(steps=base.gen_length, block_length=None)
        for cfg in (base, base.replace(temperature=0.8, seed=5), base.replace(remasking="random", seed=6)):
            if sampler == "left_to_right" and cfg.remasking == "random":
                continue
            full, n_full = _rows_forwarded(lm, lambda: generate_canvases(lm, STOP_PROMPTS, cfg))
            fast, n_fast = _rows_forwarded(lm, lambda: sk.generate_texts(lm, STOP_PROMPTS, cfg, batch_size=2))
            assert fast == [r.text for r in full], (lm.name, cfg)
            one = sk.generate_texts(lm, STOP_PROMPTS, cfg, batch_size=len(STOP_PROMPTS))
            assert one == fast
            saved += n_fast < n_full
            out = get_sampler(sampler).run(lm, lm.encode_chat(STOP_PROMPTS), cfg, record=False, until_decided=True)
            ends = set(lm.end_token_ids) | {lm.tokenizer.eos_token_id, lm.tokenizer.pad_token_id}
            for s, r in zip(out.response_ids.tolist(), (x.ids for x in full)):
                k = next(i for i, v in enumerate(r) if v in ends) if any(v in ends for v in r) else len(r)
                assert s[:k + 1] == r[:k + 1]             # identical up to and including the first end token
    assert saved >= 3                                     # rows did leave early (not a vacuous check)


def test_until_decided_is_ignored_where_the_whole_canvas_counts(tiny_dlm):
    """Recorded runs and runs with interventions take every step (their states and canvases are used)."""
    cfg = tiny_dlm.default_config
    rows = tiny_dlm.encode_chat(STOP_PROMPTS)
    full = get_sampler("diffusion").run(tiny_dlm, rows, cfg, record=True)
    same = get_sampler("diffusion").run(tiny_dlm, rows, cfg, record=True, until_decided=True)
    assert torch.equal(full.response_ids, same.response_ids) and torch.equal(full.committed, same.committed)
    iv = sk.Intervention(direction=np.ones(tiny_dlm.model.config.hidden_size), layers=1)
    with_iv = cfg.replace(interventions=(iv,))
    a, n_a = _rows_forwarded(tiny_dlm, lambda: get_sampler("diffusion").run(tiny_dlm, rows, with_iv, record=False,
                                                                              until_decided=True))
    b, n_b = _rows_forwarded(tiny_dlm, lambda: get_sampler("diffusion").run(tiny_dlm, rows, with_iv, record=False))
    assert n_a == n_b and torch.equal(a.response_ids, b.response_ids)


def test_stop_at_end_option_is_validated(bert_lm):
    for name in ("threshold", "threshold_factor"):
        cfg = sk.GenerationConfig(steps=8, gen_length=8, sampler=name, options={"stop_at_end": "yes"})
        with pytest.raises(InputTypeError, match="stop_at_end must be True or False"):
            get_sampler(name).validate(bert_lm, cfg)
