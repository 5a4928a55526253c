"""Model families, family aliases and the preset table."""
from __future__ import annotations

from dataclasses import dataclass, field
from ..resources import MODELS, data_dir

#: The shipped organism's folder (package data ``sri_kit/_data/models``: ``tiny-ar/``, ``tiny-dlm/``).
MODELS_DIR = data_dir(MODELS)


@dataclass(frozen=True)
class ModelFamily:
    """What the kit needs to know about a kind of model: how it attends and which sampler it defaults to.

    causal: next-token prediction (AR) rather than masked prediction over a canvas.
    default_sampler: the registered sampler (``sri_kit.sampling``) that ``generate`` uses for it.
    needs_mask: whether its canvas is initialised with a mask token (a masked-diffusion model).
    """

    name: str
    causal: bool
    default_sampler: str
    needs_mask: bool = False


#: Model families. The samplers declare which families they run on; nothing else branches on the family.
FAMILIES: dict[str, ModelFamily] = {
    "ar": ModelFamily("ar", causal=True, default_sampler="ar"),
    "diffusion": ModelFamily("diffusion", causal=False, default_sampler="diffusion", needs_mask=True),
    # block diffusion with uniform corruption and renoising (no mask token): transformers' DiffusionGemma
    "diffusiongemma": ModelFamily("diffusiongemma", causal=False, default_sampler="diffusiongemma"),
}

#: Names accepted for each model family (``wrap_model(family=...)``, ``sri_kit.json``).
FAMILY_ALIASES = {"ar": "ar", "causal": "ar", "autoregressive": "ar",
                  "diffusion": "diffusion", "dlm": "diffusion", "masked": "diffusion", "mdm": "diffusion",
                  "diffusiongemma": "diffusiongemma", "diffusion_gemma": "diffusiongemma"}


def family_help() -> str:
    """The accepted family names, for error messages."""
    return f"one of {', '.join(FAMILIES)} (aliases: {', '.join(sorted(FAMILY_ALIASES))})"


@dataclass(frozen=True)
class Preset:
    """What the kit needs to know about a model beyond its config.json."""

    hub_id: str
    family: str                     # a key of FAMILIES
    hook_site: str                  # dotted path of the final norm
    mask_token_id: int | None = None
    shift_logits: bool = False      # Dream-style: logits at i predict token i (from position i-1)
    dtype: str = "bfloat16"         # on a GPU
    remote_code: bool = False       # True: only the checkpoint's own code runs it
    local: bool = False             # hub_id is a folder name under MODELS_DIR
    device_map: str | None = None   # "auto": spread over the visible GPUs (on CUDA; needs accelerate)
    default_config: dict = field(default_factory=dict)
    note: str = ""


_PAPER = dict(steps=32, gen_length=128, block_length=None, system_prompt="You are a helpful assistant")
_BUILTIN: dict[str, Preset] = {
    "llada-8b-instruct": Preset("GSAI-ML/LLaDA-8B-Instruct", "diffusion", "model.transformer.ln_f",
                                mask_token_id=126336, default_config=_PAPER,
                                note="kit-native LLaDA (no remote code; docs/REAL_MODELS.md)"),
    "llada-1.5": Preset("GSAI-ML/LLaDA-1.5", "diffusion", "model.transformer.ln_f",
                        mask_token_id=126336, default_config=_PAPER,
                        note="kit-native LLaDA (no remote code; docs/REAL_MODELS.md)"),
    "dream-7b-instruct": Preset("Dream-org/Dream-v0-Instruct-7B", "diffusion", "model.norm",
                                mask_token_id=151666, shift_logits=True,
                                default_config=dict(_PAPER, sampler="dream", options={"alg": "entropy"}),
                                note="kit-native Dream (no remote code); Dream's own sampler, alg='entropy' "
                                     "(Dream's model card)"),
    "llama-3.1-8b-instruct": Preset("meta-llama/Llama-3.1-8B-Instruct", "ar", "model.norm", default_config=_PAPER),
    "qwen2.5-7b-instruct": Preset("Qwen/Qwen2.5-7B-Instruct", "ar", "model.norm", default_config=_PAPER),
    "gemma-7b-it": Preset("google/gemma-7b-it", "ar", "model.norm",
                          default_config=dict(_PAPER, system_prompt=None),
                          note="the paper's exact Gemma checkpoint is unknown (PAPER.md §3.1); Gemma has no system role"),
    "qwen3-0.6b-diffusion-mdlm": Preset("dllm-hub/Qwen3-0.6B-diffusion-mdlm-v0.1", "diffusion", "model.norm",
                                        default_config=dict(steps=32, gen_length=128, block_length=None),
                                        note="dllm's a2d-qwen3 conversion of Qwen3-0.6B: refused by load_model with "
                                             "UnsupportedModelError (needs dllm's code; wrap it yourself)"),
    "qwen3-0.6b-diffusion-bd3lm": Preset("dllm-hub/Qwen3-0.6B-diffusion-bd3lm-v0.1", "diffusion", "model.norm",
                                         default_config=dict(steps=32, gen_length=128, block_length=32),
                                         note="block-diffusion (BD3LM) a2d-qwen3 conversion (dLLM): refused like the "
                                              "mdlm one; needs dllm's block-diffusion sampler"),
    "diffusiongemma-26b-a4b-it": Preset("google/diffusiongemma-26B-A4B-it", "diffusiongemma", "model.decoder.norm",
                                        dtype="bfloat16", device_map="auto",
                                        default_config=dict(gen_length=256),   # one canvas (its max_new_tokens)
                                        note="block-diffusion MoE (transformers' own DiffusionGemmaForBlockDiffusion, "
                                             "no remote code); on CUDA its experts are spread over the visible "
                                             "GPUs (device_map='auto', needs `pip install accelerate`)"),
}
# hub ids resolve to the same presets
for _k, _p in list(_BUILTIN.items()):
    if not _p.local:
        _BUILTIN.setdefault(_p.hub_id, _p)
        _BUILTIN.setdefault(_p.hub_id.lower(), _p)


class PresetTable(dict):
    """The preset table: a dict that loads the kit's plug-ins (:mod:`sri_kit.plugins`) before it is first read,
    so the presets they add (the organism's ``tiny-ar`` and ``tiny-dlm``, a user's own model) are in it. Add
    entries with :func:`sri_kit.plugins.add_preset`."""

    def _ready(self) -> None:
        from .. import plugins
        plugins.load()

    def __getitem__(self, k):
        self._ready()
        return super().__getitem__(k)

    def __contains__(self, k):
        self._ready()
        return super().__contains__(k)

    def __iter__(self):
        self._ready()
        return super().__iter__()

    def __len__(self):
        self._ready()
        return super().__len__()

    def __repr__(self):
        self._ready()
        return super().__repr__()

    def get(self, k, default=None):
        self._ready()
        return super().get(k, default)

    def keys(self):
        self._ready()
        return super().keys()

    def values(self):
        self._ready()
        return super().values()

    def items(self):
        self._ready()
        return super().items()


#: Preset name (or hub id) -> :class:`Preset`. The real models' presets are here; plug-ins add theirs on first
#: read (:mod:`sri_kit.plugins`: the embedded organism adds ``tiny-ar`` and ``tiny-dlm``).
PRESETS: dict[str, Preset] = PresetTable(_BUILTIN)
