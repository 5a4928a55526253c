"""Dream (Dream-org/Dream-v0-Instruct-7B) as a kit-native module, without remote code.

Dream is Qwen2 run with bidirectional attention: the module tree and weight names are the released
ones (``model.embed_tokens``, ``model.layers.N.{input_layernorm, self_attn.{q,k,v,o}_proj,
post_attention_layernorm, mlp.{gate,up,down}_proj}``, ``model.norm``, ``lm_head``; q/k/v carry biases,
o_proj and the MLP do not). The logits are returned as the released code returns them: the logit at
position i predicts token i + 1 (Dream keeps its AR initialisation's shift), which the kit's samplers
undo (``LoadedModel.shift_logits``). Rotary scaling (``rope_scaling``) and sliding-window attention are
not used by the released model and are refused.

Example:
    >>> from sri_kit.native.dream import DreamForDiffusion, dream_config
    >>> m = DreamForDiffusion(dream_config(hidden_size=32, intermediate_size=64, num_hidden_layers=2,
    ...                                    num_attention_heads=4, num_key_value_heads=2, vocab_size=50)).eval()
    >>> m(torch.tensor([[1, 2, 3]])).logits.shape
    torch.Size([1, 3, 50])
"""
from __future__ import annotations

import torch
from torch import nn
from transformers.activations import ACT2FN

from ..errors import ConfigError
from .core import DiffusionLMOutput, one_cache, RMSNorm, attention, prepare, rope_cos_sin, run_blocks
from .llada import _Config

__all__ = ["DreamForDiffusion", "dream_config", "DREAM_DEFAULTS"]

#: The defaults of Dream's ``DreamConfig`` for the keys the forward pass reads.
DREAM_DEFAULTS = dict(
    vocab_size=151936, hidden_size=4096, intermediate_size=22016, num_hidden_layers=32, num_attention_heads=32,
    num_key_value_heads=32, hidden_act="silu", max_position_embeddings=32768, rms_norm_eps=1e-6,
    tie_word_embeddings=False, rope_theta=10000.0, rope_scaling=None, use_sliding_window=False,
    mask_token_id=151666, pad_token_id=151643, model_type="Dream", architectures=["DreamModel"],
)


def dream_config(**values) -> _Config:
    """A Dream config: the released code's defaults updated with ``values`` (config.json's keys), checked."""
    cfg = dict(DREAM_DEFAULTS)
    cfg.update(values)
    rp = cfg.get("rope_parameters")
    if isinstance(rp, dict):            # a config written by transformers 5 (an a2d-qwen2 conversion, say)
        if "rope_theta" in rp:
            cfg["rope_theta"] = rp["rope_theta"]
        if (rp.get("rope_type") or "default") != "default" and not cfg.get("rope_scaling"):
            cfg["rope_scaling"] = rp
    if cfg.get("num_key_value_heads") is None:
        cfg["num_key_value_heads"] = cfg["num_attention_heads"]
    bad = []
    rs = cfg.get("rope_scaling")
    if rs and (rs.get("rope_type", rs.get("type")) or "default") != "default":
        bad.append(f"rope_scaling={rs}")
    if cfg.get("use_sliding_window"):
        bad.append("use_sliding_window=true")
    if cfg["hidden_act"] not in ACT2FN:
        bad.append(f"hidden_act={cfg['hidden_act']!r}")
    if cfg["hidden_size"] % cfg["num_attention_heads"]:
        bad.append("hidden_size not divisible by num_attention_heads")
    if bad:
        raise ConfigError("this Dream config uses options the kit-native Dream does not implement: " + "; ".join(bad)
                          + ". Load it with its own code instead (trust_remote_code=True, on transformers 4.57)")
    return _Config(cfg)


class DreamAttention(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        d, h, kv = cfg.hidden_size, cfg.num_attention_heads, cfg.num_key_value_heads
        hd = d // h
        self.n_heads, self.n_kv = h, kv
        self.q_proj = nn.Linear(d, h * hd, bias=True)
        self.k_proj = nn.Linear(d, kv * hd, bias=True)
        self.v_proj = nn.Linear(d, kv * hd, bias=True)
        self.o_proj = nn.Linear(h * hd, d, bias=False)


class DreamMLP(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        self.gate_proj = nn.Linear(cfg.hidden_size, cfg.intermediate_size, bias=False)
        self.up_proj = nn.Linear(cfg.hidden_size, cfg.intermediate_size, bias=False)
        self.down_proj = nn.Linear(cfg.intermediate_size, cfg.hidden_size, bias=False)
        self.act = ACT2FN[cfg.hidden_act]

    def forward(self, x):
        return self.down_proj(self.act(self.gate_proj(x)) * self.up_proj(x))


class DreamLayer(nn.Module):
    def __init__(self, cfg, layer_idx: int):
        super().__init__()
        self.layer_idx = layer_idx
        self.input_layernorm = RMSNorm(cfg.hidden_size, cfg.rms_norm_eps)
        self.self_attn = DreamAttention(cfg)
        self.post_attention_layernorm = RMSNorm(cfg.hidden_size, cfg.rms_norm_eps)
        self.mlp = DreamMLP(cfg)

    def forward(self, x, cos, sin, mask, layer_past=None, cache=None, replace_position=None):
        a = self.self_attn
        h = self.input_layernorm(x)
        att, present = attention(a.q_proj(h), a.k_proj(h), a.v_proj(h), n_heads=a.n_heads, n_kv_heads=a.n_kv,
                                 cos=cos, sin=sin, rope_float32=False, mask=mask, layer_past=layer_past, cache=cache,
                                 layer_idx=self.layer_idx, replace_position=replace_position)
        x = x + a.o_proj(att)
        return x + self.mlp(self.post_attention_layernorm(x)), present


class _DreamBody(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        self.embed_tokens = nn.Embedding(cfg.vocab_size, cfg.hidden_size)
        self.layers = nn.ModuleList(DreamLayer(cfg, i) for i in range(cfg.num_hidden_layers))
        self.norm = RMSNorm(cfg.hidden_size, cfg.rms_norm_eps)


class DreamForDiffusion(nn.Module):
    """Dream's mask predictor. ``forward(input_ids, attention_mask=None, position_ids=None,
    past_key_values=None, use_cache=False, replace_position=None)`` -> :class:`DiffusionLMOutput`
    (logits shifted by one, as released). Hook site (final norm): ``model.norm``."""

    family = "dream"
    hook_site = "model.norm"

    def __init__(self, config):
        super().__init__()
        self.config = config
        self.model = _DreamBody(config)
        self.lm_head = nn.Linear(config.hidden_size, config.vocab_size, bias=False)
        self.tie_weights()

    @property
    def tied_keys(self) -> tuple[str, ...]:
        return ("lm_head.weight",) if self.config.tie_word_embeddings else ()

    def tie_weights(self) -> None:
        if self.config.tie_word_embeddings:
            self.lm_head.weight = self.model.embed_tokens.weight

    def get_input_embeddings(self) -> nn.Embedding:
        return self.model.embed_tokens

    def get_output_embeddings(self) -> nn.Linear:
        return self.lm_head

    @property
    def device(self) -> torch.device:
        return self.lm_head.weight.device

    @property
    def dtype(self) -> torch.dtype:
        return self.lm_head.weight.dtype

    def forward(self, input_ids=None, attention_mask=None, position_ids=None, past_key_values=None,
                inputs_embeds=None, use_cache: bool = False, replace_position=None,
                output_hidden_states: bool = False, cache=None) -> DiffusionLMOutput:
        cfg, body = self.config, self.model
        x, pos, mask, past, cache, replace = prepare(input_ids, inputs_embeds, attention_mask, position_ids,
                                                     one_cache(past_key_values, cache), replace_position, body.embed_tokens)
        cos, sin = rope_cos_sin(pos, cfg.hidden_size // cfg.num_attention_heads, cfg.rope_theta)
        x, out_past, hidden = run_blocks(body.layers, body.norm, x, cos, sin, mask, past, cache, replace,
                                         use_cache=use_cache, output_hidden_states=output_hidden_states)
        return DiffusionLMOutput(logits=self.lm_head(x), past_key_values=out_past, hidden_states=hidden)
