"""Run-folder file helpers: atomic writes (:mod:`sri_kit.io`) where a full disk becomes a
:class:`DiskFullError` that says how much space was needed, and file hashes.

Example:
    >>> import tempfile, pathlib
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "x.json"
    >>> write_json(p, {"a": 1})
    >>> json.loads(p.read_text())
    {'a': 1}
"""
from __future__ import annotations

import errno
import hashlib
import json
import os
import shutil
from pathlib import Path
from typing import Any, Callable

from ..errors import SriKitError
from ..io import atomic_write, atomic_write_text

__all__ = ["DiskFullError", "sha256_file", "disk_full", "write_atomic", "write_text", "write_json"]


class DiskFullError(SriKitError, OSError):
    """Writing an output ran out of disk space (the partial file was removed)."""


def sha256_file(path: Path) -> str:
    """sha256 (hex) of a file's bytes, read in 1 MiB blocks."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def disk_full(path: Path, need: int, tmp_files=()) -> DiskFullError:
    """The :class:`DiskFullError` for ``path`` (about ``need`` bytes), after removing ``tmp_files``."""
    for t in tmp_files:
        try:
            os.remove(t)
        except FileNotFoundError:
            pass
    try:
        free = shutil.disk_usage(path.parent if path.parent.exists() else Path.cwd()).free
    except OSError:
        free = -1
    return DiskFullError(errno.ENOSPC, f"disk full while writing {path}: needed about {need / 1e6:.1f} MB, "
                                       f"{free / 1e6:.1f} MB free on that disk; the partial file was removed. Free "
                                       f"some space (or point [run] out_dir elsewhere) and rerun: completed shards "
                                       f"are kept")


def write_atomic(path: Path, write: Callable[[str], object], need: int) -> None:
    """:func:`sri_kit.io.atomic_write` (``write(tmp_path)``, then move); ENOSPC becomes a DiskFullError."""
    try:
        atomic_write(path, write)
    except OSError as e:
        if e.errno == errno.ENOSPC:
            raise disk_full(Path(path), need) from None
        raise


def write_text(path: Path, text: str) -> None:
    """Atomic UTF-8 text write (:func:`sri_kit.io.atomic_write_text`); ENOSPC becomes a DiskFullError."""
    try:
        atomic_write_text(path, text)
    except OSError as e:
        if e.errno == errno.ENOSPC:
            raise disk_full(Path(path), len(text.encode())) from None
        raise


def write_json(path: Path, obj: Any) -> None:
    """``obj`` as indented JSON via :func:`write_text`."""
    write_text(path, json.dumps(obj, indent=1, ensure_ascii=False, default=str))
