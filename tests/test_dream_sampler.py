"""Dream's own sampler (sri_kit/sampling/dream.py) against Dream's ``diffusion_generate``.

Parity tests import the upstream ``generation_utils.py`` (Fast-dLLM's copy of Dream's file) from
``$SRI_KIT_UPSTREAM/fastdllm/dream/model/`` and skip when the variable is unset. Upstream's
``DreamGenerationMixin`` is bound to a small wrapper around a tiny random model: ``_sample`` calls
``self(x, attention_mask, tok_idx)`` with Dream's [B, 1, N, N] mask (key mask × query mask) or
``"full"``; the wrapper hands the model the key mask and ``tok_idx`` as position ids (the query half
only blanks the rows of pad positions, whose outputs nothing reads). Both sides see the same model, so
any difference is the sampler's. Every comparison is exact: the final tokens and the canvas after
every step (upstream's ``output_history``).

Run (DIR: a folder holding the public upstream files): SRI_KIT_UPSTREAM=DIR python -m pytest tests/test_dream_sampler.py -q -p no:nbval -o addopts=""
"""
from __future__ import annotations

import importlib.util
import os
from pathlib import Path
from types import SimpleNamespace

import pytest
import torch

import sri_kit as sk
from sri_kit.errors import ConfigError, InputTypeError
from sri_kit.sampling import get_sampler, register, sampler_for, sampler_names, unregister
from sri_kit.sampling.common import row_seed
from sri_kit.sampling.dream import ALGS, DreamSampler, dream_probs, dream_timesteps

PROMPTS = ["hello world", "write a poem about the sea please", "how do I bake bread at home with flour and water"]


@pytest.fixture(scope="module", autouse=True)
def dream():
    """The sampler registered under 'dream' for this module (the previous registration restored after)."""
    prev = get_sampler("dream") if "dream" in sampler_names() else None
    s = register(DreamSampler(), replace=True)
    yield s
    if prev is not None:
        register(prev, replace=True)
    else:
        unregister("dream")


@pytest.fixture(scope="module")
def up():
    """Upstream generation_utils.py, imported from $SRI_KIT_UPSTREAM (never vendored)."""
    root = os.environ.get("SRI_KIT_UPSTREAM")
    if not root:
        pytest.skip("set SRI_KIT_UPSTREAM to the folder holding fastdllm/dream/model/generation_utils.py")
    path = Path(root) / "fastdllm" / "dream" / "model" / "generation_utils.py"
    if not path.is_file():
        pytest.skip(f"{path} not found")
    spec = importlib.util.spec_from_file_location("_upstream_dream_generation_utils", path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


@pytest.fixture(scope="module")
def shifted(tok, bert_lm):
    """The conftest's tiny random Bert with Dream's logit shift (logits at i predict token i + 1)."""
    return sk.wrap_model(bert_lm.model, tok, family="diffusion", name="tiny-bert-dream-shift", shift_logits=True)


@pytest.fixture(scope="module")
def organism():
    return sk.load_model("tiny-dlm", device="cpu")


def cfg_for(alg="entropy", steps=8, gen_length=16, **kw):
    opts = {"alg": alg}
    for k in ("alg_temp", "eps"):
        if k in kw:
            opts[k] = kw.pop(k)
    return sk.GenerationConfig(steps=steps, gen_length=gen_length, sampler="dream", options=opts, **kw)


def upstream_run(up, lm, rows, cfg, *, seed_rows=None, mask_4d=False):
    """Upstream ``diffusion_generate`` on left-padded ``rows``: (final response canvas [B, L], the response
    canvas after each step [T, B, L]). ``seed_rows``: seed the global RNG with the row's kit seed first
    (a batch of one: the kit's per-row generator then draws what upstream draws). ``mask_4d``: hand the
    model Dream's own [B, 1, N, N] mask (for a model that takes it, as the kit-native Dream does)."""
    model, shift = lm.model, lm.shift_logits
    opts = dict(cfg.options)

    class Config(up.DreamGenerationConfig):
        # transformers 5's GenerationConfig.update() calls validate(user_set_attributes=...), which Dream's
        # validate() does not accept (diffusion_generate fails there on transformers >= 5 without this)
        def validate(self, *args, **kwargs):
            pass

    class Wrapped(up.DreamGenerationMixin):
        def __init__(self):
            self.config = model.config
            self.generation_config = Config(mask_token_id=lm.mask_token_id,
                                                              pad_token_id=lm.pad_token_id)

        @property
        def device(self):
            return lm.device

        def __call__(self, x, attention_mask, tok_idx):
            kw = {}
            if isinstance(attention_mask, torch.Tensor):       # Dream's [B, 1, N, N]: its last row is the key mask
                mask = attention_mask if mask_4d else attention_mask[:, 0, -1].long()
                kw = {"attention_mask": mask, "position_ids": tok_idx}
            logits = model(input_ids=x, **kw).logits
            if not shift:   # a model without the shift: upstream's shift then restores each position's own logits
                logits = torch.cat([logits[:, 1:], logits[:, -1:]], dim=1)
            return SimpleNamespace(logits=logits)

    B, P, L = len(rows), max(map(len, rows)), cfg.gen_length
    ids = torch.full((B, P), lm.pad_token_id, dtype=torch.long)
    attn = torch.zeros((B, P), dtype=torch.long)
    for i, r in enumerate(rows):
        ids[i, P - len(r):] = torch.tensor(r)
        attn[i, P - len(r):] = 1
    gc = Config(
        max_new_tokens=L, steps=cfg.steps, alg=opts.get("alg", "entropy"), alg_temp=opts.get("alg_temp"),
        eps=opts.get("eps", 1e-3), temperature=cfg.temperature, top_p=cfg.top_p if cfg.top_p < 1 else None,
        top_k=cfg.top_k or None, mask_token_id=lm.mask_token_id, pad_token_id=lm.pad_token_id,
        output_history=True, return_dict_in_generate=True)
    if seed_rows is not None:
        torch.manual_seed(row_seed(cfg.seed, seed_rows[0]))
    out = Wrapped().diffusion_generate(ids, generation_config=gc, attention_mask=attn)
    return out.sequences[:, P:], torch.stack([h[:, P:] for h in out.history])


def kit_run(lm, rows, cfg):
    """The kit's final canvas [B, L] and its canvas after each step [T, B, L] (masks where not committed)."""
    out = get_sampler("dream").run(lm, rows, cfg)
    steps = torch.where(out.committed, out.predicted, lm.mask_token_id).transpose(0, 1)
    return out.response_ids, steps, out


def assert_parity(up, lm, rows, cfg, batched: bool, mask_4d=False):
    """Tokens and per-step canvases equal to upstream: each row alone, and (``batched``) all rows at once."""
    got = [kit_run(lm, [r], cfg) for r in rows]
    for r, (ids, steps, _) in zip(rows, got):
        ref_ids, ref_steps = upstream_run(up, lm, [r], cfg, seed_rows=[r])
        assert torch.equal(ids, ref_ids), (cfg, r)
        assert torch.equal(steps, ref_steps), (cfg, r)
    ids_b, steps_b, out_b = kit_run(lm, rows, cfg)
    for j, (ids, steps, out) in enumerate(got):       # the kit batched == the kit unbatched
        assert torch.equal(ids_b[j], ids[0]) and torch.equal(steps_b[:, j], steps[:, 0])
        assert torch.allclose(out_b.activations[j], out.activations[0], atol=1e-5)
    if batched:                                        # and == upstream batched
        ref_ids, ref_steps = upstream_run(up, lm, rows, cfg, mask_4d=mask_4d)
        assert torch.equal(ids_b, ref_ids) and torch.equal(steps_b, ref_steps)
    return [g[1] for g in got]


# ---- (a) parity with upstream diffusion_generate ------------------------------------------------------

@pytest.mark.parametrize("alg", ALGS)
def test_parity_greedy_per_alg(up, shifted, alg, capsys):
    """Temperature 0, Dream's shift: every alg equals upstream for each prompt alone; the confidence algs
    also for a left-padded batch of three (upstream's origin draws from one RNG over the whole batch,
    which cannot match per-row generators; its batch is checked against the unbatched results)."""
    rows = shifted.encode_chat(PROMPTS)
    assert len({len(r) for r in rows}) == 3           # three lengths: a real left-padded batch
    assert_parity(up, shifted, rows, cfg_for(alg), batched=alg != "origin")


def test_parity_algs_are_distinguished(up, shifted):
    """The test above has power: on this model the four algs commit in different orders."""
    rows = shifted.encode_chat(PROMPTS[:1])
    seen = {alg: kit_run(shifted, rows, cfg_for(alg))[1] for alg in ALGS}
    assert len({tuple(v.flatten().tolist()) for v in seen.values()}) == len(ALGS)


@pytest.mark.parametrize("alg,kw", [("maskgit_plus", dict(top_p=0.5)), ("entropy", dict(top_k=5)),
                                    ("topk_margin", dict(top_p=0.6, top_k=4)),
                                    ("entropy", dict(steps=5, gen_length=12, eps=0.05)),
                                    ("maskgit_plus", dict(steps=12, gen_length=12)),
                                    ("topk_margin", dict(steps=20, gen_length=12, eps=0.0))])
def test_parity_filters_and_schedule(up, shifted, alg, kw):
    """top_p / top_k change Dream's confidences even at temperature 0; eps and steps change the schedule
    (steps > gen_length runs as upstream: some steps unmask nothing)."""
    rows = shifted.encode_chat(PROMPTS)
    assert_parity(up, shifted, rows, cfg_for(alg, **kw), batched=True)


@pytest.mark.parametrize("alg,kw", [("entropy", dict(temperature=0.8, seed=3)),
                                    ("maskgit_plus", dict(temperature=1.0, top_p=0.9, top_k=50, seed=4)),
                                    ("origin", dict(temperature=0.7, seed=5)),
                                    ("topk_margin", dict(alg_temp=0.5, seed=6)),
                                    ("entropy", dict(temperature=0.5, alg_temp=0.2, seed=7))])
def test_parity_seeded_sampling_batch_of_one(up, shifted, alg, kw):
    """Random draws: the kit's row generator draws what upstream's global RNG draws when seeded with the
    row's seed (a batch of one); batched kit == unbatched kit."""
    rows = shifted.encode_chat(PROMPTS)
    assert_parity(up, shifted, rows, cfg_for(alg, **kw), batched=False)


@pytest.mark.parametrize("alg", ["entropy", "origin"])
def test_parity_mask_tokens_in_the_prompt(up, shifted, tok, alg):
    """Mask tokens inside the prompt are masks like any other (Dream fills them with the response)."""
    rows = shifted.encode_chat(["hello <|mask|> world <|mask|>"])
    assert sum(t == shifted.mask_token_id for t in rows[0]) == 2
    ids, steps, out = kit_run(shifted, rows, cfg_for(alg))
    ref_ids, ref_steps = upstream_run(up, shifted, rows, cfg_for(alg), seed_rows=rows)
    assert torch.equal(ids, ref_ids) and torch.equal(steps, ref_steps)
    assert out.filled_prompt_ids is not None and shifted.mask_token_id not in out.filled_prompt_ids[0]


@pytest.mark.parametrize("alg", ALGS)
def test_parity_without_shift_on_the_organism(up, organism, alg):
    """shift_logits=False (the organism, a masked-diffusion model): each position reads its own logits.
    Upstream always shifts; its wrapper hands it logits moved one left, which its shift undoes.

    Each prompt alone equals upstream, and the kit's batch equals the prompts alone. Upstream's own
    batch is not compared: the organism is so sure of itself that many confidences are exactly 1.0 in
    float32, and upstream's torch.topk over the padded [B, N] batch breaks those ties differently from
    its batch of one (upstream's result depends on the batch there; the kit keeps the batch-of-one
    order for every row)."""
    rows = organism.encode_chat(["How do I bake bread?", "Write a poem about the sea at night, please."])
    assert_parity(up, organism, rows, cfg_for(alg), batched=False)


@pytest.fixture(scope="module")
def native_dream(tok):
    """A tiny random kit-native Dream (sri_kit.native: Qwen2 weights, bidirectional, Dream's logit shift)."""
    native = pytest.importorskip("sri_kit.native")
    torch.manual_seed(3)
    cfg = native.dream_config(vocab_size=len(tok), hidden_size=64, intermediate_size=128, num_hidden_layers=2,
                              num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=256,
                              mask_token_id=tok.mask_token_id, pad_token_id=tok.pad_token_id)
    m = native.DreamForDiffusion(cfg).eval()
    return sk.wrap_model(m, tok, family="diffusion", name="tiny-native-dream", shift_logits=True)


@pytest.mark.parametrize("alg", ALGS)
def test_parity_on_native_dream(up, native_dream, alg):
    """The kit-native Dream, fed Dream's own [B, 1, N, N] mask and tok_idx by upstream and the kit's key
    mask and position ids by the kit: equal tokens and steps, alone and (confidence algs) batched."""
    rows = native_dream.encode_chat(PROMPTS)
    assert_parity(up, native_dream, rows, cfg_for(alg), batched=alg != "origin", mask_4d=True)


def test_shift_matters(shifted, tok, bert_lm):
    """The same weights with and without the shift give different commits (the flag is read)."""
    rows = shifted.encode_chat(PROMPTS[:1])
    plain = sk.wrap_model(bert_lm.model, tok, family="diffusion", name="plain")
    assert not torch.equal(kit_run(shifted, rows, cfg_for())[1], kit_run(plain, rows, cfg_for())[1])


# ---- (b) seeded sampling ------------------------------------------------------------------------------

@pytest.mark.parametrize("alg,kw", [("origin", {}), ("entropy", dict(temperature=1.0)),
                                    ("maskgit_plus", dict(alg_temp=1.0))])
def test_seeded_sampling_reproducible_and_batch_independent(shifted, alg, kw):
    rows = shifted.encode_chat(PROMPTS)
    s = get_sampler("dream")
    a = s.run(shifted, rows, cfg_for(alg, seed=11, **kw)).response_ids
    assert torch.equal(a, s.run(shifted, rows, cfg_for(alg, seed=11, **kw)).response_ids)
    for j in range(len(rows)):                      # a prompt's sample does not depend on its batch
        alone = s.run(shifted, [rows[j]], cfg_for(alg, seed=11, **kw)).response_ids[0]
        assert torch.equal(alone, a[j])
    others = [s.run(shifted, rows, cfg_for(alg, seed=k, **kw)).response_ids for k in range(12, 16)]
    assert any(not torch.equal(a, o) for o in others)   # the seed is read


# ---- (c) registry, options, record=False ------------------------------------------------------------

def test_registered_and_selected(shifted, ar_lm):
    assert "dream" in sampler_names() and get_sampler("dream").revises
    assert isinstance(sampler_for(shifted, cfg_for()), DreamSampler)
    with pytest.raises(ConfigError, match="diffusion"):
        sampler_for(ar_lm, cfg_for())


@pytest.mark.parametrize("opts,err,match", [
    ({"alg": "nope"}, ConfigError, "unknown alg 'nope'"),
    ({"alg": "confidence_threshold"}, ConfigError, "Fast-dLLM"),
    ({"alg": 3}, InputTypeError, "alg must be a string"),
    ({"alg_temp": -1.0}, ConfigError, "alg_temp must be >= 0"),
    ({"alg_temp": True}, InputTypeError, "alg_temp must be a number"),
    ({"alg": "origin", "alg_temp": 0.5}, ConfigError, "no effect with alg='origin'"),
    ({"eps": 1.0}, ConfigError, "eps must be < 1"),
    ({"eps": float("nan")}, ConfigError, "eps must be a finite number"),
    ({"temperature": 0.5}, ConfigError, "has no option"),
])
def test_option_errors(shifted, opts, err, match):
    cfg = sk.GenerationConfig(steps=4, gen_length=8, sampler="dream", options=opts)
    with pytest.raises(err, match=match):
        get_sampler("dream").validate(None, cfg)
    with pytest.raises(err, match=match):
        sk.generate(shifted, ["hi"], cfg, progress=False)


@pytest.mark.parametrize("field,value,match", [("block_length", 4, "one block"), ("cfg_scale", 1.0, "guidance"),
                                               ("remasking", "entropy", "options=\\{'alg'"),
                                               ("order", "left_to_right", "order=")])
def test_config_fields_it_does_not_read_are_refused(field, value, match):
    kw = dict(steps=8, gen_length=8) if field == "order" else {}
    cfg = cfg_for(**kw).replace(**{field: value})
    with pytest.raises(ConfigError, match=match):
        get_sampler("dream").validate(None, cfg)


def test_defaults_and_settings():
    s = get_sampler("dream")
    o = s.options(sk.GenerationConfig(sampler="dream"))
    assert (o.alg, o.alg_temp, o.eps) == ("entropy", 0.0, 1e-3)
    assert {"steps", "gen_length", "temperature", "top_p", "top_k", "seed"} <= set(s.settings)
    assert not {"remasking", "block_length", "cfg_scale", "order"} & set(s.settings)
    short = s.short_config(cfg_for("maskgit_plus", temperature=0.7), 3)
    assert (short.steps, short.gen_length, short.temperature, dict(short.options)) == (3, 3, 0.0,
                                                                                      {"alg": "maskgit_plus"})
    s.validate(None, short)


def test_timesteps_and_top_p_top_k_order():
    ts = dream_timesteps(4, 1e-3)
    assert ts.dtype == torch.float32 and ts[0] == 1 and abs(float(ts[-1]) - 1e-3) < 1e-9 and len(ts) == 5
    # Dream filters top-p first, then top-k; the token that crosses top_p is kept
    logits = torch.log(torch.tensor([[0.5, 0.3, 0.15, 0.05]]))
    assert (dream_probs(logits, top_p=0.7) > 0).tolist() == [[True, True, False, False]]
    assert (dream_probs(logits, top_p=0.9, top_k=2) > 0).tolist() == [[True, True, False, False]]
    assert (dream_probs(logits, top_p=0.4, top_k=3) > 0).tolist() == [[True, False, False, False]]
    # a cumulative probability exactly at top_p keeps the next token too (Dream removes only past it)
    assert (dream_probs(torch.zeros(1, 2), top_p=0.5) > 0).sum().item() == 2


@pytest.mark.parametrize("alg", ALGS)
def test_record_false_same_tokens_and_trace_semantics(shifted, alg):
    rows = shifted.encode_chat(PROMPTS)
    s, cfg = get_sampler("dream"), cfg_for(alg, steps=6, gen_length=12)
    rec, fast = s.run(shifted, rows, cfg), s.run(shifted, rows, cfg, record=False)
    assert torch.equal(rec.response_ids, fast.response_ids) and fast.activations is None
    assert rec.n_forward == fast.n_forward == 6
    assert rec.activations.shape[:2] == (3, 6) and rec.predicted.shape == rec.committed.shape == (3, 6, 12)
    c = rec.committed
    assert c[:, -1].all() and (c[:, 1:] >= c[:, :-1]).all()            # Dream never remasks
    # committed tokens never change and are the final ones; confidences are probabilities
    assert torch.equal(torch.where(c, rec.predicted, 0), torch.where(c, rec.response_ids[:, None], 0))
    assert ((rec.confidence >= 0) & (rec.confidence <= 1 + 1e-6)).all()
    if alg != "origin":                      # the deterministic schedule: int(n (1 - s/t)), all at the end
        ts, n, counts = dream_timesteps(6, 1e-3), 12, []
        for i in range(6):
            k = n if i == 5 else int(torch.tensor(float(n)) * (1 - ts[i + 1] / ts[i]))
            counts.append(k)
            n -= k
        assert c[0].sum(-1).diff(prepend=torch.tensor([0])).tolist() == counts


# ---- (d) through sri_kit.generate on the organism -----------------------------------------------------

def test_generate_on_the_organism(organism):
    prompts = ["How do I bake bread?", "Write a poem about the sea.", "Tell me a story about a dragon."]
    cfg = sk.GenerationConfig(steps=8, gen_length=16, sampler="dream", options={"alg": "entropy"})
    traces = sk.generate(organism, prompts, cfg, progress=False, batch_size=2)
    assert [t.sampler for t in traces] == ["dream"] * 3
    assert all(t.activations.shape == (8, organism.model.config.hidden_size) for t in traces)
    assert all(t.committed[-1].all() for t in traces)
    assert [t.text for t in traces] == sk.generate_texts(organism, prompts, cfg, batch_size=3)
    one = sk.generate(organism, prompts[1:2], cfg, progress=False)[0]
    assert one.text == traces[1].text and (one.activations == traces[1].activations).all()
    # the Dream sampler's trace differs from the LLaDA loop's on the same model and step budget
    llada = sk.generate(organism, prompts[:1], sk.GenerationConfig(steps=8, gen_length=16, remasking="entropy"),
                        progress=False)[0]
    assert not (llada.committed == traces[0].committed).all()
