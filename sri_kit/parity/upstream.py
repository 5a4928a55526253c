"""Loading the upstream modelling and sampling code from a folder the user fetched (never shipped).

Layout of ``DIR`` (``sri-kit parity record --upstream DIR``, ``SRI_KIT_UPSTREAM``)::

    DIR/fastdllm/llada/model/            NVlabs/Fast-dLLM llada/model (modelling_llada.py, configuration_llada.py)
    DIR/fastdllm/llada/generate.py       NVlabs/Fast-dLLM llada/generate.py (threshold decoding, KV caches)
    DIR/fastdllm/dream/model/            NVlabs/Fast-dLLM dream/model (modeling_dream.py, generation_utils.py)
    DIR/llada_generate.py                ML-GSAI/LLaDA generate.py
    DIR/COMMITS                          optional: lines "owner/name <commit>" (recorded into the fixtures)

Patches applied while the upstream code runs (none changes its arithmetic; the same list as
tests/test_real_models.py):

- ``einops`` is stubbed when it is not installed (LLaDA imports ``rearrange`` for a block class that the
  released configs never build);
- LLaDA's module-level ``scaled_dot_product_attention`` is ``@torch.compile``d; it is replaced by the same
  ``F.scaled_dot_product_attention`` call uncompiled;
- on transformers 5, Dream's rotary init looks up ``ROPE_INIT_FUNCTIONS["default"]`` (removed in v5):
  the entry is put back with transformers 4.x's default inverse frequencies; its ``_tied_weights_keys``
  is given in v5's dict form naming the same tie; ``DreamGenerationConfig.validate`` (whose signature v5
  calls differently) is skipped;
- LLaDA is built as its inner ``LLaDAModel`` (the ``LLaDAModelLM`` wrapper only forwards to it and fails on
  v5 with ``all_tied_weights_keys``); :class:`LLaDAWrapper` gives it the wrapper's output fields.
"""
from __future__ import annotations

import importlib.util
import sys
import types
from contextlib import contextmanager
from pathlib import Path
from types import SimpleNamespace

import torch
import torch.nn.functional as F

from ..errors import ConfigError
from .models import seeded_weights

__all__ = ["load_upstream", "upstream_commits", "build_upstream_model", "LLaDAWrapper", "REQUIRED"]

REQUIRED = ("fastdllm/llada/model/modeling_llada.py", "fastdllm/llada/model/configuration_llada.py",
            "fastdllm/llada/generate.py", "fastdllm/dream/model/modeling_dream.py",
            "fastdllm/dream/model/generation_utils.py", "llada_generate.py")

_SOURCES = {"fastdllm": ("NVlabs/Fast-dLLM", ("fastdllm/llada/model/modeling_llada.py", "fastdllm/llada/generate.py",
                                               "fastdllm/dream/model/modeling_dream.py",
                                               "fastdllm/dream/model/generation_utils.py")),
            "llada": ("ML-GSAI/LLaDA", ("llada_generate.py",))}


def check_folder(root) -> Path:
    root = Path(root)
    missing = [p for p in REQUIRED if not (root / p).is_file()]
    if missing:
        raise ConfigError(f"upstream folder {root} lacks {missing}: put NVlabs/Fast-dLLM's llada/ and dream/ folders "
                          f"under {root / 'fastdllm'} and ML-GSAI/LLaDA's generate.py as {root / 'llada_generate.py'}")
    return root


def upstream_commits(root) -> dict[str, str]:
    """{repository: commit} from ``DIR/COMMITS`` ("unknown" where the file does not say)."""
    out = {"NVlabs/Fast-dLLM": "unknown", "ML-GSAI/LLaDA": "unknown"}
    f = Path(root) / "COMMITS"
    if f.is_file():
        for line in f.read_text(encoding="utf-8").splitlines():
            parts = line.split()
            if len(parts) == 2:
                out[parts[0]] = parts[1]
    return out


def _load_pkg(name: str, folder: Path):
    spec = importlib.util.spec_from_file_location(name, folder / "__init__.py", submodule_search_locations=[str(folder)])
    mod = importlib.util.module_from_spec(spec)
    sys.modules[name] = mod
    spec.loader.exec_module(mod)
    return mod


def _load_file(name: str, path: Path):
    spec = importlib.util.spec_from_file_location(name, path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def _plain_sdpa(q, k, v, mask=None, attn_mask=None, dropout_p=0.0, is_causal=False):
    return F.scaled_dot_product_attention(q, k, v, attn_mask=attn_mask, dropout_p=dropout_p, is_causal=is_causal)


def _default_rope(config, device=None, **_):
    """transformers 4.x's default RoPE init (``_compute_default_rope_parameters``), gone from the v5 table."""
    dim = config.hidden_size // config.num_attention_heads
    exps = torch.arange(0, dim, 2, dtype=torch.int64).to(device=device, dtype=torch.float) / dim
    return 1.0 / (config.rope_theta ** exps), 1.0


@contextmanager
def _patched(items):
    """Temporarily set (container, key, value) items (dict keys or attributes); restored in finally."""
    saved = []
    try:
        for obj, key, value in items:
            if isinstance(obj, dict):
                saved.append((obj, key, obj.get(key, _MISSING)))
                obj[key] = value
            else:
                saved.append((obj, key, obj.__dict__.get(key, _MISSING) if isinstance(obj, type)
                              else getattr(obj, key, _MISSING)))
                setattr(obj, key, value)
        yield
    finally:
        for obj, key, old in reversed(saved):
            if isinstance(obj, dict):
                if old is _MISSING:
                    obj.pop(key, None)
                else:
                    obj[key] = old
            elif old is _MISSING:
                delattr(obj, key)
            else:
                setattr(obj, key, old)


_MISSING = object()


def load_upstream(root) -> SimpleNamespace:
    """The upstream modules from ``root`` (see the module docstring), under private module names."""
    root = check_folder(root)
    items = []
    if importlib.util.find_spec("einops") is None:
        stub = types.ModuleType("einops")
        stub.rearrange = None
        items.append((sys.modules, "einops", stub))
    with _patched(items):
        llada = _load_pkg("_sri_upstream_llada", root / "fastdllm" / "llada" / "model")
        ml = sys.modules["_sri_upstream_llada.modeling_llada"]
        # Fast-dLLM's generate.py imports `model.modeling_llada` (its own folder's package)
        pkg = types.ModuleType("model")
        pkg.modeling_llada = ml
        with _patched([(sys.modules, "model", pkg), (sys.modules, "model.modeling_llada", ml)]):
            fast = _load_file("_sri_upstream_fastdllm_generate", root / "fastdllm" / "llada" / "generate.py")
        dream = _load_pkg("_sri_upstream_dream", root / "fastdllm" / "dream" / "model")
        gen = _load_file("_sri_upstream_llada_generate", root / "llada_generate.py")
    ml.scaled_dot_product_attention = _plain_sdpa
    return SimpleNamespace(root=root, llada=llada, llada_modeling=ml, dream=dream,
                           dream_modeling=sys.modules["_sri_upstream_dream.modeling_dream"],
                           dream_generation=sys.modules["_sri_upstream_dream.generation_utils"],
                           generate=gen, fastdllm=fast, commits=upstream_commits(root))


class LLaDAWrapper(torch.nn.Module):
    """Upstream ``LLaDAModel`` with the outputs of its ``LLaDAModelLM`` wrapper (``.past_key_values``)."""

    def __init__(self, inner):
        super().__init__()
        self.model = inner

    @property
    def device(self):
        return next(self.parameters()).device

    def forward(self, input_ids, attention_mask=None, past_key_values=None, use_cache=False, replace_position=None):
        out = self.model(input_ids, attention_mask=attention_mask, past_key_values=past_key_values,
                         use_cache=use_cache, replace_position=replace_position)
        return SimpleNamespace(logits=out.logits, past_key_values=out.attn_key_values)


def _load_seeded(model, names: dict[str, str], seed: int, kit_shapes: dict[str, tuple[int, ...]]):
    """Copy the seeded weights (drawn under the kit's = released names) into ``model``; ``names`` maps each
    upstream parameter name to its released name. Every parameter must be covered."""
    state = seeded_weights(kit_shapes, seed)
    params = dict(model.named_parameters())
    missing = sorted(set(params) - set(names))
    if missing:
        raise ConfigError(f"upstream parameters without a released name: {missing}")
    with torch.no_grad():
        for up_name, p in params.items():
            w = state[names[up_name]]
            if tuple(w.shape) != tuple(p.shape):
                raise ConfigError(f"{up_name}: upstream shape {tuple(p.shape)} != released {tuple(w.shape)}")
            p.copy_(w)
    return model.eval()


def build_upstream_model(up: SimpleNamespace, kind: str, values: dict, seed: int):
    """The upstream model of ``kind`` with the seeded weights of the kit-native model of the same config."""
    from .models import _params, build_kit_model

    kit = build_kit_model(kind, values, seed)
    shapes = {k: tuple(p.shape) for k, p in _params(kit).items()}
    if kind == "llada":
        cfg = up.llada.LLaDAConfig(**values)
        mc = up.llada_modeling.create_model_config_from_pretrained_config(cfg)
        mc.init_device = "cpu"
        torch.manual_seed(0)
        inner = up.llada_modeling.LLaDAModel(mc, init_params=True)
        names = {n: "model." + n for n in dict(inner.named_parameters())}
        return LLaDAWrapper(_load_seeded(inner, names, seed, shapes)).eval()
    from transformers import modeling_rope_utils

    items = [(up.dream_modeling.DreamModel, "_tied_weights_keys", {"lm_head.weight": "model.embed_tokens.weight"})]
    if "default" not in modeling_rope_utils.ROPE_INIT_FUNCTIONS:
        items.append((modeling_rope_utils.ROPE_INIT_FUNCTIONS, "default", _default_rope))
    with _patched(items):
        cfg = up.dream.DreamConfig(**{k: v for k, v in values.items() if k not in ("architectures", "auto_map")})
        torch.manual_seed(0)
        model = up.dream_modeling.DreamModel(cfg)
    names = {n: n for n in dict(model.named_parameters())}
    return _load_seeded(model, names, seed, shapes)
