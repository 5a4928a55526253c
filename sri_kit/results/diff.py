"""Which rendered numbers of the store changed between a git revision and now (``sri-kit results diff --rev REV``).

Each table is read at ``REV`` (``git show``) and from the store folder; every cell is rendered as the docs render
it (:func:`sri_kit.results.schema.format_cell`), so the listing is exactly what changed on the page: one line per
changed cell (table, row, column, before → after), a line per table that appeared, vanished or changed its
columns or rows. Rows are matched by their leading word cells (their label: as few as tell the rows apart); the commit each version was made
from is printed beside the table, so a reviewer sees which tree made the new number.
"""
from __future__ import annotations

import json
import re
import subprocess

from .schema import Table, format_cell
from .store import REPO, ResultsStore

__all__ = ["table_at", "diff_tables", "diff_store"]


def table_at(rev: str, store: ResultsStore, model: str, name: str) -> Table | None:
    """The table ``model/name`` as committed at ``rev`` (None when it did not exist there)."""
    try:
        rel = store.path(model, name).resolve().relative_to(REPO.resolve()).as_posix()
    except ValueError:
        return None
    r = subprocess.run(["git", "-C", str(REPO), "show", f"{rev}:{rel}"], capture_output=True, text=True, timeout=30)
    if r.returncode != 0:
        return None
    return Table.from_dict(json.loads(r.stdout), f"{rev}:{rel}")


_NUMERIC = re.compile(r"^[\d\s.,%×+\-−\[\]()e]+$")


def _words(t: Table, row: dict) -> list[str]:
    """A row's text cells that are words, not numbers typed as text (an older table may hold its numbers as text)."""
    vals = [str(row.get(c.key)) for c in t.columns if c.kind == "text" and row.get(c.key) not in (None, "")]
    return [v for v in vals if not _NUMERIC.match(v)]


def _labels(*tables: Table) -> list[dict]:
    """Each table's rows keyed by a label: the fewest leading word cells (at least two) that tell every row of
    every table apart (e.g. set / kind, then the sampler when one set is measured under two samplers); a row
    without words is ``row N``."""
    words = [[_words(t, r) for r in t.rows] for t in tables]
    most = max((len(w) for ws in words for w in ws), default=0)
    for k in range(min(2, most), most + 1):
        labs = [[" / ".join(w[:k]) or f"row {i + 1}" for i, w in enumerate(ws)] for ws in words]
        if all(len(set(ls)) == len(ls) for ls in labs):
            break
    return [dict(zip(ls, t.rows)) for ls, t in zip(labs, tables)] if most else \
        [{f"row {i + 1}": r for i, r in enumerate(t.rows)} for t in tables]


def diff_tables(old: Table | None, new: Table | None) -> list[str]:
    """Lines describing what a reader sees change from ``old`` to ``new`` (empty: nothing)."""
    if old is None and new is None:
        return []
    if old is None:
        return [f"new table ({len(new.rows)} rows, commit {new.commit})"]
    if new is None:
        return ["table removed"]
    out = []
    oc, nc = {c.key: c for c in old.columns}, {c.key: c for c in new.columns}
    if list(oc) != list(nc):
        out.append(f"columns {[c.label for c in old.columns]} -> {[c.label for c in new.columns]}")
    orow, nrow = _labels(old, new)
    for lab in orow.keys() - nrow.keys():
        out.append(f"row removed: {lab}")
    for lab in [k for k in nrow if k not in orow]:
        out.append(f"row added: {lab}")
    for lab in [k for k in nrow if k in orow]:
        for key, col in nc.items():
            if key not in oc:
                continue
            a, b = format_cell(oc[key], orow[lab].get(key)), format_cell(col, nrow[lab].get(key))
            if a != b:
                out.append(f"{lab} | {col.label}: {a} -> {b}")
    return out


def diff_store(rev: str, store: ResultsStore | None = None, only: list[str] | None = None) -> dict[str, list[str]]:
    """``{"model/name (old commit -> new commit)": lines}`` for every table of the store (or those in ``only``,
    ``model/name``) whose rendered cells changed since ``rev``."""
    store = store or ResultsStore()
    out = {}
    for m in store.models():
        for n in store.tables(m):
            if only and f"{m}/{n}" not in only:
                continue
            old, new = table_at(rev, store, m, n), store.read(m, n)
            lines = diff_tables(old, new)
            if lines:
                out[f"{m}/{n} ({old.commit if old else '-'} -> {new.commit})"] = lines
    return out
