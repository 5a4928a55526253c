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
