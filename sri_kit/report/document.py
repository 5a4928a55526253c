"""The report being written: Markdown parts, saved figures, measured facts, and small formatters.

Example:
    >>> import pandas as pd
    >>> print(markdown_table(pd.DataFrame({"a": [1.0], "b": ["x"]})))
    | a | b |
    |---|---|
    | 1.00 | x |
    >>> format_ci(0.1, -0.05, 0.2)
    '+10 [-5, +20]'
"""
from __future__ import annotations

import time
import traceback
from pathlib import Path
from typing import Callable

import numpy as np
import pandas as pd

__all__ = ["markdown_table", "format_ci", "split_pool", "ReportDocument"]


def markdown_table(df: pd.DataFrame, floatfmt: str = ".2f") -> str:
    """A DataFrame as a GitHub Markdown table (no extra dependency)."""
    if df is None or not len(df):
        return "_(empty)_"
    d = df.copy()
    for c in d.columns:
        if pd.api.types.is_float_dtype(d[c]):
            d[c] = d[c].map(lambda v: "" if pd.isna(v) else format(v, floatfmt))
    cols = [str(c) for c in d.columns]
    lines = ["| " + " | ".join(cols) + " |", "|" + "---|" * len(cols)]
    for row in d.itertuples(index=False):
        lines.append("| " + " | ".join(str(v).replace("|", "\\|").replace("\n", " ") for v in row) + " |")
    return "\n".join(lines)


def format_ci(v, lo, hi, pct=True) -> str:
    """``v [lo, hi]``: signed percentage points (``pct``) or plain two-decimal numbers."""
    k = 100 if pct else 1
    return f"{v * k:+.0f} [{lo * k:+.0f}, {hi * k:+.0f}]" if pct else f"{v:.2f} [{lo:.2f}, {hi:.2f}]"


def split_pool(items: list[str], n_a: int, n_b: int, seed: int) -> tuple[list[str], list[str]]:
    """Two disjoint seeded samples of ``items`` (:func:`sri_kit.experiments.split_pool`)."""
    from ..experiments import split_pool as _split
    return _split(items, n_a, n_b, seed)


class ReportDocument:
    """Markdown parts in order, figures saved as ``<fig_dir>/<name>.png`` (linked as ``<rel>/<name>.png``)
    and ``facts``: the numbers sections measured, for the closing verdicts."""

    def __init__(self, fig_dir: Path, rel: str):
        self.parts: list[str] = []
        self.failed: list[str] = []          # sections that raised: "title (Error: message)"
        self.fig_dir, self.rel = fig_dir, rel
        self.facts: dict = {}

    def add(self, text: str) -> None:
        self.parts.append(text.rstrip() + "\n")

    def fig(self, fig, name: str, caption: str) -> None:
        self.fig_dir.mkdir(parents=True, exist_ok=True)
        fig.savefig(self.fig_dir / f"{name}.png", dpi=110)
        self.add(f"![{caption}]({self.rel}/{name}.png)\n\n_{caption}_\n")

    def section(self, title: str, fn: Callable[[], None]) -> None:
        """A ``## title`` heading, then ``fn()``; a failing section is reported in place, not raised."""
        self.add(f"## {title}\n")
        t0 = time.perf_counter()
        try:
            fn()
        except Exception as e:     # one failed section must not lose the others
            self.failed.append(f"{title} ({type(e).__name__}: {e})")
            self.add(f"**Not computed** ({type(e).__name__}: {e}).\n\n<details><summary>traceback</summary>\n\n"
                     f"```\n{traceback.format_exc(limit=4)}```\n</details>\n")
        self.add(f"<sub>section time {time.perf_counter() - t0:.1f} s</sub>\n")

    def text(self) -> str:
        return "\n".join(self.parts)
