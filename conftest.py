"""Root pytest configuration: the names that docstring examples (``>>>``) in ``sri_kit`` may use.

``python -m pytest`` (the README's test command) runs ``--doctest-modules`` over the package (see
``[tool.pytest.ini_options]`` in pyproject.toml). Every doctest sees:

* ``sk`` — the ``sri_kit`` module; ``np`` — numpy; ``torch``;
* ``lm_ar`` / ``lm_dlm`` — the shipped organism, ``sk.load_model("tiny-ar" / "tiny-dlm", device="cpu")``.
  They are loaded on the first doctest that runs and shared by the whole session (about a second);
  a test run without doctests never loads them.
"""
from __future__ import annotations

import numpy as np
import pytest
import torch

import sri_kit as sk

# scripts, benchmarks and examples are programs, not modules to import for doctests
collect_ignore = ["scripts", "benchmarks", "examples", "conftest.py"]


@pytest.fixture(scope="session")
def doctest_namespace() -> dict:
    """The doctest globals (overrides pytest's empty default); only doctest items request it."""
    return {"sk": sk, "np": np, "torch": torch,
            "lm_ar": sk.load_model("tiny-ar", device="cpu"), "lm_dlm": sk.load_model("tiny-dlm", device="cpu")}
