"""Reading and writing checkpoint folders of the kit-native models (released layout: config.json +
safetensors shards, optional ``model.safetensors.index.json``; ``pytorch_model*.bin`` also read).

The model is built on the meta device and the weights are assigned straight from the files (on the
target device, in the target dtype), so an 8B checkpoint is never materialised twice.

Example:
    >>> import tempfile
    >>> from sri_kit.native import dream_config, DreamForDiffusion, save_native, load_native
    >>> m = DreamForDiffusion(dream_config(hidden_size=32, intermediate_size=64, num_hidden_layers=1,
    ...                                    num_attention_heads=4, num_key_value_heads=2, vocab_size=40))
    >>> d = tempfile.mkdtemp()
    >>> _ = save_native(m, d)
    >>> m2 = load_native(d, dtype=torch.float32, device="cpu")
    >>> type(m2).__name__, torch.equal(m2.lm_head.weight, m.lm_head.weight)
    ('DreamForDiffusion', True)
"""
from __future__ import annotations

import json
from pathlib import Path

import torch
from safetensors import safe_open
from safetensors.torch import save_file

from ..errors import ConfigError, CorruptFileError, ModelNotFoundError, reading
from ..io import atomic_write, atomic_write_text
from .dream import DreamForDiffusion, dream_config
from .llada import LLADA_DEFAULTS, LLaDAForDiffusion, _Config, llada_config

__all__ = ["native_kind", "build_native", "load_native", "save_native", "NATIVE_KINDS"]

#: kind -> (model class, config builder). ``a2d-qwen2``: dllm's AR-to-diffusion conversion of a Qwen2 model
#: (dllm-hub, ``A2DQwen2LMHeadModel``): Qwen2's weights and names with bidirectional attention, which is the
#: Dream module without Dream's logit shift (the shift is the loaded model's ``shift_logits``, not the module's).
NATIVE_KINDS = {"llada": (LLaDAForDiffusion, llada_config), "dream": (DreamForDiffusion, dream_config),
                "a2d-qwen2": (DreamForDiffusion, dream_config)}
_FIX = "the folder is damaged: download the checkpoint again (or save the model again)"


def native_kind(config: dict) -> str | None:
    """``"llada"`` / ``"dream"`` when a config.json describes a model the kit runs natively, else None."""
    mtype = str(config.get("model_type", "")).lower()
    archs = [str(a).lower() for a in config.get("architectures") or []]
    if mtype == "llada" or "lladamodellm" in archs:
        return "llada"
    if mtype == "dream" or "dreammodel" in archs:
        return "dream"
    if mtype == "a2d-qwen2" or "a2dqwen2lmheadmodel" in archs:
        return "a2d-qwen2"
    return None


def build_native(config: dict):
    """A randomly initialised native model from config.json's keys (``model_type`` picks LLaDA or Dream;
    keys left out take the released code's defaults)."""
    kind = native_kind(config)
    if kind is None:
        raise ConfigError(f"model_type {config.get('model_type')!r} is not a kit-native model (llada, Dream, a2d-qwen2)")
    cls, make = NATIVE_KINDS[kind]
    return cls(llada_config(LLADA_DEFAULTS, **config) if kind == "llada" else make(**config))


def _weight_files(folder: Path) -> list[Path]:
    index = folder / "model.safetensors.index.json"
    if index.exists():
        with reading(index, "safetensors index", _FIX):
            names = sorted(set(json.loads(index.read_text(encoding="utf-8"))["weight_map"].values()))
        return [folder / n for n in names]
    files = sorted(folder.glob("*.safetensors")) or sorted(folder.glob("pytorch_model*.bin"))
    if not files:
        raise ModelNotFoundError(f"{folder} holds no weights (*.safetensors or pytorch_model*.bin): download the "
                                 "whole checkpoint folder")
    return files


def _read_weights(files: list[Path], device: torch.device, dtype: torch.dtype) -> dict[str, torch.Tensor]:
    where = "cpu"
    if device.type == "cuda":
        where = f"cuda:{device.index if device.index is not None else torch.cuda.current_device()}"
    state: dict[str, torch.Tensor] = {}
    for f in files:
        with reading(f, "weights file", _FIX):
            if f.suffix == ".bin":
                part = torch.load(f, map_location=where, weights_only=True, mmap=True)
            else:
                with safe_open(str(f), "pt", device=where) as h:
                    part = {k: h.get_tensor(k) for k in h.keys()}
        for k, t in part.items():
            state[k] = t.to(device=device, dtype=dtype) if t.is_floating_point() else t.to(device)
    return state


def load_native(folder, *, dtype: torch.dtype = torch.float32, device="cpu"):
    """Load a released LLaDA / Dream checkpoint folder into the kit-native module (no remote code)."""
    folder = Path(folder)
    device = torch.device(device)
    cfg_path = folder / "config.json"
    with reading(cfg_path, "model config (config.json)", _FIX):
        config = json.loads(cfg_path.read_text(encoding="utf-8"))
    kind = native_kind(config)
    if kind is None:
        raise ConfigError(f"{cfg_path}: model_type {config.get('model_type')!r} is not a kit-native model")
    cls, make = NATIVE_KINDS[kind]
    cfg = llada_config(LLADA_DEFAULTS, **config) if kind == "llada" else make(**config)
    with torch.device("meta"):
        model = cls(cfg)
    state = _read_weights(_weight_files(folder), device, dtype)
    state = {k: v for k, v in state.items() if not k.endswith("rotary_emb.inv_freq")}
    missing, unexpected = model.load_state_dict(state, strict=False, assign=True)
    missing = [k for k in missing if k not in model.tied_keys]
    if missing or unexpected:
        raise CorruptFileError(folder, f"{folder}: the weights do not match its config.json ({kind}): "
                                       f"missing {missing[:5]}{' ...' if len(missing) > 5 else ''}, unexpected "
                                       f"{unexpected[:5]}{' ...' if len(unexpected) > 5 else ''}; {_FIX}")
    model.tie_weights()
    gen = folder / "generation_config.json"
    if gen.exists():
        with reading(gen, "generation config", _FIX):
            model.generation_config = _Config(json.loads(gen.read_text(encoding="utf-8")))
    return model.eval()


def save_native(model, folder) -> Path:
    """Write ``model`` as a released-style folder: config.json and model.safetensors (tied weights stored once)."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    state = {k: v.detach().contiguous().cpu() for k, v in model.state_dict().items() if k not in model.tied_keys}
    atomic_write(folder / "model.safetensors", lambda p: save_file(state, p, metadata={"format": "pt"}))
    atomic_write_text(folder / "config.json", json.dumps(model.config.to_dict(), indent=2) + "\n")
    return folder
