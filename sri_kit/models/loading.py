"""``load_model``: a preset, a hub id or a local folder -> :class:`LoadedModel`.

Paths: LLaDA / Dream checkpoints load into the kit-native modules (``sri_kit.native``, no remote code)
unless ``trust_remote_code=True`` and the checkpoint ships its own code; DiffusionGemma loads with
transformers' ``DiffusionGemmaForBlockDiffusion``; everything else through the transformers auto classes.
"""
from __future__ import annotations

import importlib.util
import os
import warnings
from pathlib import Path

import torch

from ..config import GenerationConfig
from ..errors import (ConfigError, CorruptFileError, InputTypeError, ModelNotFoundError, SriKitError,
                      UnknownNameError)
from ..native import load_native, native_kind
from .detect import check_local_folder, check_supported, detect_family, read_json
from .loaded import LoadedModel, auto_device, wrap_model
from .presets import FAMILY_ALIASES, MODELS_DIR, PRESETS

_DTYPES = {"float32": torch.float32, "float16": torch.float16, "bfloat16": torch.bfloat16,
           "fp32": torch.float32, "fp16": torch.float16, "bf16": torch.bfloat16}
#: files a native checkpoint needs from the hub (weights, configs, tokenizer; not the remote code)
_NATIVE_FILES = ["*.json", "*.safetensors", "*.txt", "*.model", "*.jinja", "*.tiktoken"]


def resolve_dtype(dtype, preset_dtype: str, device: torch.device) -> torch.dtype:
    """``dtype`` (a torch dtype or one of :data:`_DTYPES`' names); None: the preset's dtype on CUDA, else float32."""
    if dtype is None:
        return _DTYPES[preset_dtype] if device.type == "cuda" else torch.float32
    if isinstance(dtype, str):
        if dtype not in _DTYPES:
            raise ConfigError(f"unknown dtype {dtype!r}; choose one of {sorted(_DTYPES)}")
        return _DTYPES[dtype]
    if not isinstance(dtype, torch.dtype):
        raise InputTypeError(f"dtype must be a string such as 'bfloat16' or a torch.dtype, got {type(dtype).__name__}")
    return dtype


def _first_line(e: Exception) -> str:
    return str(e).splitlines()[0][:200] if str(e) else ""


def _offline(name: str, source: str, e: Exception) -> ModelNotFoundError:
    return ModelNotFoundError(
        f"{name} is not on this machine and the Hugging Face hub cannot be reached ({e.__class__.__name__}). "
        f"On a machine with internet run `huggingface-cli download {source}` (or set HF_HOME to a cache that has "
        f"it), then load it again or pass its local folder")


def _hub_config(source: str, name: str) -> dict:
    """config.json of a hub repository (from the local cache when offline)."""
    from huggingface_hub import hf_hub_download  # comes with transformers; only needed for hub ids
    try:
        return read_json(Path(hf_hub_download(source, "config.json")), "model config (config.json)",
                         "delete it from the Hugging Face cache and download it again")
    except SriKitError:
        raise
    except Exception as e:  # noqa: BLE001 - offline, unknown repo, gated repo: all say how to get the files
        raise _offline(name, source, e) from None


def _hub_snapshot(source: str, name: str) -> str:
    from huggingface_hub import snapshot_download  # comes with transformers; only needed for hub ids
    try:
        return snapshot_download(source, allow_patterns=_NATIVE_FILES)
    except Exception as e:  # noqa: BLE001
        raise _offline(name, source, e) from None


def _tokenizer(source: str, trust_remote_code: bool, native: bool = False):
    """The tokenizer; a checkpoint whose tokenizer class lives in remote code (Dream's ``DreamTokenizer``)
    loads from its tokenizer.json / vocab files with a standard class when remote code is not trusted.

    ``native``: the folder's config.json is read by the kit's own modules, not by transformers, so the
    warnings transformers prints about that config while it looks for the tokenizer class (an unknown
    ``model_type``, deprecated ``rope_scaling``) are silenced."""
    from transformers import AutoTokenizer, PreTrainedTokenizerFast  # heavy import, first load only
    from transformers.utils import logging as hf_logging
    level = hf_logging.get_verbosity()
    try:
        with warnings.catch_warnings():
            if native:
                warnings.simplefilter("ignore", FutureWarning)
                hf_logging.set_verbosity_error()
            return AutoTokenizer.from_pretrained(source, trust_remote_code=trust_remote_code)
    except (ValueError, KeyError, AttributeError, ImportError):
        if trust_remote_code or not Path(source).is_dir():
            raise
    finally:
        hf_logging.set_verbosity(level)
    if (Path(source) / "tokenizer.json").exists():
        return PreTrainedTokenizerFast.from_pretrained(source)
    from transformers import Qwen2TokenizerFast  # Dream ships Qwen2's vocab.json + merges.txt
    return Qwen2TokenizerFast.from_pretrained(source)


def _model_class(family: str, cfg_dict: dict, needs_remote: bool):
    import transformers  # heavy import, first load only
    if family == "diffusiongemma":
        cls = getattr(transformers, "DiffusionGemmaForBlockDiffusion", None)
        if cls is None:
            raise ConfigError(f"DiffusionGemma needs transformers >= 5.13 (installed: {transformers.__version__}): "
                              "pip install -U 'transformers>=5.13'")
        return (cls,)
    if family == "ar":
        return (transformers.AutoModelForCausalLM,)
    if needs_remote or "masked" not in str(cfg_dict.get("architectures")).lower():
        return transformers.AutoModelForMaskedLM, transformers.AutoModel
    return (transformers.AutoModelForMaskedLM,)


def _resolve(name_or_path) -> tuple[str, str, object]:
    """(source, display name, preset or None) for a preset, a folder or a hub id."""
    key = str(name_or_path)
    preset = PRESETS.get(key) or PRESETS.get(key.lower())
    path = Path(key).expanduser()
    if preset is not None and preset.local:
        path = MODELS_DIR / preset.hub_id
        if not (path / "config.json").exists():
            raise ModelNotFoundError(f"{key}: the embedded weights are missing at {path}; "
                                     f"rebuild them with `sri-kit organism train --overwrite-shipped` (or reinstall sri_kit)")
        return str(path), preset.hub_id, preset
    if path.is_dir():
        if not (path / "config.json").exists():
            raise ModelNotFoundError(f"{path} has no config.json: pass a folder saved with save_pretrained()")
        return str(path), path.name, preset
    if path.exists():
        raise ModelNotFoundError(f"{path} is a file, not a model folder: pass the folder that holds config.json "
                                 "(one saved with save_pretrained())")
    if preset is not None:
        return preset.hub_id, preset.hub_id, preset
    if _looks_like_path(name_or_path):
        raise ModelNotFoundError(f"the model folder {key} does not exist (resolved to {path.resolve()}); check "
                                 f"the path, or give a preset name (`sri-kit presets`) or a hub id such as "
                                 f"'org/model'")
    if "/" in key:
        return key, key, None            # an arbitrary hub id
    raise UnknownNameError(f"unknown model {key!r}: not a preset ({', '.join(k for k in PRESETS if '/' not in k)}) "
                           f"and not a local folder")


def load_model(name_or_path: str | os.PathLike, *, device=None, dtype=None,
               trust_remote_code: bool = False) -> LoadedModel:
    """Load a preset (``"tiny-ar"``, ``"tiny-dlm"``, ``"llada-8b-instruct"``, a hub id …) or a local HF folder.

    Masked LMs, LLaDA and Dream load as ``"diffusion"``, causal LMs as ``"ar"``, DiffusionGemma as
    ``"diffusiongemma"``. LLaDA and Dream run on the kit-native modules (no remote code); with
    ``trust_remote_code=True`` a checkpoint that ships its own code runs that code instead. A folder
    may carry ``sri_kit.json`` with the kit's settings (family, hook_site, mask_token_id, default_config, ...).
    """
    if not isinstance(name_or_path, (str, os.PathLike)) or not str(name_or_path).strip():
        raise InputTypeError(f"load_model takes a preset name, a hub id or a folder path, got {name_or_path!r}")
    if not isinstance(trust_remote_code, bool):
        raise InputTypeError(f"trust_remote_code must be True or False, got {trust_remote_code!r}")
    source, name, preset = _resolve(name_or_path)
    local = Path(source).is_dir()
    kit = check_local_folder(Path(source)) if local else {}
    raw = read_json(Path(source) / "config.json", "model config (config.json)") if local else _hub_config(source, name)
    if not (trust_remote_code and raw.get("auto_map")):
        check_supported(raw, name)       # a2d-qwen3 & co: refused before the tokenizer or the weights load
    has_code = bool(raw.get("auto_map"))
    native = native_kind(raw) is not None and not (trust_remote_code and has_code)
    needs_remote = not native and ((preset.remote_code if preset else False) or bool(kit.get("remote_code"))
                                   or (has_code and native_kind(raw) is None and not _known_type(raw)))
    if needs_remote and not trust_remote_code:
        raise ConfigError(f"{name} runs code from its repository; pass trust_remote_code=True if you trust it")
    dev = auto_device(device)
    torch_dtype = resolve_dtype(dtype, preset.dtype if preset else "bfloat16", dev)
    if native and not local:
        source, local = _hub_snapshot(source, name), True
    family, shift = detect_family(raw)
    family = FAMILY_ALIASES[kit["family"]] if "family" in kit else (preset.family if preset else family)
    shift = bool(kit.get("shift_logits", preset.shift_logits if preset else shift))
    try:
        tok = _tokenizer(source, trust_remote_code, native=native)
    except OSError as e:
        if local:
            raise ModelNotFoundError(f"cannot load the tokenizer from {source} ({type(e).__name__}: {_first_line(e)}); "
                                     "pass a folder saved with save_pretrained() that holds config.json and the "
                                     "tokenizer files") from None
        raise _offline(name, source, e) from None
    if native:
        model = load_native(source, dtype=torch_dtype, device=dev)
    else:
        model = _load_transformers(source, name, family, raw, needs_remote, trust_remote_code, torch_dtype, dev,
                                   preset.device_map if preset else None, local)
    dc = dict(preset.default_config) if preset else {}
    dc.update(kit.get("default_config", {}))
    if "system_prompt" in kit:
        dc["system_prompt"] = kit["system_prompt"]
    try:
        default_config = GenerationConfig.from_dict(dc)
    except SriKitError as e:
        raise ConfigError(f"{Path(source) / 'sri_kit.json' if local else name}: bad default_config: {e}") from None
    mask = kit.get("mask_token_id", preset.mask_token_id if preset else None)
    if mask is None and tok.mask_token_id is None and isinstance(raw.get("mask_token_id"), int):
        mask = raw["mask_token_id"]          # LLaDA / Dream folders: config.json names the mask token
    if mask is None and tok.mask_token_id is None and native_kind(raw) == "a2d-qwen2":
        mask = tok.get_vocab().get("<|mask|>")   # the token dllm adds to an a2d tokenizer
    return wrap_model(model, tok, family=family, name=name,
                      hook_site=kit.get("hook_site") or (preset.hook_site if preset else None)
                      or getattr(model, "hook_site", None),
                      mask_token_id=mask, shift_logits=shift, default_config=default_config)


def _known_type(raw: dict) -> bool:
    """Whether transformers itself knows config.json's model_type (then no remote code is needed)."""
    from transformers.models.auto.configuration_auto import CONFIG_MAPPING_NAMES  # heavy import, first load only
    return str(raw.get("model_type", "")) in CONFIG_MAPPING_NAMES


def _load_transformers(source, name, family, raw, needs_remote, trust_remote_code, torch_dtype, dev, device_map,
                       local):
    from transformers import AutoConfig  # heavy import, first load only
    try:
        cfg = AutoConfig.from_pretrained(source, trust_remote_code=trust_remote_code)
    except OSError as e:
        if local:
            raise ModelNotFoundError(f"cannot load the config from {source} ({type(e).__name__}: {_first_line(e)}); "
                                     "pass a folder saved with save_pretrained()") from None
        raise _offline(name, source, e) from None
    spread = device_map is not None and dev.type == "cuda"
    kwargs = dict(dtype=torch_dtype, trust_remote_code=trust_remote_code)
    if spread:
        if importlib.util.find_spec("accelerate") is None:
            raise ConfigError(f"{name} is spread over the GPUs with device_map={device_map!r}, which needs the "
                              "accelerate package: pip install accelerate (or pass device='cpu')")
        kwargs["device_map"] = device_map
    last_err = None
    for cls in _model_class(family, cfg.to_dict(), needs_remote):
        try:
            model = cls.from_pretrained(source, **kwargs)
            break
        except (ValueError, KeyError) as e:   # class not registered for this config
            last_err = e
        except Exception as e:  # noqa: BLE001 - weights that cannot be read: name the folder
            if not local:
                raise
            raise CorruptFileError(source, f"could not read the weights in {source} ({type(e).__name__}: "
                                           f"{_first_line(e)}); the folder is damaged: save the model again (or "
                                           "re-download it)") from e
    else:
        raise ConfigError(f"could not load {name} as a {family} model: {last_err}")
    if not spread:
        model.to(dev)
    return model


def _looks_like_path(x) -> bool:
    """A name that is meant as a local path (not a hub id ``org/name``): a PathLike, or a string that starts
    with ``.``, ``/`` or ``~``, holds a backslash, or has more than one ``/``."""
    if not isinstance(x, str):
        return True
    return x.startswith((".", "/", "~")) or "\\" in x or x.count("/") > 1 or os.path.isabs(x)
