"""The real-model path on tiny random instances: kit-native LLaDA / Dream (released weight names, no remote
code), their KV cache, batched == unbatched for every family, and parity with the upstream modelling
code and LLaDA's official generate.py.

The parity tests read the public upstream files from the folder in ``SRI_KIT_UPSTREAM`` (holding
``fastdllm/{llada,dream}/model`` from NVlabs/Fast-dLLM and ``llada_generate.py`` from ML-GSAI/LLaDA) and
skip when it is unset. The upstream code does not load on transformers 5 as released; what this file
patches to run it (test-only, none of it changes the math) is listed in :func:`upstream` and in
docs/REAL_MODELS.md.
"""
from __future__ import annotations

import importlib.util
import json
import os
import sys
import types
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn.functional as F

import sri_kit as sk
from sri_kit.native import DreamForDiffusion, LLaDAForDiffusion, dream_config, llada_config, save_native
from sri_kit.sampling import generate_canvases

PROMPTS = ["hi", "write a poem about the sea", "tell me a story about a dragon and how do I bake bread at home"]
DIFF = sk.GenerationConfig(steps=4, gen_length=8)

# ---------------------------------------------------------------------------------------------------------------
# tiny native models, built from configs in code (no upstream files: these run in CI)


def _llada_values(tok, **over):
    """A released-style LLaDA config.json (the keys of GSAI-ML/LLaDA-8B-Instruct's) at tiny sizes."""
    v = dict(architectures=["LLaDAModelLM"], model_type="llada", activation_type="silu", alibi=False,
             alibi_bias_max=8.0, attention_dropout=0.0, attention_layer_norm=False,
             attention_layer_norm_with_affine=True, auto_map={"AutoConfig": "configuration_llada.LLaDAConfig",
                                                              "AutoModel": "modeling_llada.LLaDAModelLM",
                                                              "AutoModelForCausalLM": "modeling_llada.LLaDAModelLM"},
             bias_for_layer_norm=False, block_group_size=1, block_type="llama", d_model=64, embedding_dropout=0.0,
             embedding_size=len(tok), eos_token_id=tok.eos_token_id, flash_attention=False, include_bias=False,
             include_qkv_bias=False, init_cutoff_factor=None, init_device="cpu", init_fn="normal", init_std=0.02,
             input_emb_norm=False, layer_norm_type="rms", layer_norm_with_affine=True,
             mask_token_id=tok.mask_token_id, max_sequence_length=256, mlp_hidden_size=96, mlp_ratio=4,
             multi_query_attention=None, n_heads=4, n_kv_heads=2, n_layers=2, pad_token_id=tok.pad_token_id,
             precision="amp_bf16", residual_dropout=0.0, rms_norm_eps=1e-5, rope=True, rope_full_precision=True,
             rope_theta=500000.0, scale_logits=False, use_cache=False, vocab_size=len(tok), weight_tying=False)
    v.update(over)
    return v


def _dream_values(tok, **over):
    """A released-style Dream config.json (the keys of Dream-org/Dream-v0-Instruct-7B's) at tiny sizes."""
    v = dict(architectures=["DreamModel"], model_type="Dream", attention_dropout=0.0,
             auto_map={"AutoConfig": "configuration_dream.DreamConfig", "AutoModel": "modeling_dream.DreamModel"},
             bos_token_id=tok.bos_token_id, eos_token_id=tok.eos_token_id, hidden_act="silu", hidden_size=64,
             initializer_range=0.02, intermediate_size=96, mask_token_id=tok.mask_token_id,
             max_position_embeddings=256, max_window_layers=2, num_attention_heads=4, num_hidden_layers=2,
             num_key_value_heads=2, pad_token_id=tok.pad_token_id, rms_norm_eps=1e-6, rope_scaling=None,
             rope_theta=1000000.0, sliding_window=None, tie_word_embeddings=False, torch_dtype="float32",
             use_cache=False, use_sliding_window=False, vocab_size=len(tok))
    v.update(over)
    return v


def _randomise(model, seed):
    """Random weights everywhere, norms and biases included (a default init leaves norms at 1, biases at 0)."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, p in model.named_parameters():
            if "norm" in name or "ln_f" in name:
                p.copy_(1 + 0.2 * torch.randn(p.shape, generator=g))
            else:
                p.copy_(0.08 * torch.randn(p.shape, generator=g))
    return model


def _native(kind, tok, seed=0, **over):
    if kind == "llada":
        return _randomise(LLaDAForDiffusion(llada_config(**_llada_values(tok, **over))), seed).eval()
    return _randomise(DreamForDiffusion(dream_config(**_dream_values(tok, **over))), seed).eval()


def _folder(tmp, model, tok, name):
    folder = Path(tmp) / name
    save_native(model, folder)
    tok.save_pretrained(folder)
    return folder


@pytest.fixture(scope="module")
def native_lms(tok, tmp_path_factory):
    """{kind: LoadedModel} of tiny native LLaDA and Dream loaded through load_model from released-style folders."""
    tmp = tmp_path_factory.mktemp("native")
    return {k: sk.load_model(_folder(tmp, _native(k, tok, seed=i), tok, k), device="cpu")
            for i, k in enumerate(("llada", "dream"))}


LLADA_NAMES = ["model.transformer.wte.weight", "model.transformer.ln_f.weight", "model.transformer.ff_out.weight"] + [
    f"model.transformer.blocks.0.{n}.weight" for n in ("attn_norm", "q_proj", "k_proj", "v_proj", "attn_out",
                                                        "ff_norm", "ff_proj", "up_proj", "ff_out")]
DREAM_NAMES = ["model.embed_tokens.weight", "model.norm.weight", "lm_head.weight"] + [
    f"model.layers.0.{n}" for n in ("input_layernorm.weight", "post_attention_layernorm.weight",
                                    "self_attn.q_proj.weight", "self_attn.q_proj.bias", "self_attn.k_proj.bias",
                                    "self_attn.v_proj.bias", "self_attn.o_proj.weight", "mlp.gate_proj.weight",
                                    "mlp.up_proj.weight", "mlp.down_proj.weight")]


@pytest.mark.parametrize("kind,names,site,shift", [("llada", LLADA_NAMES, "model.transformer.ln_f", False),
                                                   ("dream", DREAM_NAMES, "model.norm", True)])
def test_native_load_and_generate(native_lms, kind, names, site, shift):
    """Released weight names on disk; load_model picks the native module (no remote code) and generates
    with per-step activations taken at the final norm."""
    lm = native_lms[kind]
    assert type(lm.model).__name__ == {"llada": "LLaDAForDiffusion", "dream": "DreamForDiffusion"}[kind]
    assert (lm.family, lm.hook_site, lm.shift_logits, lm.mask_token_id) == ("diffusion", site, shift, 6)
    assert set(names) <= set(lm.model.state_dict())
    traces = sk.generate(lm, PROMPTS[:2], DIFF, progress=False)
    for tr in traces:
        assert tr.activations.shape == (4, 64) and np.isfinite(tr.activations).all()
        assert tr.committed[-1].all() and not tr.committed[0].all()
    # φ_t is the final norm's output: recompute step 0's by hand for prompt 0
    ids = torch.tensor([lm.encode_chat(PROMPTS[:1])[0] + [lm.mask_token_id] * 8])
    with torch.no_grad():
        out = lm.model(ids, output_hidden_states=True)
    final = out.hidden_states[-1][0, -8:].mean(0).numpy()
    np.testing.assert_allclose(traces[0].activations[0], final, rtol=1e-5, atol=1e-6)


def test_native_files_are_released_names(tok, tmp_path):
    from safetensors import safe_open

    for kind, names in (("llada", LLADA_NAMES), ("dream", DREAM_NAMES)):
        folder = _folder(tmp_path, _native(kind, tok), tok, kind)
        with safe_open(str(folder / "model.safetensors"), "pt") as h:
            assert set(names) <= set(h.keys())
        cfg = json.loads((folder / "config.json").read_text())
        assert cfg["model_type"] == {"llada": "llada", "dream": "Dream"}[kind] and "auto_map" in cfg


def test_dream_tokenizer_without_remote_code(tok, tmp_path):
    """Dream's tokenizer_config names a remote-code class (DreamTokenizer); the native path reads the same
    tokenizer files with a standard class and encodes chats identically."""
    folder = _folder(tmp_path, _native("dream", tok), tok, "dream")
    p = folder / "tokenizer_config.json"
    tcfg = json.loads(p.read_text())
    tcfg.update(tokenizer_class="DreamTokenizer", auto_map={"AutoTokenizer": ["tokenization_dream.DreamTokenizer", None]})
    p.write_text(json.dumps(tcfg))
    lm = sk.load_model(folder)
    msgs = [{"role": "user", "content": PROMPTS[1]}]
    assert lm.encode_chat(PROMPTS[1:2])[0] == list(tok.apply_chat_template(msgs, add_generation_prompt=True,
                                                                            tokenize=True, return_dict=False))
    assert lm.mask_token_id == tok.mask_token_id


def test_native_tied_weights(tok, tmp_path):
    """weight_tying / tie_word_embeddings: the head is the embedding, stored once, and reloads tied."""
    for kind, over in (("llada", dict(weight_tying=True)), ("dream", dict(tie_word_embeddings=True))):
        m = _native(kind, tok, **over)
        folder = _folder(tmp_path, m, tok, kind + "_tied")
        lm = sk.load_model(folder)
        head, emb = lm.model.get_output_embeddings(), lm.model.get_input_embeddings()
        assert head.weight is emb.weight and torch.equal(emb.weight, m.get_input_embeddings().weight)
        ids = torch.tensor([[1, 9, 20, 6, 6]])
        with torch.no_grad():
            assert torch.equal(lm.model(ids).logits, m(ids).logits)


def test_native_refuses_unimplemented_options(tok):
    with pytest.raises(sk.errors.ConfigError, match="block_type"):
        llada_config(**_llada_values(tok, block_type="sequential"))
    with pytest.raises(sk.errors.ConfigError, match="rope_scaling"):
        dream_config(**_dream_values(tok, rope_scaling={"rope_type": "yarn", "factor": 4.0}))


# ---------------------------------------------------------------------------------------------------------------
# KV cache and positions


@pytest.mark.parametrize("kind", ["llada", "dream"])
def test_kv_cache_prefix_and_dual(tok, kind):
    """With the cache of a full forward pass, recomputing only a suffix (prefix cache) or only a block in
    place (dual cache, replace_position) gives the full pass's logits there."""
    m = _native(kind, tok)
    x = torch.randint(0, len(tok), (2, 14))
    with torch.no_grad():
        full = m(x, use_cache=True)
        past = full.past_key_values
        assert len(past) == 2 and past[0][0].shape == (2, 2, 14, 16)       # [B, n_kv_heads, K, head_dim]
        prefix = tuple((k[:, :, :9], v[:, :, :9]) for k, v in past)
        suffix = m(x[:, 9:], past_key_values=prefix).logits
        block = m(x[:, 5:9], past_key_values=past, replace_position=torch.arange(5, 9), use_cache=True)
    torch.testing.assert_close(suffix, full.logits[:, 9:], rtol=1e-5, atol=1e-5)
    torch.testing.assert_close(block.logits, full.logits[:, 5:9], rtol=1e-5, atol=1e-5)
    assert block.past_key_values[0][0].shape[-2] == 14                   # replaced in place, not appended
    assert torch.equal(past[0][0], full.past_key_values[0][0])           # the given cache is not modified


@pytest.mark.parametrize("kind", ["llada", "dream"])
def test_transformers_cache_and_positions(tok, kind):
    """A transformers DynamicCache is filled through its public update; left padding with position_ids and
    the key-padding mask gives each row the logits it has alone."""
    from transformers import DynamicCache

    m = _native(kind, tok)
    x = torch.randint(0, len(tok), (1, 10))
    with torch.no_grad():
        cache = DynamicCache()
        m(x[:, :6], past_key_values=cache, use_cache=True)
        assert cache.get_seq_length() == 6
        prefix = m(x[:, :6], use_cache=True).past_key_values
        a = m(x[:, 6:], past_key_values=cache).logits
        b = m(x[:, 6:], past_key_values=prefix).logits
        torch.testing.assert_close(a, b, rtol=1e-6, atol=1e-6)
        alone = m(x).logits
        padded = torch.cat([torch.full((1, 3), tok.pad_token_id), x], 1)
        mask = torch.cat([torch.zeros(1, 3, dtype=torch.long), torch.ones(1, 10, dtype=torch.long)], 1)
        pos = (mask.cumsum(-1) - 1).clamp_min(0)
        batched = m(padded, attention_mask=mask, position_ids=pos).logits[:, 3:]
        shifted = m(padded, attention_mask=mask).logits[:, 3:]
        unmasked = m(padded, position_ids=pos).logits[:, 3:]
    torch.testing.assert_close(batched, alone, rtol=1e-5, atol=1e-5)
    # RoPE scores depend on relative positions only, so a constant shift changes nothing but rounding;
    # attending to the padding is what changes a padded row
    torch.testing.assert_close(shifted, alone, rtol=1e-4, atol=1e-4)
    assert (unmasked - alone).abs().max() > 1e-2


# ---------------------------------------------------------------------------------------------------------------
# batched == unbatched for every family


def _gen(lm, cfg, batch_size):
    return sk.generate(lm, PROMPTS, cfg, batch_size=batch_size, progress=False)


@pytest.mark.parametrize("which", ["llada", "dream", "tiny-dlm", "tiny-ar", "llama", "bert"])
def test_batched_equals_unbatched(which, request, native_lms):
    if which in native_lms:
        lm = native_lms[which]
    elif which in ("tiny-dlm", "tiny-ar"):
        lm = sk.load_model(which, device="cpu")
    else:
        lm = request.getfixturevalue({"llama": "ar_lm", "bert": "bert_lm"}[which])
    cfg = DIFF if not lm.causal else sk.GenerationConfig(steps=6)
    lens = {len(r) for r in lm.encode_chat(PROMPTS)}
    assert len(lens) == 3                                   # three different lengths: the batch is padded
    one, three = _gen(lm, cfg, 1), _gen(lm, cfg, 3)
    for a, b in zip(one, three):
        assert np.array_equal(a.predicted, b.predicted) and np.array_equal(a.committed, b.committed)
        assert a.text == b.text
        np.testing.assert_allclose(a.activations, b.activations, rtol=1e-4, atol=1e-5)


# ---------------------------------------------------------------------------------------------------------------
# parity with the upstream modelling code (needs SRI_KIT_UPSTREAM)


def _load_pkg(name: str, folder: Path):
    spec = importlib.util.spec_from_file_location(name, folder / "__init__.py", submodule_search_locations=[str(folder)])
    mod = importlib.util.module_from_spec(spec)
    sys.modules[name] = mod
    spec.loader.exec_module(mod)
    return mod


def _default_rope(config, device=None, **_):
    """transformers 4.x's default RoPE init (``_compute_default_rope_parameters``), gone from the v5 table."""
    dim = config.hidden_size // config.num_attention_heads
    exps = torch.arange(0, dim, 2, dtype=torch.int64).to(device=device, dtype=torch.float) / dim
    return 1.0 / (config.rope_theta ** exps), 1.0


def _plain_sdpa(q, k, v, mask=None, attn_mask=None, dropout_p=0.0, is_causal=False):
    return F.scaled_dot_product_attention(q, k, v, attn_mask=attn_mask, dropout_p=dropout_p, is_causal=is_causal)


@pytest.fixture(scope="module")
def upstream():
    """The upstream modules, loaded from $SRI_KIT_UPSTREAM under private names.

    Test-only patches (none changes the arithmetic):
    - ``einops``: stubbed when not installed; upstream LLaDA imports ``rearrange`` for a flex-attention block
      class that the released configs never build.
    - LLaDA's module-level ``scaled_dot_product_attention`` is ``@torch.compile``d; it is replaced by the same
      ``F.scaled_dot_product_attention`` call uncompiled (no compiler on CPU CI).
    - Dream's rotary init looks up ``ROPE_INIT_FUNCTIONS["default"]``, removed in transformers 5 (the
      ``KeyError: 'default'``); the entry is put back, computing transformers 4.x's default inverse
      frequencies, while the models are built; its ``_tied_weights_keys`` (a v4 list, which v5's ``post_init``
      cannot read) is given in v5's dict form naming the same tie, lm_head <- embed_tokens.
    - LLaDA is instantiated as its inner ``LLaDAModel`` (an nn.Module): the ``LLaDAModelLM`` wrapper never
      calls ``post_init`` and fails on v5 with ``all_tied_weights_keys``; it only forwards to the inner model.
    """
    root = os.environ.get("SRI_KIT_UPSTREAM")
    if not root:
        pytest.skip("set SRI_KIT_UPSTREAM to a folder holding fastdllm/{llada,dream}/model and llada_generate.py")
    root = Path(root)
    with pytest.MonkeyPatch.context() as mp:
        if importlib.util.find_spec("einops") is None:
            stub = types.ModuleType("einops")
            stub.rearrange = None
            mp.setitem(sys.modules, "einops", stub)
        llada = _load_pkg("_upstream_llada", root / "fastdllm" / "llada" / "model")
        dream = _load_pkg("_upstream_dream", root / "fastdllm" / "dream" / "model")
        spec = importlib.util.spec_from_file_location("_upstream_llada_generate", root / "llada_generate.py")
        gen = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(gen)
    ml = sys.modules["_upstream_llada.modeling_llada"]
    ml.scaled_dot_product_attention = _plain_sdpa
    return types.SimpleNamespace(llada=llada, llada_modeling=ml, dream=dream,
                                 dream_modeling=sys.modules["_upstream_dream.modeling_dream"], generate=gen)


def _upstream_model(up, kind, values, seed):
    """(upstream model, its state dict under the released names)."""
    torch.manual_seed(seed)
    if kind == "llada":
        cfg = up.llada.LLaDAConfig(**values)
        mc = up.llada_modeling.create_model_config_from_pretrained_config(cfg)
        mc.init_device = "cpu"
        model = _randomise(up.llada_modeling.LLaDAModel(mc, init_params=True), seed).eval()
        return model, {"model." + k: v for k, v in model.state_dict().items()}
    from transformers import modeling_rope_utils

    with pytest.MonkeyPatch.context() as mp:
        if "default" not in modeling_rope_utils.ROPE_INIT_FUNCTIONS:
            mp.setitem(modeling_rope_utils.ROPE_INIT_FUNCTIONS, "default", _default_rope)
        # v5 reads the tie as {target: source}; the released class spells the same tie as a v4 list
        mp.setattr(up.dream_modeling.DreamModel, "_tied_weights_keys", {"lm_head.weight": "model.embed_tokens.weight"})
        cfg = up.dream.DreamConfig(**{k: v for k, v in values.items() if k not in ("architectures", "auto_map")})
        model = _randomise(up.dream_modeling.DreamModel(cfg), seed).eval()
    return model, dict(model.state_dict())


def _write_released(folder: Path, values: dict, state: dict, tok) -> Path:
    from safetensors.torch import save_file

    folder.mkdir(parents=True)
    tied = values.get("weight_tying") or values.get("tie_word_embeddings")
    state = {k: v.contiguous() for k, v in state.items()
             if not (tied and k in ("lm_head.weight", "model.transformer.ff_out.weight"))}
    save_file(state, str(folder / "model.safetensors"), metadata={"format": "pt"})
    (folder / "config.json").write_text(json.dumps(values))
    tok.save_pretrained(folder)
    return folder


CASES = [("llada", {}), ("llada", dict(weight_tying=True, embedding_size=384, n_kv_heads=4)),
         ("llada", dict(include_qkv_bias=True, input_emb_norm=True, scale_logits=True)),
         ("dream", {}), ("dream", dict(tie_word_embeddings=True, num_key_value_heads=1))]


@pytest.mark.parametrize("kind,over", CASES)
def test_logits_match_upstream(upstream, tok, tmp_path, kind, over):
    """Upstream model -> released-style folder -> sri_kit.load_model (native): float32 logits within 1e-4."""
    values = (_llada_values if kind == "llada" else _dream_values)(tok, **over)
    ref, state = _upstream_model(upstream, kind, values, seed=3)
    lm = sk.load_model(_write_released(tmp_path / kind, values, state, tok), device="cpu")
    assert type(lm.model).__name__ != type(ref).__name__
    g = torch.Generator().manual_seed(0)
    x = torch.randint(0, len(tok), (3, 23), generator=g)
    with torch.no_grad():
        a, b = ref(x).logits, lm.model(x).logits
    diff = (a - b).abs().max().item()
    print(f"{kind} {over}: max |Δlogit| = {diff:.3g}")
    assert a.shape == b.shape and diff <= 1e-4


def test_greedy_tokens_match_official_llada_generate(upstream, tok, tmp_path):
    """sri_kit.generate on the native LLaDA == ML-GSAI/LLaDA's generate.py on the upstream model, one prompt
    at a time (low_confidence remasking, temperature 0, one block and semi-AR blocks)."""
    values = _llada_values(tok)
    ref, state = _upstream_model(upstream, "llada", values, seed=5)
    lm = sk.load_model(_write_released(tmp_path / "llada", values, state, tok), device="cpu")
    for block in (None, 4):
        cfg = sk.GenerationConfig(steps=8, gen_length=8, block_length=block, temperature=0.0)
        ours = generate_canvases(lm, PROMPTS, cfg, batch_size=1)
        for p, r in zip(PROMPTS, ours):
            prompt = torch.tensor([lm.encode_chat([p])[0]])
            out = upstream.generate.generate(ref, prompt, steps=8, gen_length=8, block_length=block or 8,
                                             temperature=0.0, remasking="low_confidence", mask_id=lm.mask_token_id)
            assert r.ids == out[0, prompt.shape[1]:].tolist()


def test_dream_kit_sampler_tokens_match_upstream_model(upstream, tok, tmp_path):
    """The kit's diffusion sampler gives the same tokens on the native Dream as on the upstream DreamModel."""
    values = _dream_values(tok)
    ref, state = _upstream_model(upstream, "dream", values, seed=6)
    lm = sk.load_model(_write_released(tmp_path / "dream", values, state, tok), device="cpu")
    ref_lm = sk.wrap_model(ref, tok, family="diffusion", name="upstream-dream", hook_site="model.norm",
                           shift_logits=True)
    a = generate_canvases(lm, PROMPTS, DIFF, batch_size=1)
    b = generate_canvases(ref_lm, PROMPTS, DIFF, batch_size=1)
    assert [r.ids for r in a] == [r.ids for r in b]
