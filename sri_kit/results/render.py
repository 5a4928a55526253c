"""Generated blocks: a store table rendered as Markdown between markers, and the docs check.

A block is ``<!-- results:MODEL/TABLE [options] -->`` … ``<!-- /results -->``. Options (space separated):
``where=COL:VALUE`` (keep rows whose column equals VALUE; repeatable), ``columns=a,b,c`` (these columns,
in this order). The block's content is exactly :func:`render_block` of the stored table, so regenerating
changes only what is inside blocks and a hand edit inside a block is caught by :func:`check_docs`.

>>> import tempfile
>>> from sri_kit.results import Column, ResultsStore, Table, rate
>>> st = ResultsStore(tempfile.mkdtemp())
>>> _ = st.write(Table(model="m", name="t", title="T", split="heldout", n=4, seed=0, mode="quick",
...                    columns=[Column("a", "attack"), Column("r", "refused", "rate")],
...                    rows=[{"a": "wrapper/roleplay", "r": rate(1, 4)}], command="cmd"))
>>> doc = "Prose.\\n<!-- results:m/t -->\\nold\\n<!-- /results -->\\nMore prose.\\n"
>>> new = render_text(doc, st)
>>> "| wrapper/roleplay | 25 % [5, 70] |" in new and new.startswith("Prose.") and new.endswith("More prose.\\n")
True
>>> check_text(new, st), len(check_text(new.replace("25 %", "26 %"), st))
([], 1)
"""
from __future__ import annotations

import difflib
import re
from pathlib import Path

from ..errors import ConfigError
from ..io import atomic_write_text
from ..resources import DATA, MODELS, RESULTS
from .schema import LEGACY_RATE_METHOD, SPLITS, Table, format_cell, interval_methods
from .store import ResultsStore

__all__ = ["BLOCK_RE", "render_table", "render_block", "render_text", "check_text", "render_docs", "check_docs",
           "doc_paths"]

BLOCK_RE = re.compile(r"(<!-- results:(?P<model>[^/\s]+)/(?P<name>[^\s]+)(?P<opts>(?: [^\s]+)*) -->\n)"
                      r"(?P<body>.*?)(?P<end><!-- /results -->)", re.S)


def _filtered(t: Table, opts: str) -> tuple[list, list]:
    cols, rows = list(t.columns), list(t.rows)
    for o in opts.split():
        k, _, v = o.partition("=")
        if k == "where":
            c, _, val = v.partition(":")
            if c not in {x.key for x in t.columns}:
                raise ConfigError(f"block option {o!r}: table {t.model}/{t.name} has no column {c!r}")
            rows = [r for r in rows if str(r[c]) == val]
        elif k == "columns":
            keys = v.split(",")
            by = {c.key: c for c in t.columns}
            unknown = [k2 for k2 in keys if k2 not in by]
            if unknown:
                raise ConfigError(f"block option {o!r}: no columns {unknown} in {t.model}/{t.name} "
                                  f"(have {sorted(by)})")
            cols = [by[k2] for k2 in keys]
        else:
            raise ConfigError(f"unknown block option {o!r}: use where=COL:VALUE or columns=a,b")
    return cols, rows


def render_table(t: Table, opts: str = "") -> str:
    """The Markdown table of ``t`` (after the block options)."""
    cols, rows = _filtered(t, opts)
    if not rows:
        return "_(no rows measured yet)_\n"
    lines = ["| " + " | ".join(c.label for c in cols) + " |", "|" + "---|" * len(cols)]
    lines += ["| " + " | ".join(format_cell(c, r[c.key]) for c in cols) + " |" for r in rows]
    return "\n".join(lines) + "\n"


def _interval_note(t: Table) -> str:
    """How the table's intervals were made (legacy tables keep their original wording)."""
    methods = interval_methods(t)
    if not methods or methods <= {LEGACY_RATE_METHOD, "paired-bootstrap-by-prompt"}:
        return "Rates: % [Wilson 95 % CI]."
    return ("Rates: % [95 % CI clustered by request: " + ", ".join(sorted(methods))
            + "; see docs/STATISTICS.md].")


def store_label(store: ResultsStore | None) -> str:
    """How a block names its store: a store inside the working directory (render from the checkout's root) other
    than the package's by its relative path, e.g. ``data/candidates/organism-v3/results``; the package's store, and
    a store outside the working directory (a copy of the package's, as in the tests), as
    ``sri_kit/_data/results``."""
    shipped = f"sri_kit/{DATA}/{RESULTS}"
    if store is None:
        return shipped
    from .store import DEFAULT_ROOT
    root = Path(store.root).resolve()
    if root == Path(DEFAULT_ROOT).resolve():
        return shipped
    try:
        return root.relative_to(Path.cwd().resolve()).as_posix()
    except ValueError:
        return shipped


def render_block(t: Table, opts: str = "", store: str | None = None) -> str:
    """Provenance line, the table, its notes: the full content of a generated block. ``store``: the store's name
    in the provenance line (:func:`store_label`; default the package's store)."""
    cfg = "; ".join(f"{s} `{c['key']}`" for s, c in t.configs.items())
    head = (f"_Generated from the results store `{store or store_label(None)}/{t.model}/{t.name}.json` "
            f"({t.title}; model `{t.model}`; {t.mode} mode; n = {t.row_n() + ' per row' if isinstance(t.n, int) else 'per row (the n column)'}; seed {t.seed}; "
            f"wrapper phrasings: {SPLITS[t.split]}"
            + (f"; configs: {cfg}" if cfg else "")
            + f"; kit {t.kit_version} @ {t.commit or '?'}; {t.date}"
            + (f"; {t.compute_seconds:.0f} s of generation" if t.compute_seconds else "")
            + (f"; made by `{t.command}`" if t.command else "") + "). "
            + _interval_note(t) + "_\n\n")
    tail = ""
    if t.notes:
        tail += f"\n{t.notes}\n"
    if not t.complete:
        tail += f"\n**Incomplete**: {len(t.pending)} cells not computed yet ({', '.join(t.pending[:6])}"
        tail += ", …)\n" if len(t.pending) > 6 else ")\n"
    return head + render_table(t, opts) + tail


def _blocks(text: str):
    return list(BLOCK_RE.finditer(text))


def render_text(text: str, store: ResultsStore) -> str:
    """``text`` with every block's content regenerated from ``store`` (nothing outside blocks changes)."""
    label = store_label(store)

    def sub(m):
        t = store.read(m.group("model"), m.group("name"))
        return m.group(1) + render_block(t, m.group("opts").strip(), label) + m.group("end")
    return BLOCK_RE.sub(sub, text)


def check_text(text: str, store: ResultsStore, where: str = "") -> list[str]:
    """One message (with a diff) per block whose content differs from what the store renders."""
    bad, label = [], store_label(store)
    for m in _blocks(text):
        ref = f"{m.group('model')}/{m.group('name')}"
        try:
            want = render_block(store.read(m.group("model"), m.group("name")), m.group("opts").strip(), label)
        except Exception as e:     # noqa: BLE001  (a missing or damaged table is a failed check, named)
            bad.append(f"{where}: block {ref}: {type(e).__name__}: {e}")
            continue
        if m.group("body") != want:
            diff = "\n".join(difflib.unified_diff(want.splitlines(), m.group("body").splitlines(), "store", "doc",
                                                  lineterm="", n=0))
            bad.append(f"{where}: block {ref} disagrees with the store (run `python -m sri_kit.results render`):\n"
                       f"{diff}")
    if text.count("<!-- results:") != len(_blocks(text)):
        bad.append(f"{where}: a `<!-- results:... -->` marker without its `<!-- /results -->` end (or malformed)")
    return bad


def doc_paths(root: str | Path | None = None) -> list[Path]:
    """Every document that may show numbers: ``docs/*.md`` and ``README.md`` under ``root`` (default: the
    working directory, i.e. run it from a checkout's root) and the model cards ``sri_kit/_data/models/*/README.md``
    under ``root`` (with no ``root`` and no checkout there: the installed package's cards)."""
    base = Path(root) if root is not None else Path.cwd()
    cards = base / "sri_kit" / DATA / MODELS
    if root is None and not cards.is_dir():
        from ..models import MODELS_DIR
        cards = MODELS_DIR
    out = sorted((base / "docs").glob("*.md")) + sorted(cards.glob("*/README.md"))
    if (base / "README.md").exists():
        out.append(base / "README.md")
    return out


def render_docs(paths, store: ResultsStore) -> list[Path]:
    """Regenerate the blocks of each document that has any; returns the files rewritten."""
    done = []
    for p in map(Path, paths):
        text = p.read_text(encoding="utf-8")
        if not _blocks(text):
            continue
        new = render_text(text, store)
        if new != text:
            atomic_write_text(p, new)
            done.append(p)
    return done


def check_docs(paths, store: ResultsStore) -> list[str]:
    """Every disagreement between the documents' blocks and the store (empty: all consistent)."""
    bad = []
    for p in map(Path, paths):
        bad += check_text(p.read_text(encoding="utf-8"), store, str(p))
    return bad
