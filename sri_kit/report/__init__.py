"""Regenerate the results report on the model organism: every table and figure of ``sri_kit.analysis``.

Run::

    python -m sri_kit.report [--quick] [--out out/report/RESULTS.md] [--seed 0]

docs/RESULTS.md itself is rendered from the results store (:mod:`sri_kit.results`): its rate tables from
``python -m sri_kit.results compute``, its trace-analysis tables from the store's ``analysis_*`` tables.

Writes the Markdown file and PNG figures under ``<out dir>/figures/``. Only this package saves files;
the analysis functions return frames and figures. ``build_report(ar_lm, dlm_lm, ...)`` runs the same on
any pair of loaded models (the tests use tiny random ones); sections that cannot be computed (e.g. no
harmful anchor was refused, so no centers) say so instead of failing.

One file per job: ``document`` (Markdown parts, figures, :func:`markdown_table`), ``context`` (prompt
splits, attacks, the generations every section reads), ``sections`` (one function per section),
``verdicts`` (the comparison with the paper), ``build`` (:func:`build_report`, :func:`main`).
"""
from __future__ import annotations

from .build import build_report, main
from .context import ATTACKS_FULL, ATTACKS_QUICK, ReportContext
from .document import ReportDocument, markdown_table

__all__ = ["build_report", "main", "markdown_table", "ATTACKS_FULL", "ATTACKS_QUICK", "ReportContext",
           "ReportDocument"]
