"""scripts/ holds no logic of its own, and `sri-kit --help` lists every job a user runs (issue 27).

Every job lives in a package module behind a ``sri-kit`` subcommand. A ``scripts/*.py`` file is at most a thin
wrapper that keeps an old command working: it imports the package's ``main`` and calls it, with no function or
class of its own and a handful of lines. The ``scripts/*.sh`` files are shell recipes (GPU runs of the
organism's training), not Python logic, and are left out. Nothing in the repository edits ``sys.path``: a
module is imported from the installed package, or loaded by path with importlib (benchmarks/ does).
"""
from __future__ import annotations

import ast
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SCRIPTS = ROOT / "scripts"
#: Lines of code a wrapper may have (the module docstring, comments and blank lines not counted); today's
#: wrappers have 3.
MAX_CODE_LINES = 40
#: Folders never searched for ``.py`` files: virtual environments, build output, git's own.
SKIP_DIRS = {".venv", "venv", "build", "dist", ".git", "__pycache__", ".pytest_cache", "node_modules"}


def _code_lines(source: str, tree: ast.Module) -> int:
    """Non-blank, non-comment lines outside the module docstring."""
    doc = set()
    if tree.body and isinstance(tree.body[0], ast.Expr) and isinstance(tree.body[0].value, ast.Constant) \
            and isinstance(tree.body[0].value.value, str):
        doc = set(range(tree.body[0].lineno, tree.body[0].end_lineno + 1))
    return sum(1 for i, ln in enumerate(source.splitlines(), 1)
               if ln.strip() and not ln.strip().startswith("#") and i not in doc)


def _scripts() -> list[Path]:
    return sorted(SCRIPTS.glob("*.py"))


def test_scripts_are_thin_wrappers():
    assert _scripts(), "scripts/ has no Python wrappers: update this test"
    bad = []
    for p in _scripts():
        source = p.read_text(encoding="utf-8")
        tree = ast.parse(source, filename=str(p))
        n = _code_lines(source, tree)
        if n > MAX_CODE_LINES:
            bad.append(f"{p.name}: {n} lines of code (a wrapper has at most {MAX_CODE_LINES})")
        for node in ast.walk(tree):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Lambda)):
                what = type(node).__name__.replace("Def", "").replace("AsyncFunction", "function").lower()
                bad.append(f"{p.name}:{node.lineno} defines a {what} {getattr(node, 'name', '')}".rstrip())
        mains = [n for n in tree.body if isinstance(n, ast.ImportFrom) and (n.module or "").startswith("sri_kit")
                 and any(a.name == "main" for a in n.names)]
        if not mains:
            bad.append(f"{p.name}: imports no `main` from the sri_kit package (a wrapper calls the package's main)")
    assert not bad, "scripts/ must hold thin wrappers only; move the logic into the package:\n" + "\n".join(bad)


def _python_files() -> list[Path]:
    """The repository's .py files: tracked and untracked-but-not-ignored ones (git), else a walk of the tree."""
    try:
        r = subprocess.run(["git", "-C", str(ROOT), "ls-files", "-z", "--cached", "--others", "--exclude-standard",
                            "--", "*.py"], capture_output=True, text=True, timeout=60)
        if r.returncode == 0 and r.stdout:
            files = [ROOT / f for f in r.stdout.split("\0") if f]
            return sorted(p for p in files if p.is_file() and not SKIP_DIRS & set(p.relative_to(ROOT).parts))
    except (OSError, subprocess.SubprocessError):
        pass
    out = []
    for d, dirs, files in os.walk(ROOT):
        dirs[:] = [x for x in dirs if x not in SKIP_DIRS and not x.startswith(".")]
        out += [Path(d) / f for f in files if f.endswith(".py")]
    return sorted(out)


def _edits_sys_path(tree: ast.AST) -> list[int]:
    """Lines that change ``sys.path``: ``sys.path.insert/append/extend/...(...)``, ``sys.path = / += / [i] =``."""
    def is_sys_path(n) -> bool:
        return (isinstance(n, ast.Attribute) and n.attr == "path" and isinstance(n.value, ast.Name)
                and n.value.id == "sys")
    lines = []
    for n in ast.walk(tree):
        if isinstance(n, ast.Call) and isinstance(n.func, ast.Attribute) and is_sys_path(n.func.value) \
                and n.func.attr in ("insert", "append", "extend", "remove", "pop", "clear"):
            lines.append(n.lineno)
        elif isinstance(n, (ast.Assign, ast.AugAssign, ast.AnnAssign)):
            targets = n.targets if isinstance(n, ast.Assign) else [n.target]
            if any(is_sys_path(t) or (isinstance(t, ast.Subscript) and is_sys_path(t.value)) for t in targets):
                lines.append(n.lineno)
    return sorted(lines)


def test_nothing_edits_sys_path():
    files = _python_files()
    assert any(p.name == "cli.py" for p in files), "the search found no package files"
    bad = []
    for p in files:
        source = p.read_text(encoding="utf-8")
        # a textual guard too, for a line ast cannot see as a call (a string handed to exec, a notebook export)
        needles = ("sys.path." + "insert", "sys.path." + "append")
        if p != Path(__file__).resolve():
            bad += [f"{p.relative_to(ROOT)}:{i}" for i, ln in enumerate(source.splitlines(), 1)
                    if any(s in ln for s in needles)]
        bad += [f"{p.relative_to(ROOT)}:{i}" for i in _edits_sys_path(ast.parse(source, filename=str(p)))]
    assert not bad, "sys.path edited (import from the package, or load a neighbour file by path):\n" + \
        "\n".join(sorted(set(bad)))


def test_the_sys_path_rule_sees_an_edit():
    src = "import sys\nsys.path.insert(0, 'x')\nsys.path += ['y']\nsys.path[0] = 'z'\nprint(sys.path)\n"
    assert _edits_sys_path(ast.parse(src)) == [2, 3, 4]


def _help(capsys, *args: str) -> str:
    import sri_kit.cli as cli

    with pytest.raises(SystemExit) as e:
        cli.main([*args, "--help"])
    assert e.value.code == 0
    return capsys.readouterr().out


def test_sri_kit_help_lists_the_jobs_that_were_scripts(capsys):
    top = _help(capsys)
    for job in ("browser-check", "strip-notebooks", "guard-eval", "guard-diagnosis", "attack-success", "organism"):
        assert job in top, job
    assert "benign-answers" in _help(capsys, "organism")
    assert "--executed" in _help(capsys, "browser-check")            # the job's own parser answers its --help
    assert "--gguf" in _help(capsys, "organism", "benign-answers")


@pytest.mark.parametrize("job, module", [
    (["browser-check"], "sri_kit.browser_check.check"),
    (["organism", "benign-answers"], "sri_kit.organism.benign_answers"),
    (["strip-notebooks"], "sri_kit.strip_notebooks"),
])
def test_subcommands_forward_their_options(job, module, monkeypatch):
    """`sri-kit JOB ARGS` reaches the moved main with ARGS unchanged, options first included."""
    import importlib

    import sri_kit.cli as cli

    mod = importlib.import_module(module)
    seen = []
    monkeypatch.setattr(mod, "main", lambda argv=None: seen.append(list(argv)) or 0)
    args = ["-q", "--budget", "5", "--executed", "DIR", "x"]
    assert cli.main([*job, *args]) == 0
    assert seen == [args]


def test_browser_check_imports_without_playwright():
    """The kit, its CLI and the browser check's modules import without the [browser] extra."""
    code = ("import sys; sys.modules['playwright'] = None; sys.modules['playwright.sync_api'] = None\n"
            "import sri_kit, sri_kit.cli, sri_kit.browser_check.check, sri_kit.browser_check.lab\n"
            "import sri_kit.organism.benign_answers, sri_kit.strip_notebooks\n"
            "print('ok')")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120,
                       env={**os.environ, "PYTHONPATH": os.pathsep.join(
                           [str(ROOT), *filter(None, [os.environ.get("PYTHONPATH")])])})
    assert r.returncode == 0 and r.stdout.strip() == "ok", r.stderr[-2000:]


def test_strip_notebooks_keeps_only_checked_outputs(tmp_path):
    nbformat = pytest.importorskip("nbformat")
    from sri_kit.strip_notebooks import MARK, main

    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell("1 + 1"), nbformat.v4.new_code_cell(f"{MARK}\nprint('x')"),
                nbformat.v4.new_markdown_cell("text")]
    nb.cells[0].outputs = [nbformat.v4.new_output("execute_result", data={"text/plain": "2"}, execution_count=1)]
    nb.cells[0].execution_count = 1
    nb.cells[1].outputs = [nbformat.v4.new_output("stream", name="stdout", text="x\n"),
                           nbformat.v4.new_output("display_data", data={"image/png": "iVBORw0KGgo="})]
    nb.cells[1].execution_count = 2
    nb.metadata["widgets"] = {"state": {}}
    path = tmp_path / "n.ipynb"
    nbformat.write(nb, path)
    assert main([str(path)]) == 0
    out = nbformat.read(path, as_version=4)
    assert out.cells[0].outputs == [] and out.cells[0].execution_count is None
    assert [o["output_type"] for o in out.cells[1].outputs] == ["stream"] and out.cells[1].execution_count == 2
    assert "widgets" not in out.metadata
