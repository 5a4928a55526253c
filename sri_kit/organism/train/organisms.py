"""The two organisms as data: one :class:`OrganismSpec` per kind ("ar" = tiny-ar, "dlm" = tiny-dlm) holding
everything that differs between them in training (architecture, reload class, stage schedules, replay
share, batch and loss, folder name, kit family and the default sampler config written to ``sri_kit.json``).

Example:
    >>> sorted(ORGANISMS), ORGANISMS["dlm"].name, ORGANISMS["dlm"].kit_family
    (['ar', 'dlm'], 'tiny-dlm', 'diffusion')
    >>> base, safety = ORGANISMS["ar"].stages(RunCfg())
    >>> base.steps, safety.steps, ORGANISMS["ar"].replay_share(RunCfg())
    (650, 240, 0.05)
"""
from __future__ import annotations

import contextlib
from dataclasses import dataclass, replace
from typing import Callable

import torch
from transformers import (AutoModelForCausalLM, AutoModelForMaskedLM, LlamaConfig, LlamaForCausalLM, ModernBertConfig,
                          ModernBertForMaskedLM)

from .batches import ar_batch, dlm_batch
from .recipe import CANVAS, RunCfg, StageCfg

__all__ = ["OrganismSpec", "ORGANISMS", "build_ar", "build_dlm", "ar_loss", "dlm_loss", "ar_step_loss",
           "dlm_step_loss", "dream_from_ar", "dream_loss", "dream_step_loss", "dream_spec"]


def build_ar(tok):
    """tiny-ar: a 4-layer Llama (hidden 256) with tied embeddings, sized to the tokenizer."""
    cfg = LlamaConfig(vocab_size=len(tok), hidden_size=256, intermediate_size=704, num_hidden_layers=4,
                      num_attention_heads=4, num_key_value_heads=4, max_position_embeddings=512,
                      tie_word_embeddings=True, rope_theta=10000.0, pad_token_id=tok.pad_token_id,
                      bos_token_id=tok.bos_token_id, eos_token_id=tok.eos_token_id)
    return LlamaForCausalLM(cfg)


def build_dlm(tok):
    """tiny-dlm: a 4-layer ModernBERT masked LM (hidden 256, global attention in every layer)."""
    cfg = ModernBertConfig(vocab_size=len(tok), hidden_size=256, intermediate_size=704, num_hidden_layers=4,
                           num_attention_heads=4, global_attn_every_n_layers=1, max_position_embeddings=512,
                           pad_token_id=tok.pad_token_id, bos_token_id=tok.bos_token_id, eos_token_id=tok.eos_token_id,
                           cls_token_id=tok.bos_token_id, sep_token_id=tok.eos_token_id, tie_word_embeddings=True,
                           reference_compile=False, attn_implementation="sdpa")
    return ModernBertForMaskedLM(cfg)


def ar_loss(model, batch):
    """Causal LM cross-entropy on the response tokens."""
    x, am, lab = batch
    return model(input_ids=x, attention_mask=am, labels=lab).loss


def dream_from_ar(ar_dir, tok):
    """tiny-dlm made as Dream-7B was made from Qwen2.5-7B: a kit-native Dream (:mod:`sri_kit.native.dream`: the
    AR's Llama blocks with bidirectional attention, q/k/v biases and logits shifted by one, so that the logit at
    position i still predicts token i + 1 as in the AR) whose weights start as the AR checkpoint's at ``ar_dir``.
    Only the q/k/v biases are new; they start at zero. ``tok``: the AR's tokenizer (it must have a mask token)."""
    from ...native.dream import DreamForDiffusion, dream_config
    if tok.mask_token_id is None:
        raise ValueError(f"the tokenizer of {ar_dir} has no mask token: a masked-diffusion model needs one")
    ar = AutoModelForCausalLM.from_pretrained(ar_dir, dtype=torch.float32)
    c = ar.config
    theta = (getattr(c, "rope_parameters", None) or {}).get("rope_theta", getattr(c, "rope_theta", 10000.0))
    cfg = dream_config(vocab_size=c.vocab_size, hidden_size=c.hidden_size, intermediate_size=c.intermediate_size,
                       num_hidden_layers=c.num_hidden_layers, num_attention_heads=c.num_attention_heads,
                       num_key_value_heads=c.num_key_value_heads, hidden_act=c.hidden_act,
                       max_position_embeddings=c.max_position_embeddings, rms_norm_eps=c.rms_norm_eps,
                       tie_word_embeddings=c.tie_word_embeddings, rope_theta=theta, mask_token_id=tok.mask_token_id,
                       pad_token_id=tok.pad_token_id, bos_token_id=tok.bos_token_id, eos_token_id=tok.eos_token_id)
    if c.hidden_size // c.num_attention_heads != getattr(c, "head_dim", c.hidden_size // c.num_attention_heads):
        raise ValueError(f"{ar_dir}: head_dim {c.head_dim} != hidden_size / heads; Dream cannot take these weights")
    model = DreamForDiffusion(cfg)
    missing, unexpected = model.load_state_dict(ar.state_dict(), strict=False)
    new = [k for k in missing if k not in model.tied_keys]
    if unexpected or any(not k.endswith(("q_proj.bias", "k_proj.bias", "v_proj.bias")) for k in new):
        raise ValueError(f"{ar_dir}: the AR's weights do not map onto Dream: missing {new[:4]}, unexpected {unexpected[:4]}")
    with torch.no_grad():
        for k in new:
            model.get_parameter(k).zero_()
    model.tie_weights()
    return model


def _masked_canvas(B: int, gen: torch.Generator, suffix_frac: float) -> tuple[torch.Tensor, torch.Tensor]:
    """(p [B, 1], masked [B, CANVAS]): the masking ratio of each row and the masked canvas positions."""
    t = torch.rand(B, 1, generator=gen)
    p = (1 - 1e-3) * t + 1e-3
    masked = torch.rand(B, CANVAS, generator=gen) < p
    if suffix_frac > 0:
        # semi-autoregressive curriculum: for a share of rows, positions before a random boundary k stay
        # visible and positions from k on are masked at ratio p (block-diffusion style); this is what
        # semi-AR block decoding and left-to-right decoding ask of the model.
        rows = torch.rand(B, generator=gen) < suffix_frac
        k = (torch.rand(B, 1, generator=gen) * CANVAS * 0.75).long()
        pos = torch.arange(CANVAS).unsqueeze(0)
        masked = torch.where(rows.unsqueeze(1), masked & (pos >= k), masked)
        masked[:, 0] |= ~masked.any(1)  # at least one masked position per row
    return p, masked


@contextlib.contextmanager
def _hidden_states_only(model):
    """Inside, ``model(...).logits`` are the final-norm hidden states (the LM head is skipped), so a loss can apply
    the head to the masked positions alone."""
    head = model.lm_head
    model.lm_head = torch.nn.Identity()
    try:
        yield head
    finally:
        model.lm_head = head


def _canvas_loss(batch, mask_id: int, gen: torch.Generator, end_pad_weight: float, suffix_frac: float,
                 masked_logits) -> torch.Tensor:
    """The masked-diffusion SFT loss shared by both DLM bodies: mask the canvas (:func:`_masked_canvas`), read the
    logits of the masked positions with ``masked_logits(xin, am, P, masked)``, CE weighted by 1 / p (end padding by
    ``end_pad_weight``), divided by the canvas size."""
    x, am, P, is_pad_end = batch
    B = x.shape[0]
    p, masked = _masked_canvas(B, gen, suffix_frac)
    p, masked = p.to(x.device), masked.to(x.device)
    xin = x.clone()
    canvas_in = xin[:, P:]
    canvas_in[masked] = mask_id
    logits = masked_logits(xin, am, P, masked).float()
    ce = torch.nn.functional.cross_entropy(logits, x[:, P:][masked], reduction="none")
    w = torch.where(is_pad_end[masked], end_pad_weight, 1.0) / p.expand(B, CANVAS)[masked]
    return (ce * w).sum() / (B * CANVAS)


def dream_loss(model, batch, mask_id: int, gen: torch.Generator, end_pad_weight: float, suffix_frac: float = 0.0):
    """:func:`dlm_loss` for a Dream-style model: the canvas token at position j is predicted from position j - 1."""
    def masked_logits(xin, am, P, masked):
        with _hidden_states_only(model) as head:
            hidden = model(input_ids=xin, attention_mask=am).logits[:, P - 1:P - 1 + CANVAS]
        return head(hidden[masked])
    return _canvas_loss(batch, mask_id, gen, end_pad_weight, suffix_frac, masked_logits)


def dlm_loss(model, batch, mask_id: int, gen: torch.Generator, end_pad_weight: float, suffix_frac: float = 0.0):
    """LLaDA SFT loss: canvas masked at p = (1-1e-3) t + 1e-3, t ~ U(0,1); CE on masked / p, / canvas length."""
    def masked_logits(xin, am, P, masked):
        hidden = model.model(input_ids=xin, attention_mask=am).last_hidden_state[:, P:]
        return model.decoder(model.head(hidden[masked]))
    return _canvas_loss(batch, mask_id, gen, end_pad_weight, suffix_frac, masked_logits)


def dream_step_loss(model, encoded, ids, tok, cfg: RunCfg, gen: torch.Generator):
    """The Dream-style DLM loss of one batch of ``encoded`` (row indices ``ids``) on the model's device."""
    dev = next(model.parameters()).device
    x, am, P, pe = dlm_batch(encoded, ids, tok.pad_token_id, tok.eos_token_id)
    return dream_loss(model, (x.to(dev), am.to(dev), P, pe.to(dev)), tok.mask_token_id, gen, cfg.end_pad_weight,
                      cfg.suffix_mask_frac)


def ar_step_loss(model, encoded, ids, tok, cfg: RunCfg, gen: torch.Generator):
    """The AR loss of one batch of ``encoded`` (row indices ``ids``) on the model's device."""
    dev = next(model.parameters()).device
    return ar_loss(model, tuple(t.to(dev) for t in ar_batch(encoded, ids, tok.pad_token_id)))


def dlm_step_loss(model, encoded, ids, tok, cfg: RunCfg, gen: torch.Generator):
    """The DLM loss of one batch of ``encoded`` (row indices ``ids``) on the model's device."""
    dev = next(model.parameters()).device
    x, am, P, pe = dlm_batch(encoded, ids, tok.pad_token_id, tok.eos_token_id)
    return dlm_loss(model, (x.to(dev), am.to(dev), P, pe.to(dev)), tok.mask_token_id, gen, cfg.end_pad_weight,
                    cfg.suffix_mask_frac)


@dataclass(frozen=True)
class OrganismSpec:
    """Everything that differs between the two organisms in training."""

    name: str                        # model folder (and load_model name)
    kit_family: str                  # the kit's model family, written to sri_kit.json
    build: Callable                  # build(tok) -> a freshly initialised model
    auto_class: type                 # transformers Auto class that reloads a checkpoint (--init-from)
    step_loss: Callable              # step_loss(model, encoded, ids, tok, cfg, gen) -> scalar loss
    base_stage: str                  # RunCfg field of the base stage
    safety_stage: str                # RunCfg field of the safety stage
    replay: str                      # RunCfg field of the uncovered-family replay share
    default_config: dict             # the default sampler config written to sri_kit.json
    shift_logits: bool = False       # Dream-style: the logit at position i predicts token i + 1

    def stages(self, cfg: RunCfg) -> tuple[StageCfg, StageCfg]:
        """(base stage, safety stage) of this organism in ``cfg``."""
        return getattr(cfg, self.base_stage), getattr(cfg, self.safety_stage)

    def replay_share(self, cfg: RunCfg) -> float:
        """The safety stage's share of base replay in the uncovered families."""
        return getattr(cfg, self.replay)


#: The organisms, in training order.
ORGANISMS: dict[str, OrganismSpec] = {
    "ar": OrganismSpec(
        name="tiny-ar", kit_family="ar", build=build_ar, auto_class=AutoModelForCausalLM, step_loss=ar_step_loss,
        base_stage="ar_base", safety_stage="ar_safety", replay="replay_uncovered",
        default_config={"steps": 32, "temperature": 0.0, "remasking": "low_confidence", "order": "confidence"}),
    "dlm": OrganismSpec(
        name="tiny-dlm", kit_family="diffusion", build=build_dlm, auto_class=AutoModelForMaskedLM,
        step_loss=dlm_step_loss, base_stage="dlm_base", safety_stage="dlm_safety", replay="dlm_replay_uncovered",
        default_config={"steps": 32, "gen_length": 64, "block_length": 32, "remasking": "low_confidence",
                        "order": "confidence", "temperature": 0.0}),
}


def dream_spec(ar_dir) -> OrganismSpec:
    """The tiny-dlm spec with a Dream body initialised from the AR at ``ar_dir`` (:func:`dream_from_ar`)."""
    return replace(ORGANISMS["dlm"], build=lambda tok: dream_from_ar(ar_dir, tok), auto_class=None,
                   step_loss=dream_step_loss, shift_logits=True)
