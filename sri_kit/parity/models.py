"""The tiny models of the golden parity fixtures, rebuilt without any upstream code.

A fixture names a model by its config (a released-style ``config.json`` at tiny sizes) and a weight
seed. The weights come from :func:`seeded_weights`: one generator per weight, seeded from the seed and
the weight's released name, so the same tensors are drawn whatever the module's parameter order (the
upstream modules list their parameters in another order, under other prefixes). A fixture also stores
:func:`weights_digest` of the weights it was recorded with; :func:`build_kit_model` refuses to go on when
the rebuilt weights differ (a changed random-number generator, say), so a fixture test can never compare
the kit on other weights than the recorded ones.

Example:
    >>> m = build_kit_model("llada", LLADA_SPEC, seed=0)
    >>> type(m).__name__, weights_digest(m) == weights_digest(build_kit_model("llada", LLADA_SPEC, seed=0))
    ('LLaDAForDiffusion', True)
"""
from __future__ import annotations

import hashlib
import zlib

import torch

from ..errors import ConfigError

__all__ = ["VOCAB", "MASK_ID", "PAD_ID", "EOS_ID", "EOT_ID", "LLADA_SPEC", "DREAM_SPEC", "PROMPTS",
           "seeded_weights", "weights_digest", "build_kit_model", "parity_tokenizer", "kit_lm", "llada_values",
           "dream_values"]

SPECIALS = ["<|pad|>", "<|bos|>", "<|endoftext|>", "<|eot_id|>", "<|mask|>"]
VOCAB = 128
PAD_ID, BOS_ID, EOS_ID, EOT_ID, MASK_ID = range(5)

#: The prompts of the generation cases, as token ids (three lengths, so a batch is left-padded).
PROMPTS = [[1, 17, 93, 40, 3], [1, 52, 8, 111, 64, 27, 99, 70, 3], [1, 33, 120, 5, 76, 12, 58, 101, 44, 9, 87, 21, 3]]

#: A released-style LLaDA config.json (the keys of GSAI-ML/LLaDA-8B-Instruct's) at tiny sizes.
LLADA_SPEC = dict(
    architectures=["LLaDAModelLM"], model_type="llada", activation_type="silu", alibi=False, alibi_bias_max=8.0,
    attention_dropout=0.0, attention_layer_norm=False, attention_layer_norm_with_affine=True,
    bias_for_layer_norm=False, block_group_size=1, block_type="llama", d_model=64, embedding_dropout=0.0,
    embedding_size=VOCAB, eos_token_id=EOS_ID, flash_attention=False, include_bias=False, include_qkv_bias=False,
    init_cutoff_factor=None, init_device="cpu", init_fn="normal", init_std=0.02, input_emb_norm=False,
    layer_norm_type="rms", layer_norm_with_affine=True, mask_token_id=MASK_ID, max_sequence_length=256,
    mlp_hidden_size=96, mlp_ratio=4, multi_query_attention=None, n_heads=4, n_kv_heads=2, n_layers=2,
    pad_token_id=PAD_ID, precision="amp_bf16", residual_dropout=0.0, rms_norm_eps=1e-5, rope=True,
    rope_full_precision=True, rope_theta=500000.0, scale_logits=False, use_cache=False, vocab_size=VOCAB,
    weight_tying=False)

#: A released-style Dream config.json (the keys of Dream-org/Dream-v0-Instruct-7B's) at tiny sizes.
DREAM_SPEC = dict(
    architectures=["DreamModel"], model_type="Dream", attention_dropout=0.0, bos_token_id=BOS_ID,
    eos_token_id=EOS_ID, hidden_act="silu", hidden_size=64, initializer_range=0.02, intermediate_size=96,
    mask_token_id=MASK_ID, max_position_embeddings=256, max_window_layers=2, num_attention_heads=4,
    num_hidden_layers=2, num_key_value_heads=2, pad_token_id=PAD_ID, rms_norm_eps=1e-6, rope_scaling=None,
    rope_theta=1000000.0, sliding_window=None, tie_word_embeddings=False, torch_dtype="float32", use_cache=False,
    use_sliding_window=False, vocab_size=VOCAB)

#: Spread of the random weights: wide enough that a position's argmax and confidence vary along the canvas
#: (at the default init every prediction of a tiny model is near-uniform and ties decide everything).
WEIGHT_STD = 0.15
NORM_STD = 0.2


def llada_values(**over) -> dict:
    return {**LLADA_SPEC, **over}


def dream_values(**over) -> dict:
    return {**DREAM_SPEC, **over}


def seeded_weights(shapes: dict[str, tuple[int, ...]], seed: int) -> dict[str, torch.Tensor]:
    """float32 weights by released name: norms 1 + N(0, 0.2²), everything else N(0, 0.15²), each drawn from
    its own CPU generator seeded with ``seed`` and the name (independent of order and of the other names)."""
    out = {}
    for name, shape in sorted(shapes.items()):
        g = torch.Generator().manual_seed(seed * 1_000_003 + zlib.crc32(name.encode()))
        w = torch.randn(tuple(shape), generator=g, dtype=torch.float32)
        norm = "norm" in name or "ln_f" in name
        out[name] = 1 + NORM_STD * w if norm else WEIGHT_STD * w
    return out


def _params(model) -> dict[str, torch.nn.Parameter]:
    return dict(model.named_parameters())          # a tied weight once, under its first name


def weights_digest(model_or_state) -> str:
    """sha256 over the float32 bytes of every weight, in name order (a tied weight once)."""
    state = model_or_state if isinstance(model_or_state, dict) else _params(model_or_state)
    h = hashlib.sha256()
    for name in sorted(state):
        h.update(name.encode())
        h.update(state[name].detach().to(torch.float32).contiguous().numpy().tobytes())
    return h.hexdigest()[:32]


def build_kit_model(kind: str, values: dict, seed: int, digest: str | None = None):
    """The kit-native model of ``kind`` (``"llada"`` / ``"dream"``) from config.json ``values`` with the
    seeded weights; ``digest``: the fixture's :func:`weights_digest`, checked."""
    from ..native import DreamForDiffusion, LLaDAForDiffusion, dream_config, llada_config

    if kind == "llada":
        model = LLaDAForDiffusion(llada_config(**values))
    elif kind == "dream":
        model = DreamForDiffusion(dream_config(**values))
    else:
        raise ConfigError(f"unknown parity model kind {kind!r}; use 'llada' or 'dream'")
    params = _params(model)
    state = seeded_weights({k: tuple(p.shape) for k, p in params.items()}, seed)
    with torch.no_grad():
        for k, p in params.items():
            p.copy_(state[k])
    model.eval()
    if digest is not None and weights_digest(model) != digest:
        raise ConfigError(f"the rebuilt {kind} weights (seed {seed}) differ from those the fixture was recorded "
                          f"with (digest {weights_digest(model)} != {digest}): this torch draws other random "
                          f"numbers; record the fixtures again with `sri-kit parity record`")
    return model


def parity_tokenizer():
    """A word-level tokenizer over the fixtures' 128 ids (``t5`` .. ``t127`` after five special tokens)."""
    from tokenizers import Tokenizer, models, pre_tokenizers
    from transformers import PreTrainedTokenizerFast

    vocab = {s: i for i, s in enumerate(SPECIALS)}
    vocab.update({f"t{i}": i for i in range(len(SPECIALS), VOCAB)})
    tok = Tokenizer(models.WordLevel(vocab, unk_token="<|pad|>"))
    tok.pre_tokenizer = pre_tokenizers.WhitespaceSplit()
    return PreTrainedTokenizerFast(tokenizer_object=tok, pad_token="<|pad|>", bos_token="<|bos|>",
                                   eos_token="<|endoftext|>", mask_token="<|mask|>")


def kit_lm(kind: str, model):
    """The kit-native ``model`` wrapped for the kit's samplers (hook site, Dream's logit shift)."""
    from ..models import wrap_model

    site = {"llada": "model.transformer.ln_f", "dream": "model.norm"}[kind]
    return wrap_model(model, parity_tokenizer(), family="diffusion", name=f"parity-{kind}", hook_site=site,
                      mask_token_id=MASK_ID, shift_logits=kind == "dream")
