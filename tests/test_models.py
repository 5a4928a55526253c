"""load_model: local folders, presets, remote-code opt-in, offline errors."""
from __future__ import annotations

import json

import pytest
import torch

import sri_kit as sk
from sri_kit.models import PRESETS, auto_device


@pytest.fixture()
def llama_dir(tmp_path, ar_lm):
    ar_lm.model.save_pretrained(tmp_path / "llama")
    ar_lm.tokenizer.save_pretrained(tmp_path / "llama")
    return tmp_path / "llama"


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


def test_presets_table():
    for name in ("tiny-ar", "tiny-dlm", "llada-8b-instruct", "llada-1.5", "dream-7b-instruct",
                 "llama-3.1-8b-instruct", "qwen2.5-7b-instruct", "gemma-7b-it", "qwen3-0.6b-diffusion-mdlm"):
        p = PRESETS[name]
        assert p.family in ("ar", "diffusion") and p.hook_site
    assert PRESETS["GSAI-ML/LLaDA-8B-Instruct"].mask_token_id == 126336
    assert PRESETS["dream-7b-instruct"].shift_logits and PRESETS["dream-7b-instruct"].remote_code
    assert PRESETS["llada-8b-instruct"].default_config["steps"] == 32


def test_remote_code_needs_opt_in():
    with pytest.raises(ValueError, match="trust_remote_code=True"):
        sk.load_model("llada-8b-instruct")


def test_offline_hub_error(monkeypatch, tmp_path):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_HOME", str(tmp_path))
    with pytest.raises(OSError, match="huggingface-cli download"):
        sk.load_model("qwen2.5-7b-instruct")


def test_bad_names(tmp_path):
    with pytest.raises(ValueError, match="unknown model"):
        sk.load_model("no-such-model")
    (tmp_path / "empty").mkdir()
    with pytest.raises(FileNotFoundError, match="config.json"):
        sk.load_model(tmp_path / "empty")
    with pytest.raises(ValueError, match="dtype"):
        sk.models._dtype("float8", "float32", torch.device("cpu"))


def test_auto_device():
    assert auto_device("cpu").type == "cpu"
    assert auto_device().type in ("cpu", "cuda", "mps")


def test_generate_needs_loaded_model():
    with pytest.raises(TypeError, match="LoadedModel"):
        sk.generate(object(), ["hi"])
