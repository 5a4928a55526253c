"""Which family a config.json describes (architectures first, then ``model_type`` through transformers'
auto mappings), and the local folder checks done before anything heavy loads."""
from __future__ import annotations

import json
from pathlib import Path

from safetensors import safe_open

from ..errors import ConfigError, CorruptFileError, UnsupportedModelError, reading
from ..native import native_kind
from .presets import FAMILY_ALIASES, family_help


def read_json(path: Path, what: str = "JSON file", fix: str = "fix or delete it") -> dict:
    with reading(path, what, fix):
        with open(path, encoding="utf-8") as f:
            data = json.load(f)
    if not isinstance(data, dict):
        raise CorruptFileError(path, f"{path} must hold a JSON object, got {type(data).__name__}; {fix}")
    return data


def _auto_family(mtype: str) -> str | None:
    """The family of a ``model_type`` registered in transformers' masked-LM / causal-LM auto mappings."""
    # transformers takes seconds to import; only reached when config.json's architectures do not decide
    from transformers.models.auto.modeling_auto import (MODEL_FOR_CAUSAL_LM_MAPPING_NAMES,
                                                        MODEL_FOR_MASKED_LM_MAPPING_NAMES)
    if mtype in MODEL_FOR_MASKED_LM_MAPPING_NAMES:     # encoders that also have an LM-head variant stay masked
        return "diffusion"
    if mtype in MODEL_FOR_CAUSAL_LM_MAPPING_NAMES:
        return "ar"
    return None


#: What the kit runs itself (named in the refusal of a checkpoint it cannot run).
SUPPORTED = ("llada (LLaDA-8B-Instruct, LLaDA-1.5)", "Dream (Dream-v0-Instruct-7B)", "a2d-qwen2 (dllm's AR-to-diffusion "
             "Qwen2 conversions)", "diffusion_gemma (DiffusionGemma)", "any transformers ...ForMaskedLM (diffusion)",
             "any transformers ...ForCausalLM (ar)")


def is_a2d(cfg: dict) -> bool:
    """A dllm AR-to-diffusion conversion (dllm-hub; ``model_type`` ``a2d-qwen3`` / ``a2d-qwen2`` / ``a2d-llama`` ...):
    a masked-diffusion model with an AR model's weights and bidirectional attention."""
    mtype = str(cfg.get("model_type", "")).lower()
    return mtype.startswith("a2d") or any(str(a).lower().startswith("a2d") for a in cfg.get("architectures") or [])


def check_supported(cfg: dict, name: str) -> None:
    """Refuse, before anything is downloaded or built, a checkpoint the kit recognises but cannot run.

    >>> check_supported({"model_type": "a2d-qwen3"}, "dllm-hub/Qwen3-0.6B-diffusion-mdlm-v0.1")
    Traceback (most recent call last):
    sri_kit.errors.UnsupportedModelError: dllm-hub/Qwen3-0.6B-diffusion-mdlm-v0.1 is a masked-diffusion model ...
    """
    if not is_a2d(cfg) or native_kind(cfg) is not None:
        return
    mtype = str(cfg.get("model_type") or (cfg.get("architectures") or ["?"])[0])
    raise UnsupportedModelError(
        f"{name} is a masked-diffusion model (model_type {mtype!r}: dllm's AR-to-diffusion conversion, bidirectional "
        f"attention, no logit shift), which the kit cannot build without dllm's code. The kit runs: "
        f"{'; '.join(SUPPORTED)}. To use it: pip install dllm, `import dllm.pipelines.a2d` (registers {mtype!r}), "
        f"load it with transformers.AutoModel.from_pretrained(...) and wrap it with sri_kit.wrap_model(model, "
        f"tokenizer, family='diffusion', mask_token_id=tokenizer.mask_token_id) for the 'diffusion' sampler (an "
        f"MDLM checkpoint; a BD3LM one needs dllm's block-diffusion sampler)",
        model_type=mtype, supported=SUPPORTED)


def detect_family(cfg: dict) -> tuple[str, bool]:
    """(family, shift_logits) from a config.json's ``architectures`` or else its ``model_type``.

    >>> detect_family({"model_type": "llama"}), detect_family({"architectures": ["DreamModel"]})
    (('ar', False), ('diffusion', True))
    >>> detect_family({"model_type": "diffusion_gemma"}), detect_family({"model_type": "a2d-qwen3"})
    (('diffusiongemma', False), ('diffusion', False))
    """
    archs = [str(a).lower() for a in cfg.get("architectures") or []]
    mtype = str(cfg.get("model_type", "")).lower()
    kind = native_kind(cfg)
    if kind is not None:
        return "diffusion", kind == "dream"
    if "dream" in mtype or any("dream" in a for a in archs):
        return "diffusion", True
    if "llada" in mtype or any("llada" in a for a in archs):
        return "diffusion", False
    if mtype == "diffusion_gemma" or any(a.startswith("diffusiongemma") for a in archs):
        return "diffusiongemma", False
    if is_a2d(cfg):                      # "...LMHeadModel" names, but masked diffusion: never "ar"
        return "diffusion", False
    if any(a.endswith("formaskedlm") for a in archs):
        return "diffusion", False
    if any(a.endswith("forcausallm") or a.endswith("lmheadmodel") or a.endswith("forconditionalgeneration")
           for a in archs):
        return "ar", False
    fam = _auto_family(str(cfg.get("model_type", ""))) if mtype else None
    if fam is not None:
        return fam, False
    raise ConfigError(f"cannot tell whether this model is causal or masked (architectures={cfg.get('architectures')}, "
                      f"model_type={cfg.get('model_type')!r}); load it yourself and wrap it with "
                      f"sri_kit.wrap_model(model, tokenizer, family=...) ({family_help()}), or put "
                      '{"family": ...} in the folder\'s sri_kit.json')


def check_local_folder(folder: Path) -> dict:
    """Read a local model folder's ``sri_kit.json`` (validated) and check that its JSON and safetensors files
    can be read (headers only), so that a damaged file is named instead of failing deep in transformers."""
    fix = "the folder is damaged: save the model again with save_pretrained() (or re-download it)"
    read_json(folder / "config.json", "model config (config.json)", fix)
    for f in sorted(folder.glob("*.safetensors")):
        with reading(f, "safetensors weights file", fix):
            with safe_open(str(f), "pt") as h:
                h.keys()
    kit: dict = {}
    kp = folder / "sri_kit.json"
    if kp.exists():
        kit = read_json(kp, "sri_kit.json (the kit's settings for this model)",
                        "fix its JSON or delete it (the kit then detects the family from config.json)")
        fam = kit.get("family")
        if "family" in kit and (not isinstance(fam, str) or fam not in FAMILY_ALIASES):
            raise ConfigError(f"{kp}: unknown family {fam!r}; use {family_help()}")
        dc = kit.get("default_config", {})
        if not isinstance(dc, dict):
            raise ConfigError(f"{kp}: default_config must be a mapping of GenerationConfig fields, got {dc!r}")
    return kit
