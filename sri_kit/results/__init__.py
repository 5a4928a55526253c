"""One results store per model: every measured number in the docs and model cards, with its provenance.

Layout: ``sri_kit/_data/results/<model>/<table>.json`` (package data) (one JSON table per file, atomic writes; see
:mod:`~sri_kit.results.schema` for the fields: columns, rows, split, n, seed, configs, kit version and
commit, date, command, compute time). Rates are stored as counts with a 95 % interval clustered by request (docs/STATISTICS.md; legacy
cells: Wilson per generation).

Documents hold marked blocks that are generated from the store and nothing else::

    <!-- results:tiny-dlm/wrappers -->
    (generated: provenance line + Markdown table)
    <!-- /results -->

Commands (``python -m sri_kit.results``): ``compute --model tiny-dlm --mode report`` fills the store,
``render`` rewrites every block, ``check`` lists blocks that disagree with the store (the test command
runs it through ``tests/test_results_store.py``).

Other writers (the guard evaluation, the analysis report) build a :class:`Table` and ``ResultsStore().write``
it; a ``<!-- results:MODEL/NAME -->`` block then shows it.

>>> wilson(5, 10)[0] < 0.5 < wilson(5, 10)[1]
True
"""
from __future__ import annotations

from .render import BLOCK_RE, check_docs, doc_paths, render_block, render_docs, render_table, render_text
from .schema import SCHEMA, SPLITS, Column, Table, clustered_rate, format_cell, format_rate, rate, wilson
from .store import DEFAULT_ROOT, ResultsStore, provenance

__all__ = ["SCHEMA", "SPLITS", "Column", "Table", "rate", "clustered_rate", "wilson", "format_rate", "format_cell", "ResultsStore",
           "DEFAULT_ROOT", "provenance", "BLOCK_RE", "render_table", "render_block", "render_text", "render_docs",
           "check_docs", "doc_paths"]
