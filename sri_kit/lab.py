"""``sri-kit lab [DIR] [--force] [--no-browser]``: the notebooks in a working folder of yours, opened in JupyterLab.

The ordered notebooks ship inside the package (``sri_kit/_data/notebooks``, :mod:`sri_kit.resources`). ``sri-kit
lab`` copies them into ``DIR`` (default ``./sri_kit_notebooks``), then starts JupyterLab there on the first one.
Your copies are yours: a copy you changed (edited, or run and saved) is never replaced unless you pass
``--force``. A copy you did not change is brought up to date when the installed kit ships a newer version
(``DIR/.sri_kit_lab.json`` remembers what was copied).

Example (the copy step alone; it is a pure function of the two folders):

    >>> import tempfile, pathlib
    >>> d = pathlib.Path(tempfile.mkdtemp()) / "nb"
    >>> r = copy_notebooks(d)
    >>> r.copied[0], r.kept
    ('00_quickstart.ipynb', [])
    >>> _ = (d / "00_quickstart.ipynb").write_text("{}")          # the user edits a copy
    >>> copy_notebooks(d).kept, copy_notebooks(d, force=True).replaced
    (['00_quickstart.ipynb'], ['00_quickstart.ipynb'])
"""
from __future__ import annotations

import argparse
import hashlib
import json
import shutil
import signal
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

from .errors import ConfigError, CorruptFileError
from .io import atomic_write, atomic_write_text
from .resources import NOTEBOOKS, data_dir

__all__ = ["DEFAULT_DIR", "MANIFEST", "CopyReport", "shipped_notebooks", "copy_notebooks", "lab_command", "main"]

#: Where ``sri-kit lab`` puts the copies when no folder is named (relative to the working directory).
DEFAULT_DIR = "sri_kit_notebooks"
#: The file in the working folder that records the hash of every copy the kit wrote.
MANIFEST = ".sri_kit_lab.json"


def shipped_notebooks() -> list[Path]:
    """The ordered notebooks of the installed package (``NN_name.ipynb``), first to last."""
    found = sorted(data_dir(NOTEBOOKS).glob("[0-9][0-9]_*.ipynb"))
    if not found:
        raise FileNotFoundError(f"no notebooks in {data_dir(NOTEBOOKS)}: the installation is incomplete; "
                                "reinstall sri_kit (pip install --force-reinstall sri_kit)")
    return found


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@dataclass
class CopyReport:
    """What :func:`copy_notebooks` did, by file name: ``copied`` (new), ``updated`` (an unchanged copy brought up
    to the shipped version), ``replaced`` (a changed copy overwritten: ``force=True`` only), ``kept`` (a changed
    copy left alone) and ``current`` (already equal to the shipped version)."""

    folder: Path
    copied: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    replaced: list[str] = field(default_factory=list)
    kept: list[str] = field(default_factory=list)
    current: list[str] = field(default_factory=list)

    def summary(self) -> str:
        """A few lines for the terminal; names ``--force`` when a changed copy was kept."""
        lines = [f"notebooks in {self.folder}:"]
        for what, names in (("copied", self.copied), ("updated to the installed kit's version", self.updated),
                            ("replaced by the shipped version (--force)", self.replaced),
                            ("already current", self.current)):
            if names:
                lines.append(f"  {what}: {', '.join(names)}")
        if self.kept:
            lines.append(f"  kept your changed copies (not overwritten): {', '.join(self.kept)}")
            lines.append("  to replace them with the shipped versions, run again with --force "
                         "(your changes in them are lost)")
        return "\n".join(lines)


def _read_manifest(folder: Path) -> dict[str, str]:
    p = folder / MANIFEST
    if not p.exists():
        return {}
    try:
        data = json.loads(p.read_text(encoding="utf-8"))
        if not isinstance(data, dict) or not all(isinstance(v, str) for v in data.get("sha256", {}).values()):
            raise ValueError("not a mapping of file names to hashes")
        return dict(data.get("sha256", {}))
    except (ValueError, OSError) as e:
        raise CorruptFileError(str(p), f"{p} is damaged ({e}); delete it (every copy then counts as changed "
                                       "unless it equals the shipped version) or run with --force") from None


def copy_notebooks(folder: str | Path = DEFAULT_DIR, *, force: bool = False) -> CopyReport:
    """Copy the shipped notebooks into ``folder`` (created if missing); never overwrite a changed copy unless
    ``force``. Every write is atomic; returns a :class:`CopyReport`.

    A copy counts as *changed* when its bytes differ both from the shipped version and from what the kit last
    copied there (the manifest); a copy the kit wrote and nobody touched is updated silently.
    """
    folder = Path(folder).expanduser()
    if folder.exists() and not folder.is_dir():
        raise ConfigError(f"{folder} is a file, not a folder; name a folder for the notebook copies "
                          f"(default ./{DEFAULT_DIR})")
    folder.mkdir(parents=True, exist_ok=True)
    known = _read_manifest(folder)
    report = CopyReport(folder=folder)
    record = dict(known)
    for src in shipped_notebooks():
        dst, name, want = folder / src.name, src.name, _sha(src)
        if dst.exists() and not dst.is_file():
            raise ConfigError(f"{dst} is a folder, not a notebook; move it away so {name} can be copied")
        if not dst.exists():
            bucket = report.copied
        else:
            have = _sha(dst)
            if have == want:
                report.current.append(name)
                record[name] = want
                continue
            if have == known.get(name):          # the kit wrote it and nobody changed it
                bucket = report.updated
            elif force:
                bucket = report.replaced
            else:
                report.kept.append(name)
                continue
        atomic_write(dst, lambda tmp, s=src: shutil.copyfile(s, tmp))
        record[name] = want
        bucket.append(name)
    atomic_write_text(folder / MANIFEST, json.dumps({"about": "sri-kit lab: sha256 of each notebook copy the kit "
                                                              "wrote (a copy that differs is yours)",
                                                     "sha256": dict(sorted(record.items()))}, indent=1) + "\n")
    return report


def lab_command(folder: str | Path, *, browser: bool = True, extra: list[str] | None = None) -> list[str]:
    """The JupyterLab command line that ``sri-kit lab`` runs (in ``folder``), opening the first notebook."""
    first = shipped_notebooks()[0].name
    cmd = [sys.executable, "-m", "jupyterlab", f"--ServerApp.root_dir={Path(folder).resolve()}"]
    if not browser:
        cmd.append("--no-browser")
    return cmd + list(extra or []) + [first]


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="sri-kit lab", description="Copy the kit's notebooks into a working folder "
                                 "(never overwriting your changed copies without --force) and open JupyterLab "
                                 "there. Options after `--` go to JupyterLab (e.g. -- --port 8899).")
    ap.add_argument("dir", nargs="?", default=DEFAULT_DIR, help=f"working folder (default ./{DEFAULT_DIR})")
    ap.add_argument("--force", action="store_true",
                    help="replace copies you changed with the shipped versions (your changes are lost)")
    ap.add_argument("--no-browser", action="store_true", help="start JupyterLab without opening a browser")
    ap.add_argument("--copy-only", action="store_true", help="copy the notebooks and stop (no JupyterLab)")
    argv = list(sys.argv[1:] if argv is None else argv)
    extra: list[str] = []
    if "--" in argv:
        i = argv.index("--")
        argv, extra = argv[:i], argv[i + 1:]
    a = ap.parse_args(argv)
    report = copy_notebooks(a.dir, force=a.force)
    print(report.summary(), flush=True)
    if a.copy_only:
        return 0
    try:
        import jupyterlab  # noqa: F401
    except ImportError:
        raise ConfigError("JupyterLab is not installed in this environment; `pip install jupyterlab` (a dependency "
                          f"of sri_kit: reinstall it) or open {report.folder} with your own Jupyter") from None
    cmd = lab_command(report.folder, browser=not a.no_browser, extra=extra)
    print("starting JupyterLab (Ctrl-C stops it): " + " ".join(cmd), flush=True)
    proc = subprocess.Popen(cmd, cwd=report.folder)
    # a SIGTERM to `sri-kit lab` (a job control, CI) stops JupyterLab too instead of leaving it running alone
    previous = signal.signal(signal.SIGTERM, lambda signum, frame: proc.send_signal(signum))
    try:
        return proc.wait()
    except KeyboardInterrupt:         # JupyterLab got the same Ctrl-C and shuts down; wait for it
        return proc.wait()
    finally:
        signal.signal(signal.SIGTERM, previous)
