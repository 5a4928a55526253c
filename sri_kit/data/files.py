"""Where prompt files come from: local paths, ``$SRI_KIT_DATA``, the workplace copy, the download cache,
the network; and readers for csv/tsv/json/jsonl/parquet/txt files.

Example:
    >>> import tempfile, pathlib
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "mine.jsonl"
    >>> _ = p.write_text('{"prompt": "hello"}' + chr(10) + '{"prompt": "world"}' + chr(10))
    >>> read_records(p)
    [{'prompt': 'hello'}, {'prompt': 'world'}]
    >>> resolve_file("mine.jsonl", p.parent) == p
    True
"""
from __future__ import annotations

import csv
import hashlib
import io
import json
import os
import urllib.request
from pathlib import Path
from typing import Sequence

import pandas as pd

from ..errors import ChecksumError, ConfigError, CorruptFileError, SriKitError, reading
from ..io import atomic_write
from ..resources import user_cache_dir

__all__ = ["ENV_VAR", "cache_dir", "offline", "DataNotFoundError", "external_dir", "resolve_file",
           "find_local", "read_records", "hub_records", "check_payload"]

ENV_VAR = "SRI_KIT_DATA"
#: The workplace's read-only copies of the public datasets, looked for beside a checkout (see external_dir).
SHARED_EXTERNAL = Path("shared") / "data" / "external"


def cache_dir() -> Path:
    """Download cache: ``<user cache>/data`` (``$SRI_KIT_CACHE``, else ``$XDG_CACHE_HOME/sri_kit``, else
    ``~/.cache/sri_kit``; :func:`sri_kit.resources.user_cache_dir`)."""
    return user_cache_dir("data")


def offline() -> bool:
    """True when ``$SRI_KIT_OFFLINE`` or ``$HF_HUB_OFFLINE`` is set to a true value: no network attempts."""
    return any(os.environ.get(v, "").lower() in {"1", "true", "yes"} for v in ("SRI_KIT_OFFLINE", "HF_HUB_OFFLINE"))


class DataNotFoundError(SriKitError, FileNotFoundError):
    """A dataset was not found locally and could not be fetched."""


def external_dir() -> Path | None:
    """The folder of external datasets: ``$SRI_KIT_DATA``, else the nearest ``shared/data/external`` beside
    the working directory or one of its parents (``../shared/data/external`` seen from a checkout), else None.
    """
    env = os.environ.get(ENV_VAR)
    if env:
        return Path(env)
    here = Path.cwd()
    for folder in (here, *here.parents):
        if (folder / SHARED_EXTERNAL).is_dir():
            return folder / SHARED_EXTERNAL
    return None


def _find_in(folder: Path, fname: str, subdirs: Sequence[str]) -> Path | None:
    for sub in ("", *subdirs):
        q = folder / sub / fname
        if q.is_file():
            return q
    return None


def _fetch(url: str) -> bytes:
    """The bytes at ``url`` (tests monkeypatch this)."""
    with urllib.request.urlopen(url, timeout=20) as r:  # noqa: S310 - fixed https URLs
        return r.read()


def check_payload(payload: bytes, fname: str, *, sha256: str | None = None, columns: Sequence[str] = ()) -> None:
    """Raise :class:`ChecksumError` unless ``payload`` is what ``fname`` should hold: its sha256 when the kit
    knows it, else a non-empty UTF-8 file that parses as its format (csv/tsv with a header and at least one
    row holding ``columns``, json, jsonl)."""
    if sha256 is not None:
        got = hashlib.sha256(payload).hexdigest()
        if got != sha256:
            raise ChecksumError(fname, f"download of {fname} has sha256 {got[:16]}…, expected {sha256[:16]}… "
                                       f"({len(payload)} bytes): the file changed upstream or the transfer was "
                                       "damaged; nothing was written. Retry, or pass path= a copy you trust")
    if not payload.strip():
        raise ChecksumError(fname, f"download of {fname} is empty; nothing was written. Retry later or pass path=")
    suf = Path(fname).suffix.lower()
    try:
        text = payload.decode("utf-8")
        if suf in (".csv", ".tsv"):
            rows = list(csv.DictReader(io.StringIO(text), delimiter="\t" if suf == ".tsv" else ","))
            if not rows:
                raise ValueError("no data rows")
            missing = [c for c in columns if c not in rows[0]]
            if missing:
                raise ValueError(f"no column(s) {missing}, found {sorted(k for k in rows[0] if k)}")
        elif suf == ".json":
            json.loads(text)
        elif suf == ".jsonl":
            for line in text.splitlines():
                if line.strip():
                    json.loads(line)
    except ValueError as e:   # includes UnicodeDecodeError and JSONDecodeError
        raise ChecksumError(fname, f"download of {fname} is not a valid {suf or 'data'} file ({type(e).__name__}: "
                                   f"{str(e)[:120]}); nothing was written. Retry later or pass path=") from None


def _download(url: str, fname: str, what: str, sha256: str | None = None, columns: Sequence[str] = ()) -> Path:
    """Fetch ``url`` into the cache as ``fname``: verified (:func:`check_payload`), then written atomically
    (a failed or interrupted download leaves nothing behind, no ``.part`` file)."""
    cdir = cache_dir()
    cdir.mkdir(parents=True, exist_ok=True)
    dest = cdir / fname
    if dest.is_file():
        return dest
    payload = _fetch(url)
    check_payload(payload, fname, sha256=sha256, columns=columns)
    atomic_write(dest, lambda tmp: Path(tmp).write_bytes(payload))
    return dest


def resolve_file(
    fname: str,
    path: str | Path | None = None,
    *,
    subdirs: Sequence[str] = (),
    url: str | None = None,
    what: str | None = None,
    sha256: str | None = None,
    columns: Sequence[str] = (),
) -> Path:
    """Find ``fname``: ``path`` (file or folder), ``$SRI_KIT_DATA``, ``<repo>/../shared/data/external``,
    the download cache, then ``url`` (downloaded once into ``~/.cache/sri_kit/data``; checked against
    ``sha256`` when given, else for its format and ``columns``, and written atomically)."""
    what = what or fname
    if path is not None:
        p = Path(path).expanduser()
        if p.is_file():
            return p
        if p.is_dir():
            hit = _find_in(p, fname, subdirs)
            if hit is not None:
                return hit
            raise DataNotFoundError(f"{what}: no {fname} in folder {p} (looked in {p} and {list(subdirs)})")
        raise DataNotFoundError(f"{what}: path {p} does not exist; pass a file or a folder holding {fname}")
    ext = external_dir()
    if ext is not None and ext.is_dir():
        hit = _find_in(ext, fname, subdirs)
        if hit is not None:
            return hit
    cached = cache_dir() / fname
    if cached.is_file():
        return cached
    err: Exception | None = None
    if url is not None and offline():
        err = RuntimeError("offline mode ($SRI_KIT_OFFLINE / $HF_HUB_OFFLINE) forbids downloads")
    elif url is not None:
        try:
            return _download(url, fname, what, sha256=sha256, columns=columns)
        except ChecksumError:
            raise
        except Exception as e:  # offline, blocked, 404 ...
            err = e
    raise DataNotFoundError(
        f"{what} not found locally and could not be downloaded"
        + (f" ({type(err).__name__}: {err})" if err else "")
        + f". Fix: pass path= (the file, or a folder holding {fname}), or set ${ENV_VAR} to a folder holding it"
        + (f", or go online so it can be fetched from {url}" if url else "")
        + "."
    )


def find_local(stem: str, suffixes: Sequence[str]) -> Path | None:
    """A file in the external data folder whose name contains ``stem`` (first of ``suffixes``)."""
    ext = external_dir()
    if ext is None or not ext.is_dir():
        return None
    for suf in suffixes:
        hits = sorted(q for q in ext.rglob(f"*{suf}") if stem in q.name.lower())
        if hits:
            return hits[0]
    return None


def read_records(p: Path) -> list[dict]:
    """Rows of a .csv/.tsv/.json/.jsonl/.parquet/.txt file as dicts (txt: ``{"prompt": line}``)."""
    p = Path(p)
    suf = p.suffix.lower()
    if suf in {".csv", ".tsv"}:
        with p.open(newline="", encoding="utf-8") as f:
            return list(csv.DictReader(f, delimiter="\t" if suf == ".tsv" else ","))
    if suf == ".jsonl":
        rows = []
        for n, line in enumerate(_text(p).splitlines(), 1):
            if not line.strip():
                continue
            try:
                r = json.loads(line)
            except ValueError as e:
                raise CorruptFileError(p, f"{p}, line {n}: not valid JSON ({e}); each line of a .jsonl file must be "
                                          "one JSON object such as {\"prompt\": \"...\"} (or one JSON string)") from None
            if isinstance(r, str):
                r = {"prompt": r}
            if not isinstance(r, dict):
                raise ConfigError(f"{p}, line {n}: expected a JSON object or a string, got {type(r).__name__} "
                                  f"{line.strip()[:40]}; write each prompt as {{\"prompt\": \"...\"}}")
            rows.append(r)
        return rows
    if suf == ".json":
        with reading(p, "JSON file", "fix the JSON (a list of records, or of strings)"):
            data = json.loads(_text(p))
        if isinstance(data, dict):
            for key in ("jailbreaks", "data", "rows", "prompts"):
                if isinstance(data.get(key), list):
                    data = data[key]
                    break
        if not isinstance(data, list):
            raise ConfigError(f"{p}: expected a JSON list of records")
        return [r if isinstance(r, dict) else {"prompt": r} for r in data]
    if suf == ".parquet":
        return pd.read_parquet(p).to_dict("records")
    if suf == ".txt":
        return [{"prompt": line.strip()} for line in _text(p).splitlines() if line.strip()]
    raise ConfigError(f"{p}: unsupported file type {suf!r} (use csv, tsv, json, jsonl, parquet or txt)")


def _text(p: Path) -> str:
    try:
        return p.read_text(encoding="utf-8")
    except UnicodeDecodeError as e:
        raise CorruptFileError(p, f"{p} is not UTF-8 text ({e.reason} at byte {e.start}); save it as UTF-8") from None


def hub_records(
    repo: str,
    *,
    config: str | None = None,
    split: str = "train",
    what: str,
    extra_fix: str = "",
    load_kwargs: dict | None = None,
) -> list[dict]:
    """Rows from the Hugging Face hub via the optional ``datasets`` package (imported lazily)."""
    if offline():
        raise DataNotFoundError(
            f"{what} is not available locally and offline mode ($SRI_KIT_OFFLINE / $HF_HUB_OFFLINE) forbids "
            f"fetching {repo} from the Hugging Face hub. Fix: pass path= a local copy or set ${ENV_VAR}. {extra_fix}"
        )
    try:
        import datasets  # noqa: PLC0415  (optional: only for downloads from the Hugging Face hub)
    except ImportError as e:
        raise DataNotFoundError(
            f"{what} is not available locally and the optional `datasets` package is not installed "
            f"(pip install datasets) to fetch {repo} from the Hugging Face hub. "
            f"Or pass path= / set ${ENV_VAR}. {extra_fix}"
        ) from e
    try:
        ds = datasets.load_dataset(repo, config, split=split, **(load_kwargs or {}))
    except Exception as e:
        raise DataNotFoundError(
            f"{what}: could not load {repo} from the Hugging Face hub ({type(e).__name__}: {e}). "
            f"Fix: go online, or pass path= a local copy / set ${ENV_VAR}. {extra_fix}"
        ) from e
    return [dict(r) for r in ds]
