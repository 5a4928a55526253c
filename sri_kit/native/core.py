"""Building blocks shared by the kit-native diffusion LMs: RMS norm, rotary embeddings, bidirectional
attention with an optional KV cache, and the output record.

Every block reproduces the arithmetic of the released modelling code (LLaDA's and Dream's, which are
both Llama-style pre-norm transformers): RMS norm in float32 then the weight in the model dtype, the
"rotate half" RoPE with ``inv_freq = 1 / theta^(2i/d)`` on absolute positions, scaled dot-product
attention with no causal mask. What the native blocks add is what the released code lacks: explicit
``position_ids`` and a key-padding mask that is honoured, so a left-padded row computes what it computes
alone (``docs/REAL_MODELS.md``).

KV cache (``past_key_values``): a tuple with one ``(key, value)`` pair per layer, each
``[B, n_kv_heads, K, head_dim]`` with the keys already rotated at their absolute positions; the model
never modifies a tuple it is given. A ``transformers.Cache`` (e.g. ``DynamicCache``) works too: the new
keys/values are appended with its public ``update``.
"""
from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from ..errors import ConfigError, InputTypeError

__all__ = ["run_blocks", "RMSNorm", "LayerNorm", "rope_cos_sin", "apply_rope", "attention", "key_mask", "past_length",
           "DiffusionLMOutput"]


@dataclass
class DiffusionLMOutput:
    """What a native model returns: ``logits`` [B, S, V], ``past_key_values`` (when ``use_cache``; also
    readable as ``cache``, transformers' newer name) and ``hidden_states`` (each block's input, then the
    final norm's output, when ``output_hidden_states``). A plain dataclass, so its field names do not
    follow transformers' renames."""

    logits: torch.Tensor
    past_key_values: tuple | object | None = None
    hidden_states: tuple | None = None

    @property
    def cache(self):
        return self.past_key_values

    def __getitem__(self, i: int):
        return (self.logits, self.past_key_values, self.hidden_states)[i]


class RMSNorm(nn.Module):
    """RMS norm: normalise in float32, cast back, then ``weight * x`` (+ ``bias``) in the model dtype."""

    def __init__(self, size: int, eps: float, bias: bool = False):
        super().__init__()
        self.eps = eps
        self.weight = nn.Parameter(torch.ones(size))
        self.bias = nn.Parameter(torch.zeros(size)) if bias else None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        dtype = x.dtype
        h = x.to(torch.float32)
        h = h * torch.rsqrt(h.pow(2).mean(-1, keepdim=True) + self.eps)
        h = self.weight * h.to(dtype)
        return h + self.bias if self.bias is not None else h


class LayerNorm(nn.Module):
    """Plain layer norm (LLaDA's ``layer_norm_type: default``)."""

    def __init__(self, size: int, eps: float = 1e-5, bias: bool = False):
        super().__init__()
        self.eps = eps
        self.weight = nn.Parameter(torch.ones(size))
        self.bias = nn.Parameter(torch.zeros(size)) if bias else None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.layer_norm(x, self.weight.shape, self.weight, self.bias, self.eps)


def rope_cos_sin(position_ids: torch.Tensor, head_dim: int, theta: float) -> tuple[torch.Tensor, torch.Tensor]:
    """cos, sin [B, S, head_dim] in float32 for absolute ``position_ids`` [B, S]."""
    dev = position_ids.device
    inv_freq = 1.0 / (theta ** (torch.arange(0, head_dim, 2, device=dev, dtype=torch.float32) / head_dim))
    dev_type = dev.type if dev.type != "mps" else "cpu"
    with torch.autocast(device_type=dev_type, enabled=False):
        freqs = (inv_freq[None, :, None] @ position_ids[:, None, :].float()).transpose(1, 2)
        emb = torch.cat((freqs, freqs), dim=-1)
    return emb.cos(), emb.sin()


def _rotate_half(x: torch.Tensor) -> torch.Tensor:
    h = x.shape[-1] // 2
    return torch.cat((-x[..., h:], x[..., :h]), dim=-1)


def apply_rope(x: torch.Tensor, cos: torch.Tensor, sin: torch.Tensor, float32: bool) -> torch.Tensor:
    """Rotate ``x`` [B, H, S, d]. ``float32``: in float32 then cast back (LLaDA's ``rope_full_precision``);
    else cos/sin are cast to the model dtype first (Dream, as the Llama code it copies)."""
    cos, sin = cos[:, None], sin[:, None]
    if float32:
        xf = x.float()
        return (xf * cos + _rotate_half(xf) * sin).to(x.dtype)
    cos, sin = cos.to(x.dtype), sin.to(x.dtype)
    return x * cos + _rotate_half(x) * sin


def past_length(past) -> int:
    """Number of cached positions in ``past_key_values`` (a tuple of (k, v) per layer or a transformers Cache)."""
    if past is None:
        return 0
    if hasattr(past, "get_seq_length"):
        return int(past.get_seq_length())
    if isinstance(past, (tuple, list)) and past and isinstance(past[0], (tuple, list)) and len(past[0]) == 2:
        return int(past[0][0].shape[-2])
    raise InputTypeError("past_key_values must be a tuple of (key, value) pairs, one per layer (as returned by a "
                         "forward with use_cache=True), or a transformers Cache")


def key_mask(attention_mask: torch.Tensor | None, n_keys: int, n_queries: int) -> torch.Tensor | None:
    """The boolean mask for ``scaled_dot_product_attention``: from a [B, K] key mask (1 = attend, 0 = padding)
    to [B, 1, 1, K]; a 4-D mask (bool, or float added to the scores) passes unchanged; all-ones gives None."""
    if attention_mask is None:
        return None
    if attention_mask.dim() == 4:
        return attention_mask
    if attention_mask.dim() != 2:
        raise ConfigError(f"attention_mask must be [batch, keys] (1 = attend, 0 = padding) or 4-D, got shape "
                          f"{tuple(attention_mask.shape)}")
    if attention_mask.shape[1] != n_keys:
        raise ConfigError(f"attention_mask covers {attention_mask.shape[1]} positions but attention runs over "
                          f"{n_keys} keys ({n_keys - n_queries} cached + {n_queries} new): pass the mask of the whole "
                          "sequence (cached positions included)")
    if bool(attention_mask.all()):
        return None
    return attention_mask.bool()[:, None, None, :]


def _repeat_kv(x: torch.Tensor, n_rep: int) -> torch.Tensor:
    if n_rep == 1:
        return x
    b, h, s, d = x.shape
    return x[:, :, None].expand(b, h, n_rep, s, d).reshape(b, h * n_rep, s, d)


def attention(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, *, n_heads: int, n_kv_heads: int,
              cos: torch.Tensor, sin: torch.Tensor, rope_float32: bool, mask: torch.Tensor | None,
              layer_past=None, cache=None, layer_idx: int = 0, replace_position: torch.Tensor | None = None):
    """Bidirectional multi-head attention over [cache | new] keys. q [B, S, H·d], k/v [B, S, KV·d].

    ``layer_past``: this layer's cached (key, value); ``replace_position`` [S] (long): the cached key
    columns that the new tokens overwrite (Fast-dLLM's dual cache) instead of being appended. ``cache``:
    a transformers Cache, updated through its public ``update``. Returns (output [B, S, H·d], (key, value)
    over all keys)."""
    B, S, _ = q.shape
    d = q.shape[-1] // n_heads
    q = q.view(B, S, n_heads, d).transpose(1, 2)
    k = k.view(B, S, n_kv_heads, d).transpose(1, 2)
    v = v.view(B, S, n_kv_heads, d).transpose(1, 2)
    q = apply_rope(q, cos, sin, rope_float32)
    k = apply_rope(k, cos, sin, rope_float32)
    if cache is not None:
        if replace_position is not None:
            raise ConfigError("replace_position needs past_key_values as a tuple of (key, value) pairs, not a "
                              "transformers Cache (whose update only appends)")
        k, v = cache.update(k, v, layer_idx)
    elif layer_past is not None:
        pk, pv = layer_past
        if replace_position is None:
            k, v = torch.cat([pk, k], dim=-2), torch.cat([pv, v], dim=-2)
        else:
            k, v = pk.index_copy(-2, replace_position, k), pv.index_copy(-2, replace_position, v)
    present = (k, v)
    out = F.scaled_dot_product_attention(q, _repeat_kv(k, n_heads // n_kv_heads), _repeat_kv(v, n_heads // n_kv_heads),
                                         attn_mask=mask, dropout_p=0.0, is_causal=False)
    return out.transpose(1, 2).reshape(B, S, n_heads * d), present


def one_cache(past_key_values, cache):
    """``cache`` is transformers' newer name for ``past_key_values``: accept either, not both."""
    if cache is not None and past_key_values is not None:
        raise ConfigError("pass the KV cache once: past_key_values= or cache=, not both")
    return cache if cache is not None else past_key_values


def prepare(input_ids, inputs_embeds, attention_mask, position_ids, past_key_values, replace_position, embed):
    """Shared forward preamble: (hidden states, position ids [B, S], sdpa mask, tuple-past or None, Cache or None,
    replace_position or None)."""
    if (input_ids is None) == (inputs_embeds is None):
        raise InputTypeError("pass exactly one of input_ids and inputs_embeds")
    x = embed(input_ids) if inputs_embeds is None else inputs_embeds
    B, S = x.shape[:2]
    cache = past_key_values if hasattr(past_key_values, "get_seq_length") else None
    tuple_past = None if cache is not None else past_key_values
    P = past_length(past_key_values)
    if replace_position is not None:
        if tuple_past is None:
            raise ConfigError("replace_position overwrites cached positions: pass past_key_values as well")
        replace_position = replace_position.to(x.device)
        if replace_position.dtype == torch.bool:          # Fast-dLLM's [B, K] boolean form
            replace_position = replace_position[0].nonzero()[:, 0]
        replace_position = replace_position.long().reshape(-1)
        if replace_position.numel() != S:
            raise ConfigError(f"replace_position names {replace_position.numel()} cached positions for {S} new tokens")
        n_keys = P
    else:
        n_keys = P + S
    if position_ids is None:
        base = replace_position if replace_position is not None else torch.arange(P, P + S, device=x.device)
        position_ids = base[None].expand(B, S)
    mask = key_mask(attention_mask, n_keys, S)
    return x, position_ids.to(x.device), mask, tuple_past, cache, replace_position


def run_blocks(blocks, final_norm, x, cos, sin, mask, past, cache, replace, *, use_cache: bool,
               output_hidden_states: bool):
    """The shared body of a native forward: every block in order, then the final norm.

    Returns (final-norm output, past_key_values for the output or None, hidden states or None)."""
    presents, hidden = [], []
    for i, block in enumerate(blocks):
        if output_hidden_states:
            hidden.append(x)
        x, kv = block(x, cos, sin, mask, None if past is None else past[i], cache, replace)
        presents.append(kv)
    x = final_norm(x)
    if output_hidden_states:
        hidden.append(x)
    out_past = (cache if cache is not None else tuple(presents)) if use_cache else None
    return x, out_past, (tuple(hidden) if output_hidden_states else None)
