"""Loading models: presets, local Hugging Face directories, hook sites.

``presets.py`` (families, aliases, the preset table), ``loaded.py`` (:class:`LoadedModel`,
:func:`wrap_model`, hook sites, devices), ``detect.py`` (family from config.json), ``loading.py``
(:func:`load_model`). LLaDA and Dream load into the kit-native modules of ``sri_kit.native``.

Example:
    >>> import sri_kit
    >>> lm = sri_kit.load_model("tiny-dlm")
    >>> lm.family, lm.hook_site, lm.causal, FAMILIES[lm.family].default_sampler
    ('diffusion', 'model.norm', False, 'diffusion')
"""
from .detect import detect_family
from .loaded import (LoadedModel, accepts, auto_device, check_prompts, find_hook_site, find_layers, per_prompt,
                     wrap_model)
from .loading import load_model, resolve_dtype
from .presets import FAMILIES, FAMILY_ALIASES, MODELS_DIR, PRESETS, ModelFamily, Preset

__all__ = ["FAMILIES", "FAMILY_ALIASES", "MODELS_DIR", "PRESETS", "ModelFamily", "Preset",
           "LoadedModel", "accepts", "auto_device", "check_prompts", "find_hook_site", "find_layers", "per_prompt",
           "wrap_model", "load_model", "resolve_dtype", "detect_family"]
