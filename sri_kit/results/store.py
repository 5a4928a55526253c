"""The results store on disk: ``<root>/<model>/<table>.json``, one JSON file per table, written atomically.

One folder per model keeps writers independent (the rate tables, the guard evaluation and the analysis
report each write their own files). Nothing but JSON is read or written.

Example:
    >>> import tempfile
    >>> from sri_kit.results import Column, ResultsStore, Table, rate
    >>> st = ResultsStore(tempfile.mkdtemp())
    >>> t = Table(model="tiny-x", name="demo", title="Demo", split="n/a", n=4, seed=0, mode="quick",
    ...           columns=[Column("set", "set"), Column("refused", "refused", "rate")],
    ...           rows=[{"set": "plain/harmful", "refused": rate(3, 4)}])
    >>> _ = st.write(t)
    >>> st.read("tiny-x", "demo").rows[0]["refused"]["k"], st.tables("tiny-x")
    (3, ['demo'])
"""
from __future__ import annotations

import datetime as _dt
import importlib.metadata
import json
import re
import subprocess
from pathlib import Path

from ..errors import CorruptFileError, UnknownNameError
from ..io import atomic_write_text
from ..resources import RESULTS, data_dir
from .schema import Table

__all__ = ["ResultsStore", "DEFAULT_ROOT", "provenance"]

#: The shipped store (package data ``sri_kit/_data/results``; in a checkout, the clone's own folder).
DEFAULT_ROOT = data_dir(RESULTS)

_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.+-]*$")


def provenance() -> dict:
    """``kit_version``, ``commit`` (short hash, ``+dirty`` when the tree has changes; empty when the installed
    package is not inside a git checkout), ``date``."""
    try:
        version = importlib.metadata.version("sri_kit")
    except importlib.metadata.PackageNotFoundError:
        version = "unknown"
    commit = ""
    here = str(data_dir())                 # git finds the checkout the package lives in, if any
    try:
        commit = subprocess.run(["git", "-C", here, "rev-parse", "--short", "HEAD"], capture_output=True,
                                text=True, timeout=10).stdout.strip()
        dirty = subprocess.run(["git", "-C", here, "status", "--porcelain", "--untracked-files=no"],
                               capture_output=True, text=True, timeout=10).stdout.strip()
        if commit and dirty:
            commit += "+dirty"
    except (OSError, subprocess.SubprocessError):
        pass
    return {"kit_version": version, "commit": commit,
            "date": _dt.datetime.now(_dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")}


class ResultsStore:
    """Read and write tables under ``root`` (default: :data:`DEFAULT_ROOT`, the shipped store)."""

    def __init__(self, root: str | Path | None = None):
        self.root = Path(root) if root is not None else DEFAULT_ROOT

    def path(self, model: str, name: str) -> Path:
        for what, v in (("model", model), ("table", name)):
            if not isinstance(v, str) or not _NAME.match(v):
                raise UnknownNameError(f"{what} name {v!r} is not a plain file name (letters, digits, _ . + -)")
        return self.root / model / f"{name}.json"

    def write(self, table: Table) -> Path:
        """Write ``table`` atomically to ``<root>/<model>/<name>.json`` (sorted keys, one stable text)."""
        p = self.path(table.model, table.name)
        return atomic_write_text(p, json.dumps(table.to_dict(), indent=1, sort_keys=True, ensure_ascii=False) + "\n")

    def exists(self, model: str, name: str) -> bool:
        return self.path(model, name).exists()

    def read(self, model: str, name: str) -> Table:
        p = self.path(model, name)
        if not p.exists():
            have = ", ".join(self.tables(model)) or "none"
            raise UnknownNameError(f"no table {model}/{name} in {self.root} (tables of {model}: {have}); compute it "
                                   f"with `python -m sri_kit.results compute --model {model}`")
        try:
            d = json.loads(p.read_text(encoding="utf-8"))
        except (json.JSONDecodeError, UnicodeDecodeError) as e:
            raise CorruptFileError(p, f"{p}: not valid JSON ({e}); recompute it") from e
        t = Table.from_dict(d, str(p))
        if (t.model, t.name) != (model, name):
            raise CorruptFileError(p, f"{p} holds table {t.model}/{t.name}, not {model}/{name}")
        return t

    def models(self) -> list[str]:
        return sorted(p.name for p in self.root.iterdir() if p.is_dir()) if self.root.exists() else []

    def tables(self, model: str) -> list[str]:
        d = self.root / model
        return sorted(p.stem for p in d.glob("*.json")) if d.exists() else []
