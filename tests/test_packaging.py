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
    assert any(p.startswith("-e .") and "notebooks" in p for p in pip), "the kit must be installed editable"


def test_cli_help():
    out = subprocess.run([sys.executable, "-m", "sri_kit.cli", "--help"], capture_output=True, text=True, check=True)
    for cmd in ("demo", "organism", "generate", "presets"):
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
