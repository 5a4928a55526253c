"""Packaging: the Binder environment file, the console script, the public API."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent


def test_environment_yml_structure():
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    assert env["name"] == "sri_kit"
    deps = env["dependencies"]
    assert any(str(d).startswith("python=3.1") for d in deps) and "pip" in deps
    pip = next(d["pip"] for d in deps if isinstance(d, dict) and "pip" in d)
    assert any(p.startswith("torch==") and "+cpu" in p for p in pip), "Binder needs a CPU build of torch"
    assert any(p.startswith("-e .") for p in pip), "the kit must be installed editable"
    assert (ROOT / "notebooks" / "00_quickstart.ipynb").is_file(), "Binder opens notebooks/00_quickstart.ipynb"
    assert (ROOT / "notebooks").resolve() == (ROOT / "sri_kit" / "_data" / "notebooks").resolve(), \
        "Binder's notebooks/ must be the notebooks the package ships (a link to sri_kit/_data/notebooks)"


def test_pyproject_ships_the_data_and_jupyterlab():
    """A wheel carries sri_kit/_data (organism, prompt sets, store, notebooks); JupyterLab comes with the kit."""
    try:
        import tomllib
    except ModuleNotFoundError:            # Python 3.10
        import tomli as tomllib
    meta = tomllib.loads((ROOT / "pyproject.toml").read_text())
    assert "_data/**/*" in meta["tool"]["setuptools"]["package-data"]["sri_kit"]
    deps = " ".join(meta["project"]["dependencies"])
    for need in ("jupyterlab", "ipywidgets", "ipykernel"):
        assert need in deps, f"{need} must be a regular dependency (`sri-kit lab`)"
    assert any(d.startswith("nbval") for d in meta["project"]["optional-dependencies"]["dev"])


def test_package_never_computes_the_repository_root():
    """Package data is found with importlib.resources (sri_kit.resources), never from a path built on __file__."""
    bad = [f"{p.relative_to(ROOT)}:{i}" for p in sorted((ROOT / "sri_kit").rglob("*.py"))
           for i, line in enumerate(p.read_text(encoding="utf-8").splitlines(), 1)
           if "__file__" in line or "REPO_ROOT" in line]
    assert not bad, f"paths computed from the source tree: {bad}"
    import sri_kit as sk
    from sri_kit.resources import data_dir
    for sub in ("models/tiny-ar/config.json", "models/tiny-dlm/model.safetensors", "prompts/tiny_benign.jsonl",
                "attacks/templates.jsonl", "results/tiny-dlm/plain.json", "notebooks/00_quickstart.ipynb"):
        assert data_dir(*sub.split("/")).is_file(), sub
    assert sk.models.MODELS_DIR == data_dir("models")


def test_cli_help():
    out = subprocess.run([sys.executable, "-m", "sri_kit.cli", "--help"], capture_output=True, text=True, check=True)
    for cmd in ("demo", "lab", "organism", "generate", "presets"):
        assert cmd in out.stdout


def test_public_api():
    import sri_kit as sk

    for name in ("load_model", "GenerationConfig", "generate", "GenerationTrace", "Centers", "sri_signal",
                 "internal_recovery_rate", "is_refusal"):
        assert hasattr(sk, name), name
    assert sk.GenerationConfig().key() == sk.GenerationConfig().key()
    assert sk.GenerationConfig(steps=16).key() != sk.GenerationConfig().key()


def test_cli_passes_options_through(monkeypatch):
    """`sri-kit demo --out DIR` reaches the demo's own parser (argparse REMAINDER alone drops leading options)."""
    import sri_kit.cli as cli
    import sri_kit.demo as demo

    seen = []
    monkeypatch.setattr(demo, "main", lambda argv: seen.append(list(argv)) or 0)
    assert cli.main(["demo", "--out", "somewhere", "--n-anchor", "8"]) == 0
    assert seen == [["--out", "somewhere", "--n-anchor", "8"]]
