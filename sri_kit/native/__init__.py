"""Kit-native LLaDA and Dream: the released checkpoints run without remote code on current transformers.

``sri_kit.load_model("llada-8b-instruct")`` (or a local folder whose config.json says ``model_type: llada``
/ ``Dream``) loads these modules; ``trust_remote_code=True`` keeps using the checkpoint's own code
instead. Design, parity with the upstream code and the KV-cache calling convention: docs/REAL_MODELS.md.
"""
from .core import DiffusionLMOutput
from .dream import DreamForDiffusion, dream_config
from .llada import LLaDAForDiffusion, llada_config
from .loading import NATIVE_KINDS, build_native, load_native, native_kind, save_native

__all__ = ["DiffusionLMOutput", "DreamForDiffusion", "dream_config", "LLaDAForDiffusion", "llada_config",
           "NATIVE_KINDS", "build_native", "load_native", "native_kind", "save_native"]
