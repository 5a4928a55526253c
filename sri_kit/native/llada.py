"""LLaDA (GSAI-ML/LLaDA-8B-Instruct, LLaDA-1.5) as a kit-native module, without remote code.

The module tree mirrors the released checkpoint, so its ``state_dict`` names are the released weight
names: ``model.transformer.wte``, ``model.transformer.blocks.N.{attn_norm, q_proj, k_proj, v_proj,
attn_out, ff_norm, ff_proj, up_proj, ff_out}``, ``model.transformer.ln_f`` and (untied)
``model.transformer.ff_out``. The block is LLaDA's "llama" block: pre-norm, bidirectional attention
with RoPE, SwiGLU-style MLP ``ff_out(act(ff_proj(h)) * up_proj(h))``. Config keys are those of the
released ``config.json`` (``d_model``, ``n_heads``, ``n_kv_heads``, ``rope_theta``, ``weight_tying`` ...);
options the released models do not use (ALiBi, block groups, fused "sequential" blocks, QK norms,
flash attention switches) are refused with a :class:`~sri_kit.errors.ConfigError`.

Example:
    >>> from sri_kit.native.llada import LLaDAForDiffusion, llada_config
    >>> m = LLaDAForDiffusion(llada_config(d_model=32, n_heads=4, n_layers=2, mlp_hidden_size=64,
    ...                                    vocab_size=50, embedding_size=50)).eval()
    >>> m(torch.tensor([[1, 2, 3]])).logits.shape
    torch.Size([1, 3, 50])
"""
from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from ..errors import ConfigError
from .core import DiffusionLMOutput, one_cache, LayerNorm, RMSNorm, attention, prepare, rope_cos_sin, run_blocks

__all__ = ["LLaDAForDiffusion", "llada_config", "LLADA_DEFAULTS", "LLADA_RELEASED"]

#: The defaults of LLaDA's ``ModelConfig`` for the keys the forward pass reads (a config.json that omits a key
#: gets the value the released code would use).
LLADA_DEFAULTS = dict(
    d_model=768, n_heads=12, n_kv_heads=None, n_layers=12, mlp_ratio=4, mlp_hidden_size=None,
    activation_type="swiglu", block_type="sequential", block_group_size=1, alibi=False, rope=False,
    rope_full_precision=True, rope_theta=10000.0, attention_layer_norm=False, multi_query_attention=None,
    input_emb_norm=False, layer_norm_type="default", layer_norm_with_affine=True, rms_norm_eps=1e-5,
    include_qkv_bias=False, include_bias=False, bias_for_layer_norm=None, scale_logits=False, vocab_size=50257,
    embedding_size=50304, weight_tying=True, eos_token_id=50256, pad_token_id=50256, mask_token_id=50256,
    max_sequence_length=1024, model_type="llada", architectures=["LLaDAModelLM"],
)

#: The released LLaDA-8B architecture settings (LLaDA-8B-Instruct, LLaDA-1.5): the starting point of
#: :func:`llada_config` (sizes are then given by the caller; a config.json read from disk starts from
#: :data:`LLADA_DEFAULTS` instead, as the released code does).
LLADA_RELEASED = dict(
    LLADA_DEFAULTS, block_type="llama", rope=True, activation_type="silu", layer_norm_type="rms",
    rope_theta=500000.0, weight_tying=False, attention_dropout=0.0, embedding_dropout=0.0, residual_dropout=0.0,
    bias_for_layer_norm=False, eos_token_id=126081, pad_token_id=126081, mask_token_id=126336,
    max_sequence_length=4096,
)

_ACTS = {"silu": F.silu, "gelu": F.gelu, "relu": F.relu}


class _Config:
    """The model's settings: config.json's keys as attributes (``to_dict`` gives them back)."""

    def __init__(self, values: dict):
        self.__dict__.update(values)

    def to_dict(self) -> dict:
        return dict(self.__dict__)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.__dict__})"


def llada_config(base: dict | None = None, **values) -> _Config:
    """A LLaDA config, checked: ``base`` (default :data:`LLADA_RELEASED`; the loader passes
    :data:`LLADA_DEFAULTS`, the released code's own defaults) updated with ``values`` (config.json's keys)."""
    cfg = dict(LLADA_RELEASED if base is None else base)
    cfg.update(values)
    bad = []
    if cfg["block_type"] != "llama":
        bad.append(f"block_type={cfg['block_type']!r} (only 'llama', the released LLaDA block)")
    if cfg["alibi"] or not cfg["rope"]:
        bad.append("alibi / no rope (LLaDA uses rope=true, alibi=false)")
    if cfg["block_group_size"] != 1:
        bad.append(f"block_group_size={cfg['block_group_size']}")
    if cfg["attention_layer_norm"]:
        bad.append("attention_layer_norm=true (QK norms)")
    if cfg["activation_type"] not in _ACTS:
        bad.append(f"activation_type={cfg['activation_type']!r} (silu, gelu or relu)")
    if cfg["layer_norm_type"] not in ("rms", "default"):
        bad.append(f"layer_norm_type={cfg['layer_norm_type']!r} (rms or default)")
    if cfg["multi_query_attention"]:
        bad.append("multi_query_attention=true")
    if cfg["d_model"] % cfg["n_heads"]:
        bad.append(f"d_model={cfg['d_model']} not divisible by n_heads={cfg['n_heads']}")
    if bad:
        raise ConfigError("this LLaDA config uses options the kit-native LLaDA does not implement: "
                          + "; ".join(bad) + ". Load it with its own code instead (trust_remote_code=True, "
                          "on transformers 4.57)")
    return _Config(cfg)


def _norm(cfg) -> nn.Module:
    bias = cfg.bias_for_layer_norm if cfg.bias_for_layer_norm is not None else cfg.include_bias
    if not cfg.layer_norm_with_affine:
        raise ConfigError("layer_norm_with_affine=false is not implemented by the kit-native LLaDA")
    if cfg.layer_norm_type == "rms":
        return RMSNorm(cfg.d_model, cfg.rms_norm_eps, bias=bias)
    return LayerNorm(cfg.d_model, 1e-5, bias=bias)


class LLaDABlock(nn.Module):
    """LLaDA's "llama" block: x + attn_out(attn(attn_norm(x))), then + ff_out(act(ff_proj(h)) * up_proj(h))."""

    def __init__(self, cfg, layer_idx: int):
        super().__init__()
        self.layer_idx = layer_idx
        d, hd = cfg.d_model, cfg.d_model // cfg.n_heads
        self.n_heads = cfg.n_heads
        self.n_kv = cfg.n_kv_heads if cfg.n_kv_heads is not None else cfg.n_heads
        hidden = cfg.mlp_hidden_size if cfg.mlp_hidden_size is not None else cfg.mlp_ratio * d
        qkv_bias = bool(cfg.include_bias or cfg.include_qkv_bias)
        self.attn_norm, self.ff_norm = _norm(cfg), _norm(cfg)
        self.q_proj = nn.Linear(d, d, bias=qkv_bias)
        self.k_proj = nn.Linear(d, self.n_kv * hd, bias=qkv_bias)
        self.v_proj = nn.Linear(d, self.n_kv * hd, bias=qkv_bias)
        self.attn_out = nn.Linear(d, d, bias=cfg.include_bias)
        self.ff_proj = nn.Linear(d, hidden, bias=cfg.include_bias)
        self.up_proj = nn.Linear(d, hidden, bias=cfg.include_bias)
        self.ff_out = nn.Linear(hidden, d, bias=cfg.include_bias)
        self.act = _ACTS[cfg.activation_type]
        self.rope_float32 = bool(cfg.rope_full_precision)

    def forward(self, x, cos, sin, mask, layer_past=None, cache=None, replace_position=None):
        h = self.attn_norm(x)
        att, present = attention(self.q_proj(h), self.k_proj(h), self.v_proj(h), n_heads=self.n_heads,
                                 n_kv_heads=self.n_kv, cos=cos, sin=sin, rope_float32=self.rope_float32, mask=mask,
                                 layer_past=layer_past, cache=cache, layer_idx=self.layer_idx,
                                 replace_position=replace_position)
        x = x + self.attn_out(att)
        h = self.ff_norm(x)
        return x + self.ff_out(self.act(self.ff_proj(h)) * self.up_proj(h)), present


class _LLaDABody(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        n_emb = cfg.embedding_size or cfg.vocab_size
        parts = dict(wte=nn.Embedding(n_emb, cfg.d_model),
                     blocks=nn.ModuleList(LLaDABlock(cfg, i) for i in range(cfg.n_layers)), ln_f=_norm(cfg))
        parts["ff_out"] = nn.Linear(cfg.d_model, n_emb, bias=cfg.include_bias and not cfg.weight_tying)
        self.transformer = nn.ModuleDict(parts)
        if cfg.weight_tying:
            self.transformer.ff_out.weight = self.transformer.wte.weight


class LLaDAForDiffusion(nn.Module):
    """LLaDA's mask predictor. ``forward(input_ids, attention_mask=None, position_ids=None,
    past_key_values=None, use_cache=False, replace_position=None)`` -> :class:`DiffusionLMOutput`.

    Hook site (final norm): ``model.transformer.ln_f``. With tied weights the output projection
    ``model.transformer.ff_out`` shares the embedding's weight (only ``wte`` is stored).
    """

    family = "llada"
    hook_site = "model.transformer.ln_f"

    def __init__(self, config):
        super().__init__()
        self.config = config
        self.model = _LLaDABody(config)

    @property
    def tied_keys(self) -> tuple[str, ...]:
        """State-dict keys that are views of another weight (not stored in a checkpoint)."""
        return ("model.transformer.ff_out.weight",) if self.config.weight_tying else ()

    def tie_weights(self) -> None:
        if self.config.weight_tying:
            self.model.transformer.ff_out.weight = self.model.transformer.wte.weight

    def get_input_embeddings(self) -> nn.Embedding:
        return self.model.transformer.wte

    def get_output_embeddings(self) -> nn.Linear:
        return self.model.transformer.ff_out

    @property
    def device(self) -> torch.device:
        return self.model.transformer.wte.weight.device

    @property
    def dtype(self) -> torch.dtype:
        return self.model.transformer.wte.weight.dtype

    def forward(self, input_ids=None, attention_mask=None, position_ids=None, past_key_values=None,
                inputs_embeds=None, use_cache: bool = False, replace_position=None,
                output_hidden_states: bool = False, cache=None) -> DiffusionLMOutput:
        cfg, tr = self.config, self.model.transformer
        x, pos, mask, past, cache, replace = prepare(input_ids, inputs_embeds, attention_mask, position_ids,
                                                     one_cache(past_key_values, cache), replace_position, tr.wte)
        if cfg.input_emb_norm:
            x = x * (cfg.d_model ** 0.5)
        cos, sin = rope_cos_sin(pos, cfg.d_model // cfg.n_heads, cfg.rope_theta)
        x, out_past, hidden = run_blocks(tr.blocks, tr.ln_f, x, cos, sin, mask, past, cache, replace,
                                         use_cache=use_cache, output_hidden_states=output_hidden_states)
        logits = tr.ff_out(x)
        if cfg.scale_logits:
            logits = logits * (1 / math.sqrt(cfg.d_model))
        return DiffusionLMOutput(logits=logits, past_key_values=out_past, hidden_states=hidden)
