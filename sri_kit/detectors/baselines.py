"""Text- and model-based baseline defenses the paper compares SRI Guard with (PAPER.md §5.2).

Every baseline exposes ``scores(prompts, responses=None) -> ndarray[float]`` (higher = more
suspicious) and ``flag(prompts, responses=None) -> ndarray[bool]`` (True = blocked):

* :class:`PerplexityFilter` (``perplexity.py``) — prompt perplexity under a causal model, whole
  prompt or the max over windows (after neelsjain/baseline-defenses); threshold = percentile of
  benign prompts' scores.
* :class:`SelfExamine` (``self_examine.py``) — the model is asked whether its own response is
  harmful; "yes" = flag.
* :class:`KeywordRefusalJudge` (``self_examine.py``) — the paper's keyword refusal judge on the
  response (flag = refusal); the undefended reference rather than a defense.
* :class:`GuardClassifier` (``guard_models.py``) — adapter for HF guard models: chat guards that
  answer "safe"/"unsafe" (LlamaGuard style) or sequence classifiers.

Input checks and the verdict parsers live in ``common.py``. Models come as a core ``LoadedModel``
(``sri_kit.load_model``, or ``sri_kit.wrap_model`` for any HF model); every generation runs through
:mod:`sri_kit.sampling`. This module gathers the baselines under one import path.

Example
-------
>>> from sri_kit.detectors.baselines import parse_yes_no, parse_safe_unsafe
>>> parse_yes_no("Yes, this is harmful."), parse_safe_unsafe("\\n\\nunsafe\\nS2")
(True, True)
"""
from __future__ import annotations

from .common import parse_safe_unsafe, parse_yes_no
from .guard_models import GuardClassifier
from .perplexity import PerplexityFilter
from .self_examine import KeywordRefusalJudge, SelfExamine

__all__ = [
    "PerplexityFilter",
    "SelfExamine",
    "KeywordRefusalJudge",
    "GuardClassifier",
    "parse_yes_no",
    "parse_safe_unsafe",
]
