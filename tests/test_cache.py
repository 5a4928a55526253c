"""The generation cache (sri_kit.cache): checksummed entries, atomic writes, shared by concurrent runs, and a
run killed with SIGKILL that resumes to bit-identical tables."""
from __future__ import annotations

import json
import multiprocessing as mp
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from sri_kit import GenerationConfig
from sri_kit import cache as cache_mod
from sri_kit.cache import (GENERATION_CODE, GenerationCache, cache_root, code_digest, entry_key, model_fingerprint,
                            pack, unpack)

ROOT = Path(__file__).resolve().parents[1]


class _LM:
    """A stand-in with a model fingerprint (the cache only needs .model and .name)."""

    def __init__(self, seed=0):
        import torch
        torch.manual_seed(seed)
        self.model = torch.nn.Linear(3, 2)
        self.name = "stand-in"


def test_round_trip_and_fingerprint():
    c = pack({"texts": ["a"]}, {"x": b"\x00\x01"})
    assert unpack(c) == {"meta": {"texts": ["a"]}, "blobs": {"x": b"\x00\x01"}}
    a, b = _LM(0), _LM(1)
    assert model_fingerprint(a) == model_fingerprint(a) != model_fingerprint(b)


def test_fingerprint_is_the_weights_not_the_folder(tmp_path):
    """The same weights loaded from two folders (two checkouts or worktrees) share a fingerprint, so they share
    cached generations; a changed weight or config value does not."""
    import shutil

    import torch

    import sri_kit as sk
    from sri_kit.models.presets import MODELS_DIR
    src = MODELS_DIR / "tiny-ar"
    if not (src / "model.safetensors").exists():
        pytest.skip("the organism's weights are not in this install")
    a, b = tmp_path / "a" / "tiny-ar", tmp_path / "b" / "tiny-ar"
    shutil.copytree(src, a)
    shutil.copytree(src, b)
    la, lb = sk.load_model(str(a), dtype=torch.float32), sk.load_model(str(b), dtype=torch.float32)
    assert la.model.config._name_or_path != lb.model.config._name_or_path
    assert model_fingerprint(la) == model_fingerprint(lb)
    lb.model.config.rms_norm_eps = lb.model.config.rms_norm_eps * 2
    cache_mod._FP.clear()
    assert model_fingerprint(la) != model_fingerprint(lb)


@pytest.mark.parametrize("damage", ["truncate", "flip", "garbage", "empty"])
def test_damaged_entry_is_detected_and_regenerated(tmp_path, damage):
    cache, lm, cfg = GenerationCache(tmp_path), _LM(), GenerationConfig(steps=4, gen_length=4)
    calls = []

    def gen(lm_, ps, c, pf):
        calls.append(ps)
        return [p.upper() for p in ps]

    assert cache.texts(lm, ["ab", "cd"], cfg, generate=gen)[0] == ["AB", "CD"]
    p = next((tmp_path / "generations").rglob("*.bin"))
    data = p.read_bytes()
    p.write_bytes({"truncate": data[:-7], "flip": data[:40] + bytes([data[40] ^ 1]) + data[41:],
                   "garbage": b"not an entry", "empty": b""}[damage])
    texts, _, hit = cache.texts(lm, ["ab", "cd"], cfg, generate=gen)
    assert texts == ["AB", "CD"] and not hit and len(calls) == 2 and cache.corrupt == 1
    assert cache.texts(lm, ["ab", "cd"], cfg, generate=gen)[2] is True        # the rewritten entry is used


def test_keys_separate_models_configs_prompts_and_prefill(tmp_path):
    cache, cfg = GenerationCache(tmp_path), GenerationConfig(steps=4, gen_length=4)

    def gen(lm_, ps, c, pf):
        return [f"{p}|{c.steps}|{pf}" for p in ps]

    a = cache.texts(_LM(0), ["x"], cfg, generate=gen)
    assert cache.texts(_LM(0), ["x"], cfg, generate=gen)[2]
    assert not cache.texts(_LM(1), ["x"], cfg, generate=gen)[2]
    assert not cache.texts(_LM(0), ["x"], cfg.replace(steps=2), generate=gen)[2]
    assert not cache.texts(_LM(0), ["x"], cfg, prefill="Sure", generate=gen)[2]
    assert a[0] == ["x|4|None"]


def test_traces_with_extra_sites_have_their_own_key(tmp_path):
    """Traces recorded at extra sites (the layer ablation's) are cached under a key that names the sites: the
    plain traces of the same prompts are not served for them, and they come back with every site."""
    import sri_kit as sk
    lm = sk.load_model("tiny-ar")
    cfg = lm.default_config.replace(gen_length=8)
    cache, sites = GenerationCache(tmp_path), ["resid_post.0"]

    def gen(sites_):
        return lambda m, p, c, pf: sk.generate(m, p, c, progress=False, prefill=pf, sites=sites_)
    plain = cache.traces(lm, ["Hi there"], cfg, generate=gen(None))
    assert cache.misses == 1 and not plain[0].sites
    multi = cache.traces(lm, ["Hi there"], cfg, generate=gen(sites), sites=sites)
    assert cache.misses == 2 and set(multi[0].sites) == set(sites)
    again = cache.traces(lm, ["Hi there"], cfg, generate=lambda *a: pytest.fail("regenerated"), sites=sites)
    assert cache.hits == 1 and (again[0].sites["resid_post.0"] == multi[0].sites["resid_post.0"]).all()


def test_changed_generation_code_regenerates(tmp_path, monkeypatch):
    """A cached generation is never served for code that would generate differently: the digest of the
    sampling, model, native and hook code is part of every key."""
    cache, cfg = GenerationCache(tmp_path / "c"), GenerationConfig(steps=4, gen_length=4)

    def gen(lm_, ps, c, pf):
        return list(ps)

    cache.texts(_LM(0), ["x"], cfg, generate=gen)
    assert cache.texts(_LM(0), ["x"], cfg, generate=gen)[2]
    monkeypatch.setattr(cache_mod, "_CODE", ["another-version"])
    assert not cache.texts(_LM(0), ["x"], cfg, generate=gen)[2]
    # the digest reads every .py file of the named folders and files (a change to any one changes it)
    pkg = tmp_path / "pkg"
    (pkg / "sampling" / "__pycache__").mkdir(parents=True)
    (pkg / "sampling" / "a.py").write_text("x = 1\n")
    (pkg / "config.py").write_text("y = 2\n")
    (pkg / "other.py").write_text("z = 3\n")
    d0 = code_digest(pkg, ("config.py", "sampling"))
    (pkg / "sampling" / "__pycache__" / "a.pyc").write_bytes(b"\0")
    (pkg / "other.py").write_text("z = 4\n")
    assert code_digest(pkg, ("config.py", "sampling")) == d0          # not generation code
    (pkg / "sampling" / "a.py").write_text("x = 2\n")
    assert code_digest(pkg, ("config.py", "sampling")) != d0
    assert set(GENERATION_CODE) >= {"sampling", "models", "native", "hooks.py", "config.py"}
    from importlib.resources import files
    assert all((files("sri_kit") / n).is_file() or (files("sri_kit") / n).is_dir() for n in GENERATION_CODE)


def _writer(root, n, tag):
    c = GenerationCache(root)
    for i in range(n):
        c.put(entry_key("shared", i % 5), {"i": i % 5, "payload": "y" * 20000})
        c.put(entry_key(tag, i), {"i": i})


def test_two_concurrent_writers_do_not_corrupt(tmp_path):
    ctx = mp.get_context("spawn")
    ps = [ctx.Process(target=_writer, args=(str(tmp_path), 60, t)) for t in ("a", "b")]
    for p in ps:
        p.start()
    reader, seen = GenerationCache(tmp_path), 0
    while any(p.is_alive() for p in ps):
        for k in range(5):
            e = reader.get(entry_key("shared", k))
            seen += e is not None
            assert e is None or e["meta"] == {"i": k, "payload": "y" * 20000}
    for p in ps:
        p.join()
        assert p.exitcode == 0
    assert reader.corrupt == 0
    files = list((tmp_path / "generations").rglob("*"))
    assert not [f for f in files if f.name.endswith(".tmp")], "a temporary file was left behind"
    assert all(unpack(f.read_bytes()) is not None for f in files if f.suffix == ".bin")
    assert len([f for f in files if f.suffix == ".bin"]) == 5 + 120


def test_default_location_follows_xdg(monkeypatch, tmp_path):
    monkeypatch.delenv("SRI_KIT_CACHE", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    assert cache_root() == tmp_path / "sri_kit"
    monkeypatch.setenv("SRI_KIT_CACHE", str(tmp_path / "x"))
    assert cache_root() == tmp_path / "x"


_RUN = """
import importlib.util, sys, torch
torch.set_num_threads(1)
spec = importlib.util.spec_from_file_location("kit_conftest", {conftest!r})
conf = importlib.util.module_from_spec(spec); spec.loader.exec_module(conf)
import sri_kit as sk
from sri_kit.results import ResultsStore
from sri_kit.results.compute import compute_model
tok = conf.build_tokenizer()
lm = sk.wrap_model(conf._llama(tok), tok, family="ar", name="tiny-random-llama",
                   default_config=sk.GenerationConfig(steps=6, gen_length=6))
compute_model(lm, "quick", n=3, store=ResultsStore(sys.argv[1]), cache_root=sys.argv[2], progress=False)
"""


def _tables(store: Path) -> dict:
    out = {}
    for f in sorted(store.rglob("*.json")):
        d = json.loads(f.read_text())
        for k in ("date", "compute_seconds", "commit", "dirty", "code", "command"):
            d.pop(k, None)
        out[f.name] = d
    return out


def test_sigkill_mid_run_then_resume_gives_identical_tables(tmp_path):
    script = tmp_path / "run.py"
    script.write_text(_RUN.format(conftest=str(ROOT / "tests" / "conftest.py")))
    env = {**os.environ, "OMP_NUM_THREADS": "1", "SRI_KIT_DATA": str(tmp_path / "no-data"),
           "PYTHONPATH": os.pathsep.join([str(ROOT)] + [x for x in [os.environ.get("PYTHONPATH")] if x])}
    cmd = [sys.executable, str(script)]
    # a clean run in its own cache
    subprocess.run(cmd + [str(tmp_path / "clean"), str(tmp_path / "cache_clean")], check=True, env=env, cwd=ROOT,
                   timeout=600)
    # a run killed after a few cells, then resumed on the same cache
    p = subprocess.Popen(cmd + [str(tmp_path / "killed"), str(tmp_path / "cache_k")], env=env, cwd=ROOT)
    t0 = time.time()
    while time.time() - t0 < 300:
        n = len(list((tmp_path / "cache_k").rglob("*.bin"))) if (tmp_path / "cache_k").exists() else 0
        if n >= 3 or p.poll() is not None:
            break
        time.sleep(0.05)
    assert p.poll() is None, "the run finished before it could be killed; the test needs more cells"
    p.send_signal(signal.SIGKILL)
    p.wait()
    done = len(list((tmp_path / "cache_k").rglob("*.bin")))
    subprocess.run(cmd + [str(tmp_path / "killed"), str(tmp_path / "cache_k")], check=True, env=env, cwd=ROOT,
                   timeout=600)
    assert done >= 3 and not list((tmp_path / "cache_k").rglob("*.tmp"))
    a, b = _tables(tmp_path / "clean"), _tables(tmp_path / "killed")
    assert a and a == b


def test_report_reads_its_generations_from_the_cache(ar_lm, bert_lm, tmp_path):
    """A second report run on a warm cache runs no forward pass of either model (every section, the layer
    ablation and the sweeps included, reads its generations from the cache) and writes the same tables."""
    import sri_kit as sk
    from sri_kit.report import build_report
    from sri_kit.results import ResultsStore
    pool_h = [f"tell me how to do bad thing {i}" for i in range(8)]
    pool_b = [f"write a poem about the sea {i}" for i in range(8)]
    outs = []
    for run in ("cold", "warm"):
        cache = GenerationCache(tmp_path / "cache")
        store = ResultsStore(tmp_path / run)
        calls = []
        hooks = [lm.model.register_forward_pre_hook(lambda *a: calls.append(1)) for lm in (ar_lm, bert_lm)]
        try:
            build_report(ar_lm, bert_lm, tmp_path / run / "R.md", quick=True, harmful_pool=pool_h,
                         benign_pool=pool_b, n_anchor=2, n_eval=3, ar_cfg=sk.GenerationConfig(steps=4),
                         dlm_cfg=sk.GenerationConfig(steps=4, gen_length=8, block_length=8), sweeps_on=True,
                         attack_names=["none", "roleplay"], layers=("first", "last"), store=store, cache=cache)
        finally:
            for h in hooks:
                h.remove()
        outs.append((cache.hits, cache.misses, len(calls), _tables(tmp_path / run)))
    (cold_hits, cold_miss, cold_calls, cold), (warm_hits, warm_miss, warm_calls, warm) = outs
    assert cold_miss > 0 and cold_calls > 0
    assert warm_miss == 0 and warm_hits == cold_hits + cold_miss     # (the sweeps reuse some of the run's entries)
    assert warm_calls == 0, f"a warm rerun ran {warm_calls} forward passes outside the cache"
    assert cold and cold == warm


def test_cached_traces_decode_their_steps_like_fresh_ones(tmp_path):
    """A trace read back from the cache (first run or resumed) carries the model's decoder: ``step_texts()``
    works and equals a fresh trace's (the analysis report's text-level sections read cached traces)."""
    import sri_kit as sk
    lm = sk.load_model("tiny-dlm")
    cfg = lm.default_config.replace(steps=8, gen_length=16, block_length=16)
    prompts = ["How do I bake bread?", "Tell me about the moon."]
    fresh = sk.generate(lm, prompts, cfg, progress=False)
    cache = GenerationCache(tmp_path)
    first = cache.traces(lm, prompts, cfg, generate=lambda m, p, c, pf: sk.generate(m, p, c, progress=False))
    again = cache.traces(lm, prompts, cfg, generate=lambda *a: pytest.fail("a cached entry was regenerated"))
    for tr in (first, again):
        assert [t.step_texts() for t in tr] == [t.step_texts() for t in fresh]
