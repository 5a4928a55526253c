"""Detectors over SRI signals, text/model-based baseline defenses, and the evaluation protocol.

* :class:`SRIGuard` — the paper's benign-only autoencoder over σ vectors (PAPER.md §5).
* One-class alternatives with the same API and percentile threshold: :class:`IsolationForestDetector`,
  :class:`OneClassSVMDetector`, :class:`MahalanobisDetector`, :class:`KNNDetector`; and :class:`SupervisedUpperBound`
  (``benign_only = False``: trained on labelled attacks, a reference only).
* Baselines over prompts/responses (``baselines`` gathers them): :class:`PerplexityFilter` (``perplexity``),
  :class:`SelfExamine` and :class:`KeywordRefusalJudge` (``self_examine``), :class:`GuardClassifier`
  (``guard_models``); shared input checks and verdict parsers in ``common``.
* :func:`default_detector` (``default``): the unfitted detector the kit recommends for a model, chosen by
  ``sri-kit guard evaluate`` on a development split and confirmed on a cross-source test split.
* Evaluation: :func:`detection_metrics`, :func:`detection_table`, :func:`blocking_table`, :func:`defense_summary`,
  :func:`measure_overhead`, :func:`roc_figure`, :func:`overhead_figure` (drawn by ``sri_kit.plots.detectors``);
  :func:`lda_summary` (shrinkage LDA of σ by class, with a degeneracy check).

>>> from sri_kit.detectors import SRIGuard
>>> SRIGuard().percentile
99.0
"""

from . import baselines  # noqa: F401  (the baselines' gathering module stays an attribute)
from .evaluate import (
    OverheadResult,
    blocking_table,
    defense_summary,
    detection_metrics,
    detection_table,
    measure_overhead,
    overhead_figure,
    roc_figure,
)
from .one_class import (
    IsolationForestDetector,
    KNNDetector,
    MahalanobisDetector,
    OneClassSVMDetector,
    PercentileNoveltyDetector,
    SupervisedUpperBound,
)
from .default import default_detector
from .guard_models import GuardClassifier
from .lda import lda_summary
from .perplexity import PerplexityFilter
from .self_examine import KeywordRefusalJudge, SelfExamine
from .sri_guard import SRIGuard

__all__ = [
    "SRIGuard",
    "default_detector",
    "PercentileNoveltyDetector",
    "IsolationForestDetector",
    "OneClassSVMDetector",
    "MahalanobisDetector",
    "KNNDetector",
    "SupervisedUpperBound",
    "PerplexityFilter",
    "SelfExamine",
    "KeywordRefusalJudge",
    "GuardClassifier",
    "detection_metrics",
    "detection_table",
    "blocking_table",
    "defense_summary",
    "measure_overhead",
    "OverheadResult",
    "roc_figure",
    "overhead_figure",
    "lda_summary",
]
