"""Byte-level BPE tokenizer for the model organism, with chat template and a mask token, and the prompt
encoding used in training.

Example:
    >>> from sri_kit.organism.tokenizer import train_tokenizer
    >>> tok = train_tokenizer(["hello world"] * 10, vocab_size=300)
    >>> tok.decode(tok("hello world")["input_ids"])
    'hello world'
    >>> tok.decode(encode_prompt(tok, "hello"))
    '<|bos|><|user|>hello<|end|><|assistant|>'
"""
from __future__ import annotations

from typing import Iterable

from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
from transformers import PreTrainedTokenizerFast

MAX_PROMPT = 160     # prompt tokens kept (chat template included; the left end is cut)

SPECIAL_TOKENS = ["<|pad|>", "<|bos|>", "<|system|>", "<|user|>", "<|assistant|>", "<|end|>", "<|mask|>"]

CHAT_TEMPLATE = (
    "{{ bos_token }}"
    "{% for message in messages %}"
    "{% if message['role'] == 'system' %}<|system|>{{ message['content'] }}<|end|>"
    "{% elif message['role'] == 'user' %}<|user|>{{ message['content'] }}<|end|>"
    "{% elif message['role'] == 'assistant' %}<|assistant|>{{ message['content'] }}<|end|>"
    "{% endif %}"
    "{% endfor %}"
    "{% if add_generation_prompt %}<|assistant|>{% endif %}"
)


def train_tokenizer(texts: Iterable[str], vocab_size: int = 6000):
    """Train a byte-level BPE on ``texts`` and wrap it as a ``PreTrainedTokenizerFast``.

    Any text tokenizes (byte fallback via the byte-level alphabet); ``<|end|>`` is the eos token.
    """
    tk = Tokenizer(models.BPE())
    tk.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tk.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=vocab_size, min_frequency=2, special_tokens=SPECIAL_TOKENS,
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet(), show_progress=False)
    tk.train_from_iterator(list(texts), trainer=trainer)
    tok = PreTrainedTokenizerFast(
        tokenizer_object=tk, pad_token="<|pad|>", bos_token="<|bos|>", eos_token="<|end|>",
        mask_token="<|mask|>", unk_token=None, clean_up_tokenization_spaces=False,
        additional_special_tokens=["<|system|>", "<|user|>", "<|assistant|>"],
    )
    tok.chat_template = CHAT_TEMPLATE
    tok.padding_side = "left"
    tok.model_max_length = 512
    return tok


def encode_prompt(tok, prompt: str) -> list[int]:
    """Token ids of one user turn plus the generation prompt (chat template), the last ``MAX_PROMPT`` kept."""
    ids = tok.apply_chat_template([{"role": "user", "content": prompt}], add_generation_prompt=True, tokenize=True)
    if isinstance(ids, dict) or hasattr(ids, "keys"):
        ids = ids["input_ids"]
    return list(ids)[-MAX_PROMPT:]
