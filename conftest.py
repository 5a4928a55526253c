"""Root pytest configuration: the names that docstring examples (``>>>``) in ``sri_kit`` may use.

``python -m pytest`` (the README's test command) runs ``--doctest-modules`` over the package (see
``[tool.pytest.ini_options]`` in pyproject.toml). Every doctest sees:

* ``sk`` — the ``sri_kit`` module; ``np`` — numpy; ``torch``;
* ``lm_ar`` / ``lm_dlm`` — the shipped organism, ``sk.load_model("tiny-ar" / "tiny-dlm", device="cpu")``.
  They are loaded on the first doctest that runs and shared by the whole session (about a second);
  a test run without doctests never loads them.

Notebook time budgets, enforced under nbval (``python -m pytest notebooks/``):

Each notebook's wall time — kernel start plus every code cell — is summed while nbval runs it. When the last
code cell of a notebook finishes, the total is compared with the notebook's budget below; over budget, that
last cell fails with the per-cell times, so the slow cell is named. The terminal summary prints every
notebook's wall time against its budget, the kernel's CPU time (user + system, from /proc on Linux: on a
busy machine it stays close to what the notebook costs, while wall time grows with the load) and the
machine's load average.

The budgets are for an idle 2-core machine (the README's promise; CI runners have 2–4 cores). On a machine
that is busy with other work, scale them instead of editing them: ``SRI_KIT_NB_BUDGET_SCALE=2 python -m
pytest notebooks/`` doubles every budget (the summary says which scale applied).

Executed copies: with ``SRI_KIT_EXECUTED_NOTEBOOKS=DIR``, every notebook whose cells all passed under nbval
(and within its budget) is written to ``DIR/<name>.ipynb`` with the outputs and execution counts of that
run (atomically; a notebook with a failing cell is not written). CI hands them to the real-browser check
(``scripts/browser_check.py --executed DIR``), which renders them in JupyterLab instead of executing a
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


# ---- notebook time budgets (they live here, not in notebooks/conftest.py: a second module named `conftest`
# would shadow tests/conftest.py for `from conftest import ...`) ----

# seconds on an idle 2-core machine, kernel start included; the README's "Notebook budgets" table copies these
BUDGETS_S: dict[str, float] = {
    "00_quickstart.ipynb": 60,
    "01_samplers.ipynb": 90,
    "02_text_level_recovery.ipynb": 75,
    "03_sri_signal.ipynb": 75,
    "04_sweeps.ipynb": 60,
    "05_sri_guard.ipynb": 60,
    "06_real_models.ipynb": 40,
    "07_fast_decoding.ipynb": 60,
    "08_interventions.ipynb": 60,
}
DEFAULT_BUDGET_S = 90.0   # a notebook not in the table gets the README's general promise
SHOW_CELLS_OVER_S = 2.0   # the summary lists cells slower than this


def budget_scale() -> float:
    raw = os.environ.get("SRI_KIT_NB_BUDGET_SCALE", "1")
    try:
        scale = float(raw)
    except ValueError:
        raise pytest.UsageError(f"SRI_KIT_NB_BUDGET_SCALE must be a number (e.g. 2), got {raw!r}") from None
    if not scale > 0:
        raise pytest.UsageError(f"SRI_KIT_NB_BUDGET_SCALE must be > 0, got {raw!r}")
    return scale


def budget_for(name: str) -> float:
    return BUDGETS_S.get(name, DEFAULT_BUDGET_S) * budget_scale()


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
        name = where[0]
        total, budget = sum(_times[name].values()), budget_for(name)
        if total > budget:
            cells = ", ".join(f"cell {k}: {v:.1f} s" for k, v in sorted(_times[name].items()))
            pytest.fail(f"{name} took {total:.1f} s, over its budget of {budget:.3g} s "
                        f"(conftest.py BUDGETS_S x SRI_KIT_NB_BUDGET_SCALE={budget_scale():g}); "
                        f"{cells}", pytrace=False)
        _write_executed(item, name)
    return result


def pytest_terminal_summary(terminalreporter):
    if not _times:
        return
    tr = terminalreporter
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    tr.section(f"notebook times (budget scale {budget_scale():g}; load average {load:.1f} on "
               f"{os.cpu_count()} CPUs)")
    tr.write_line(f"{'notebook':32s} {'wall':>8s} {'budget':>6s} {'':11s} {'kernel CPU':>10s}  cells over "
                  f"{SHOW_CELLS_OVER_S:g} s (wall / CPU)")
    for name, cells in _times.items():
        total, cpu = sum(cells.values()), _cpu.get(name, {})
        slow = ", ".join(f"{k}: {v:.1f}/{cpu.get(k, float('nan')):.1f}" for k, v in sorted(cells.items())
                         if v > SHOW_CELLS_OVER_S)
        verdict = "ok" if total <= budget_for(name) else "OVER BUDGET"
        tr.write_line(f"{name:32s} {total:6.1f} s {budget_for(name):4.0f} s {verdict:11s} "
                      f"{sum(cpu.values()):8.1f} s  {slow}")
