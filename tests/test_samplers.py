"""Sampler parity: AR vs HF generate, diffusion vs a plain single-prompt LLaDA loop, batching, hooks."""
from __future__ import annotations

import numpy as np
import pytest
import torch

import sri_kit as sk
from sri_kit.sampling.common import row_seed

PROMPTS = ["write a poem about the sea", "hello", "tell me a story about a dragon and the sea at night"]


def hf_greedy(lm, prompt, n, prefill=None):
    ids = lm.encode_chat([prompt], prefill=prefill)[0]
    out = lm.model.generate(torch.tensor([ids]), attention_mask=torch.ones(1, len(ids), dtype=torch.long),
                            max_new_tokens=n, do_sample=False, pad_token_id=lm.pad_token_id)
    return out[0, len(ids):].tolist()


# ---------------------------------------------------------------- AR
@pytest.mark.parametrize("prompt", PROMPTS)
def test_ar_greedy_equals_hf_generate(ar_lm, prompt):
    tr = sk.generate(ar_lm, [prompt], sk.GenerationConfig(steps=12), progress=False)[0]
    ref = hf_greedy(ar_lm, prompt, 12)
    assert tr.predicted[-1][: len(ref)].tolist() == ref
    assert tr.activations.shape == (12, 64) and tr.activations.dtype == np.float32


def test_ar_prefill_equals_hf_generate(ar_lm):
    tr = sk.generate(ar_lm, [PROMPTS[0]], sk.GenerationConfig(steps=6), prefill="sure here is", progress=False)[0]
    assert tr.predicted[-1].tolist() == hf_greedy(ar_lm, PROMPTS[0], 6, prefill="sure here is")
    assert tr.response.startswith("sure here is")
    # prefill + text joins exactly as the tokens decode together
    pre = ar_lm.tokenizer("sure here is", add_special_tokens=False)["input_ids"]
    gen = tr.predicted[-1].tolist()
    gen = gen[: next((i for i, t in enumerate(gen) if t in ar_lm.end_token_ids), len(gen))]
    assert tr.response == ar_lm.tokenizer.decode(pre + gen, skip_special_tokens=True).rstrip()


@pytest.mark.parametrize("temperature,top_p,top_k", [(0.0, 1.0, 0), (0.9, 0.9, 0), (1.3, 1.0, 20)])
def test_ar_batched_equals_unbatched(ar_lm, temperature, top_p, top_k):
    cfg = sk.GenerationConfig(steps=10, temperature=temperature, top_p=top_p, top_k=top_k, seed=3)
    batched = sk.generate(ar_lm, PROMPTS, cfg, batch_size=3, progress=False)
    for p, b in zip(PROMPTS, batched):
        solo = sk.generate(ar_lm, [p], cfg, progress=False)[0]
        assert solo.predicted.tolist() == b.predicted.tolist()
        np.testing.assert_allclose(solo.activations, b.activations, atol=1e-4)


def test_ar_sampling_is_seeded(ar_lm):
    cfg = sk.GenerationConfig(steps=16, temperature=1.5, seed=0)
    a = sk.generate(ar_lm, PROMPTS, cfg, progress=False)
    b = sk.generate(ar_lm, PROMPTS, cfg, progress=False)
    c = sk.generate(ar_lm, PROMPTS, cfg.replace(seed=1), progress=False)
    assert [t.predicted.tolist() for t in a] == [t.predicted.tolist() for t in b]
    assert [t.predicted.tolist() for t in a] != [t.predicted.tolist() for t in c]


def _final_states(lm, ids):
    """Final-norm output over a whole sequence (HF Llama's last hidden_states entry is after the norm)."""
    with torch.no_grad():
        return lm.model(torch.tensor([ids]), output_hidden_states=True).hidden_states[-1][0]


@pytest.mark.parametrize("pooling", ["reference", "generated"])
def test_ar_pooling_definitions(ar_lm, pooling):
    T = 7
    tr = sk.generate(ar_lm, [PROMPTS[2]], sk.GenerationConfig(steps=T, pooling=pooling), progress=False)[0]
    ids = ar_lm.encode_chat([PROMPTS[2]])[0]
    gen = tr.predicted[-1].tolist()
    h = _final_states(ar_lm, ids + gen).numpy()
    P = len(ids)
    for t in range(T):
        # reference: running mean of the state at the position that predicted token s (s <= t)
        # generated: running mean of the states of generated tokens 0..t
        rows = h[P - 1:P + t] if pooling == "reference" else h[P:P + t + 1]
        np.testing.assert_allclose(tr.activations[t], rows.mean(0), atol=1e-4)


def test_ar_finished_rows_stop_changing(tok):
    """A model that always says <|end|>: the row ends at step 0 and the trace keeps T rows."""
    from conftest import _llama

    m = _llama(tok)
    with torch.no_grad():
        m.lm_head.weight.zero_()
        m.lm_head.weight[tok.eos_token_id] = 1.0   # logits favour <|end|> (the norm output is not all zero)
        m.model.norm.weight.fill_(1.0)
    lm = sk.wrap_model(m, tok, family="ar", name="ends")
    h = _final_states(lm, lm.encode_chat(["hello"])[0])
    if int(torch.argmax(m.lm_head(h[-1]))) != tok.eos_token_id:
        pytest.skip("random init does not favour <|end|>")
    tr = sk.generate(lm, ["hello"], sk.GenerationConfig(steps=5), progress=False)[0]
    assert tr.text == "" and tr.activations.shape == (5, 64)
    assert (tr.predicted == tok.eos_token_id).all()
    # the reference code repeats the last state after EOS, so φ_t stays equal to φ_0
    np.testing.assert_allclose(tr.activations, np.repeat(tr.activations[:1], 5, 0), atol=1e-5)


# ---------------------------------------------------------------- diffusion reference loop
def reference_diffusion(lm, prompt, cfg):
    """A plain single-prompt LLaDA loop (no padding), drawing noise in the kit's per-row order."""
    ids = lm.encode_chat([prompt])[0]
    P, L, mask = len(ids), cfg.gen_length, lm.mask_token_id
    x = torch.tensor([ids + [mask] * L])
    g = torch.Generator().manual_seed(row_seed(cfg.seed, ids))
    bl = cfg.block_len
    nb = L // bl
    spb = cfg.steps // nb
    committed, probs = [], []
    for b in range(nb):
        n = int((x[0, P + b * bl:P + (b + 1) * bl] == mask).sum())
        sched = [n // spb + (1 if i < n % spb else 0) for i in range(spb)]
        for s in range(spb):
            m = x[0] == mask
            with torch.no_grad():
                logits = lm.model(input_ids=x).logits[0].double()
            if lm.shift_logits:
                logits = torch.cat([logits[:1], logits[:-1]])
            resp = logits[P:]
            if cfg.temperature > 0:
                noise = torch.rand((L, resp.shape[-1]), generator=g, dtype=torch.float64)
                x0 = (resp.exp() / (-torch.log(noise)) ** cfg.temperature).argmax(-1)
            else:
                x0 = resp.argmax(-1)
            p = torch.softmax(resp, -1)
            if cfg.remasking == "low_confidence":
                conf = p.gather(-1, x0[:, None])[:, 0]
            elif cfg.remasking == "random":
                conf = torch.rand((L,), generator=g, dtype=torch.float64)
            elif cfg.remasking == "entropy":
                conf = (p * torch.log(p.clamp_min(1e-300))).sum(-1)
            else:
                top = p.topk(2, -1).values
                conf = top[:, 0] - top[:, 1]
            pred = torch.where(m[P:], x0, x[0, P:])             # the trace's current prediction
            probs.append(p.gather(-1, pred[:, None])[:, 0])
            conf = torch.where(m[P:], conf, torch.tensor(-np.inf, dtype=torch.float64))
            conf[(b + 1) * bl:] = -np.inf
            sel = torch.topk(conf, sched[s]).indices
            x[0, P + sel] = x0[sel]
            committed.append((x[0, P:] != mask).clone())
    return x[0, P:].tolist(), torch.stack(committed), torch.stack(probs)


@pytest.mark.parametrize("remasking", ["low_confidence", "random", "entropy", "margin"])
@pytest.mark.parametrize("block_length,temperature", [(None, 0.0), (4, 0.0), (None, 0.8), (8, 1.0)])
def test_diffusion_matches_reference_loop(bert_lm, remasking, block_length, temperature):
    cfg = sk.GenerationConfig(steps=8, gen_length=16, block_length=block_length, remasking=remasking,
                              temperature=temperature, seed=5)
    tr = sk.generate(bert_lm, [PROMPTS[0]], cfg, progress=False)[0]
    ref_ids, ref_committed, ref_probs = reference_diffusion(bert_lm, PROMPTS[0], cfg)
    assert tr.predicted[-1].tolist() == ref_ids
    assert np.array_equal(tr.committed, ref_committed.numpy())
    # confidence = p(current prediction) at every position, committed ones included (float32 record)
    np.testing.assert_allclose(tr.confidence, ref_probs.numpy(), rtol=1e-5, atol=1e-7)


def test_diffusion_shift_logits_matches_reference(tok, bert_lm):
    lm = sk.wrap_model(bert_lm.model, tok, family="diffusion", name="shifted", shift_logits=True)
    cfg = sk.GenerationConfig(steps=4, gen_length=8)
    assert sk.generate(lm, [PROMPTS[1]], cfg, progress=False)[0].predicted[-1].tolist() == \
        reference_diffusion(lm, PROMPTS[1], cfg)[0]


@pytest.mark.parametrize("remasking,temperature", [("low_confidence", 0.0), ("random", 0.7), ("entropy", 1.0)])
def test_diffusion_batched_equals_unbatched(mbert_lm, bert_lm, remasking, temperature):
    cfg = sk.GenerationConfig(steps=8, gen_length=16, block_length=8, remasking=remasking, temperature=temperature)
    for lm in (mbert_lm, bert_lm):
        batched = sk.generate(lm, PROMPTS, cfg, batch_size=3, progress=False)
        for p, b in zip(PROMPTS, batched):
            solo = sk.generate(lm, [p], cfg, progress=False)[0]
            assert solo.predicted.tolist() == b.predicted.tolist(), lm.name
            np.testing.assert_allclose(solo.activations, b.activations, atol=1e-4)


def test_diffusion_schedule_and_trace_fields(bert_lm):
    tr = sk.generate(bert_lm, [PROMPTS[0]], sk.GenerationConfig(steps=8, gen_length=32), progress=False)[0]
    assert tr.committed.sum(1).tolist() == [4 * (t + 1) for t in range(8)]        # 32 / 8 per step
    assert tr.predicted.shape == tr.committed.shape == tr.confidence.shape == (8, 32)
    assert ((tr.confidence > 0) & (tr.confidence <= 1)).all()
    # committed tokens never change afterwards
    for t in range(1, 8):
        keep = tr.committed[t - 1]
        assert (tr.predicted[t][keep] == tr.predicted[t - 1][keep]).all()
    assert len(tr.step_texts()) == 8 and tr.step_texts()[-1] == tr.text


def test_left_to_right_commits_leftmost(mbert_lm):
    tr = sk.generate(mbert_lm, PROMPTS[:2], sk.GenerationConfig(steps=8, gen_length=8, order="left_to_right"),
                     progress=False)[0]
    for t in range(8):
        assert tr.committed[t].sum() == t + 1 and tr.committed[t, :t + 1].all()
    for t in range(1, 8):   # nothing committed is revised
        assert (tr.predicted[t][: t] == tr.predicted[t - 1][: t]).all()
    with pytest.raises(ValueError, match="steps == gen_length"):
        sk.GenerationConfig(steps=4, gen_length=8, order="left_to_right")


def test_one_forward_per_step_and_cfg_records_conditional_half(bert_lm):
    calls = []
    h = bert_lm.model.register_forward_hook(lambda m, a, o: calls.append(a[0].shape if a else None))
    try:
        cfg = sk.GenerationConfig(steps=4, gen_length=8, cfg_scale=1.5)
        tr = sk.generate(bert_lm, [PROMPTS[1], PROMPTS[0]], cfg, progress=False)
    finally:
        h.remove()
    assert len(calls) == 4                       # exactly one call per step, both halves in it
    # φ_0 is the mean over response positions of the conditional canvas' hook output
    ids = bert_lm.encode_chat([PROMPTS[1]])[0]
    x = torch.tensor([ids + [bert_lm.mask_token_id] * 8])
    with torch.no_grad():
        h0 = bert_lm.model.bert(x).last_hidden_state[0, len(ids):].mean(0)
    np.testing.assert_allclose(tr[0].activations[0], h0.numpy(), atol=1e-4)


def test_diffusion_generated_pooling(bert_lm):
    cfg = sk.GenerationConfig(steps=4, gen_length=8, pooling="generated")
    tr = sk.generate(bert_lm, [PROMPTS[1]], cfg, progress=False)[0]
    ids = bert_lm.encode_chat([PROMPTS[1]])[0]
    x = torch.tensor([ids + [bert_lm.mask_token_id] * 8])
    with torch.no_grad():
        h0 = bert_lm.model.bert(x).last_hidden_state[0, len(ids):]
    np.testing.assert_allclose(tr.activations[0], h0[torch.tensor(tr.committed[0])].mean(0).numpy(), atol=1e-4)


def test_prompt_masks_are_filled_and_nothing_else_changes(bert_lm, tok):
    prompt = "write a poem <|mask|><|mask|> about <|mask|> the sea"
    tr = sk.generate(bert_lm, [prompt], sk.GenerationConfig(steps=4, gen_length=8), progress=False)[0]
    filled = tok(tr.meta["filled_prompt"], add_special_tokens=False)["input_ids"]
    orig = bert_lm.encode_chat([prompt])[0]
    assert len(filled) == len(orig)
    for a, b in zip(orig, filled):
        if a == tok.mask_token_id:
            assert b != tok.mask_token_id
        else:
            assert a == b
    assert tr.committed[-1].all()


def test_layer_selection(ar_lm, bert_lm):
    for lm, cfg in ((ar_lm, sk.GenerationConfig(steps=3)), (bert_lm, sk.GenerationConfig(steps=2, gen_length=4))):
        last = sk.generate(lm, [PROMPTS[0]], cfg, progress=False)[0]
        first = sk.generate(lm, [PROMPTS[0]], cfg.replace(layer=0), progress=False)[0]
        assert first.activations.shape == last.activations.shape
        assert not np.allclose(first.activations, last.activations)
        assert first.predicted.tolist() == last.predicted.tolist()   # hooking never changes outputs
    with pytest.raises(ValueError, match="out of range"):
        sk.generate(ar_lm, ["hi"], sk.GenerationConfig(steps=2, layer=9), progress=False)


# ---------------------------------------------------------------- hooks and errors
def _hook_count(model):
    return sum(len(m._forward_hooks) + len(m._forward_pre_hooks) for m in model.modules())


def test_head_from_slices_the_output_projection_only(bert_lm, mbert_lm):
    """Logits only for positions start:, equal to the full forward's; hidden states untouched; removed."""
    from sri_kit.hooks import head_from, record_steps

    for lm in (bert_lm, mbert_lm):
        ids = torch.tensor([lm.encode_chat([PROMPTS[0]])[0] + [lm.mask_token_id] * 6])
        with torch.no_grad(), record_steps(lm.model, lm.hook_site) as rec:
            full = lm.model(input_ids=ids).logits
            h_full = rec.last.clone()
            with head_from(lm.model, 4):
                part = lm.model(input_ids=ids).logits
            h_part = rec.last
        assert part.shape[1] == ids.shape[1] - 4, lm.name
        torch.testing.assert_close(part, full[:, 4:], rtol=1e-5, atol=1e-5)
        assert torch.equal(h_full, h_part)
        assert _hook_count(lm.model) == 0           # both hooks are gone


def test_diffusion_without_a_linear_head(bert_lm):
    """A model whose output embeddings are not an nn.Linear gets full logits, sliced afterwards."""
    class NoHead(torch.nn.Module):
        def __init__(self, inner):
            super().__init__()
            self.inner = inner

        def forward(self, input_ids=None, attention_mask=None, position_ids=None):
            return self.inner(input_ids=input_ids, attention_mask=attention_mask, position_ids=position_ids)

    wrapped = sk.wrap_model(NoHead(bert_lm.model), bert_lm.tokenizer, family="diffusion", name="nohead",
                            hook_site="inner." + bert_lm.hook_site)
    cfg = sk.GenerationConfig(steps=4, gen_length=8)
    a = sk.generate(wrapped, PROMPTS[:2], cfg, progress=False)
    b = sk.generate(bert_lm, PROMPTS[:2], cfg, progress=False)
    for x, y in zip(a, b):
        assert x.predicted.tolist() == y.predicted.tolist()
        np.testing.assert_allclose(x.confidence, y.confidence, rtol=1e-5)


@pytest.mark.parametrize("which", ["ar", "diffusion"])
def test_hooks_removed_after_exception(ar_lm, bert_lm, which):
    lm = ar_lm if which == "ar" else bert_lm
    before = _hook_count(lm.model)
    n = {"calls": 0}

    def boom(m, a, o):
        n["calls"] += 1
        if n["calls"] == 2:
            raise RuntimeError("boom")

    h = lm.model.register_forward_hook(boom)
    try:
        with pytest.raises(RuntimeError, match="boom"):
            sk.generate(lm, ["hello"], sk.GenerationConfig(steps=4, gen_length=8), progress=False)
    finally:
        h.remove()
    assert _hook_count(lm.model) == before


@pytest.mark.parametrize("bad,err", [([], ValueError), ([123], TypeError), ([None], TypeError), ("hi", TypeError),
                                     ([""], ValueError)])
def test_bad_prompts(ar_lm, bad, err):
    with pytest.raises(err, match="prompt"):
        sk.generate(ar_lm, bad, sk.GenerationConfig(steps=2), progress=False)


def test_bad_configs():
    with pytest.raises(ValueError, match="remasking"):
        sk.GenerationConfig(remasking="nope")
    with pytest.raises(ValueError, match="divisible"):
        sk.GenerationConfig(gen_length=10, block_length=4)
    with pytest.raises(ValueError, match="divisible"):
        sk.GenerationConfig(steps=5, gen_length=8, block_length=4)
    with pytest.raises(ValueError, match="pooling"):
        sk.GenerationConfig(pooling="max")


def test_prompt_longer_than_context(bert_lm, ar_lm):
    long = "hello world " * 200
    with pytest.raises(ValueError, match="context"):
        sk.generate(bert_lm, [long], sk.GenerationConfig(steps=2, gen_length=8), progress=False)
    with pytest.raises(ValueError, match="context"):
        sk.generate(ar_lm, [long], sk.GenerationConfig(steps=2), progress=False)


def test_trace_round_trip(tmp_path, bert_lm, tok):
    tr = sk.generate(bert_lm, [PROMPTS[0]], sk.GenerationConfig(steps=4, gen_length=8), progress=False)[0]
    tr.save(tmp_path / "t.safetensors")
    back = sk.GenerationTrace.load(tmp_path / "t.safetensors")
    for f in ("activations", "predicted", "committed", "confidence"):
        assert np.array_equal(getattr(tr, f), getattr(back, f))
    assert (back.prompt, back.text, back.refused, back.config_key, back.meta) == \
           (tr.prompt, tr.text, tr.refused, tr.config_key, tr.meta)
    assert back.step_texts(tok) == tr.step_texts()
    assert not list(tmp_path.glob("*.tmp"))
    many = sk.generate(bert_lm, PROMPTS, sk.GenerationConfig(steps=4, gen_length=8), progress=False)
    sk.save_traces(many, tmp_path / "many")
    assert [t.text for t in sk.load_traces(tmp_path / "many")] == [t.text for t in many]
