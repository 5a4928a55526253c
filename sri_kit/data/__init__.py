"""Prompt sets: the kit's embedded sets and loaders for public datasets, plus seeded splits.

>>> from sri_kit import data
>>> "advbench" in data.names()
True
>>> data.prompts_hash(["a", "b"]) == data.prompts_hash(["a", "b"])
True

Where the data comes from (first hit wins):

1. ``path=``: a file, or a folder holding the dataset's usual file name;
2. the folder in ``$SRI_KIT_DATA``;
3. the nearest ``shared/data/external`` beside the working directory or a parent of it (this workplace's
   read-only copies, ``../shared/data/external`` from a checkout);
4. the network (Hugging Face hub via the optional ``datasets`` package, or the dataset's public
   GitHub file), cached under ``~/.cache/sri_kit/data`` (``$SRI_KIT_CACHE``, ``$XDG_CACHE_HOME``); set ``SRI_KIT_OFFLINE=1``
   (or ``HF_HUB_OFFLINE=1``) to never touch the network;
5. otherwise a ``FileNotFoundError`` that says which of the above to provide.

The kit's own sets (``tiny_harmful``, ``tiny_benign``, ``tiny_borderline``) are package data,
``sri_kit/_data/prompts/<name>.jsonl`` (``{"prompt", "category", "label"}`` per line; :data:`EMBEDDED_DIR`).
Public datasets are never copied into the repository.

Subsets: ``n`` prompts with ``seed=None`` are the *first* n in file order (what the paper's code
does); with an integer ``seed`` (the default, 0) they are a seeded random sample of n, returned in
file order. ``n=None`` returns everything.

One file per job: ``files`` (where files come from, readers), ``sources`` (the named sets and the
loaders), ``splits`` (hashes and the paper's disjoint splits), ``public_splits`` (the public sets' seeded
evaluation / training splits: tables evaluate on the first, the organism trains on the second).
"""
from __future__ import annotations

# every public name of the three files stays importable from sri_kit.data (attacks reads the file helpers)
from .files import (ENV_VAR, DataNotFoundError, cache_dir, external_dir, find_local,  # noqa: F401
                    hub_records, offline, read_records, resolve_file)
from .sources import EMBEDDED, EMBEDDED_DIR, SOURCES, describe, load_prompts, load_records, names, subset  # noqa: F401
from .splits import SPLIT_NAMES, Splits, make_splits, prompts_hash  # noqa: F401

_SOURCES = SOURCES      # the old private name (tests read it)

__all__ = [
    "names",
    "load_prompts",
    "load_records",
    "resolve_file",
    "external_dir",
    "prompts_hash",
    "make_splits",
    "Splits",
    "DataNotFoundError",
]
