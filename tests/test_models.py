"""load_model: local folders, presets, remote-code opt-in, offline errors, family detection, mask ids."""
from __future__ import annotations

import json

import pytest
import torch

import sri_kit as sk
from sri_kit.errors import ConfigError, DeviceError
from conftest import tiny_diffusiongemma
from sri_kit.models import FAMILIES, PRESETS, auto_device, detect_family


@pytest.fixture()
def llama_dir(tmp_path, ar_lm):
    ar_lm.model.save_pretrained(tmp_path / "llama")
    ar_lm.tokenizer.save_pretrained(tmp_path / "llama")
    return tmp_path / "llama"


def _edit_config(folder, drop=(), **set_):
    p = folder / "config.json"
    cfg = json.loads(p.read_text())
    for k in drop:
        cfg.pop(k, None)
    cfg.update(set_)
    p.write_text(json.dumps(cfg))


def test_local_causal_dir(llama_dir):
    lm = sk.load_model(llama_dir, device="cpu")
    assert (lm.family, lm.hook_site, lm.shift_logits) == ("ar", "model.norm", False)
    assert lm.model.dtype == torch.float32 and lm.device.type == "cpu"
    assert lm.default_config.system_prompt is None
    assert lm.tokenizer.eos_token_id in lm.end_token_ids


@pytest.mark.parametrize("fixture,site", [("bert_lm", "bert.encoder"), ("mbert_lm", "model.final_norm")])
def test_local_masked_dir(tmp_path, request, fixture, site):
    src = request.getfixturevalue(fixture)
    src.model.save_pretrained(tmp_path / "m")
    src.tokenizer.save_pretrained(tmp_path / "m")
    lm = sk.load_model(tmp_path / "m")
    assert (lm.family, lm.hook_site, lm.mask_token_id) == ("diffusion", site, src.tokenizer.mask_token_id)
    tr = sk.generate(lm, ["hello"], sk.GenerationConfig(steps=2, gen_length=4), progress=False)[0]
    assert tr.activations.shape == (2, 64)


def test_kit_settings_file(llama_dir):
    (llama_dir / "sri_kit.json").write_text(json.dumps(
        {"family": "ar", "default_config": {"steps": 7, "temperature": 0.5}, "system_prompt": "Be brief."}))
    lm = sk.load_model(llama_dir)
    assert lm.default_config.steps == 7 and lm.default_config.system_prompt == "Be brief."
    assert sk.generate(lm, ["hi"], progress=False)[0].activations.shape[0] == 7


def test_family_from_model_type_without_architectures(llama_dir, ar_lm):
    """A folder whose config.json lacks `architectures` (GGUF conversions) is found by its model_type."""
    _edit_config(llama_dir, drop=["architectures"])
    assert "architectures" not in json.loads((llama_dir / "config.json").read_text())
    lm = sk.load_model(llama_dir)
    assert lm.family == "ar" and type(lm.model).__name__ == "LlamaForCausalLM"
    ids = torch.tensor([[1, 5, 9, 3]])
    assert torch.equal(lm.model(ids).logits, ar_lm.model(ids).logits)
    assert detect_family({"model_type": "modernbert"}) == ("diffusion", False)
    assert detect_family({"model_type": "diffusion_gemma"}) == ("diffusiongemma", False)
    assert detect_family({"architectures": ["DiffusionGemmaForBlockDiffusion"]}) == ("diffusiongemma", False)
    with pytest.raises(ConfigError, match="wrap_model"):
        detect_family({"model_type": "no_such_type"})


def test_mask_id_from_config_json(tmp_path, bert_lm, tok):
    """A masked LM whose tokenizer has no mask token gets the mask id from config.json (no sri_kit.json)."""
    folder = tmp_path / "m"
    bert_lm.model.save_pretrained(folder)
    tok.save_pretrained(folder)
    tcfg = json.loads((folder / "tokenizer_config.json").read_text())
    tcfg.pop("mask_token", None)
    (folder / "tokenizer_config.json").write_text(json.dumps(tcfg))
    smap = folder / "special_tokens_map.json"
    if smap.exists():
        sm = json.loads(smap.read_text())
        sm.pop("mask_token", None)
        smap.write_text(json.dumps(sm))
    _edit_config(folder, mask_token_id=5)
    lm = sk.load_model(folder)
    assert lm.tokenizer.mask_token_id is None
    assert lm.mask_token_id == 5
    _edit_config(folder, drop=["mask_token_id"])
    with pytest.raises(ConfigError, match="mask_token_id="):
        sk.load_model(folder)




@pytest.mark.parametrize("drop_architectures", [False, True])
def test_diffusiongemma_folder(tmp_path, tok, drop_architectures):
    """A DiffusionGemma folder loads as family diffusiongemma with transformers' own class (no remote code), hooked
    at the decoder's final norm, without a mask token; found by model_type when architectures is missing."""
    m = tiny_diffusiongemma(tok)
    m.save_pretrained(tmp_path / "dg")
    tok.save_pretrained(tmp_path / "dg")
    if drop_architectures:
        _edit_config(tmp_path / "dg", drop=["architectures"])
    lm = sk.load_model(tmp_path / "dg", device="cpu")
    assert type(lm.model).__name__ == "DiffusionGemmaForBlockDiffusion"
    assert (lm.family, lm.hook_site, lm.causal) == ("diffusiongemma", "model.decoder.norm", False)
    assert lm.model.get_submodule(lm.hook_site) is lm.model.model.decoder.norm
    assert torch.equal(lm.model.lm_head.weight, m.lm_head.weight)


def test_presets_table():
    for name in ("tiny-ar", "tiny-dlm", "llada-8b-instruct", "llada-1.5", "dream-7b-instruct",
                 "llama-3.1-8b-instruct", "qwen2.5-7b-instruct", "gemma-7b-it", "qwen3-0.6b-diffusion-mdlm",
                 "diffusiongemma-26b-a4b-it"):
        p = PRESETS[name]
        assert p.family in FAMILIES and p.hook_site
    assert PRESETS["GSAI-ML/LLaDA-8B-Instruct"].mask_token_id == 126336
    assert PRESETS["llada-8b-instruct"].hook_site == "model.transformer.ln_f"
    assert PRESETS["dream-7b-instruct"].shift_logits and PRESETS["dream-7b-instruct"].hook_site == "model.norm"
    # LLaDA and Dream run on the kit-native modules: no remote code needed
    assert not any(PRESETS[n].remote_code for n in ("llada-8b-instruct", "llada-1.5", "dream-7b-instruct"))
    assert PRESETS["llada-8b-instruct"].default_config["steps"] == 32
    dg = PRESETS["google/diffusiongemma-26B-A4B-it"]
    assert (dg.family, dg.hook_site, dg.dtype, dg.device_map, dg.mask_token_id) == (
        "diffusiongemma", "model.decoder.norm", "bfloat16", "auto", None)


def test_remote_code_needs_opt_in(llama_dir):
    (llama_dir / "sri_kit.json").write_text(json.dumps({"remote_code": True}))
    with pytest.raises(ValueError, match="trust_remote_code=True"):
        sk.load_model(llama_dir)
    (llama_dir / "sri_kit.json").unlink()
    _edit_config(llama_dir, model_type="my_custom_lm", auto_map={"AutoModelForCausalLM": "modeling_x.X"})
    with pytest.raises(ValueError, match="trust_remote_code=True"):
        sk.load_model(llama_dir)


def test_offline_hub_error(monkeypatch, tmp_path):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_HOME", str(tmp_path))
    for name in ("qwen2.5-7b-instruct", "llada-8b-instruct"):
        with pytest.raises(OSError, match="huggingface-cli download"):
            sk.load_model(name)


def test_bad_names(tmp_path, llama_dir):
    with pytest.raises(ValueError, match="unknown model"):
        sk.load_model("no-such-model")
    (tmp_path / "empty").mkdir()
    with pytest.raises(FileNotFoundError, match="config.json"):
        sk.load_model(tmp_path / "empty")
    with pytest.raises(ValueError, match="dtype"):
        sk.load_model(llama_dir, dtype="float8")


def test_wrap_model_families(ar_lm, tok):
    with pytest.raises(ConfigError, match="diffusiongemma"):
        sk.wrap_model(ar_lm.model, tok, family="nonsense")
    no_mask = type(tok)(tokenizer_object=tok.backend_tokenizer, pad_token="<|pad|>", eos_token="<|end|>")
    assert no_mask.mask_token_id is None
    with pytest.raises(ConfigError, match="mask token"):
        sk.wrap_model(ar_lm.model, no_mask, family="diffusion")
    # block diffusion with renoising has no mask token, and none is asked for
    lm = sk.wrap_model(ar_lm.model, no_mask, family="diffusion_gemma", hook_site="model.norm")
    assert (lm.family, lm.mask_token_id, lm.causal) == ("diffusiongemma", None, False)


def test_auto_device(monkeypatch):
    assert auto_device("cpu").type == "cpu"
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    monkeypatch.setattr(torch.backends.mps, "is_available", lambda: False)
    assert auto_device() == torch.device("cpu")
    with pytest.raises(DeviceError, match="no usable CUDA"):
        auto_device("cuda")
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    assert auto_device() == torch.device("cuda")
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    monkeypatch.setattr(torch.backends.mps, "is_available", lambda: True)
    assert auto_device() == torch.device("mps")


def test_generate_needs_loaded_model():
    with pytest.raises(TypeError, match="LoadedModel"):
        sk.generate(object(), ["hi"])
