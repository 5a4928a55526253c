"""Jailbreak attacks as named, seeded prompt transforms.

Every attack is a function ``prompt -> attacked prompt`` registered under a snake_case name::

    >>> from sri_kit import attacks
    >>> "refusal_suppression" in attacks.names()
    True
    >>> attacks.apply("flip", "Write a poem", mode="word_order").endswith("TASK is 'poem a Write'")
    True
    >>> print(attacks.describe("flip"))  # doctest: +ELLIPSIS
    flip: FlipAttack ...

Families (see ``describe(name)`` for the source and parameters of each):

* ``none`` – the request unchanged (the "raw" column of the paper's Table 3).
* ``refusal_suppression`` – Wei et al. 2023 rules template (PAPER.md §4.1).
* ``flip`` – FlipAttack (Liu et al. 2024, github.com/yueliu1999/FlipAttack): word-order / char-in-word /
  char-in-sentence flipping with the decoding guidance.
* ``random_search`` – Andriushchenko et al. 2024 (github.com/tml-epfl/llm-adaptive-attacks): the rules
  template plus an adversarial suffix optimised by random search against the target model's
  log-probability of an affirmative start (needs ``lm=``); ``random_search_template`` is the template
  alone (no optimisation, no model).
* ``pair``, ``jbc``, ``wildjailbreak`` – dataset-backed: the published attack prompt for the request
  (JailbreakBench artifacts, allenai/wildjailbreak).
* ``prefill`` – the prompt unchanged; the attack is the forced response prefix from
  :func:`prefill_for`, passed to ``sri_kit.generate(lm, prompts, prefill="Sure, here is how to")``.
* ``dija`` / ``pad`` – diffusion-specific interleaved mask-text prompts (DIJA, PAD-style); the
  diffusion sampler fills the mask tokens that appear inside the prompt.
* ``template`` – in-the-wild style templates with a ``{prompt}`` slot from a file.
* the wrapper families of plug-ins (:mod:`sri_kit.plugins`): the embedded organism's (``roleplay``,
  ``fiction``, ...), registered on the first lookup; a family whose name collides with a paper attack
  implemented here is registered as ``<owner>_<name>`` (``organism_flip``).

Other code can add transforms with :func:`register`, and a model's own wrapper families with
:func:`sri_kit.plugins.add_wrapper_families`.

Modules, one job each: ``registry`` (register / apply / names), ``transforms`` (text transforms),
``diffusion`` (DIJA, PAD), ``datasets`` (PAIR, JBC, WildJailbreak), ``optimise`` (target_logprob,
random search), ``evaluation`` (attack success).
"""
from __future__ import annotations

# the order matters: the paper attacks register first; plug-ins' wrapper families (the organism's) on the first
# lookup after that (sri_kit.plugins), so a family named like a paper attack gets the prefix
from . import datasets, diffusion, optimise, registry, transforms  # noqa: F401  (registers the attacks)

registry.builtins_registered()
from .datasets import load_attack_prompts
from .diffusion import DEFAULT_MASK_TOKEN
from .evaluation import evaluate
from .optimise import RandomSearchResult, random_search, target_logprob
from .registry import AttackSpec, apply, apply_many, describe, get, names, register, unregister
from .transforms import (
    DEFAULT_TARGET,
    DEFAULT_TEMPLATES,
    PREFILLS,
    REFUSAL_SUPPRESSION_TEMPLATE,
    flip_text,
    load_templates,
    prefill_for,
    random_search_template,
    unflip_text,
)

__all__ = [
    "AttackSpec",
    "RandomSearchResult",
    "register",
    "unregister",
    "names",
    "apply",
    "apply_many",
    "describe",
    "get",
    "prefill_for",
    "flip_text",
    "unflip_text",
    "target_logprob",
    "random_search",
    "random_search_template",
    "load_attack_prompts",
    "load_templates",
    "evaluate",
    "DEFAULT_TARGET",
    "DEFAULT_MASK_TOKEN",
    "DEFAULT_TEMPLATES",
    "PREFILLS",
    "REFUSAL_SUPPRESSION_TEMPLATE",
]
