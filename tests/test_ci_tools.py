"""The CI hand-off between the test command and the real-browser check: conftest.py writes each notebook nbval
ran (outputs and execution counts of that run; nothing for a failing notebook) when SRI_KIT_EXECUTED_NOTEBOOKS
is set, and the browser check (sri_kit.browser_check.lab) renders such a copy instead of running a notebook without
widgets again."""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import types
from pathlib import Path

import nbformat
import pytest

from sri_kit.browser_check import lab as browser_lab     # the standard library only: no Playwright needed

ROOT = Path(__file__).resolve().parents[1]


def _nb(path: Path, cells: list[str], outputs: list[list[dict]] | None = None) -> Path:
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nb.cells = [nbformat.v4.new_code_cell(src) for src in cells]
    for c, outs in zip(nb.cells, outputs or []):
        c.outputs = [nbformat.from_dict(o) for o in outs]
    path.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, path)
    return path


def test_executed_copy_renders_only_notebooks_without_widgets(tmp_path):
    root, exe = tmp_path / "repo", tmp_path / "executed"
    png = {"output_type": "display_data", "metadata": {}, "data": {"image/png": "iVBORw0KGgo=", "text/plain": "<Figure>"}}
    widget = {"output_type": "display_data", "metadata": {},
              "data": {browser_lab.WIDGET_MIME: {"model_id": "x", "version_major": 2, "version_minor": 0},
                       "text/plain": "VBox(children=(HBox(children=(Play(value=0), IntSlider(value=0))),))"}}
    bar = {"output_type": "display_data", "metadata": {},      # tqdm.auto's bar in a kernel: a widget, but no widget to check
           "data": {browser_lab.WIDGET_MIME: {"model_id": "y", "version_major": 2, "version_minor": 0},
                    "text/plain": "generate (diffusion):   0%|          | 0/4 [00:00<?, ?it/s]"}}
    plain = _nb(root / "notebooks" / "a.ipynb", ["1"])
    _nb(exe / "a.ipynb", ["1", "2"], [[bar, png], [png]])
    with_widget = _nb(root / "notebooks" / "w.ipynb", ["1"])
    _nb(exe / "w.ipynb", ["1"], [[widget]])
    no_copy = _nb(root / "notebooks" / "n.ipynb", ["1"])
    a = types.SimpleNamespace(executed=str(exe), quiet=True)

    rel, src, n_img, dest = browser_lab.executed_copy(a, plain, "notebooks/a.ipynb")
    assert rel == f"{browser_lab.RENDER_DIR}/a.ipynb" and dest == root / rel and src == exe / "a.ipynb"
    assert n_img == 2 and dest.read_bytes() == src.read_bytes()      # placed under the lab's root dir
    assert browser_lab.executed_copy(a, with_widget, "notebooks/w.ipynb") is None    # widgets: always run live
    assert browser_lab.executed_copy(a, no_copy, "notebooks/n.ipynb") is None        # no copy: run it
    assert browser_lab.executed_copy(types.SimpleNamespace(executed=None, quiet=True), plain, "notebooks/a.ipynb") is None


def test_browser_check_finds_the_checkout(tmp_path, monkeypatch):
    """The lab's root: the current folder when it holds notebooks/, else the clone the kit is imported from."""
    from sri_kit.browser_check.check import checkout_root
    from sri_kit.resources import data_dir

    (tmp_path / "clone" / "notebooks").mkdir(parents=True)
    assert checkout_root(tmp_path / "clone") == (tmp_path / "clone").resolve()
    monkeypatch.chdir(tmp_path / "clone")
    assert checkout_root() == (tmp_path / "clone").resolve()
    pkg_parent = data_dir().parent.parent          # this test run's kit: a clone (it has notebooks/)
    assert checkout_root(tmp_path) == pkg_parent.resolve()
    assert (checkout_root(tmp_path) / "notebooks" / "00_quickstart.ipynb").is_file()


def test_conftest_writes_executed_notebooks_for_passing_notebooks_only(tmp_path):
    shutil.copy(ROOT / "conftest.py", tmp_path / "conftest.py")
    (tmp_path / "pytest.ini").write_text("[pytest]\naddopts = -q -p no:cacheprovider\n")
    _nb(tmp_path / "ok.ipynb", ["print('hello')", "6 * 7"])
    _nb(tmp_path / "bad.ipynb", ["print('before')", "raise ValueError('planted')"])
    out = tmp_path / "executed"
    out.mkdir()
    env = {**os.environ, "SRI_KIT_EXECUTED_NOTEBOOKS": str(out), "SRI_KIT_NB_TIMES": str(tmp_path / "times.json"),
           "PYTHONPATH": os.pathsep.join([str(ROOT), *filter(None, [os.environ.get("PYTHONPATH")])])}  # this tree's kit
    r = subprocess.run([sys.executable, "-m", "pytest", "--nbval-lax", "ok.ipynb", "bad.ipynb"], cwd=tmp_path,
                       env=env, capture_output=True, text=True, timeout=300)
    assert "1 failed" in r.stdout, r.stdout[-2000:]             # the planted error fails bad.ipynb's cell
    assert sorted(p.name for p in out.iterdir()) == ["ok.ipynb"]      # no copy of the failing notebook
    nb = nbformat.read(out / "ok.ipynb", as_version=4)
    nbformat.validate(nb)
    c1, c2 = nb.cells
    assert (c1.execution_count, c2.execution_count) == (1, 2)
    assert c1.outputs[0]["output_type"] == "stream" and c1.outputs[0]["text"] == "hello\n"
    assert c2.outputs[0]["output_type"] == "execute_result" and c2.outputs[0]["data"]["text/plain"] == "42"
    assert json.loads((tmp_path / "ok.ipynb").read_text())["cells"][0]["outputs"] == []   # the source is untouched
    # notebook times: reported (summary and $SRI_KIT_NB_TIMES), never a failure
    assert "notebook times (a report, never a failure" in r.stdout
    times = json.loads((tmp_path / "times.json").read_text())["notebooks"]
    assert times["ok.ipynb"]["wall_s"] > 0 and not times["ok.ipynb"]["failed"] and times["bad.ipynb"]["failed"]


def test_notebook_budgets_are_judged_in_benchmarks_only():
    """benchmarks/notebook_budgets.py: the ratio and verdict; a busy machine gets no verdict (exit 2)."""
    import importlib.util
    spec = importlib.util.spec_from_file_location("notebook_budgets", ROOT / "benchmarks" / "notebook_budgets.py")
    nb = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(nb)
    t = {"notebooks": {"00_quickstart.ipynb": {"wall_s": 90.0, "cpu_s": 80.0},
                       "03_sri_signal.ipynb": {"wall_s": 15.0, "cpu_s": 20.0}}}
    rows, code = nb.judge(t)
    assert code == 1 and [r["verdict"] for r in rows] == ["OVER BUDGET", "within"] and rows[0]["ratio"] == 1.5
    assert nb.judge(t, idle=False)[1] == 2
    t["notebooks"]["00_quickstart.ipynb"]["wall_s"] = 59.0
    assert nb.judge(t)[1] == 0
    t["notebooks"]["03_sri_signal.ipynb"]["failed"] = True
    assert nb.judge(t)[1] == 1
    assert set(nb.BUDGETS_S) == {p.name for p in (ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb")}
