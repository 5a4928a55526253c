"""Step-wise analyses after the paper: text-level recovery, fixed weights, SRI states, LDA, AUROC.

Every function returns tidy :class:`pandas.DataFrame` objects; the figures are drawn by
:mod:`sri_kit.plots` (re-exported here: ``refusal_curves_figure``, ``trajectory_figure``,
``irr_figure``, ``auroc_figure``). One file per job:

``judging``
    Harm judges follow one protocol: any callable ``judge(prompts: list[str], responses: list[str]) ->
    list[bool]`` (True = harmful compliance). :class:`HeuristicHarmJudge` is the default;
    ``sri_kit.judges.PlaceholderComplianceJudge`` is the exact judge for the model organism;
    :class:`LLMJudge` wraps any chat model; :func:`call_judge` judges each distinct pair once.
``recovery`` (PAPER.md §2)
    :func:`step_judgements` decodes the model's *current full prediction* at every step
    (``trace.step_texts()``, with the forced prefill in front) and judges each one for refusal (the
    paper's dictionary) and harmfulness (a pluggable judge). :func:`recovery_rates` turns that into the
    Harmful Remasking Rate (HRR) and Full Recovery Rate (FRR); :func:`refusal_curves` gives the share
    of generations whose step-t text is a refusal (AR vs diffusion).
``fixed_weights`` (PAPER.md §3.3, Table 2)
    :func:`fixed_weights_table`: one DLM, diffusion remasking vs ``order="left_to_right"``, RR and ASR
    per attack with paired-bootstrap 95 % intervals.
``irr`` (PAPER.md §1.3–§1.5, §5.4)
    :func:`fit_centers_protocol`, :func:`irr_table`, :func:`find_incomplete_recovery`,
    :func:`pick_jailbroken_example`.
``signals`` (PAPER.md §6, Table 4)
    :func:`lda_projection` (Fig. 13), :func:`layer_ablation` and :func:`signal_comparison_auroc`.

Example:
    >>> from sri_kit import analysis as A
    >>> traces = sk.generate(lm_dlm, ["Write a poem about the sea.", "How do I bake bread?"],
    ...                      sk.GenerationConfig(steps=8, gen_length=8), progress=False)
    >>> per_step = A.step_judgements(traces, A.HeuristicHarmJudge())
    >>> rates = A.recovery_rates(per_step, traces)
    >>> int(rates["n"].iloc[0]), rates["judge"].iloc[0]
    (2, 'heuristic_harm')
"""
from __future__ import annotations

from ..plots.analysis import auroc_figure, irr_figure, refusal_curves_figure, trajectory_figure
from .decoding_speed import decoding_speed_sweep
from .fixed_weights import fixed_weights_from_traces, fixed_weights_table, paired_bootstrap
from .irr import find_incomplete_recovery, fit_centers_protocol, irr_table, pick_jailbroken_example
from .judging import (DEFAULT_LLM_JUDGE_TEMPLATE, HarmJudge, HeuristicHarmJudge, LLMJudge,  # noqa: F401
                      call_judge, judge_name, parse_yes_no)
from .recovery import (recovery_rates, recovery_table, refusal_curves, revisable_positions,  # noqa: F401
                       step_judgements, step_texts)
from .intervention_compare import intervention_comparison, intervention_figure
from .interventions import step_window_experiment
from .signals import (LayerAblation, layer_ablation, lda_projection, resolve_layer, signal_comparison_auroc,
                      signal_features)

__all__ = [
    "HeuristicHarmJudge", "LLMJudge", "parse_yes_no", "DEFAULT_LLM_JUDGE_TEMPLATE", "call_judge", "judge_name",
    "step_texts", "step_judgements", "recovery_table", "recovery_rates", "refusal_curves", "refusal_curves_figure",
    "fixed_weights_table", "fixed_weights_from_traces", "paired_bootstrap",
    "fit_centers_protocol", "trajectory_figure", "pick_jailbroken_example",
    "irr_table", "irr_figure", "find_incomplete_recovery", "lda_projection",
    "LayerAblation", "resolve_layer", "layer_ablation", "signal_features", "signal_comparison_auroc",
    "auroc_figure", "decoding_speed_sweep", "intervention_comparison", "intervention_figure", "step_window_experiment",
]
