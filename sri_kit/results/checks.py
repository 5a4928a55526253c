"""``results check``: is every stored number traceable to committed code, and is every doc number a block?

Three checks, each a list of problems (an empty list passes):

- :func:`table_problems`: a table produced from a dirty tree (``+dirty``, or a table whose tree state is
  unknown) fails, unless the ledger ``<store>/LEGACY_DIRTY.json`` lists it with its commit (printed as a
  warning; the ledger can only shrink: tests/test_provenance.py). A table whose recorded code hashes
  (``Table.code``: producing modules and weights) differ from HEAD fails: its code changed since.
- :func:`lint_numbers`: a measured-looking number (``41 %``, ``0.93``, ``7.8e-5``, ``45.5 [39.8, 51.3]``, a time or
  a size such as ``95 s`` or ``587 MB``; not ``1e-5``: a setting)
  in README.md, docs/*.md, the model cards or notebook markdown, outside a results block, a code span or
  fence, fails. Allowed: the paper's numbers (the sentence before the number names the paper), and a
  paragraph or table right after a marker ``<!-- numbers: setting REASON -->`` (settings, recipes,
  definitions: not measurements), ``<!-- numbers: paper -->``, or ``<!-- numbers: generated SOURCE -->``
  (written by code from a machine-written file the marker names, e.g. a model card from its training log). A ``<!-- numbers: legacy REASON -->``
  marker lets measured numbers stand with a warning while they wait for the store; the set of legacy
  markers can only shrink (tests/test_provenance.py). A marker closed by ``<!-- /numbers -->`` covers
  everything up to the close (a region) instead of one paragraph.
- the block check of :func:`sri_kit.results.render.check_docs`.

>>> lint_text("We measured 41 % here.\\n", "x.md")[0].startswith("x.md:1: ")
True
>>> lint_text("The paper reports 81 % HRR.\\n<!-- numbers: setting lr -->\\nlr 0.001 and 5 % replay\\n", "x.md")
[]
"""
from __future__ import annotations

import json
import re
from pathlib import Path

from ..errors import CorruptFileError
from .schema import Table
from .store import LEDGER_NAME, REPO, ResultsStore, code_hashes

__all__ = ["NUMBER_RE", "MARKER_RE", "read_ledger", "table_problems", "lint_text", "lint_numbers", "lint_paths",
           "legacy_markers", "check_all"]

#: Measured-looking numbers: a percentage, a share 0.dd…, scientific notation, a value with a bracketed interval,
#: a duration or a size (``95 s``, ``12 min``, ``587 MB``: a timing or a memory reading).
NUMBER_RE = re.compile(r"(?<![\w.\-])\d+(?:\.\d+)? ?%|(?<![\w.])0\.\d{2,}\b|(?<![\w.])\d+\.\d+e-\d+\b"
                       r"|(?<![\w.])\d+\.\d+ \[\d"
                       r"|(?<![\w.\-])\d+(?:[.,]\d+)? ?(?:s|min|h|ms|µs|KB|MB|GB)\b")
#: ``<!-- numbers: KIND REASON -->``: the next paragraph or table holds settings / the paper's / legacy numbers.
MARKER_RE = re.compile(r"<!-- numbers: (setting|paper|generated|legacy)\b ?(.*?) -->")
_END = "<!-- /numbers -->"
_PAPER = re.compile(r"\bpaper('s)?\b|\bPAPER\.md\b", re.I)
_BLOCK = re.compile(r"<!-- results:.*?<!-- /results -->", re.S)
_FENCE = re.compile(r"```.*?```", re.S)
_CODE = re.compile(r"`[^`\n]*`")
_COMMENT = re.compile(r"<!--(?! numbers:| /numbers).*?-->", re.S)


def read_ledger(store: ResultsStore) -> dict:
    """``{"MODEL/TABLE": {"commit", "reason"}}`` from ``<store>/LEGACY_DIRTY.json`` (empty when absent)."""
    p = Path(store.root) / LEDGER_NAME
    if not p.exists():
        return {}
    try:
        d = json.loads(p.read_text(encoding="utf-8"))
    except json.JSONDecodeError as e:
        raise CorruptFileError(p, f"{p}: not valid JSON ({e})") from e
    tables = d.get("tables") if isinstance(d, dict) else None
    if not isinstance(tables, dict) or not all(isinstance(v, dict) and {"commit", "reason"} <= set(v)
                                               for v in tables.values()):
        raise CorruptFileError(p, f"{p}: expected {{'tables': {{'MODEL/TABLE': {{'commit', 'reason'}}}}}}")
    return tables


def _blank(m: re.Match) -> str:
    return re.sub(r"[^\n]", " ", m.group(0))


def table_problems(store: ResultsStore | None = None, *, head_hashes=code_hashes) -> tuple[list[str], list[str]]:
    """``(failures, warnings)`` over every table of ``store``: dirty or unknown trees, changed producing code."""
    store = store or ResultsStore()
    ledger = read_ledger(store)
    bad, warn = [], []
    seen = set()
    for model in store.models():
        for name in store.tables(model):
            ref = f"{model}/{name}"
            seen.add(ref)
            try:
                t: Table = store.read(model, name)
            except Exception as e:          # noqa: BLE001  (named, not raised: the check lists everything)
                bad.append(f"{ref}: unreadable ({type(e).__name__}: {e})")
                continue
            # a table from before the flag: "+dirty" in its commit says dirty; otherwise its state is unknown
            dirty = t.dirty if t.dirty is not None else (True if t.commit.endswith("+dirty") else None)
            entry = ledger.get(ref)
            if dirty is False and entry is not None:
                bad.append(f"{ref}: produced from a clean tree ({t.commit}) but still in {LEDGER_NAME}; remove the entry")
            if dirty is not False:
                why = "from a dirty tree" if dirty else "from an unknown tree state"
                if entry is not None and entry["commit"] == t.commit:
                    warn.append(f"{ref}: produced {why} ({t.commit or 'no commit'}); legacy: {entry['reason']}")
                else:
                    bad.append(f"{ref}: produced {why} ({t.commit or 'no commit'}, {t.date}); commit the code and "
                               f"recompute it with `{t.command or 'its command'}`")
                continue
            if t.code:
                now = head_hashes(list(t.code))
                changed = [p for p, h in t.code.items() if now.get(p) != h]
                if changed:
                    bad.append(f"{ref}: its producing code changed since {t.commit} ({', '.join(changed)}); "
                               f"recompute it with `{t.command}`")
    for ref in sorted(set(ledger) - seen):
        bad.append(f"{LEDGER_NAME}: lists {ref}, which is not in the store; remove the entry")
    return bad, warn


def _marked_lines(lines: list[str]) -> dict[int, tuple[str, str]]:
    """Line index -> (kind, reason) for the paragraph or table after each marker, or for every line up to
    ``<!-- /numbers -->`` when that closes the marker (a region)."""
    out = {}
    for i, ln in enumerate(lines):
        m = MARKER_RE.search(ln)
        if not m:
            continue
        end = next((j for j in range(i + 1, len(lines)) if MARKER_RE.search(lines[j]) or _END in lines[j]), None)
        if end is not None and _END in lines[end]:
            for j in range(i, end + 1):
                out[j] = (m.group(1), m.group(2))
            continue
        j = i + 1 if not ln.replace(m.group(0), "").strip() else i
        while j < len(lines) and not lines[j].strip() and j == i + 1:
            j += 1
        while j < len(lines) and lines[j].strip():
            out[j] = (m.group(1), m.group(2))
            j += 1
        if i not in out and ln.replace(m.group(0), "").strip():
            out[i] = (m.group(1), m.group(2))
    return out


def lint_text(text: str, where: str, warnings: list | None = None) -> list[str]:
    """Problems (``where:LINE: ...``) for measured-looking numbers outside blocks in a Markdown ``text``."""
    clean = _BLOCK.sub(_blank, text)
    clean = _FENCE.sub(_blank, clean)
    clean = _COMMENT.sub(_blank, clean)
    lines = clean.split("\n")
    marked = _marked_lines(lines)
    lines = [_CODE.sub(lambda m: " " * len(m.group(0)), MARKER_RE.sub(_blank, ln)) for ln in lines]
    bad, legacy = [], {}
    for i, ln in enumerate(lines):
        hits = []
        for m in NUMBER_RE.finditer(ln):
            sentence = re.split(r"(?<=[.;:])\s", ln[:m.start()])[-1]
            if _PAPER.search(sentence) or m.group(0).replace(" ", "") == "95%":
                continue                    # the paper's number; the confidence level of an interval
            hits.append(m.group(0))
        if not hits:
            continue
        kind = marked.get(i, (None, ""))[0]
        if kind in ("setting", "paper", "generated"):
            continue
        msg = f"{where}:{i + 1}: {', '.join(hits[:4])}{' …' if len(hits) > 4 else ''}"
        if kind == "legacy":
            legacy.setdefault(marked[i][1], []).append(i + 1)
            continue
        bad.append(msg + " — a measured number outside a results block (make it a block, or mark the paper's / "
                         "a setting with <!-- numbers: paper|setting REASON -->)")
    if warnings is not None:
        warnings += [f"{where}: {len(ls)} lines of hand-typed measured numbers (lines {ls[0]}–{ls[-1]}), legacy: {r}"
                     for r, ls in legacy.items()]
    return bad


def lint_paths(root: str | Path | None = None) -> list[Path]:
    """README.md, docs/*.md, the model cards and the notebooks: every place a reader meets numbers."""
    from .render import doc_paths
    root = Path(root) if root is not None else REPO
    return doc_paths(root) + sorted((root / "notebooks").glob("*.ipynb"))


def _rel(p: Path) -> str:
    try:
        return p.resolve().relative_to(REPO).as_posix()
    except ValueError:
        return str(p)


def _markdown_of(p: Path) -> list[tuple[str, str]]:
    if p.suffix != ".ipynb":
        return [(_rel(p), p.read_text(encoding="utf-8"))]
    nb = json.loads(p.read_text(encoding="utf-8"))
    return [(f"{_rel(p)} cell {i}", "".join(c["source"]) if isinstance(c["source"], list) else c["source"])
            for i, c in enumerate(nb.get("cells", [])) if c.get("cell_type") == "markdown"]


def lint_numbers(paths=None, warnings: list | None = None) -> list[str]:
    """:func:`lint_text` over documents and notebook markdown cells."""
    bad = []
    for p in map(Path, paths if paths is not None else lint_paths()):
        for where, text in _markdown_of(p):
            bad += lint_text(text, where, warnings)
    return bad


def legacy_markers(paths=None) -> dict[tuple[str, str], int]:
    """``{(file name, reason): count}`` of the legacy markers (tests/test_provenance.py keeps them from growing)."""
    out: dict = {}
    for p in map(Path, paths if paths is not None else lint_paths()):
        for _, text in _markdown_of(p):
            for m in MARKER_RE.finditer(text):
                if m.group(1) == "legacy":
                    out[(p.name, m.group(2))] = out.get((p.name, m.group(2)), 0) + 1
    return out


def check_all(store: ResultsStore | None = None, paths=None) -> tuple[list[str], list[str]]:
    """``(failures, warnings)``: tables, doc blocks and doc numbers (what ``results check`` prints)."""
    from .render import check_docs, doc_paths
    store = store or ResultsStore()
    bad, warn = table_problems(store)
    docs = [Path(p) for p in paths] if paths else doc_paths()
    bad += check_docs([p for p in docs if p.suffix == ".md"], store)
    bad += lint_numbers(paths if paths else lint_paths(), warn)
    return bad, warn
