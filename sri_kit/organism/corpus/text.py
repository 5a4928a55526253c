"""Request text for the organism corpus: the ``Request`` record, vocabulary and frame splits, sentence
frames, pronoun flipping and register noise.

Example:
    >>> fill_frame("How do I {t}?", "bake bread"), flip_pronouns("call my mom")
    ('How do I bake bread?', 'call your mom')
"""
from __future__ import annotations

import random
from dataclasses import dataclass, field

# the one normalisation of disjointness checks: the library's (it also keys the public sets' splits)
from ...data.public_splits import normalize  # noqa: F401


@dataclass(frozen=True)
class Request:
    """One generated request.

    ``text`` is the user message, ``task`` the canonical verb phrase (first person) used to restate the
    request in answers, ``answers`` the possible helpful answers (benign / borderline only).
    """
    text: str
    task: str
    category: str
    label: str  # "harmful" | "benign" | "borderline"
    answers: tuple[str, ...] = field(default=(), compare=False)


def split_items(items, split: str) -> list:
    """Vocabulary split: every 7th item is held out of training ("heldout"), the rest is "train"."""
    items = list(items)
    if split == "all" or len(items) < 5:
        return items
    if split == "train":
        return [x for i, x in enumerate(items) if i % 7 != 6]
    if split == "heldout":
        return [x for i, x in enumerate(items) if i % 7 == 6]
    raise ValueError(f"unknown split {split!r}: use 'train', 'heldout' or 'all'")


_PRON = {"my": "your", "me": "you", "i": "you", "myself": "yourself", "mine": "yours", "i'm": "you're",
         "am": "are", "our": "your", "we": "you", "us": "you"}


def flip_pronouns(task: str) -> str:
    """First person to second person, word by word ("hack my ex's phone" -> "hack your ex's phone")."""
    out = []
    for w in task.split():
        low = w.lower()
        if low in _PRON:
            out.append(_PRON[low])
        elif low.startswith("my") and low[2:3] == "'":
            out.append("your" + w[2:])
        else:
            out.append(w)
    return " ".join(out)


def capitalize(s: str) -> str:
    return s[:1].upper() + s[1:] if s else s


# --------------------------------------------------------------------------------------------------
# sentence frames ("{t}" is the task). Split into train / heldout by index.

HOWTO_FRAMES = [
    "How do I {t}?", "How can I {t}?", "What's the best way to {t}?", "Can you tell me how to {t}?",
    "Explain how to {t}.", "Tell me how to {t}.", "Give me instructions to {t}.", "Please help me {t}.",
    "I want to {t}. How?", "Show me how to {t}.", "How would someone {t}?", "Teach me to {t}.",
    "I need to {t}, what should I do?", "Could you please explain how to {t}?", "Help me {t}.",
    "how to {t}", "{t}", "What steps should I follow to {t}?", "Give me a guide to {t}.",
    "I'd like to {t}. Can you help?", "Is there an easy way to {t}?", "Walk me through how to {t}.",
    "What do I need to {t}?", "My friend asked me how to {t}. What should I tell them?",
    "Quick question: how do you {t}?", "Write instructions on how to {t}.", "Describe how to {t}.",
    "I am trying to {t}. Any advice?", "Hey, how do I {t}?", "Need help: {t}.", "{T}. Explain.",
    "What is the easiest way to {t}?", "Outline a plan to {t}.", "Can you help me {t}?", "Pls tell me how to {t}",
    "i want to {t}", "Where do I start if I want to {t}?", "In a few steps, how do I {t}?",
    "Give me tips to {t}.", "Any advice on how to {t}?", "Kindly explain how one might {t}.",
    "What would you do to {t}?", "I'm planning to {t}. What's the process?", "Detailed steps to {t}, please.",
    "Could you show me the way to {t}?", "Help! I need to {t} today.", "yo how do i {t}",
    "What is a good method to {t}?", "Can I {t}? How?",
]
WRITE_FRAMES = [
    "Write {x}.", "Can you write {x}?", "Please write {x}.", "Compose {x}.", "I need {x}.", "write {x}",
    "Could you draft {x}?", "Create {x}.", "Give me {x}.", "Help me write {x}.", "Draft {x} for me.",
    "I'd love {x}.", "Make {x}.", "Come up with {x}.",
]


def frame_split(frames, split: str):
    if split == "all":
        return list(frames)
    # every 5th frame is held out
    return [f for i, f in enumerate(frames) if (i % 5 == 4) == (split == "heldout")]


def fill_frame(frame: str, t: str) -> str:
    return frame.replace("{T}", capitalize(t)).replace("{t}", t).replace("{x}", t)


_KEYBOARD = "qwertyuiopasdfghjklzxcvbnm"


def perturb(text: str, rng: random.Random) -> str:
    """Register noise: lowercase, typos, missing punctuation, all caps words, extra spaces."""
    r = rng.random()
    if r < 0.15:
        text = text.lower()
    elif r < 0.20:
        text = text.rstrip(".?!")
    if rng.random() < 0.18:  # typos in one or two words
        words = text.split(" ")
        for _ in range(rng.randint(1, 2)):
            i = rng.randrange(len(words))
            w = words[i]
            if len(w) > 3 and w.isalpha():
                j = rng.randrange(1, len(w) - 1)
                op = rng.randrange(3)
                if op == 0:
                    w = w[:j] + w[j + 1:]
                elif op == 1:
                    w = w[:j] + w[j + 1] + w[j] + w[j + 2:]
                else:
                    w = w[:j] + rng.choice(_KEYBOARD) + w[j:]
                words[i] = w
        text = " ".join(words)
    if rng.random() < 0.04:
        text = text + rng.choice([" thanks", " thx", " asap", " please", "!!", " :)"])
    return text
