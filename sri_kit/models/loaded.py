"""The loaded-model record and what works on any loaded model: prompts, devices, hook sites, wrap_model."""
from __future__ import annotations

import inspect
from dataclasses import dataclass
from typing import Any

import torch

from ..config import GenerationConfig
from ..errors import ConfigError, DeviceError, InputTypeError
from .presets import FAMILIES, FAMILY_ALIASES, family_help

#: Tokens that end a response in common chat vocabularies (used when present in the vocabulary).
_END_TOKEN_STRINGS = ("<|end|>", "<|eot_id|>", "<|endoftext|>", "<|im_end|>", "<end_of_turn>", "<eos>", "</s>")


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


_SITE_CANDIDATES = ("model.decoder.norm", "model.norm", "model.final_norm", "model.transformer.ln_f", "transformer.ln_f",
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


def _as_ids(value) -> list[int]:
    if value is None:
        return []
    if isinstance(value, (list, tuple)):
        return [int(i) for i in value if i is not None]
    try:
        return [int(value)]
    except (TypeError, ValueError):
        return []


def end_ids_of(tokenizer, model=None) -> tuple[int, ...]:
    """Every id at which a response of this model ends: the one place that reads them.

    In order: the generation config's ``eos_token_id`` (an int or a list: Llama-3.1 lists three,
    DiffusionGemma two), config.json's ``eos_token_id`` (also a text sub-config's, for multimodal
    configs), the tokenizer's eos, the known chat end tokens present in the vocabulary
    (:data:`_END_TOKEN_STRINGS`: ``<|eot_id|>`` LLaDA / Llama, ``<|im_end|>`` Dream / Qwen,
    ``<end_of_turn>`` Gemma ...), then the pad token. Never the mask token. ``LoadedModel.end_token_ids``
    holds them; the AR sampler stops on each, the text decoder cuts at the first, and the diffusion
    samplers' ``stop_at_end`` options read them.

    >>> end_ids_of(lm_dlm.tokenizer, lm_dlm.model) == lm_dlm.end_token_ids
    True
    """
    ids: list[int] = []

    def add(values):
        for i in _as_ids(values):
            if i >= 0 and i not in ids:
                ids.append(i)

    gen = getattr(model, "generation_config", None)
    cfg = getattr(model, "config", None)
    add(getattr(gen, "eos_token_id", None))
    add(getattr(cfg, "eos_token_id", None))
    text_cfg = getattr(cfg, "text_config", None)
    add(getattr(text_cfg, "eos_token_id", None))
    add(tokenizer.eos_token_id)
    vocab = tokenizer.get_vocab()
    for s in _END_TOKEN_STRINGS:
        if s in vocab:
            add(vocab[s])
    add(tokenizer.pad_token_id)
    mask = getattr(tokenizer, "mask_token_id", None)
    n = max(len(tokenizer), int(getattr(cfg, "vocab_size", 0) or 0))     # a default config's eos may lie outside
    return tuple(i for i in ids if i != mask and i < n)


_end_ids = end_ids_of


def wrap_model(model, tokenizer, *, family: str, name: str = "custom", hook_site: str | None = None,
               mask_token_id: int | None = None, shift_logits: bool = False,
               default_config: GenerationConfig | dict | None = None) -> LoadedModel:
    """Wrap an already-loaded model (any architecture) for the kit's samplers.

    ``family``: one of :data:`FAMILIES` (or an alias). A masked-diffusion model needs a mask token: from
    ``mask_token_id`` or else the tokenizer's.
    """
    if not isinstance(family, str) or family not in FAMILY_ALIASES:
        raise ConfigError(f"family must be {family_help()}; got {family!r}")
    family = FAMILY_ALIASES[family]
    if FAMILIES[family].needs_mask:
        mask_token_id = mask_token_id if mask_token_id is not None else tokenizer.mask_token_id
        if mask_token_id is None:
            raise ConfigError(f"{name}: a masked-diffusion model needs a mask token; the tokenizer has none: "
                              f"pass mask_token_id=")
    if isinstance(default_config, dict):
        default_config = GenerationConfig.from_dict(default_config)
    emb = model.get_input_embeddings() if hasattr(model, "get_input_embeddings") else None
    weight = getattr(emb, "weight", None)
    # inputs go where the token embedding lives (with device_map="auto" the layers may sit on several GPUs)
    device = weight.device if isinstance(weight, torch.Tensor) else next(model.parameters()).device
    model.eval()
    return LoadedModel(model=model, tokenizer=tokenizer, family=family, name=name,
                       hook_site=hook_site or find_hook_site(model), mask_token_id=mask_token_id,
                       shift_logits=shift_logits, device=device,
                       default_config=default_config or GenerationConfig(),
                       end_token_ids=_end_ids(tokenizer, model))


def accepts(model, arg: str) -> bool:
    """Whether ``model.forward`` takes a keyword argument ``arg``."""
    try:
        return arg in inspect.signature(model.forward).parameters
    except (TypeError, ValueError):
        return False
