"""The checkpoints people load, on tiny instances built in code: dllm-hub AR-to-diffusion conversions
(``a2d-*``), stop tokens of releases that list several end ids, LLaDA-1.5's release specifics and the
release-shaped DiffusionGemma."""
from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

import sri_kit as sk
from sri_kit.errors import UnsupportedModelError
from sri_kit.models.detect import detect_family

# ---------------------------------------------------------------------------------------------------------------
# dllm-hub a2d conversions


def _a2d_qwen2_folder(tok, tmp: Path, seed=0, **over) -> tuple[Path, object]:
    """A tiny Qwen2 causal LM saved as dllm's convert.py saves an a2d-qwen2 model (Qwen2's weights and
    config keys, ``model_type: a2d-qwen2``, ``architectures: [A2DQwen2LMHeadModel]``) with the tokenizer
    holding dllm's ``<|mask|>`` token."""
    from transformers import Qwen2Config, Qwen2ForCausalLM

    torch.manual_seed(seed)
    cfg = Qwen2Config(vocab_size=len(tok), hidden_size=64, intermediate_size=96, num_hidden_layers=2,
                      num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=256, rope_theta=1000000.0,
                      tie_word_embeddings=True, pad_token_id=tok.pad_token_id, eos_token_id=tok.eos_token_id, **over)
    m = Qwen2ForCausalLM(cfg).eval()
    with torch.no_grad():                   # wider weights than the default init, so predictions vary
        for p in m.parameters():
            p.mul_(4.0)
    folder = tmp / "a2d-qwen2"
    m.save_pretrained(folder)
    tok.save_pretrained(folder)
    raw = json.loads((folder / "config.json").read_text())
    raw.update(model_type="a2d-qwen2", architectures=["A2DQwen2LMHeadModel"])
    (folder / "config.json").write_text(json.dumps(raw))
    return folder, m


def _bidirectional_logits(m, x):
    """Qwen2 run as dllm's A2DQwen2Model runs it: a padding-only (here all-visible) 4-D mask for every layer."""
    mask = torch.zeros(x.shape[0], 1, x.shape[1], x.shape[1])
    with torch.no_grad():
        return m(input_ids=x, attention_mask={"full_attention": mask}).logits


def test_a2d_qwen2_loads_as_diffusion(tok, tmp_path):
    """An a2d-qwen2 folder: family "diffusion" (never "ar"), the kit-native bidirectional Qwen2 module,
    no logit shift, the tokenizer's mask token, the diffusion sampler; logits equal to Qwen2 run with
    dllm's bidirectional mask (and not to the causal model)."""
    folder, ref = _a2d_qwen2_folder(tok, tmp_path)
    lm = sk.load_model(folder, device="cpu")
    assert (lm.family, lm.shift_logits, lm.mask_token_id) == ("diffusion", False, tok.mask_token_id)
    assert type(lm.model).__name__ == "DreamForDiffusion" and lm.hook_site == "model.norm"
    assert sk.sampling.sampler_for(lm, sk.GenerationConfig()).name == "diffusion"
    x = torch.randint(0, len(tok), (2, 11), generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        got = lm.model(x).logits
        causal = ref(x).logits
    torch.testing.assert_close(got, _bidirectional_logits(ref, x), rtol=1e-5, atol=1e-5)
    assert (got - causal).abs().max() > 1e-2
    tr = sk.generate(lm, ["hello world"], sk.GenerationConfig(steps=4, gen_length=8), progress=False)[0]
    assert tr.committed[-1].all() and tr.activations.shape == (4, 64)


@pytest.mark.parametrize("mtype,arch", [("a2d-qwen3", "A2DQwen3LMHeadModel"), ("a2d-llama", "A2DLlamaLMHeadModel"),
                                        ("a2d-qwen3_5", None)])
def test_other_a2d_types_are_refused_up_front(tok, tmp_path, mtype, arch):
    """An a2d type the kit cannot build is refused before the tokenizer or the weights load, with a typed
    error naming the model type, what the kit runs, and how to run it with dllm's code."""
    assert detect_family({"model_type": mtype}) == ("diffusion", False)
    if arch:
        assert detect_family({"architectures": [arch]}) == ("diffusion", False)
    folder = tmp_path / mtype
    folder.mkdir()
    cfg = {"model_type": mtype, "hidden_size": 64, "num_hidden_layers": 2, "vocab_size": 320}
    if arch:
        cfg["architectures"] = [arch]
    (folder / "config.json").write_text(json.dumps(cfg))      # no weights, no tokenizer: never reached
    with pytest.raises(UnsupportedModelError) as e:
        sk.load_model(folder)
    err = e.value
    assert err.model_type == mtype and any("a2d-qwen2" in s for s in err.supported)
    msg = str(err)
    assert mtype in msg and "masked-diffusion" in msg and "dllm" in msg and "wrap_model" in msg
    assert isinstance(err, sk.errors.ConfigError)             # callers catching ConfigError keep working


# ---------------------------------------------------------------------------------------------------------------
# stop tokens: every end id of a release, read in one place, stops every sampler


class _Biased(torch.nn.Module):
    """A model sure of ``tokens[col]`` at each given column of the canvas (a large logit there; under
    Dream's shift give column - 1): a release emitting one of its end ids mid-response."""

    def __init__(self, inner, tokens: dict[int, int]):
        super().__init__()
        self.inner, self.tokens = inner, tokens
        self.config, self.generation_config = inner.config, inner.generation_config

    def forward(self, input_ids=None, **kw):
        out = self.inner(input_ids=input_ids, **kw)
        logits = out.logits.clone()
        for col, token in self.tokens.items():
            logits[:, col, token] += 100.0
        out.logits = logits
        return out


def _release_lm(kind, gen_eos):
    """A parity model (``<|endoftext|>`` eos, ``<|eot_id|>`` in the vocabulary, config.json eos) whose
    generation config lists ``gen_eos``, as LLaDA / Dream / Llama-3.1 releases list several."""
    from sri_kit.native.llada import _Config
    from sri_kit.parity import build_kit_model, kit_lm
    from sri_kit.parity.record import MODELS

    k, values, seed = MODELS[kind]
    m = build_kit_model(k, values, seed)
    m.generation_config = _Config({"eos_token_id": gen_eos})
    return kit_lm(k, m)


@pytest.mark.parametrize("kind", ["llada", "dream"])
def test_end_ids_read_from_every_source(kind):
    lm = _release_lm(kind, [7, 2])
    tok = lm.tokenizer
    assert tok.eos_token_id == 2 and tok.convert_tokens_to_ids("<|eot_id|>") == 3
    assert lm.end_token_ids == (7, 2, 3, 0)          # generation config list, config/tokenizer eos, chat end, pad
    assert lm.mask_token_id not in lm.end_token_ids
    assert sk.models.loaded.end_ids_of(tok, lm.model) == lm.end_token_ids


@pytest.mark.parametrize("kind", ["llada", "dream"])
@pytest.mark.parametrize("end", [7, 2, 3])
def test_diffusion_samplers_stop_on_each_end_id(kind, end):
    """Whichever end id the model commits (a generation-config entry, the eos, the chat end token), the
    text ends there, and ``stop_at_end`` stops the row there with fewer forward passes."""
    from sri_kit.parity import PROMPTS

    base = _release_lm(kind, [7, 2])
    row, k, L = PROMPTS[1], 2, 8
    col = len(row) - (1 if base.shift_logits else 0)            # response position 0's logits
    sure = {col: 9, col + 1: 10, col + k: end}                   # "t9 t10 <end>" then anything
    lm = sk.wrap_model(_Biased(base.model, sure), base.tokenizer, family="diffusion", name="biased",
                       hook_site="inner." + base.hook_site, mask_token_id=base.mask_token_id,
                       shift_logits=base.shift_logits)
    assert lm.end_token_ids == base.end_token_ids
    full = sk.GenerationConfig(steps=L, gen_length=L, sampler="threshold", options={"threshold": 1.0})
    stop = full.replace(options={"threshold": 1.0, "stop_at_end": True})
    a = sk.sampling.get_sampler("threshold").run(lm, [row], full)
    b = sk.sampling.get_sampler("threshold").run(lm, [row], stop)
    assert a.response_ids[0, k] == end and b.response_ids[0, k] == end
    assert b.n_forward == 3 < a.n_forward == L                 # closed once the three sure positions are in
    assert torch.equal(b.response_ids[0, :k], a.response_ids[0, :k]) and (b.response_ids[0, k:] == end).all()
    decode = sk.sampling.trace.decoder(lm.tokenizer, lm.end_token_ids)
    text = decode(a.response_ids[0].tolist())
    assert text == decode(a.response_ids[0, :k].tolist()) and text == decode(b.response_ids[0].tolist())


def test_ar_sampler_stops_where_hf_generate_stops(tok):
    """Llama-3.1 lists three end ids in its generation config: the kit's AR sampler stops at whichever the
    model emits, as transformers' generate does with the same list."""
    from conftest import _llama

    m = _llama(tok, seed=4)
    lm0 = sk.wrap_model(m, tok, family="ar", name="llama")
    row = lm0.encode_chat(["tell me a story about a dragon"])[0]
    free = sk.sampling.get_sampler("ar").run(lm0, [row], sk.GenerationConfig(steps=10)).response_ids[0].tolist()
    k = next(i for i in range(2, 10) if free[i] not in free[:i] and free[i] not in lm0.end_token_ids)
    e = free[k]
    others = [i for i in range(10, len(tok)) if i not in free][:2]
    m.generation_config.eos_token_id = [others[0], e, others[1]]
    lm = sk.wrap_model(m, tok, family="ar", name="llama-3.1-style")
    assert e in lm.end_token_ids and set(others) <= set(lm.end_token_ids)
    out = sk.sampling.get_sampler("ar").run(lm, [row], sk.GenerationConfig(steps=10))
    ids = out.response_ids[0].tolist()
    assert ids[:k + 1] == free[:k + 1] and ids[k + 1:] == [lm.end_token_ids[0]] * (9 - k)
    with torch.no_grad():
        hf = m.generate(torch.tensor([row]), max_new_tokens=10, do_sample=False, eos_token_id=[others[0], e, others[1]],
                        pad_token_id=tok.pad_token_id)[0, len(row):].tolist()
    assert hf[:k + 1] == ids[:k + 1] and len(hf) == k + 1


def test_organism_evaluation_counts_every_end_id():
    from sri_kit.organism.evaluate import mid_end_rate

    canvases = [[9, 5, 0], [9, 5, 0], [9, 0, 9]]        # 5: eos, 0: pad (both end the organism's text)
    assert mid_end_rate(canvases, 5) == pytest.approx(2 / 3)
    assert mid_end_rate(canvases, {5, 0}) == pytest.approx(1 / 3)
    import inspect

    from sri_kit.organism import evaluate
    src = inspect.getsource(evaluate.evaluate_organism)
    assert "end_token_ids" in src and "eos_token_id" not in src


# ---------------------------------------------------------------------------------------------------------------
# DiffusionGemma with the release's structure


def _release_shaped_diffusiongemma(tok, canvas=8):
    """google/diffusiongemma-26B-A4B-it's structure at tiny sizes: six layers in the release's 5 : 1
    sliding / full pattern (layer_types left to the config, as the release), full-attention layers with
    their own head dim and KV-head count (``global_head_dim``, ``num_global_key_value_heads``), a sliding
    window shorter than prompt + canvas (so it cuts), a mixture-of-experts MLP, the release's end ids
    (``<eos>`` and ``<end_of_turn>`` stand-ins) and a tiny vision tower."""
    from transformers import DiffusionGemmaConfig, DiffusionGemmaForBlockDiffusion

    text = dict(vocab_size=len(tok), hidden_size=32, intermediate_size=64, num_hidden_layers=6, num_attention_heads=4,
                num_key_value_heads=2, head_dim=8, global_head_dim=16, num_global_key_value_heads=1,
                max_position_embeddings=256, sliding_window=6, num_experts=4, top_k_experts=2,
                moe_intermediate_size=16, enable_moe_block=True, use_bidirectional_attention="vision",
                pad_token_id=tok.pad_token_id, bos_token_id=tok.bos_token_id,
                eos_token_id=[tok.eos_token_id, tok.convert_tokens_to_ids("<|assistant|>")])
    vision = dict(model_type="gemma4_vision", hidden_size=16, intermediate_size=32, num_hidden_layers=1,
                  num_attention_heads=2, num_key_value_heads=2, head_dim=8, position_embedding_size=64, patch_size=4)
    cfg = DiffusionGemmaConfig(text_config=text, vision_config=vision, canvas_length=canvas,
                               image_token_id=len(tok) + 5, boi_token_id=len(tok) + 6, eoi_token_id=len(tok) + 7)
    torch.manual_seed(0)
    m = DiffusionGemmaForBlockDiffusion(cfg).eval()
    with torch.no_grad():
        m.model.decoder.embed_tokens.weight.mul_(32.0)      # sharper predictions than the default init
    m.generation_config.pad_token_id = tok.pad_token_id
    m.generation_config.max_denoising_steps = 6
    m.generation_config.eos_token_id = list(text["eos_token_id"])
    return m


def test_release_shaped_diffusiongemma_structure(tok):
    m = _release_shaped_diffusiongemma(tok)
    tc = m.config.text_config
    assert tc.layer_types == ["sliding_attention"] * 5 + ["full_attention"]
    attn = [layer.self_attn for layer in m.model.decoder.layers]
    dims = [(a.head_dim, a.k_proj.out_features // a.head_dim) for a in attn]
    assert dims == [(8, 2)] * 5 + [(16, 1)]                     # the global layer's own head dim and KV heads
    assert [getattr(a, "sliding_window", None) for a in attn][:5] == [tc.sliding_window] * 5


def test_release_shaped_diffusiongemma_equals_model_generate(tok, tmp_path):
    """Saved, loaded through sri_kit.load_model, sampled by the kit: the tokens of transformers' own
    model.generate() for each prompt, the same alone and batched; the release's end ids are read."""
    from sri_kit.sampling.common import row_seed

    m = _release_shaped_diffusiongemma(tok)
    m.save_pretrained(tmp_path / "dg")
    tok.save_pretrained(tmp_path / "dg")
    lm = sk.load_model(tmp_path / "dg", device="cpu")
    assert (lm.family, lm.hook_site) == ("diffusiongemma", "model.decoder.norm")
    assert {tok.eos_token_id, tok.convert_tokens_to_ids("<|assistant|>")} <= set(lm.end_token_ids)
    prompts = ["hello", "write a poem about the sea and the dragon at home", "how do I bake bread"]
    cfg = sk.GenerationConfig(sampler="diffusiongemma", gen_length=16, seed=3, options={"max_denoising_steps": 4})
    out = sk.sampling.get_sampler("diffusiongemma").run(lm, lm.encode_chat(prompts), cfg)
    for i, ids in enumerate(lm.encode_chat(prompts)):
        assert len(ids) + 8 > 6                                  # prompt + canvas longer than the window
        torch.manual_seed(row_seed(3, ids))
        ref = lm.model.generate(torch.tensor([ids]), max_new_tokens=16, max_denoising_steps=4)
        ref = ref.sequences[0, len(ids):].tolist()
        got = out.response_ids[i].tolist()
        assert got[:len(ref)] == ref, (i, got, ref)
        assert all(t in lm.end_token_ids for t in got[len(ref):])      # after an end id: end / pad fill
    texts = [t.text for t in sk.generate(lm, prompts, cfg, batch_size=1, progress=False)]
    assert texts == [t.text for t in sk.generate(lm, prompts, cfg, batch_size=3, progress=False)]


# ---------------------------------------------------------------------------------------------------------------
# LLaDA (8B-Instruct, 1.5) and Dream special tokens and chat templates, as their tokenizer_config.json ship them

LLADA_TEMPLATE = ("{% set loop_messages = messages %}{% for message in loop_messages %}{% set content = "
                  "'<|start_header_id|>' + message['role'] + '<|end_header_id|>\n\n'+ message['content'] | trim + "
                  "'<|eot_id|>' %}{% if loop.index0 == 0 %}{% set content = bos_token + content %}{% endif %}"
                  "{{ content }}{% endfor %}{% if add_generation_prompt %}"
                  "{{ '<|start_header_id|>assistant<|end_header_id|>\n\n' }}{% endif %}")
DREAM_TEMPLATE = ("{% for message in messages %}{% if loop.first and messages[0]['role'] != 'system' %}"
                  "{{ '<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n' }}{% endif %}"
                  "{{ '<|im_start|>' + message['role'] + '\n' + message['content'] + '<|im_end|>' + '\n' }}"
                  "{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}")
RELEASES = {
    # kind: (special tokens in id order, tokenizer kwargs, template, mask token string, chat end token)
    "llada": (["<|startoftext|>", "<|endoftext|>", "<|mdm_mask|>", "<|start_header_id|>", "<|end_header_id|>",
               "<|eot_id|>"], dict(bos_token="<|startoftext|>", eos_token="<|endoftext|>"), LLADA_TEMPLATE,
              "<|mdm_mask|>", "<|eot_id|>"),
    "dream": (["<|endoftext|>", "<|im_start|>", "<|im_end|>", "<|mask|>"],
              dict(eos_token="<|endoftext|>", pad_token="<|endoftext|>", mask_token="<|mask|>"), DREAM_TEMPLATE,
              "<|mask|>", "<|im_end|>"),
}


def _release_tokenizer(kind):
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers
    from transformers import PreTrainedTokenizerFast

    specials, kw, template, _, _ = RELEASES[kind]
    words = ["hi", "write", "poem", "user", "assistant", "system", "You", "are", "helpful"]
    chars = sorted(set(pre_tokenizers.ByteLevel.alphabet()))
    vocab = {t: i for i, t in enumerate(chars + [w for w in words if w not in chars])}
    tk = Tokenizer(models.BPE(vocab=vocab, merges=[], unk_token=None))
    tk.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tk.decoder = decoders.ByteLevel()
    hf = PreTrainedTokenizerFast(tokenizer_object=tk, **kw)
    hf.add_special_tokens({"additional_special_tokens": [s for s in specials if s not in kw.values()]})
    hf.chat_template = template
    return hf


@pytest.mark.parametrize("kind,preset", [("llada", "llada-8b-instruct"), ("llada", "llada-1.5"),
                                         ("dream", "dream-7b-instruct")])
def test_released_tokens_and_templates(kind, preset, tmp_path):
    """A tiny native checkpoint with the release's special tokens and chat template: the prompt is the
    template's (bos, role headers, generation prompt; Dream's default system turn), the mask token is the
    release's (LLaDA's tokenizer names none: config.json's ``mask_token_id``), and the end ids hold the
    eos and the chat end token. LLaDA-1.5 ships LLaDA-8B-Instruct's config keys and tokenizer."""
    from sri_kit.native import DreamForDiffusion, LLaDAForDiffusion, dream_config, llada_config, save_native
    from sri_kit.parity.models import dream_values, llada_values

    tok = _release_tokenizer(kind)
    mask_str, end_str = RELEASES[kind][3], RELEASES[kind][4]
    mask_id, end_id = tok.convert_tokens_to_ids(mask_str), tok.convert_tokens_to_ids(end_str)
    n = len(tok)
    if kind == "llada":
        m = LLaDAForDiffusion(llada_config(**llada_values(vocab_size=n, embedding_size=n, mask_token_id=mask_id,
                                                          eos_token_id=tok.eos_token_id, pad_token_id=tok.eos_token_id)))
    else:
        m = DreamForDiffusion(dream_config(**dream_values(vocab_size=n, mask_token_id=mask_id,
                                                          eos_token_id=tok.eos_token_id, pad_token_id=tok.eos_token_id)))
    folder = save_native(m.eval(), tmp_path / preset)
    tok.save_pretrained(folder)
    lm = sk.load_model(folder, device="cpu")
    assert (lm.family, lm.mask_token_id, lm.shift_logits) == ("diffusion", mask_id, kind == "dream")
    assert tok.eos_token_id in lm.end_token_ids and end_id in lm.end_token_ids and mask_id not in lm.end_token_ids
    text = tok.decode(lm.encode_chat(["write a poem"])[0])
    want = {"llada": "<|startoftext|><|start_header_id|>user<|end_header_id|>\n\nwrite a poem<|eot_id|>"
                     "<|start_header_id|>assistant<|end_header_id|>\n\n",
            "dream": "<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n<|im_start|>user\nwrite a poem"
                     "<|im_end|>\n<|im_start|>assistant\n"}[kind]
    assert text == want
    p = sk.models.PRESETS[preset]
    assert (p.family, p.mask_token_id, p.shift_logits) == ("diffusion", {"llada": 126336, "dream": 151666}[kind],
                                                           kind == "dream")
    tr = sk.generate(lm, ["write a poem"], sk.GenerationConfig(steps=4, gen_length=8), progress=False)[0]
    assert tr.committed[-1].all()
