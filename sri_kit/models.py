"""Loading models: presets, local Hugging Face directories, hook sites.

Example:
    >>> import sri_kit
    >>> lm = sri_kit.load_model("tiny-dlm")
    >>> lm.family, lm.hook_site, lm.causal, FAMILIES[lm.family].default_sampler
    ('diffusion', 'model.final_norm', False, 'diffusion')
"""
from __future__ import annotations

import inspect
import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from safetensors import safe_open

from .config import GenerationConfig
from .errors import (ConfigError, CorruptFileError, DeviceError, InputTypeError, ModelNotFoundError, SriKitError,
                     UnknownNameError, reading)

REPO_ROOT = Path(__file__).resolve().parent.parent
MODELS_DIR = REPO_ROOT / "data" / "models"

#: Tokens that end a response in common chat vocabularies (used when present in the vocabulary).
_END_TOKEN_STRINGS = ("<|end|>", "<|eot_id|>", "<|endoftext|>", "<|im_end|>", "<end_of_turn>", "<eos>", "</s>")


@dataclass(frozen=True)
class ModelFamily:
    """What the kit needs to know about a kind of model: how it attends and which sampler it defaults to.

    causal: next-token prediction (AR) rather than masked prediction over a canvas.
    default_sampler: the registered sampler (``sri_kit.sampling``) that ``generate`` uses for it.
    """

    name: str
    causal: bool
    default_sampler: str


#: Model families. The samplers declare which families they run on; nothing else branches on the family.
FAMILIES: dict[str, ModelFamily] = {
    "ar": ModelFamily("ar", causal=True, default_sampler="ar"),
    "diffusion": ModelFamily("diffusion", causal=False, default_sampler="diffusion"),
    # block diffusion with uniform corruption and renoising (no mask token): transformers' DiffusionGemma
    "diffusiongemma": ModelFamily("diffusiongemma", causal=False, default_sampler="diffusiongemma"),
}


@dataclass(frozen=True)
class Preset:
    """What the kit needs to know about a model beyond its config.json."""

    hub_id: str
    family: str                     # "ar" | "diffusion"
    hook_site: str                  # dotted path of the final norm
    mask_token_id: int | None = None
    shift_logits: bool = False      # Dream-style: logits at i predict token i (from position i-1)
    dtype: str = "bfloat16"         # on a GPU
    remote_code: bool = False
    local: bool = False             # hub_id is a folder name under data/models
    default_config: dict = field(default_factory=dict)
    note: str = ""


_PAPER = dict(steps=32, gen_length=128, block_length=None, system_prompt="You are a helpful assistant")
PRESETS: dict[str, Preset] = {
    "tiny-ar": Preset("tiny-ar", "ar", "model.norm", local=True, dtype="float32",
                      note="the kit's embedded causal model organism (Llama architecture)"),
    "tiny-dlm": Preset("tiny-dlm", "diffusion", "model.final_norm", local=True, dtype="float32",
                       note="the kit's embedded masked-diffusion model organism (ModernBERT, LLaDA SFT objective)"),
    "llada-8b-instruct": Preset("GSAI-ML/LLaDA-8B-Instruct", "diffusion", "model.transformer.ln_f",
                                mask_token_id=126336, remote_code=True, default_config=_PAPER),
    "llada-1.5": Preset("GSAI-ML/LLaDA-1.5", "diffusion", "model.transformer.ln_f",
                        mask_token_id=126336, remote_code=True, default_config=_PAPER),
    "dream-7b-instruct": Preset("Dream-org/Dream-v0-Instruct-7B", "diffusion", "model.norm",
                                mask_token_id=151666, shift_logits=True, remote_code=True,
                                default_config=dict(_PAPER, remasking="entropy"),
                                note="Dream's own sampler defaults to alg='entropy'"),
    "llama-3.1-8b-instruct": Preset("meta-llama/Llama-3.1-8B-Instruct", "ar", "model.norm", default_config=_PAPER),
    "qwen2.5-7b-instruct": Preset("Qwen/Qwen2.5-7B-Instruct", "ar", "model.norm", default_config=_PAPER),
    "gemma-7b-it": Preset("google/gemma-7b-it", "ar", "model.norm",
                          default_config=dict(_PAPER, system_prompt=None),
                          note="the paper's exact Gemma checkpoint is unknown (PAPER.md §3.1); Gemma has no system role"),
    "qwen3-0.6b-diffusion-mdlm": Preset("dllm-hub/Qwen3-0.6B-diffusion-mdlm-v0.1", "diffusion", "model.norm",
                                        default_config=dict(steps=32, gen_length=128, block_length=None),
                                        note="small masked-diffusion model adapted from Qwen3-0.6B (dLLM)"),
    "qwen3-0.6b-diffusion-bd3lm": Preset("dllm-hub/Qwen3-0.6B-diffusion-bd3lm-v0.1", "diffusion", "model.norm",
                                         default_config=dict(steps=32, gen_length=128, block_length=32),
                                         note="block-diffusion variant adapted from Qwen3-0.6B (dLLM); run with blocks"),
}
# hub ids resolve to the same presets
for _k, _p in list(PRESETS.items()):
    if not _p.local:
        PRESETS.setdefault(_p.hub_id, _p)
        PRESETS.setdefault(_p.hub_id.lower(), _p)


@dataclass
class LoadedModel:
    """A model ready for the kit's samplers (its fields: docs/CORE_API.md)."""

    model: Any
    tokenizer: Any
    family: str
    name: str
    hook_site: str
    mask_token_id: int | None
    shift_logits: bool
    device: torch.device
    default_config: GenerationConfig
    end_token_ids: tuple[int, ...] = ()

    @property
    def causal(self) -> bool:
        """Whether the model predicts the next token (AR) rather than masked positions of a canvas."""
        return FAMILIES[self.family].causal

    @property
    def pad_token_id(self) -> int:
        tok = self.tokenizer
        if tok.pad_token_id is not None:
            return int(tok.pad_token_id)
        return int(self.end_token_ids[0]) if self.end_token_ids else 0

    def encode_chat(self, prompts: list[str], system_prompt: str | None = None,
                    prefill: str | list[str] | None = None) -> list[list[int]]:
        """Token ids of each prompt as one user turn, chat template applied with the generation prompt.

        ``prefill`` (one string or one per prompt) is appended after the generation prompt.
        """
        prompts = check_prompts(prompts)
        prefills = per_prompt(prefill, len(prompts), "prefill")
        tok = self.tokenizer
        out = []
        for p, pre in zip(prompts, prefills):
            msgs = ([{"role": "system", "content": system_prompt}] if system_prompt else []) + [
                {"role": "user", "content": p}]
            if getattr(tok, "chat_template", None):
                ids = list(tok.apply_chat_template(msgs, add_generation_prompt=True, tokenize=True, return_dict=False))
            else:  # a tokenizer without a chat template: a plain, documented fallback
                text = (f"{system_prompt}\n\n" if system_prompt else "") + f"User: {p}\nAssistant:"
                ids = tok(text, add_special_tokens=True)["input_ids"]
            if pre:
                ids += tok(pre, add_special_tokens=False)["input_ids"]
            out.append([int(i) for i in ids])
        return out

    def max_positions(self) -> int | None:
        cfg = getattr(self.model, "config", None)
        for name in ("max_position_embeddings", "max_sequence_length", "n_positions"):
            v = getattr(cfg, name, None)
            if isinstance(v, int) and v > 0:
                return v
        return None


def check_prompts(prompts) -> list[str]:
    """Validate a prompt list: a non-empty list of non-empty strings."""
    if isinstance(prompts, (str, bytes)):
        raise InputTypeError("prompts must be a list of strings, not one string: wrap it as [prompt]")
    try:
        prompts = list(prompts)
    except TypeError:
        raise InputTypeError(f"prompts must be a list of strings, got {type(prompts).__name__}") from None
    if not prompts:
        raise ConfigError("prompts is empty: pass at least one prompt string")
    for i, p in enumerate(prompts):
        if not isinstance(p, str):
            raise InputTypeError(f"prompts[{i}] is {type(p).__name__}, not str: every prompt must be a string")
        if not p.strip():
            raise ConfigError(f"prompts[{i}] is empty: every prompt needs some text")
    return prompts


def per_prompt(value, n: int, what: str) -> list:
    """``value`` for each of ``n`` prompts: one value (or None) for all, or a list of exactly ``n``."""
    if value is None or isinstance(value, str):
        return [value] * n
    if isinstance(value, (bytes, dict)) or not hasattr(value, "__iter__"):
        raise InputTypeError(f"{what} must be a string, None or a list of one string (or None) per prompt, "
                             f"got {type(value).__name__}")
    value = list(value)
    if len(value) != n:
        raise ConfigError(f"{what} has {len(value)} entries for {n} prompts: give one string or one per prompt")
    for i, v in enumerate(value):
        if v is not None and not isinstance(v, str):
            raise InputTypeError(f"{what}[{i}] is {type(v).__name__}: each entry must be a string or None")
    return value


def auto_device(device=None) -> torch.device:
    """cuda > mps > cpu unless ``device`` is given; a device this machine lacks is a :class:`DeviceError`."""
    if device is not None:
        if not isinstance(device, (str, torch.device)):
            raise InputTypeError(f"device must be a string such as 'cpu' or 'cuda:0' (or a torch.device), "
                                 f"got {type(device).__name__}")
        try:
            dev = torch.device(device)
        except (RuntimeError, ValueError) as e:
            raise ConfigError(f"unknown device {device!r} ({e}); use 'cpu', 'cuda', 'cuda:N' or 'mps'") from None
        if dev.type == "cuda":
            if not torch.cuda.is_available():
                raise DeviceError(f"device={device!r} but this machine has no usable CUDA GPU (torch "
                                  f"{torch.__version__}, CUDA build {torch.version.cuda}); use device='cpu' or leave "
                                  "device unset to pick the best one available")
            if dev.index is not None and dev.index >= torch.cuda.device_count():
                raise DeviceError(f"device={device!r} but this machine has {torch.cuda.device_count()} GPU(s) "
                                  f"(cuda:0 .. cuda:{torch.cuda.device_count() - 1})")
        if dev.type == "mps" and not (getattr(torch.backends, "mps", None) is not None
                                      and torch.backends.mps.is_available()):
            raise DeviceError(f"device={device!r} but Apple's MPS backend is not available here; use device='cpu'")
        return dev
    if torch.cuda.is_available():
        return torch.device("cuda")
    if getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available():
        return torch.device("mps")
    return torch.device("cpu")


def _read_json(path: Path, what: str = "JSON file", fix: str = "fix or delete it") -> dict:
    with reading(path, what, fix):
        with open(path, encoding="utf-8") as f:
            data = json.load(f)
    if not isinstance(data, dict):
        raise CorruptFileError(path, f"{path} must hold a JSON object, got {type(data).__name__}; {fix}")
    return data


def _detect(cfg: dict) -> tuple[str, bool]:
    """(family, shift_logits) from a config.json."""
    archs = [a.lower() for a in cfg.get("architectures") or []]
    mtype = str(cfg.get("model_type", "")).lower()
    if "dream" in mtype or any("dream" in a for a in archs):
        return "diffusion", True
    if "llada" in mtype or any("llada" in a for a in archs):
        return "diffusion", False
    if any(a.endswith("formaskedlm") for a in archs):
        return "diffusion", False
    if any(a.endswith("forcausallm") or a.endswith("lmheadmodel") or a.endswith("forconditionalgeneration")
           for a in archs):
        return "ar", False
    raise ConfigError(f"cannot tell whether this model is causal or masked (architectures={cfg.get('architectures')}, "
                     f"model_type={cfg.get('model_type')!r}); load it yourself and wrap it with sri_kit.wrap_model(...)")


_SITE_CANDIDATES = ("model.norm", "model.final_norm", "model.transformer.ln_f", "transformer.ln_f",
                    "model.model.norm", "bert.encoder", "roberta.encoder", "model.encoder")


def find_hook_site(model) -> str:
    """The dotted path of the final norm (or, for post-norm encoders, the encoder's output)."""
    names = dict(model.named_modules())
    for c in _SITE_CANDIDATES:
        if c in names:
            return c
    norms = [n for n in names if n and n.split(".")[-1] in ("norm", "final_norm", "ln_f", "final_layer_norm")
             and ".layers." not in n and ".layer." not in n and ".blocks." not in n and ".h." not in n]
    if norms:
        return norms[-1]
    raise ConfigError("could not find the final norm of this model; pass hook_site=... to wrap_model")


def find_layers(model) -> torch.nn.ModuleList:
    """The list of decoder/encoder blocks (the largest ModuleList whose length is the layer count)."""
    n = getattr(getattr(model, "config", None), "num_hidden_layers", None) or getattr(
        getattr(model, "config", None), "n_layers", None)
    best = None
    for _, mod in model.named_modules():
        if isinstance(mod, torch.nn.ModuleList) and (n is None or len(mod) == n):
            if best is None or len(mod) > len(best):
                best = mod
    if best is None:
        raise ConfigError("could not find this model's layer list; use layer=-1 (the final norm)")
    return best


def _end_ids(tok, model) -> tuple[int, ...]:
    ids: list[int] = []
    gen = getattr(model, "generation_config", None)
    for src in (getattr(gen, "eos_token_id", None), tok.eos_token_id):
        for i in (src if isinstance(src, (list, tuple)) else [src]):
            if i is not None and int(i) not in ids:
                ids.append(int(i))
    vocab = tok.get_vocab()
    for s in _END_TOKEN_STRINGS:
        if s in vocab and vocab[s] not in ids:
            ids.append(int(vocab[s]))
    if tok.pad_token_id is not None and int(tok.pad_token_id) not in ids:
        ids.append(int(tok.pad_token_id))
    return tuple(ids)


#: Names accepted for each model family (``wrap_model(family=...)``, ``sri_kit.json``).
FAMILY_ALIASES = {"ar": "ar", "causal": "ar", "autoregressive": "ar",
                   "diffusion": "diffusion", "dlm": "diffusion", "masked": "diffusion", "mdm": "diffusion",
                  "diffusiongemma": "diffusiongemma", "diffusion_gemma": "diffusiongemma"}


def wrap_model(model, tokenizer, *, family: str, name: str = "custom", hook_site: str | None = None,
               mask_token_id: int | None = None, shift_logits: bool = False,
               default_config: GenerationConfig | dict | None = None) -> LoadedModel:
    """Wrap an already-loaded model (any architecture) for the kit's samplers."""
    if not isinstance(family, str) or family not in FAMILY_ALIASES:
        raise ConfigError(f"family must be 'ar' or 'diffusion' (aliases: {', '.join(sorted(FAMILY_ALIASES))}), "
                          f"got {family!r}")
    family = FAMILY_ALIASES[family]
    if family == "diffusion":
        mask_token_id = mask_token_id if mask_token_id is not None else tokenizer.mask_token_id
        if mask_token_id is None:
            raise ConfigError(f"{name}: a diffusion model needs a mask token; the tokenizer has none, pass mask_token_id=")
    if isinstance(default_config, dict):
        default_config = GenerationConfig.from_dict(default_config)
    device = next(model.parameters()).device
    model.eval()
    return LoadedModel(model=model, tokenizer=tokenizer, family=family, name=name,
                       hook_site=hook_site or find_hook_site(model), mask_token_id=mask_token_id,
                       shift_logits=shift_logits, device=device,
                       default_config=default_config or GenerationConfig(),
                       end_token_ids=_end_ids(tokenizer, model))


_DTYPES = {"float32": torch.float32, "float16": torch.float16, "bfloat16": torch.bfloat16,
           "fp32": torch.float32, "fp16": torch.float16, "bf16": torch.bfloat16}


def _dtype(dtype, preset_dtype: str, device: torch.device):
    if dtype is None:
        return _DTYPES[preset_dtype] if device.type == "cuda" else torch.float32
    if isinstance(dtype, str):
        if dtype not in _DTYPES:
            raise ConfigError(f"unknown dtype {dtype!r}; choose one of {sorted(_DTYPES)}")
        return _DTYPES[dtype]
    return dtype


def load_model(name_or_path: str | os.PathLike, *, device=None, dtype=None,
               trust_remote_code: bool = False) -> LoadedModel:
    """Load a preset (``"tiny-ar"``, ``"tiny-dlm"``, ``"llada-8b-instruct"``, a hub id …) or a local HF folder.

    Masked LMs, LLaDA and Dream load as ``"diffusion"``, causal LMs as ``"ar"``. Remote code runs only
    with ``trust_remote_code=True``. A folder may carry ``sri_kit.json`` with the kit's settings
    (family, hook_site, default_config, ...).
    """
    # imported on first load: transformers takes seconds to import and nothing else in this module needs it
    from transformers import AutoConfig, AutoModel, AutoModelForCausalLM, AutoModelForMaskedLM, AutoTokenizer

    if not isinstance(name_or_path, (str, os.PathLike)) or not str(name_or_path).strip():
        raise InputTypeError(f"load_model takes a preset name, a hub id or a folder path, got {name_or_path!r}")
    if not isinstance(trust_remote_code, bool):
        raise InputTypeError(f"trust_remote_code must be True or False, got {trust_remote_code!r}")
    key = str(name_or_path)
    preset = PRESETS.get(key) or PRESETS.get(key.lower())
    path = Path(key).expanduser()
    if preset is not None and preset.local:
        path = MODELS_DIR / preset.hub_id
        if not (path / "config.json").exists():
            raise ModelNotFoundError(f"{key}: the embedded weights are missing at {path}; "
                                     f"rebuild them with `sri-kit organism train` (or reinstall the repository)")
        source, name = str(path), preset.hub_id
    elif path.is_dir():
        if not (path / "config.json").exists():
            raise ModelNotFoundError(f"{path} has no config.json: pass a folder saved with save_pretrained()")
        source, name = str(path), path.name
    elif path.exists():
        raise ModelNotFoundError(f"{path} is a file, not a model folder: pass the folder that holds config.json "
                                 "(one saved with save_pretrained())")
    elif preset is not None:
        source, name = preset.hub_id, preset.hub_id
    elif _looks_like_path(name_or_path):
        raise ModelNotFoundError(f"the model folder {key} does not exist (resolved to {path.resolve()}); check "
                                 f"the path, or give a preset name (`sri-kit presets`) or a hub id such as "
                                 f"'org/model'")
    elif "/" in key:
        source, name = key, key            # an arbitrary hub id
    else:
        raise UnknownNameError(f"unknown model {key!r}: not a preset ({', '.join(k for k in PRESETS if '/' not in k)}) "
                               f"and not a local folder")

    kit = {}
    local = Path(source).is_dir()
    if local:
        kit = _check_local_folder(Path(source))
    needs_remote = (preset.remote_code if preset else False) or bool(kit.get("remote_code"))
    if needs_remote and not trust_remote_code:
        raise ConfigError(f"{name} runs code from its repository; pass trust_remote_code=True if you trust it")
    dev = auto_device(device)
    torch_dtype = _dtype(dtype, preset.dtype if preset else "bfloat16", dev)
    try:
        cfg = AutoConfig.from_pretrained(source, trust_remote_code=trust_remote_code)
        tok = AutoTokenizer.from_pretrained(source, trust_remote_code=trust_remote_code)
    except OSError as e:
        if Path(source).is_dir():
            raise ModelNotFoundError(f"cannot load the config or tokenizer from {source} ({type(e).__name__}: "
                                     f"{str(e).splitlines()[0][:200] if str(e) else ''}); pass a folder saved with "
                                     "save_pretrained() that holds config.json and the tokenizer files") from None
        raise ModelNotFoundError(f"{name} is not on this machine and the Hugging Face hub cannot be reached ({e.__class__.__name__}). "
                      f"On a machine with internet run `huggingface-cli download {source}` (or set HF_HOME to a "
                      f"cache that has it), then load it again or pass its local folder") from None
    cfg_dict = cfg.to_dict()
    family, shift = _detect(cfg_dict)
    family = FAMILY_ALIASES[kit["family"]] if "family" in kit else (preset.family if preset else family)
    shift = bool(kit.get("shift_logits", preset.shift_logits if preset else shift))
    if family == "diffusion":
        classes = (AutoModelForMaskedLM, AutoModel) if needs_remote or "masked" not in str(cfg_dict.get("architectures")).lower() else (AutoModelForMaskedLM,)
    else:
        classes = (AutoModelForCausalLM,)
    last_err = None
    for cls in classes:
        try:
            model = cls.from_pretrained(source, dtype=torch_dtype, trust_remote_code=trust_remote_code)
            break
        except (ValueError, KeyError) as e:   # class not registered for this config
            last_err = e
        except Exception as e:  # noqa: BLE001 - weights that cannot be read: name the folder
            if not local:
                raise
            raise CorruptFileError(source, f"could not read the weights in {source} ({type(e).__name__}: "
                                           f"{str(e).splitlines()[0][:200] if str(e) else ''}); the folder is "
                                           "damaged: save the model again (or re-download it)") from e
    else:
        raise ConfigError(f"could not load {name} as a {family} model: {last_err}")
    model.to(dev)
    dc = dict(preset.default_config) if preset else {}
    dc.update(kit.get("default_config", {}))
    if "system_prompt" in kit:
        dc["system_prompt"] = kit["system_prompt"]
    try:
        default_config = GenerationConfig.from_dict(dc)
    except SriKitError as e:
        raise ConfigError(f"{Path(source) / 'sri_kit.json' if local else name}: bad default_config: {e}") from None
    lm = wrap_model(model, tok, family=family, name=name,
                    hook_site=kit.get("hook_site") or (preset.hook_site if preset else None),
                    mask_token_id=kit.get("mask_token_id", preset.mask_token_id if preset else None),
                    shift_logits=shift, default_config=default_config)
    return lm


def _looks_like_path(x) -> bool:
    """A name that is meant as a local path (not a hub id ``org/name``): a PathLike, or a string that starts
    with ``.``, ``/`` or ``~``, holds a backslash, or has more than one ``/``."""
    if not isinstance(x, str):
        return True
    return x.startswith((".", "/", "~")) or "\\" in x or x.count("/") > 1 or os.path.isabs(x)


def _check_local_folder(folder: Path) -> dict:
    """Read a local model folder's ``sri_kit.json`` (validated) and check that its JSON and safetensors files
    can be read (headers only), so that a damaged file is named instead of failing deep in transformers."""
    fix = "the folder is damaged: save the model again with save_pretrained() (or re-download it)"
    _read_json(folder / "config.json", "model config (config.json)", fix)
    for f in sorted(folder.glob("*.safetensors")):
        with reading(f, "safetensors weights file", fix):
            with safe_open(str(f), "pt") as h:
                h.keys()
    kit: dict = {}
    kp = folder / "sri_kit.json"
    if kp.exists():
        kit = _read_json(kp, "sri_kit.json (the kit's settings for this model)",
                         "fix its JSON or delete it (the kit then detects the family from config.json)")
        fam = kit.get("family")
        if "family" in kit and (not isinstance(fam, str) or fam not in FAMILY_ALIASES):
            raise ConfigError(f"{kp}: unknown family {fam!r}; use 'ar' or 'diffusion' "
                              f"(aliases: {', '.join(sorted(FAMILY_ALIASES))})")
        dc = kit.get("default_config", {})
        if not isinstance(dc, dict):
            raise ConfigError(f"{kp}: default_config must be a mapping of GenerationConfig fields, got {dc!r}")
    return kit


def accepts(model, arg: str) -> bool:
    """Whether ``model.forward`` takes a keyword argument ``arg``."""
    try:
        return arg in inspect.signature(model.forward).parameters
    except (TypeError, ValueError):
        return False
