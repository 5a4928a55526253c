"""Root pytest configuration: the names that docstring examples (``>>>``) in ``sri_kit`` may use.

``python -m pytest`` (the README's test command) runs ``--doctest-modules`` over the package (see
``[tool.pytest.ini_options]`` in pyproject.toml). Every doctest sees:

* ``sk`` — the ``sri_kit`` module; ``np`` — numpy; ``torch``;
* ``lm_ar`` / ``lm_dlm`` — the shipped organism, ``sk.load_model("tiny-ar" / "tiny-dlm", device="cpu")``.
  They are loaded on the first doctest that runs and shared by the whole session (about a second);
  a test run without doctests never loads them.

Notebook times, reported under nbval (``python -m pytest notebooks/``), never a failure:

Each notebook's wall time — kernel start plus every code cell — is summed while nbval runs it. The terminal
summary prints every notebook's wall time, the kernel's CPU time (user + system, from /proc on Linux: on a
busy machine it stays close to what the notebook costs, while wall time grows with the load), its budget for
an idle 2-core machine as a ratio, and the machine's load average. A test never fails on time: a shared
machine would fail notebooks with nothing wrong. The budgets are checked by ``python
benchmarks/notebook_budgets.py`` on an idle machine (it reads the times this file writes to
``$SRI_KIT_NB_TIMES`` when that is set).

Executed copies: with ``SRI_KIT_EXECUTED_NOTEBOOKS=DIR``, every notebook whose cells all passed under nbval
is written to ``DIR/<name>.ipynb`` with the outputs and execution counts of that
run (atomically; a notebook with a failing cell is not written). CI hands them to the real-browser check
(``sri-kit browser-check --executed DIR``), which renders them in JupyterLab instead of executing a
notebook without widgets a second time.
"""
from __future__ import annotations

import os
import time
from pathlib import Path

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


# ---- notebook times (they live here, not in notebooks/conftest.py: a second module named `conftest`
# would shadow tests/conftest.py for `from conftest import ...`). The budgets themselves live in
# benchmarks/notebook_budgets.py; the summary only shows the ratio ----

SHOW_CELLS_OVER_S = 2.0   # the summary lists cells slower than this
sk.set_torch_threads()    # the tests' own torch: no more threads than the cores this process gets


def _budgets() -> dict[str, float]:
    """benchmarks/notebook_budgets.py's BUDGETS_S (read, not imported: benchmarks/ is not a package)."""
    import ast
    try:
        tree = ast.parse((Path(__file__).parent / "benchmarks" / "notebook_budgets.py").read_text())
        for node in tree.body:
            if isinstance(node, ast.AnnAssign) and getattr(node.target, "id", "") == "BUDGETS_S":
                return ast.literal_eval(node.value)
    except (OSError, SyntaxError, ValueError):
        pass
    return {}


_times: dict[str, dict[int, float]] = {}   # notebook name -> {cell number: seconds (setup + call)}
_outputs: dict[str, dict[int, list]] = {}  # notebook name -> {code-cell number: nbval's outputs} (executed copies)
_failed: set[str] = set()                  # notebooks with a failed cell: no executed copy
_cpu: dict[str, dict[int, float]] = {}     # notebook name -> {cell number: kernel CPU seconds}


def _kernel_cpu_s(item) -> float | None:
    """User + system CPU seconds of the item's kernel process so far (Linux /proc), else None."""
    try:
        pid = item.parent.kernel.km.provisioner.pid
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (AttributeError, OSError, ValueError, IndexError):
        return None


def _notebook_cell(item) -> tuple[str, int, int] | None:
    """(notebook file name, code-cell number, number of code cells) for an nbval cell item, else None."""
    nb_file = getattr(item, "parent", None)
    nb = getattr(nb_file, "nb", None)
    if nb is None or not hasattr(item, "cell_num"):
        return None
    n_code = sum(c.cell_type == "code" for c in nb.cells)
    return Path(str(nb_file.fspath)).name, item.cell_num, n_code


def _add(item, seconds: float) -> None:
    where = _notebook_cell(item)
    if where is not None:
        cells = _times.setdefault(where[0], {})
        cells[where[1]] = cells.get(where[1], 0.0) + seconds


@pytest.hookimpl(wrapper=True)
def pytest_runtest_setup(item):
    t0 = time.perf_counter()        # the first cell's setup starts the kernel: that counts too
    try:
        return (yield)
    finally:
        _add(item, time.perf_counter() - t0)


def _write_executed(item, name: str) -> None:
    """``$SRI_KIT_EXECUTED_NOTEBOOKS/<name>``: the notebook with this run's outputs and execution counts."""
    import copy

    import nbformat

    from sri_kit.io import atomic_write_text

    out_dir = os.environ.get("SRI_KIT_EXECUTED_NOTEBOOKS")
    if not out_dir or name in _failed:
        return
    nb = copy.deepcopy(item.parent.nb)
    outs = _outputs.get(name, {})
    for k, cell in enumerate(c for c in nb.cells if c.cell_type == "code"):
        cell.outputs = [copy.deepcopy(o) for o in outs.get(k, [])]
        cell.execution_count = k + 1
        for o in cell.outputs:
            if o.get("output_type") == "execute_result":
                o["execution_count"] = k + 1
    atomic_write_text(Path(out_dir) / name, nbformat.writes(nb))


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item):
    t0, c0 = time.perf_counter(), _kernel_cpu_s(item)
    try:
        result = yield
    except BaseException:
        where = _notebook_cell(item)
        if where is not None:
            _failed.add(where[0])
        raise
    finally:
        _add(item, time.perf_counter() - t0)
        c1, where = _kernel_cpu_s(item), _notebook_cell(item)
        if where is not None and c0 is not None and c1 is not None:
            _cpu.setdefault(where[0], {})[where[1]] = c1 - c0
    where = _notebook_cell(item)
    if where is not None:
        _outputs.setdefault(where[0], {})[where[1]] = list(getattr(item, "test_outputs", None) or [])
    if where is not None and where[1] == where[2] - 1:          # the notebook's last code cell
        _write_executed(item, where[0])
    return result


def _write_times() -> None:
    """``$SRI_KIT_NB_TIMES``: every notebook's wall and kernel-CPU seconds per cell (benchmarks/notebook_budgets.py)."""
    import json

    from sri_kit.io import atomic_write_text

    out = os.environ.get("SRI_KIT_NB_TIMES")
    if out and _times:
        load = os.getloadavg() if hasattr(os, "getloadavg") else None
        atomic_write_text(out, json.dumps({
            "cores": sk.available_cores(), "load_average": load,
            "notebooks": {name: {"wall_s": sum(cells.values()), "cpu_s": sum(_cpu.get(name, {}).values()),
                                 "cells_wall_s": cells, "failed": name in _failed}
                          for name, cells in _times.items()}}, indent=1) + "\n")


def pytest_terminal_summary(terminalreporter):
    if not _times:
        return
    _write_times()
    tr, budgets = terminalreporter, _budgets()
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    tr.section(f"notebook times (a report, never a failure; load average {load:.1f} on {sk.available_cores()} "
               f"cores; budgets are for an idle 2-core machine: python benchmarks/notebook_budgets.py)")
    tr.write_line(f"{'notebook':32s} {'wall':>8s} {'kernel CPU':>10s} {'wall/budget':>11s}  cells over "
                  f"{SHOW_CELLS_OVER_S:g} s (wall / CPU)")
    for name, cells in _times.items():
        total, cpu = sum(cells.values()), _cpu.get(name, {})
        slow = ", ".join(f"{k}: {v:.1f}/{cpu.get(k, float('nan')):.1f}" for k, v in sorted(cells.items())
                         if v > SHOW_CELLS_OVER_S)
        ratio = f"{total / budgets[name]:.2f}" if name in budgets else "-"
        tr.write_line(f"{name:32s} {total:6.1f} s {sum(cpu.values()):8.1f} s {ratio:>11s}  {slow}")
