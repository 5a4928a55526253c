"""Smoke test of the benchmark machinery (benchmarks/run.py) on tiny random models.

No timing assertions: speed targets live in benchmarks/, measured by `python benchmarks/run.py`.
"""
from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
KEYS = ["ar_hook_overhead_ratio", "diffusion_hook_overhead_ratio", "ar_speedup_vs_reference",
        "diffusion_speedup_vs_reference", "sri_time_fraction", "guard_time_fraction", "peak_rss_mb",
        "scaling", "machine", "rss", "throughput", "targets_met"]


def _load(name: str):
    spec = importlib.util.spec_from_file_location(f"bench_{name}", ROOT / "benchmarks" / f"{name}.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


@pytest.fixture(scope="module")
def smoke(tmp_path_factory):
    out = tmp_path_factory.mktemp("bench") / "bench.json"
    res = _load("run").main(["--smoke", "--json", str(out)])
    return res, out


def test_smoke_run_writes_json_with_keys(smoke):
    res, out = smoke
    data = json.loads(out.read_text())
    for k in KEYS:
        assert k in data, k
    for k in ("ar_hook_overhead_ratio", "diffusion_hook_overhead_ratio", "ar_speedup_vs_reference",
              "diffusion_speedup_vs_reference", "sri_time_fraction", "peak_rss_mb"):
        assert isinstance(data[k], float) and data[k] > 0, k
    assert data["guard_time_fraction"] is None or data["guard_time_fraction"] > 0
    for k in ("cpu", "cores", "torch"):
        assert k in data["machine"]
    assert set(data["scaling"]) == {"batch", "length", "steps"}
    assert all(set(v) == {"sigma", "traces"} for v in data["rss"].values())
    fig = out.parent / data["figure"]     # recorded by file name when it sits beside the JSON (no machine path)
    assert fig.exists() and fig.suffix == ".png"


def test_reference_matches_kit(smoke):
    """The reference-style implementation computes the same traces as the kit (same tokens and φ)."""
    res, _ = smoke
    for fam in ("ar", "diffusion"):
        thr = res["throughput"][fam]
        assert thr["reference_same_text_fraction"] == 1.0
        assert thr["reference_max_abs_phi_diff"] < 1e-4


def test_cuda_check_without_cuda_exits_cleanly(capsys):
    torch = pytest.importorskip("torch")
    if torch.cuda.is_available():
        pytest.skip("a CUDA device is present; run benchmarks/cuda_check.py directly")
    assert _load("cuda_check").main([]) == 0
    assert _load("cuda_check").main(["--require-cuda"]) == 1
    assert "no CUDA device" in capsys.readouterr().out


def test_text_only_benchmark_compares_equal_texts(tmp_path):
    """benchmarks/text_only.py on the organism DLM: both samplers, the texts checked equal, a ratio recorded."""
    out = tmp_path / "t.json"
    res = _load("text_only").main(["--n", "4", "--repeats", "1", "--json", str(out)])
    data = json.loads(out.read_text())
    assert set(data["samplers"]) == {"diffusion", "left-to-right"} == set(res["samplers"])
    for r in data["samplers"].values():
        assert r["same_texts"] is True and r["full_over_text_only"] > 0
