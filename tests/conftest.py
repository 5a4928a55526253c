"""Tiny random-initialised models built from configs in code (fast, offline)."""
from __future__ import annotations

import pytest
import torch

import sri_kit as sk

SPECIALS = ["<|pad|>", "<|bos|>", "<|system|>", "<|user|>", "<|assistant|>", "<|end|>", "<|mask|>"]
CHAT = ("<|bos|>{% for m in messages %}<|{{ m['role'] }}|>{{ m['content'] }}<|end|>{% endfor %}"
        "{% if add_generation_prompt %}<|assistant|>{% endif %}")
CORPUS = ["write a poem about the sea", "how do I bake bread at home", "I am sorry but I cannot help with that",
          "sure here is how to do it step 1 step 2", "tell me a story about a dragon", "hello world"] * 30


def build_tokenizer():
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    tok.train_from_iterator(CORPUS, trainers.BpeTrainer(vocab_size=320, special_tokens=SPECIALS,
                                                         initial_alphabet=pre_tokenizers.ByteLevel.alphabet()))
    hf = PreTrainedTokenizerFast(tokenizer_object=tok, pad_token="<|pad|>", bos_token="<|bos|>",
                                 eos_token="<|end|>", mask_token="<|mask|>",
                                 additional_special_tokens=["<|system|>", "<|user|>", "<|assistant|>"])
    hf.chat_template = CHAT
    return hf


@pytest.fixture(scope="session")
def tok():
    return build_tokenizer()


def _llama(tok, seed=0):
    from transformers import LlamaConfig, LlamaForCausalLM

    torch.manual_seed(seed)
    cfg = LlamaConfig(vocab_size=len(tok), hidden_size=64, intermediate_size=128, num_hidden_layers=2,
                      num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=256,
                      pad_token_id=tok.pad_token_id, bos_token_id=tok.bos_token_id, eos_token_id=tok.eos_token_id)
    return LlamaForCausalLM(cfg).eval()


@pytest.fixture(scope="session")
def ar_lm(tok):
    return sk.wrap_model(_llama(tok), tok, family="ar", name="tiny-random-llama")


@pytest.fixture(scope="session")
def bert_lm(tok):
    from transformers import BertConfig, BertForMaskedLM

    torch.manual_seed(1)
    m = BertForMaskedLM(BertConfig(vocab_size=len(tok), hidden_size=64, intermediate_size=128, num_hidden_layers=2,
                                   num_attention_heads=4, max_position_embeddings=256,
                                   pad_token_id=tok.pad_token_id)).eval()
    return sk.wrap_model(m, tok, family="diffusion", name="tiny-random-bert")


@pytest.fixture(scope="session")
def mbert_lm(tok):
    from transformers import ModernBertConfig, ModernBertForMaskedLM

    torch.manual_seed(2)
    cfg = ModernBertConfig(vocab_size=len(tok), hidden_size=64, intermediate_size=128, num_hidden_layers=2,
                           num_attention_heads=4, max_position_embeddings=256, global_attn_every_n_layers=1,
                           pad_token_id=tok.pad_token_id, bos_token_id=tok.bos_token_id,
                           eos_token_id=tok.eos_token_id, cls_token_id=tok.bos_token_id,
                           sep_token_id=tok.eos_token_id, attn_implementation="sdpa")
    m = ModernBertForMaskedLM(cfg).eval()
    return sk.wrap_model(m, tok, family="diffusion", name="tiny-random-modernbert")


def tiny_diffusiongemma(tok, canvas_length: int = 8):
    """A tiny random DiffusionGemma (transformers' own class; MoE text model, a one-layer vision tower)."""
    from transformers import DiffusionGemmaConfig, DiffusionGemmaForBlockDiffusion

    text = dict(vocab_size=len(tok), hidden_size=32, intermediate_size=64, num_hidden_layers=2, num_attention_heads=2,
                num_key_value_heads=1, head_dim=16, global_head_dim=16, max_position_embeddings=256, sliding_window=16,
                num_experts=4, top_k_experts=2, moe_intermediate_size=16, enable_moe_block=True,
                use_bidirectional_attention="vision", layer_types=["sliding_attention", "full_attention"],
                pad_token_id=tok.pad_token_id, bos_token_id=tok.bos_token_id, eos_token_id=tok.eos_token_id)
    vision = dict(model_type="gemma4_vision", hidden_size=16, intermediate_size=32, num_hidden_layers=1,
                  num_attention_heads=2, num_key_value_heads=2, head_dim=8, position_embedding_size=64, patch_size=4)
    cfg = DiffusionGemmaConfig(text_config=text, vision_config=vision, canvas_length=canvas_length,
                               image_token_id=len(tok) + 5, boi_token_id=len(tok) + 6, eoi_token_id=len(tok) + 7)
    torch.manual_seed(0)
    return DiffusionGemmaForBlockDiffusion(cfg).eval()


@pytest.fixture(scope="module")
def have_data():
    """Skip when the public sets (../shared/data/external or $SRI_KIT_DATA) cannot be read."""
    from sri_kit.data import DataNotFoundError
    from sri_kit.data.public_splits import PUBLIC_SETS, splits
    try:
        for name in PUBLIC_SETS:
            splits(name)
    except (DataNotFoundError, FileNotFoundError) as e:
        pytest.skip(f"public sets not available: {e}")
