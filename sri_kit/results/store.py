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

__all__ = ["ResultsStore", "DEFAULT_ROOT", "provenance", "machine_info", "code_hashes", "LEDGER_NAME", "PRODUCERS",
           "producing_code"]

#: The shipped store (package data ``sri_kit/_data/results``; in a checkout, the clone's own folder).
DEFAULT_ROOT = data_dir(RESULTS)


def _checkout() -> Path:
    """The top level of the git checkout the installed package lives in (git finds it from the package data
    folder), or the package data folder itself when the package is not inside a checkout (a wheel)."""
    try:
        top = subprocess.run(["git", "-C", str(data_dir()), "rev-parse", "--show-toplevel"], capture_output=True,
                             text=True, timeout=20).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        top = ""
    return Path(top) if top else data_dir()


#: The checkout the package lives in (table provenance and the code hashes are relative to it).
REPO = _checkout()

#: The ledger of tables produced before provenance checks (``<store root>/LEGACY_DIRTY.json``).
LEDGER_NAME = "LEGACY_DIRTY.json"

_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.+-]*$")


def _git(*args: str) -> str:
    return subprocess.run(["git", "-C", str(REPO), *args], capture_output=True, text=True, timeout=20).stdout.strip()


def code_hashes(paths) -> dict:
    """``{path: git object hash at HEAD}`` for files or folders relative to the repository root (a blob or
    tree hash; ``""`` for a path git does not track). Compared by ``results check`` to tell a table whose
    producing code or weights changed since it was computed."""
    out = {}
    for p in paths:
        try:
            r = subprocess.run(["git", "-C", str(REPO), "rev-parse", "--verify", "--quiet", f"HEAD:{p}"],
                               capture_output=True, text=True, timeout=20)
            out[p] = r.stdout.strip() if r.returncode == 0 else ""
        except (OSError, subprocess.SubprocessError):
            out[p] = ""
    return out


_CORE = ("sri_kit/config.py", "sri_kit/sampling", "sri_kit/models", "sri_kit/native", "sri_kit/judges.py",
         "sri_kit/attacks", "sri_kit/plugins.py", "sri_kit/data", "sri_kit/experiments", "sri_kit/stats.py",
         "sri_kit/results/schema.py")
#: The code that produces each kind of table (paths relative to the repository root); the weights of the
#: models it ran are added by :func:`producing_code`.
PRODUCERS = {
    "rates": _CORE + ("sri_kit/results/compute.py", "sri_kit/organism/wrappers.py", "sri_kit/organism/plugin.py"),
    "public": _CORE + ("sri_kit/results/compute.py", "sri_kit/results/public_sets.py", "sri_kit/organism/corpus"),
    "report": _CORE + ("sri_kit/report", "sri_kit/analysis", "sri_kit/sri.py", "sri_kit/hooks.py", "sri_kit/sweeps.py",
                       "sri_kit/organism/wrappers.py", "sri_kit/organism/plugin.py"),
    "attack_success": _CORE + ("sri_kit/results/compute.py", "sri_kit/results/attack_success.py"),
    "guard": _CORE + ("sri_kit/guard", "sri_kit/detectors", "sri_kit/sri.py", "sri_kit/hooks.py"),
    "guard_cross_source": _CORE + ("sri_kit/guard/cross_source.py", "sri_kit/detectors", "sri_kit/sri.py",
                                   "sri_kit/hooks.py", "sri_kit/cache.py", "sri_kit/organism/wrappers.py",
                                   "sri_kit/organism/plugin.py"),
    "organism": _CORE + ("sri_kit/results/organism_targets.py", "sri_kit/results/public_sets.py",
                         "sri_kit/results/compute.py", "sri_kit/organism/corpus", "sri_kit/analysis/irr.py",
                         "sri_kit/sri.py"),
    "fast_decoding": _CORE + ("sri_kit/results/fast_decoding.py",),
    # what training logs say (the model folders, added by producing_code, hold the logs): no generation involved
    "training": ("sri_kit/results/organism_targets.py", "sri_kit/results/schema.py"),
}


#: Files of a model folder that are not part of the model: its card (rendered from the store, so a table cannot
#: depend on it without every re-render making the model's tables stale).
NOT_MODEL_FILES = frozenset({"README.md"})


def producing_code(kind: str, models=()) -> list[str]:
    """:data:`PRODUCERS` ``[kind]`` plus the files of ``models``' folders that live in the repository (weights,
    config, tokenizer, training log; not the card: :data:`NOT_MODEL_FILES`)."""
    from ..models.presets import MODELS_DIR
    out = list(PRODUCERS[kind])
    for m in models:
        d = MODELS_DIR / str(m)
        if not d.is_dir() and Path(str(m)).is_dir():      # a model folder given by path (e.g. a candidate)
            d = Path(str(m))
        try:
            if d.is_dir():
                rel = d.resolve().relative_to(REPO).as_posix()
                out += [f"{rel}/{f.name}" for f in sorted(d.iterdir()) if f.is_file() and f.name not in NOT_MODEL_FILES]
        except ValueError:
            pass                       # weights outside the repository: their hash is the model fingerprint
    return out


def _not_code() -> tuple[str, ...]:
    """Pathspecs the dirty check leaves out: what the pipeline itself writes and no number is computed from. The
    store (a table's numbers never depend on another table's file, and writing one table must not make the next
    one of the same run ``+dirty``), the model cards, ``docs/`` (rendered blocks, figures and the GUARD docs
    that ``regenerate``'s jobs rewrite between one job and the next) and ``benchmarks/results/`` (the JSON a
    benchmark run writes before it stores its tables; a table imported from one is imported by the run that wrote it)."""
    try:
        store = DEFAULT_ROOT.resolve().relative_to(REPO.resolve()).as_posix()
    except ValueError:
        return ()
    return (f":(exclude){store}", ":(exclude,glob)**/_data/models/*/README.md", ":(exclude)docs",
            ":(exclude)benchmarks/results")


_NOT_CODE = _not_code()


def provenance(code: tuple | list = ()) -> dict:
    """``kit_version``, ``commit`` (short hash, ``+dirty`` when the tree has changes other than the store's tables
    and the model cards; empty outside git),
    ``dirty`` (bool; None outside git), ``date``, and ``code``: :func:`code_hashes` of ``code`` (the files
    and folders that produce the table, weights included)."""
    try:
        version = importlib.metadata.version("sri_kit")
    except importlib.metadata.PackageNotFoundError:
        version = "unknown"
    commit, is_dirty = "", None
    try:
        commit = _git("rev-parse", "--short", "HEAD")
        if commit:
            is_dirty = bool(_git("status", "--porcelain", "--untracked-files=no", "--", ".", *_NOT_CODE))
            if is_dirty:
                commit += "+dirty"
    except (OSError, subprocess.SubprocessError):
        pass
    return {"kit_version": version, "commit": commit, "dirty": is_dirty, "code": code_hashes(code) if commit else {},
            "date": _dt.datetime.now(_dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")}


def machine_info() -> dict:
    """What a timing ran on: CPU model, cores, torch threads, versions, CUDA device, load average at the start."""
    import os
    import platform

    import numpy as np
    import torch
    import transformers
    cpu = platform.processor() or ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    info = {"cpu": cpu, "cores": os.cpu_count(), "torch_threads": torch.get_num_threads(),
            "torch": torch.__version__, "transformers": transformers.__version__, "numpy": np.__version__,
            "python": platform.python_version(), "platform": platform.platform()}
    if torch.cuda.is_available():
        info["cuda_device"] = torch.cuda.get_device_name(0)
    try:
        info["loadavg_start"] = [round(x, 2) for x in os.getloadavg()]
    except OSError:
        pass
    return info


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
