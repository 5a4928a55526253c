"""The sampling core: registry, typed results, options, the pooler and the recording-free fast path."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pytest
import torch

import sri_kit as sk
from sri_kit.config import GenerationConfig
from sri_kit.sampling import (LeftToRightSampler, MaskedDiffusionSampler, Pooler, SampleBatch, Sampler,
                              generate, generate_canvases, generate_texts, get_sampler, register, sampler_for,
                              sampler_names, unregister)

PROMPTS = ["How do I bake bread?", "Write a short poem about the sea and the wind.", "Hi"]


@pytest.fixture(scope="module")
def ar():
    return sk.load_model("tiny-ar")


@pytest.fixture(scope="module")
def dlm():
    return sk.load_model("tiny-dlm")


def test_config_keys_made_before_the_sampler_fields_are_unchanged():
    # values computed with the release before `sampler` / `options` existed (commit 536a364)
    assert GenerationConfig().key() == "e47a7a46a2b2"
    assert GenerationConfig(steps=8, gen_length=8, order="left_to_right").key() == "9efddf1397f9"
    assert GenerationConfig(steps=32, gen_length=64, block_length=32).key() == "492d588b9abe"
    # setting them changes the key, and options are order-independent and hashable
    assert GenerationConfig(sampler="diffusion").key() != GenerationConfig().key()
    a = GenerationConfig(options={"x": 1, "y": 2})
    b = GenerationConfig(options={"y": 2, "x": 1})
    assert a.key() == b.key() and hash(a) == hash(b) and a.options == (("x", 1), ("y", 2))
    assert GenerationConfig.from_dict(a.to_dict()) == a


def test_registry_and_family_defaults(ar, dlm):
    assert sampler_names() == ["ar", "diffusion", "diffusiongemma", "dream", "dual_cache", "left_to_right", "prefix_cache",
                              "threshold", "threshold_factor"]
    assert sampler_for(ar, GenerationConfig()).name == "ar"
    assert sampler_for(dlm, GenerationConfig()).name == "diffusion"
    assert sampler_for(dlm, GenerationConfig(steps=8, gen_length=8, order="left_to_right")).name == "left_to_right"
    assert sampler_for(dlm, GenerationConfig(sampler="left_to_right")).name == "left_to_right"
    with pytest.raises(ValueError, match="runs on diffusion models"):
        sampler_for(ar, GenerationConfig(sampler="diffusion"))
    with pytest.raises(ValueError, match="unknown sampler 'nope'"):
        generate(ar, ["hi"], GenerationConfig(sampler="nope"), progress=False)
    assert ar.causal and not dlm.causal
    assert not get_sampler("ar").revises and get_sampler("diffusion").revises
    assert "remasking" not in get_sampler("ar").settings and "remasking" in get_sampler("diffusion").settings


def test_sampler_options_are_validated_by_the_sampler(dlm):
    with pytest.raises(ValueError, match="has no option"):
        generate(dlm, ["hi"], GenerationConfig(steps=8, gen_length=8, options={"threshold": 0.9}), progress=False)
    with pytest.raises(ValueError, match="steps == gen_length"):
        generate(dlm, ["hi"], GenerationConfig(steps=4, gen_length=8, sampler="left_to_right"), progress=False)


@dataclass(frozen=True)
class _EveryOther:
    stride: int = 2


class _StrideSampler(MaskedDiffusionSampler):
    """A toy plug-in: commits the masked positions in stride order, one per step (an option picks the stride)."""

    name = "test_stride"
    ranks = False
    Options = _EveryOther

    def validate(self, lm, cfg):
        super().validate(lm, cfg)
        if cfg.steps != cfg.gen_length:
            raise ValueError("test_stride needs steps == gen_length")

    def block_length(self, cfg):
        return cfg.gen_length

    def select(self, score, k, t, offset):
        L = self._L
        stride = self._stride
        order = [i for r in range(stride) for i in range(r, L, stride)]
        transfer = torch.zeros(score.shape, dtype=torch.bool)
        transfer[:, offset + order[t]] = True
        return transfer

    def run(self, lm, rows, cfg, *, record=True):
        self._L, self._stride = cfg.gen_length, self.options(cfg).stride
        return super().run(lm, rows, cfg, record=record)


def test_a_new_sampler_plugs_in_without_touching_the_others(dlm):
    register(_StrideSampler())
    try:
        cfg = GenerationConfig(steps=8, gen_length=8, sampler="test_stride", options={"stride": 2})
        tr = generate(dlm, ["Hi"], cfg, progress=False)[0]
        assert tr.sampler == "test_stride"
        # step 0 commits position 0, step 1 position 2, ... then the odd positions
        prev = np.vstack([np.zeros((1, 8), dtype=bool), tr.committed[:-1]])
        new = [np.flatnonzero(tr.committed[t] & ~prev[t]).tolist() for t in range(8)]
        assert new == [[0], [2], [4], [6], [1], [3], [5], [7]]
        assert generate_texts(dlm, ["Hi"], cfg) == [tr.text]
        with pytest.raises(ValueError, match="registered already"):
            register(_StrideSampler())
    finally:
        unregister("test_stride")
    assert "test_stride" not in sampler_names()


@pytest.mark.parametrize("which", ["ar", "dlm", "l2r"])
def test_fast_path_gives_the_recorded_texts(which, ar, dlm):
    lm, cfg = {"ar": (ar, GenerationConfig(steps=12, temperature=0.7, seed=3)),
               "dlm": (dlm, GenerationConfig(steps=8, gen_length=16, block_length=8, temperature=0.5,
                                             remasking="random")),
               "l2r": (dlm, GenerationConfig(steps=16, gen_length=16, order="left_to_right"))}[which]
    traces = generate(lm, PROMPTS, cfg, batch_size=2, progress=False)
    fast = generate_canvases(lm, PROMPTS, cfg, batch_size=3)
    assert [r.text for r in fast] == [t.text for t in traces]
    if not lm.causal:       # the final canvas is the last recorded prediction
        assert [r.ids for r in fast] == [t.predicted[-1].tolist() for t in traces]


def test_sample_batch_is_typed_and_counts_forwards(dlm, ar):
    out = get_sampler("diffusion").run(dlm, dlm.encode_chat(PROMPTS[:2]), GenerationConfig(steps=4, gen_length=8))
    assert isinstance(out, SampleBatch) and out.recorded and out.n_forward == 4
    assert out.activations.dtype == torch.float32 and out.committed.dtype == torch.bool
    fast = get_sampler("diffusion").run(dlm, dlm.encode_chat(PROMPTS[:2]), GenerationConfig(steps=4, gen_length=8),
                                        record=False)
    assert not fast.recorded and fast.predicted is None and torch.equal(fast.response_ids, out.response_ids)
    tr = generate(ar, ["Hi"], GenerationConfig(steps=6), progress=False)[0]
    assert tr.meta["n_forward"] >= 1 and tr.sampler == "ar"


def test_pooler_reference_and_generated():
    h = torch.arange(12, dtype=torch.float32).view(1, 3, 4)
    committed = torch.tensor([[True, False, True]])
    assert torch.allclose(Pooler("reference").canvas(h, committed), h.mean(1))
    assert torch.allclose(Pooler("generated").canvas(h, committed), h[:, [0, 2]].mean(1))
    assert torch.equal(Pooler("generated").canvas(h, torch.zeros_like(committed)), torch.zeros(1, 4))
    # incremental: reference repeats the last live state after the end; generated counts live steps only
    ref, gen = Pooler("reference"), Pooler("generated")
    s = [torch.tensor([[1.0]]), torch.tensor([[3.0]]), torch.tensor([[100.0]])]
    live = [torch.tensor([True]), torch.tensor([True]), torch.tensor([False])]
    assert [ref.step(a, b).item() for a, b in zip(s, live)] == pytest.approx([1.0, 2.0, (1 + 3 + 3) / 3])
    assert [gen.step(a, b).item() for a, b in zip(s, live)] == [1.0, 2.0, 2.0]
    assert ref.source == "predictor" and gen.source == "token"
    with pytest.raises(ValueError, match="unknown pooling"):
        Pooler("max")


def test_old_traces_without_a_sampler_name_get_the_family_default(tmp_path, dlm):
    tr = generate(dlm, ["Hi"], GenerationConfig(steps=4, gen_length=8), progress=False)[0]
    tr.sampler = ""
    tr.save(tmp_path / "t.safetensors")
    assert sk.GenerationTrace.load(tmp_path / "t.safetensors").sampler == "diffusion"


def test_left_to_right_is_one_file_plus_one_registry_line():
    import inspect

    import sri_kit.sampling as S
    src = inspect.getsource(S)
    assert src.count("register(LeftToRightSampler())") == 1
    assert inspect.getsourcefile(LeftToRightSampler).endswith("left_to_right.py")
    assert issubclass(LeftToRightSampler, Sampler)


class _VariableSampler(MaskedDiffusionSampler):
    """A toy variable-step sampler: row i reports T − i steps (the arrays keep T_max = T)."""

    name = "test_variable"
    variable_steps = True

    def run(self, lm, rows, cfg, *, record=True):
        out = super().run(lm, rows, cfg, record=record)
        out.n_steps = torch.tensor([cfg.steps - i for i in range(len(rows))])
        return out


def test_variable_step_traces_keep_their_own_steps_and_align_by_progress(dlm):
    register(_VariableSampler())
    try:
        cfg = GenerationConfig(steps=8, gen_length=8, sampler="test_variable")
        traces = generate(dlm, PROMPTS, cfg, batch_size=3, progress=False)
    finally:
        unregister("test_variable")
    full = generate(dlm, PROMPTS, cfg.replace(sampler=None), batch_size=3, progress=False)
    # prompts are batched by token length: row j of the batch is the j-th shortest prompt
    order = sorted(range(3), key=lambda i: len(dlm.encode_chat([PROMPTS[i]])[0]))
    for j, i in enumerate(order):
        T = 8 - j
        assert traces[i].steps == T and traces[i].meta["steps"] == T and traces[i].meta["max_steps"] == 8
        np.testing.assert_array_equal(traces[i].activations, full[i].activations[:T])
        np.testing.assert_array_equal(traces[i].predicted, full[i].predicted[:T])
    # centers refuse mixed step counts and name the fix
    with pytest.raises(sk.errors.ConfigError, match="align_traces"):
        sk.Centers.fit(traces, traces)
    aligned = sk.align_traces(traces, 8)
    assert {a.steps for a in aligned} == {8}
    for a, tr in zip(aligned, traces):
        src = a.meta["step_map"]
        assert a.meta["source_steps"] == tr.steps and src[-1] == tr.steps - 1 and src == sorted(src)
        np.testing.assert_array_equal(a.activations, tr.activations[src])
        np.testing.assert_array_equal(a.committed, tr.committed[src])
    # re-aligning composes with the original map
    twice = sk.align_traces(aligned, 4)
    assert twice[0].meta["step_map"] == [aligned[0].meta["step_map"][k] for k in (1, 3, 5, 7)]
    assert twice[0].meta["source_steps"] == traces[0].steps


def test_step_map_is_monotone_covers_the_end_and_is_identity_on_equal_lengths():
    from sri_kit.sampling import step_map

    for ti in range(1, 20):
        for T in range(1, 20):
            m = step_map(ti, T)
            assert len(m) == T and m[-1] == ti - 1 and m[0] >= 0 and (np.diff(m) >= 0).all()
            if T <= ti:      # a longer trace skips steps but never repeats one
                assert len(set(m.tolist())) == T
            else:            # a shorter trace visits every step
                assert set(m.tolist()) == set(range(ti))
        assert step_map(ti, ti).tolist() == list(range(ti))
    with pytest.raises(sk.errors.ConfigError, match="positive integer"):
        step_map(0, 4)


def test_saved_traces_keep_their_sampler_name(tmp_path, dlm):
    tr = generate(dlm, ["Hi"], GenerationConfig(steps=8, gen_length=8, order="left_to_right"), progress=False)[0]
    assert tr.sampler == "left_to_right"
    tr.save(tmp_path / "t.safetensors")
    assert sk.GenerationTrace.load(tmp_path / "t.safetensors").sampler == "left_to_right"


class _NoPositions(torch.nn.Module):
    """A masked LM whose forward takes no position ids and ignores the attention mask (as the released LLaDA
    code does): padding a row changes what it computes."""

    def __init__(self, inner):
        super().__init__()
        self.inner, self.config = inner, inner.config

    def forward(self, input_ids, attention_mask=None):
        return self.inner(input_ids=input_ids)


def test_models_without_position_ids_get_padding_free_batches(tok, bert_lm, monkeypatch):
    import sys

    gen_mod = sys.modules["sri_kit.sampling.generate"]      # the module (the package exports the function)

    lm = sk.wrap_model(_NoPositions(bert_lm.model), tok, family="diffusion", name="no-positions",
                       hook_site="inner.bert.encoder")
    assert gen_mod.padding_free(lm) and not gen_mod.padding_free(bert_lm)
    prompts = ["hello world", "write a poem about the sea and the wind", "tell me a story", "hello world again",
               "how do I bake bread at home"]
    cfg = GenerationConfig(steps=4, gen_length=8)
    one = [generate(lm, [p], cfg, progress=False)[0] for p in prompts]
    batched = generate(lm, prompts, cfg, batch_size=3, progress=False)
    assert [t.text for t in batched] == [t.text for t in one]
    for a, b in zip(batched, one):
        np.testing.assert_allclose(a.activations, b.activations, rtol=1e-4, atol=1e-5)
    # the grouping is what makes it exact: padded batches of this model change some rows
    monkeypatch.setattr(gen_mod, "padding_free", lambda lm: False)
    padded = generate(lm, prompts, cfg, batch_size=5, progress=False)
    assert any(not np.allclose(a.activations, b.activations, rtol=1e-4, atol=1e-5) for a, b in zip(padded, one))
