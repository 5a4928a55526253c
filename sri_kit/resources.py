"""Where the kit's own files live: package data found with :mod:`importlib.resources`.

Everything the kit ships — the organism's weights and tokenizer, the prompt sets, the attack templates, the
results store the docs and notebooks read, and the notebooks themselves — lives inside the package under
``sri_kit/_data/`` and is installed with it (a wheel, ``pip install git+…``, an editable clone, Binder).
Nothing in the kit computes the repository's root: a wheel installed anywhere finds the same files.

=============  =====================================================================
``models``     the organism: ``tiny-ar/``, ``tiny-dlm/`` (weights, tokenizer, model cards)
``prompts``    the embedded prompt sets ``tiny_*.jsonl``
``attacks``    ``templates.jsonl`` (the ``template`` attack's default set)
``results``    the results store ``<model>/<table>.json``
``notebooks``  the ordered tutorials ``NN_*.ipynb`` (``sri-kit lab`` copies them)
=============  =====================================================================

Example:
    >>> (data_dir(MODELS) / "tiny-ar" / "config.json").is_file()
    True
    >>> sorted(p.name for p in data_dir(NOTEBOOKS).glob("0*.ipynb"))[0]
    '00_quickstart.ipynb'
"""
from __future__ import annotations

import atexit
import contextlib
import importlib.resources
import os
from pathlib import Path

__all__ = ["DATA", "MODELS", "PROMPTS", "ATTACKS", "RESULTS", "NOTEBOOKS", "data_dir", "user_cache_dir"]

#: The folder inside the package that holds every shipped file (``sri_kit/_data``).
DATA = "_data"
#: The organism's folder under :data:`DATA`. Replacing the shipped weights (a retrain) means writing new
#: ``tiny-ar/`` and ``tiny-dlm/`` folders here: ``sri-kit organism train --overwrite-shipped``.
MODELS = "models"
PROMPTS = "prompts"
ATTACKS = "attacks"
RESULTS = "results"
NOTEBOOKS = "notebooks"

_extracted = contextlib.ExitStack()      # only used when the package is imported from a zip file
atexit.register(_extracted.close)


def data_dir(*parts: str) -> Path:
    """The real folder (or file) ``sri_kit/_data/<parts>`` of the installed package, as a :class:`~pathlib.Path`.

    A package installed on disk (a wheel, an editable clone) gives its own folder; a zip import is extracted
    once to a temporary folder that lives until the interpreter exits.
    """
    res = importlib.resources.files("sri_kit").joinpath(DATA)
    for part in parts:
        res = res.joinpath(part)
    if isinstance(res, Path):
        return res
    return _extracted.enter_context(importlib.resources.as_file(res))   # pragma: no cover - zip imports only


def user_cache_dir(*parts: str) -> Path:
    """The user's cache folder for the kit: ``$SRI_KIT_CACHE``, else ``$XDG_CACHE_HOME/sri_kit``, else
    ``~/.cache/sri_kit`` (downloads, per-cell result caches, a corpus build's answer file).

    >>> import os
    >>> os.environ["SRI_KIT_CACHE"] = "cache_here"
    >>> user_cache_dir("data").as_posix()
    'cache_here/data'
    >>> del os.environ["SRI_KIT_CACHE"]
    """
    root = os.environ.get("SRI_KIT_CACHE")
    if not root:
        xdg = os.environ.get("XDG_CACHE_HOME")
        root = Path(xdg) / "sri_kit" if xdg else Path.home() / ".cache" / "sri_kit"
    return Path(root).joinpath(*parts)
