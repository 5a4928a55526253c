#!/usr/bin/env python
"""sri_kit benchmarks: hook overhead, throughput against a reference-style implementation, SRI and
SRI Guard cost, memory while collecting traces, and scaling.

Usage::

    python benchmarks/run.py            # full run (< 15 min on 2 cores): results/benchmark.json + figure
    python benchmarks/run.py --quick    # < 3 min: results/benchmark_quick.json
    python benchmarks/run.py --json out.json --model-ar PATH --model-dlm PATH
    python benchmarks/run.py --quick --fast-decoding   # + fast DLM samplers vs exact (fast_decoding.py --quick)

Every number is a ratio of two timings taken in this one process (warm-up first, then interleaved
repeats, medians), because the machines here are noisy. Models: the embedded organism
(``sri_kit/_data/models/tiny-ar``, ``tiny-dlm``) when present, else random-initialised models of the same
architecture and size (the output says which). See benchmarks/README.md for the method.
"""
from __future__ import annotations

import argparse
import gc
import json
import os
import statistics
import subprocess
import sys
import threading
import time
from contextlib import contextmanager
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent


def _sibling(name: str):
    """A neighbour module of benchmarks/ (not a package), loaded by path: nothing edits sys.path."""
    if name in sys.modules:
        return sys.modules[name]
    import importlib.util
    spec = importlib.util.spec_from_file_location(name, HERE / f"{name}.py")
    mod = importlib.util.module_from_spec(spec)
    sys.modules[name] = mod
    spec.loader.exec_module(mod)
    return mod

import numpy as np  # noqa: E402
import torch  # noqa: E402

import sri_kit as sk  # noqa: E402
from sri_kit.sampling import ar as ar_mod  # noqa: E402
from sri_kit.sampling import diffusion as diff_mod  # noqa: E402

reference = _sibling("reference")

RESULTS = HERE / "results"

#: What each profile measures. ``smoke`` is for the test suite: tiny models, seconds.
PROFILES = {
    "full": dict(size="organism", steps=32, gen_length=64, block_length=32, batch=32, n_traces=256, n_traces_dlm=256,
                 n_ref=32, repeats=7, hook_batch_dlm=8, hook_repeats_dlm=5, thr_repeats=2,
                 rss=[("ar", 1000, 250), ("diffusion", 64, 16)], rss_subprocess=True,
                 scale_batch=[1, 4, 16, 64], scale_len=[16, 32, 64, 128, 256], scale_steps=[8, 16, 32, 64],
                 scale_n=8, scale_repeats=1, guard_epochs=100),
    "quick": dict(size="organism", steps=32, gen_length=64, block_length=32, batch=32, n_traces=64, n_traces_dlm=32,
                  n_ref=8, repeats=3, hook_batch_dlm=4, hook_repeats_dlm=3, thr_repeats=1,
                  rss=[("ar", 256, 64), ("diffusion", 16, 8)], rss_subprocess=True, scale_batch=[1, 4, 16],
                  scale_len=[16, 32, 64], scale_steps=[8, 16, 32], scale_n=4, scale_repeats=1, guard_epochs=30),
    "smoke": dict(size="smoke", steps=8, gen_length=16, block_length=8, batch=4, n_traces=8, n_traces_dlm=8, n_ref=2,
                  repeats=1, hook_batch_dlm=4, hook_repeats_dlm=1, thr_repeats=1, rss=[("diffusion", 8, 4)],
                  rss_subprocess=False, scale_batch=[1, 2], scale_len=[8, 16], scale_steps=[4, 8], scale_n=2,
                  scale_repeats=1, guard_epochs=5),
}
#: Organism architecture (sri_kit/organism/train.py); ``smoke`` is a miniature of it.
SIZES = {"organism": dict(hidden=256, inter=704, layers=4, heads=4, vocab=6000),
         "smoke": dict(hidden=32, inter=64, layers=2, heads=2, vocab=400)}

TARGETS = {"ar_hook_overhead_ratio": ("<=", 1.10), "diffusion_hook_overhead_ratio": ("<=", 1.05),
           "ar_speedup_vs_reference": (">=", 10.0), "diffusion_speedup_vs_reference": (">=", 3.0),
           "sri_time_fraction": ("<=", 0.0005), "guard_time_fraction": ("<=", 0.001)}


# ----------------------------------------------------------------------------------------------
# machine, timing and memory helpers

def timed(fn):
    t0 = time.perf_counter()
    out = fn()
    return time.perf_counter() - t0, out


def compare(fa, fb, repeats: int, warmup: int = 1) -> dict:
    """Interleaved A/B timing (warm-up first). Returns medians, the ratio of medians and of mins."""
    for _ in range(warmup):
        fa()
        fb()
    ta, tb = [], []
    for i in range(repeats):
        order = (fa, fb) if i % 2 == 0 else (fb, fa)     # alternate which runs first
        for f in order:
            dt, _ = timed(f)
            (ta if f is fa else tb).append(dt)
    return {"a_s": statistics.median(ta), "b_s": statistics.median(tb),
            "ratio": statistics.median(ta) / statistics.median(tb), "ratio_of_mins": min(ta) / min(tb),
            "a_all": ta, "b_all": tb}


def rss_mb() -> float:
    try:
        import psutil
        return psutil.Process().memory_info().rss / 2**20
    except ImportError:     # Linux fallback
        with open("/proc/self/statm") as f:
            return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


class PeakRSS:
    """Samples this process's RSS every few milliseconds in a thread; ``peak`` is the maximum seen."""

    def __init__(self, interval: float = 0.005):
        self.interval, self.peak, self._stop = interval, rss_mb(), threading.Event()

    def __enter__(self):
        self._t = threading.Thread(target=self._run, daemon=True)
        self._t.start()
        return self

    def _run(self):
        while not self._stop.is_set():
            self.peak = max(self.peak, rss_mb())
            time.sleep(self.interval)

    def __exit__(self, *exc):
        self._stop.set()
        self._t.join()
        self.peak = max(self.peak, rss_mb())


# ----------------------------------------------------------------------------------------------
# models and prompts

def _tokenizer(size: str):
    from sri_kit.organism.tokenizer import train_tokenizer
    if size == "smoke":
        words = ("write a poem about the sea how do I bake bread at home I am sorry but I cannot help with that "
                 "sure here is how to do it step 1 step 2 tell me a story about a dragon hello world").split()
        texts = [" ".join(words[i:i + 7]) for i in range(len(words))] * 20
        return train_tokenizer(texts, vocab_size=SIZES["smoke"]["vocab"])
    from sri_kit.organism import train as T
    cfg = T.RunCfg()
    return train_tokenizer(T.tokenizer_texts(T.training_pools(cfg), cfg), vocab_size=cfg.vocab_size)


def random_models(size: str) -> tuple:
    """Random-initialised tiny-ar / tiny-dlm twins: the organism's classes, sizes and configs."""
    from transformers import LlamaConfig, LlamaForCausalLM, ModernBertConfig, ModernBertForMaskedLM
    s = SIZES[size]
    tok = _tokenizer(size)
    common = dict(vocab_size=len(tok), hidden_size=s["hidden"], intermediate_size=s["inter"],
                  num_hidden_layers=s["layers"], num_attention_heads=s["heads"], max_position_embeddings=512,
                  tie_word_embeddings=True, pad_token_id=tok.pad_token_id, bos_token_id=tok.bos_token_id,
                  eos_token_id=tok.eos_token_id)
    torch.manual_seed(0)
    ar = LlamaForCausalLM(LlamaConfig(num_key_value_heads=s["heads"], rope_theta=10000.0, **common)).eval()
    dlm = ModernBertForMaskedLM(ModernBertConfig(global_attn_every_n_layers=1, cls_token_id=tok.bos_token_id,
                                                 sep_token_id=tok.eos_token_id, reference_compile=False,
                                                 attn_implementation="sdpa", **common)).eval()
    return (sk.wrap_model(ar, tok, family="ar", name=f"random-{size}-ar"),
            sk.wrap_model(dlm, tok, family="diffusion", name=f"random-{size}-dlm"))


def load_models(prof: dict, model_ar: str | None, model_dlm: str | None, log) -> tuple:
    """(ar, dlm, note). Organism or given paths when present, else random twins of the organism size."""
    if prof["size"] == "smoke":
        ar, dlm = random_models("smoke")
        return ar, dlm, "smoke: random miniature models (hidden 32, 2 layers)"
    names = {"ar": model_ar or "tiny-ar", "dlm": model_dlm or "tiny-dlm"}
    loaded, missing = {}, []
    for k, name in names.items():
        try:
            loaded[k] = sk.load_model(name, device="cpu")
        except (FileNotFoundError, OSError, ValueError) as e:
            missing.append(f"{name} ({e.__class__.__name__})")
    if missing:
        log(f"NOTE: {', '.join(missing)} not available -> using RANDOM-initialised models of the organism's "
            f"architecture and size (hidden 256, 4 layers, 4 heads, vocab ~6k); timings are representative, "
            f"texts are not")
        ar, dlm = random_models("organism")
        loaded.setdefault("ar", ar)
        loaded.setdefault("dlm", dlm)
    note = ("organism weights" if not missing else "random models of the organism size (weights absent)")
    return loaded["ar"], loaded["dlm"], note


def prompts(n: int, size: str) -> list[str]:
    """n prompts alternating benign / harmful (the embedded sets, else the organism corpus generator)."""
    try:
        from sri_kit.data import load_prompts
        benign, harmful = load_prompts("tiny_benign"), load_prompts("tiny_harmful")
    except Exception:
        from sri_kit.organism.corpus import sample_requests
        k = max(n // 2 + 1, 64)
        benign = [r.text for r in sample_requests("benign", k, seed=123)]
        harmful = [r.text for r in sample_requests("harmful", k, seed=123)]
    if size == "smoke":
        benign, harmful = [p[:40] for p in benign], [p[:40] for p in harmful]
    mixed = [p for pair in zip(benign, harmful) for p in pair]
    return [mixed[i % len(mixed)] for i in range(n)]


def configs(prof: dict, ar_lm, dlm_lm) -> tuple:
    """Greedy configs of the profile's size; the organism's recommended config where it matches."""
    ar_cfg = sk.GenerationConfig(steps=prof["steps"])
    dlm_cfg = sk.GenerationConfig(steps=prof["steps"], gen_length=prof["gen_length"], block_length=prof["block_length"])
    if prof["size"] != "smoke":
        if ar_lm.default_config.steps == ar_cfg.steps and ar_lm.default_config.temperature == 0:
            ar_cfg = ar_lm.default_config
        dc = dlm_lm.default_config
        if (dc.steps, dc.gen_length, dc.block_len, dc.temperature) == (dlm_cfg.steps, dlm_cfg.gen_length,
                                                                      dlm_cfg.block_len, 0.0):
            dlm_cfg = dc
    return ar_cfg, dlm_cfg


# ----------------------------------------------------------------------------------------------
# hook-free variants

def null_site_door(batch: int, dim: int):
    """A stand-in for the samplers' per-step door (``sri_kit.sampling.recorder.StepRecorder``) that registers
    no site hook: every site's state is zeros [batch, 1, dim], so the pooler averages zeros. Everything
    else (step marks, per-step arrays, pooling calls) runs as usual."""
    from sri_kit.sampling.pooling import Pooler
    from sri_kit.sampling.recorder import StepRecorder

    class NullSiteDoor(StepRecorder):
        @contextmanager
        def attach(self, model=None, *, steps, rows=None, cols=None):
            self.T = int(steps)
            self._poolers = {s: Pooler(self.cfg.pooling) for s in self.sites}
            self._zero = torch.zeros((batch, 1, dim), device=next(model.parameters()).device)
            try:
                yield self
            finally:
                self.current_step = None

        def states(self, site):
            return self._zero

    return NullSiteDoor


@contextmanager
def hooks_disabled(module, batch: int, dim: int):
    """Samplers run with :func:`null_site_door` instead of the hooked door for the block (``module`` is
    unused: every sampler opens its door through ``sri_kit.sampling.recorder``)."""
    from sri_kit.sampling import recorder

    orig = recorder.StepRecorder
    recorder.StepRecorder = null_site_door(batch, dim)
    try:
        yield
    finally:
        recorder.StepRecorder = orig


def hf_generate_fn(lm, prompts_: list[str], cfg):
    """Plain HF: chat template, left padding, ``model.generate`` (greedy, no hooks), batch_decode."""
    tok, model = lm.tokenizer, lm.model
    end = list(lm.end_token_ids) or [tok.eos_token_id]

    def run():
        rows = [reference._chat_ids(tok, p, cfg.system_prompt) for p in prompts_]
        P = max(map(len, rows))
        ids = torch.full((len(rows), P), lm.pad_token_id, dtype=torch.long)
        attn = torch.zeros_like(ids)
        for i, r in enumerate(rows):
            ids[i, P - len(r):] = torch.tensor(r)
            attn[i, P - len(r):] = 1
        with torch.no_grad():
            out = model.generate(input_ids=ids.to(lm.device), attention_mask=attn.to(lm.device),
                                 max_new_tokens=cfg.steps, do_sample=False, pad_token_id=lm.pad_token_id,
                                 eos_token_id=end, temperature=None, top_p=None, top_k=None)
        return tok.batch_decode(out[:, P:], skip_special_tokens=True)

    return run


# ----------------------------------------------------------------------------------------------
# the measurements

def bench_hooks(ar, dlm, ar_cfg, dlm_cfg, prof, log) -> dict:
    B = prof["batch"]
    ps = prompts(B, prof["size"])
    res = {}
    # AR, end to end: sri_kit.generate (template, hooked sampler, traces) vs HF template + generate + decode
    kit = lambda: sk.generate(ar, ps, ar_cfg, batch_size=B, progress=False)  # noqa: E731
    hf = hf_generate_fn(ar, ps, ar_cfg)
    c = compare(kit, hf, prof["repeats"])
    kit_texts = [t.text for t in kit()]
    hf_texts = [s.strip() for s in hf()]
    res["ar_hook_overhead_ratio"] = c["ratio"]
    res["ar_end_to_end"] = {"kit_s": c["a_s"], "hf_generate_s": c["b_s"], "ratio_of_mins": c["ratio_of_mins"],
                            "same_text_fraction": float(np.mean([a == b for a, b in zip(kit_texts, hf_texts)]))}
    log(f"AR  sri_kit.generate {c['a_s']*1e3:8.1f} ms | HF generate {c['b_s']*1e3:8.1f} ms | ratio {c['ratio']:.3f}")
    # AR, sampler only (same padded ids): ARSampler.run vs model.generate
    rows = ar.encode_chat(ps, system_prompt=ar_cfg.system_prompt)
    D = ar.model.config.hidden_size
    c2 = compare(lambda: ar_mod.ARSampler().run(ar, rows, ar_cfg), hf, prof["repeats"])
    with hooks_disabled(ar_mod, B, D):
        c3 = compare(lambda: ar_mod.ARSampler().run(ar, rows, ar_cfg), hf, prof["repeats"])
    res["ar_sampler_vs_hf_ratio"] = c2["ratio"]
    res["ar_sampler_without_hook_vs_hf_ratio"] = c3["ratio"]
    res["ar_hook_only_ratio"] = c2["a_s"] / c3["a_s"]
    log(f"AR  sampler only vs HF {c2['ratio']:.3f}; same sampler without hook vs HF {c3['ratio']:.3f}")
    # diffusion: the same sampler with and without the hook (record_steps patched to a no-op)
    Bd = prof["hook_batch_dlm"]
    drows = dlm.encode_chat(ps[:Bd], system_prompt=dlm_cfg.system_prompt)
    D = dlm.model.config.hidden_size
    hooked = lambda: diff_mod.MaskedDiffusionSampler().run(dlm, drows, dlm_cfg)  # noqa: E731

    def unhooked():
        with hooks_disabled(diff_mod, Bd, D):
            return diff_mod.MaskedDiffusionSampler().run(dlm, drows, dlm_cfg)

    c4 = compare(hooked, unhooked, prof["hook_repeats_dlm"])
    res["diffusion_hook_overhead_ratio"] = c4["ratio"]
    res["diffusion_hook"] = {"batch": Bd, "hooked_s": c4["a_s"], "unhooked_s": c4["b_s"],
                             "ratio_of_mins": c4["ratio_of_mins"]}
    log(f"DLM sampler (batch {Bd}) hooked {c4['a_s']*1e3:8.1f} ms | unhooked {c4['b_s']*1e3:8.1f} ms | ratio {c4['ratio']:.3f}")
    return res


def _centers(traces) -> tuple:
    """A plain (harmless, harmful) pair from alternating benign/harmful traces (timing only)."""
    a = np.stack([t.activations for t in traces])
    return a[0::2].mean(0), a[1::2].mean(0)


def bench_throughput(lm, cfg, prof, log, family: str) -> dict:
    """Traces/s collecting n_traces (batch) with σ, vs the reference on n_ref prompts; σ and guard cost."""
    n = prof["n_traces"] if family == "ar" else prof["n_traces_dlm"]
    B, n_ref = prof["batch"], prof["n_ref"]
    ps = prompts(n, prof["size"])
    warm = sk.generate(lm, ps[:B], cfg, batch_size=B, progress=False)           # warm-up, centers
    centers = _centers(warm)
    gen_t, sig_t = [], []
    for _ in range(prof["thr_repeats"]):
        tg, traces = timed(lambda: sk.generate(lm, ps, cfg, batch_size=B, progress=False))
        ts, sigma = timed(lambda: sk.sri_signal(traces, centers))
        gen_t.append(tg)
        sig_t.append(ts)
    kit_s = statistics.median(gen_t) + statistics.median(sig_t)
    kit_tps = n / kit_s
    # reference: one prompt at a time, σ in a Python loop
    if family == "ar":
        run_ref = lambda p: reference.reference_ar(lm, p, steps=cfg.steps, centers=centers,  # noqa: E731
                                                    system_prompt=cfg.system_prompt)
    else:
        run_ref = lambda p: reference.reference_diffusion(lm, p, steps=cfg.steps, gen_length=cfg.gen_length,  # noqa: E731
                                                           block_length=cfg.block_length, centers=centers,
                                                           system_prompt=cfg.system_prompt)
    run_ref(ps[0])                                                                  # warm-up
    t_ref, refs = timed(lambda: [run_ref(p) for p in ps[:n_ref]])
    ref_tps = n_ref / t_ref
    # sanity: the reference computes the same things
    kit_acts = np.stack([t.activations for t in traces[:n_ref]])
    ref_acts = np.stack([r["activations"].numpy() for r in refs])
    same_text = float(np.mean([r["text"].strip() == t.text for r, t in zip(refs, traces)]))
    # σ cost: vectorised over the batch of n traces, per trace; array path and list-of-traces path
    acts = np.stack([t.activations for t in traces])
    reps = 20 if prof["size"] != "smoke" else 3
    sri_arr = statistics.median(timed(lambda: sk.sri_signal(acts, centers))[0] for _ in range(reps)) / n
    sri_list = statistics.median(timed(lambda: sk.sri_signal(traces, centers))[0] for _ in range(reps)) / n
    sri_loop = timed(lambda: [reference.sri_loop(torch.from_numpy(a), centers) for a in acts[:n_ref]])[0] / n_ref
    gen_per_trace = statistics.median(gen_t) / n
    out = {
        "n_traces": n, "batch": B, "n_reference": n_ref,
        "kit_traces_per_s": kit_tps, "reference_traces_per_s": ref_tps, "speedup": kit_tps / ref_tps,
        "kit_generate_s": statistics.median(gen_t), "kit_sri_s": statistics.median(sig_t), "reference_s": t_ref,
        "generation_s_per_trace": gen_per_trace,
        "sri_s_per_trace_array": sri_arr, "sri_s_per_trace_traces": sri_list, "sri_s_per_trace_python_loop": sri_loop,
        "sri_time_fraction": sri_list / gen_per_trace, "sri_time_fraction_array": sri_arr / gen_per_trace,
        "reference_same_text_fraction": same_text,
        "reference_max_abs_phi_diff": float(np.abs(kit_acts - ref_acts).max()),
    }
    log(f"{family:4s} kit {kit_tps:8.1f} traces/s | reference {ref_tps:7.2f} traces/s | speedup {out['speedup']:6.1f}x | "
        f"same text as reference {same_text:.2f}, max|Δφ| {out['reference_max_abs_phi_diff']:.1e}")
    log(f"{family:4s} σ per trace: {sri_list*1e6:.1f} µs (traces), {sri_arr*1e6:.1f} µs (array), "
        f"{sri_loop*1e6:.0f} µs (python loop); generation {gen_per_trace*1e3:.2f} ms/trace")
    return out, sigma


def bench_guard(sigma_by_family: dict, gen_per_trace: dict, prof, log) -> dict:
    try:
        from sri_kit.detectors import SRIGuard
    except Exception as e:   # written by another engineer; may not exist yet
        log(f"guard: skipped ({e.__class__.__name__}: {e})")
        return {"guard_time_fraction": None, "guard_note": f"sri_kit.detectors.SRIGuard not importable: {e}"}
    out = {}
    for fam, sigma in sigma_by_family.items():
        X = np.clip(np.asarray(sigma, dtype=np.float64), 0.0, 1.0)
        # timing only: fit on the measured σ tiled (with a little noise) to 300 train + 100 calibration rows
        rng = np.random.default_rng(0)
        tiled = np.clip(X[np.arange(400) % len(X)] + 0.01 * rng.standard_normal((400, X.shape[1])), 0.0, 1.0)
        guard = SRIGuard(epochs=prof["guard_epochs"]).fit(tiled[:300], tiled[300:])
        guard.score_samples(X)
        reps = 20 if prof["size"] != "smoke" else 3
        batch_t = statistics.median(timed(lambda: guard.score_samples(X))[0] for _ in range(reps)) / len(X)
        one_t = statistics.median(timed(lambda: guard.score_samples(X[:1]))[0] for _ in range(reps))
        out[fam] = {"score_s_per_trace_batched": batch_t, "score_s_single_trace": one_t,
                    "fraction_batched": batch_t / gen_per_trace[fam], "fraction_single": one_t / gen_per_trace[fam]}
        log(f"{fam:4s} guard score: {batch_t*1e6:.1f} µs/trace batched, {one_t*1e6:.0f} µs for one trace alone")
    out["guard_time_fraction"] = max(v["fraction_batched"] for v in out.values())
    return out


def rss_probe(prof: dict, model_ar, model_dlm, keep: str, family: str, n: int, chunk: int, models=None) -> dict:
    """Collect n traces in chunks; RSS after each chunk. keep='sigma' (σ only) or 'traces' (all traces)."""
    ar, dlm = models or load_models(prof, model_ar, model_dlm, lambda *a: None)[:2]
    lm = dlm if family == "diffusion" else ar
    ar_cfg, dlm_cfg = configs(prof, ar, dlm)
    cfg = dlm_cfg if family == "diffusion" else ar_cfg
    ps = prompts(n, prof["size"])
    # warm-up on one chunk (also gives the centers)
    centers = _centers(sk.generate(lm, ps[:chunk], cfg, batch_size=prof["batch"], progress=False))
    gc.collect()
    base = rss_mb()
    kept, sigmas, points = [], [], []
    with PeakRSS() as peak:
        for start in range(0, n, chunk):
            tr = sk.generate(lm, ps[start:start + chunk], cfg, batch_size=prof["batch"], progress=False)
            sigmas.append(sk.sri_signal(tr, centers))
            if keep == "traces":
                kept.extend(tr)
            del tr
            gc.collect()
            points.append({"traces": min(start + chunk, n), "rss_mb": rss_mb(), "peak_mb": peak.peak})
    T, D = cfg.steps, lm.model.config.hidden_size
    L = cfg.gen_length if family == "diffusion" else cfg.steps
    layers = lm.model.config.num_hidden_layers
    return {"family": family, "keep": keep, "n": n, "baseline_rss_mb": base, "peak_rss_mb": peak.peak,
            "points": points, "growth_mb": points[-1]["rss_mb"] - points[0]["rss_mb"],
            "trace_kb": (T * D * 4 + T * L * (8 + 1 + 4)) / 1024,
            # what the reference style would hold if it kept what it captures: diffusion, the hooked
            # final-norm output [L, D] of every step; AR, the last position of every layer's hidden state
            "unpooled_mb": n * T * (L if family == "diffusion" else layers + 1) * D * 4 / 2**20}


def run_rss(prof: dict, args, log, models=None) -> dict:
    out: dict = {}
    for family, n, chunk in prof["rss"]:
        for keep in ("sigma", "traces"):
            if prof["rss_subprocess"]:
                cmd = [sys.executable, str(Path(__file__).resolve()), "--_rss-worker", f"{keep},{family},{n},{chunk}",
                       "--profile-name", args.profile]
                for flag, v in (("--model-ar", args.model_ar), ("--model-dlm", args.model_dlm),
                                ("--threads", args.threads)):
                    if v:
                        cmd += [flag, str(v)]
                r = subprocess.run(cmd, capture_output=True, text=True, check=False)
                if r.returncode != 0:
                    raise RuntimeError(f"RSS worker failed:\n{r.stderr[-3000:]}")
                res = json.loads(r.stdout.strip().splitlines()[-1])
            else:
                res = rss_probe(prof, args.model_ar, args.model_dlm, keep, family, n, chunk, models=models)
            out.setdefault(family, {})[keep] = res
            log(f"RSS {family:9s} keep={keep:6s}: baseline {res['baseline_rss_mb']:.0f} MB, peak "
                f"{res['peak_rss_mb']:.0f} MB; after " +
                ", ".join(f"{p['traces']}: {p['rss_mb']:.0f}" for p in res["points"]) +
                f" MB (growth {res['growth_mb']:+.1f} MB; a trace is {res['trace_kb']:.0f} KB; keeping "
                f"unpooled states would take {res['unpooled_mb']:.0f} MB)")
    return out


def bench_scaling(ar, dlm, ar_cfg, dlm_cfg, prof, log) -> dict:
    ps = prompts(max(prof["scale_batch"] + [prof["scale_n"]]), prof["size"])
    n = prof["scale_n"]
    reps = prof["scale_repeats"]

    def t(lm, cfg, k):
        run = lambda: sk.generate(lm, ps[:k], cfg, batch_size=k, progress=False)  # noqa: E731
        return statistics.median(timed(run)[0] for _ in range(reps))

    out = {"batch": {}, "length": {}, "steps": {}}
    for fam, lm, cfg in (("ar", ar, ar_cfg), ("diffusion", dlm, dlm_cfg)):
        sk.generate(lm, ps[:2], cfg, batch_size=2, progress=False)   # warm-up
        out["batch"][fam] = [(b, t(lm, cfg, b)) for b in prof["scale_batch"]]
    # length: AR tokens (= steps); diffusion gen_length (one block, steps fixed)
    out["length"]["ar"] = [(L, t(ar, ar_cfg.replace(steps=L), n)) for L in prof["scale_len"]]
    out["length"]["diffusion"] = [(L, t(dlm, dlm_cfg.replace(gen_length=L, block_length=None,
                                                             steps=min(dlm_cfg.steps, L)), n))
                                  for L in prof["scale_len"]]
    out["steps"]["diffusion"] = [(s, t(dlm, dlm_cfg.replace(steps=s, block_length=None), n))
                                 for s in prof["scale_steps"]]
    for k, v in out.items():
        for fam, pts in v.items():
            log(f"scaling {k:6s} {fam:9s} " + "  ".join(f"{x}:{y:.2f}s" for x, y in pts))
    return out


def scaling_figure(sc: dict, prof: dict, title: str):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig, axes = plt.subplots(1, 3, figsize=(13, 3.8))
    ax = axes[0]
    for fam, pts in sc["batch"].items():
        x = [b for b, _ in pts]
        ax.plot(x, [s / b * 1e3 for b, s in pts], "o-", label=f"{fam}: ms per trace")
    ax.set_xscale("log", base=2)
    ax.set_yscale("log")
    ax.set_xlabel("batch size")
    ax.set_ylabel("ms per trace")
    ax.set_title("time per trace vs batch size")
    ax.legend()
    ax = axes[1]
    for fam, pts in sc["length"].items():
        ax.plot([x for x, _ in pts], [y for _, y in pts], "o-",
                label="ar: tokens (= steps)" if fam == "ar" else f"diffusion: gen_length (steps ≤ {prof['steps']})")
    ax.set_xlabel("generated length")
    ax.set_ylabel(f"s per batch of {prof['scale_n']}")
    ax.set_title("time vs generation length")
    ax.legend()
    ax = axes[2]
    for fam, pts in sc["steps"].items():
        ax.plot([x for x, _ in pts], [y for _, y in pts], "o-", label=f"{fam} (gen_length {prof['gen_length']})")
    ax.set_xlabel("steps T")
    ax.set_ylabel(f"s per batch of {prof['scale_n']}")
    ax.set_title("time vs diffusion steps")
    ax.legend()
    fig.suptitle(title, fontsize=9)
    fig.tight_layout()
    return fig


# ----------------------------------------------------------------------------------------------
# report

def _fmt(v, digits=3):
    if v is None:
        return "n/a"
    if isinstance(v, float):
        return f"{v:.2e}" if (abs(v) < 1e-2 and v != 0) else f"{v:.{digits}g}"
    return str(v)


def table(res: dict) -> str:
    rows = ["| metric | value | target | met |", "|---|---|---|---|"]
    for k, (op, tgt) in TARGETS.items():
        v = res.get(k)
        met = "—" if v is None else ("yes" if (v <= tgt if op == "<=" else v >= tgt) else "NO")
        rows.append(f"| `{k}` | {_fmt(v)} | {op} {tgt:g} | {met} |")
    for fam, r in res["rss"].items():
        rows.append(f"| `peak_rss_mb` {fam}, {r['traces']['n']} traces | {r['traces']['peak_rss_mb']:.0f} "
                    f"(keeping σ only: {r['sigma']['peak_rss_mb']:.0f}) | flat in N | growth "
                    f"{r['sigma']['growth_mb']:+.1f} MB keeping σ, {r['traces']['growth_mb']:+.1f} MB keeping traces "
                    f"({r['traces']['trace_kb']:.0f} KB each); unpooled states would be "
                    f"{r['traces']['unpooled_mb']:.0f} MB |")
    return "\n".join(rows)


def targets_met(res: dict) -> dict:
    out = {}
    for k, (op, tgt) in TARGETS.items():
        v = res.get(k)
        out[k] = None if v is None else bool(v <= tgt if op == "<=" else v >= tgt)
    return out


def main(argv=None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="smaller sizes, < 3 min on 2 cores")
    ap.add_argument("--smoke", action="store_true", help="tiny random models, seconds (used by the tests)")
    ap.add_argument("--json", help="where to write the JSON (default benchmarks/results/benchmark[_quick].json)")
    ap.add_argument("--figure", help="where to save the scaling figure (default: beside the JSON, *_scaling.png)")
    ap.add_argument("--model-ar", help="AR model: preset name or local folder (default tiny-ar)")
    ap.add_argument("--model-dlm", help="diffusion model: preset name or local folder (default tiny-dlm)")
    ap.add_argument("--threads", type=int, default=None, help="torch.set_num_threads (default: torch's)")
    ap.add_argument("--update-readme", action="store_true", help="write the table into benchmarks/README.md")
    ap.add_argument("--store", action="store_true",
                    help="also write the README's speed table (tiny-ar+tiny-dlm/speed) into the results store, with "
                         "the commit this run was made from (run it from a clean, committed tree)")
    ap.add_argument("--fast-decoding", nargs="?", const="quick", choices=("quick", "full"), default=None,
                    help="also run benchmarks/fast_decoding.py (fast DLM samplers vs exact decoding): 'quick' (the "
                         "default with the bare flag, minutes) or 'full' (n = 200 per set, about an hour on 2 "
                         "loaded cores); its JSON is written beside ours and summarised under 'fast_decoding'")
    ap.add_argument("--_rss-worker", dest="rss_worker", help=argparse.SUPPRESS)
    ap.add_argument("--profile-name", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    args.profile = args.profile_name or ("smoke" if args.smoke else "quick" if args.quick else "full")
    prof = PROFILES[args.profile]
    threads = args.threads or (1 if args.profile == "smoke" else None)   # smoke: fast and quiet in the tests
    old_threads = torch.get_num_threads()
    if threads:
        torch.set_num_threads(threads)
    try:
        return _main(args, prof)
    finally:
        torch.set_num_threads(old_threads)


def _main(args, prof) -> dict:
    if args.rss_worker:
        keep, family, n, chunk = args.rss_worker.split(",")
        print(json.dumps(rss_probe(prof, args.model_ar, args.model_dlm, keep, family, int(n), int(chunk))))
        return {}
    quiet = args.profile == "smoke"
    t_start = time.perf_counter()

    def log(msg):
        if not quiet:
            print(f"[{time.perf_counter() - t_start:6.1f}s] {msg}", flush=True)

    from sri_kit.results.store import machine_info, provenance
    res: dict = {"profile": args.profile, "machine": machine_info(),
                 # the tree that made the numbers (a table imported into the store carries it)
                 "provenance": {k: v for k, v in provenance().items() if k in ("commit", "dirty", "kit_version", "date")}}
    ar, dlm, note = load_models(prof, args.model_ar, args.model_dlm, log)
    ar_cfg, dlm_cfg = configs(prof, ar, dlm)
    res["models"] = {"note": note, "ar": ar.name, "dlm": dlm.name,
                     "ar_params": sum(p.numel() for p in ar.model.parameters()),
                     "dlm_params": sum(p.numel() for p in dlm.model.parameters()),
                     "ar_config": ar_cfg.to_dict(), "dlm_config": dlm_cfg.to_dict()}
    log(f"models: {note}: {ar.name} ({res['models']['ar_params']/1e6:.1f}M), "
        f"{dlm.name} ({res['models']['dlm_params']/1e6:.1f}M); machine: {res['machine']['cpu']}, "
        f"{res['machine']['cores']} cores, torch {res['machine']['torch']}")
    res.update(bench_hooks(ar, dlm, ar_cfg, dlm_cfg, prof, log))
    thr_ar, sig_ar = bench_throughput(ar, ar_cfg, prof, log, "ar")
    thr_dlm, sig_dlm = bench_throughput(dlm, dlm_cfg, prof, log, "diffusion")
    res["throughput"] = {"ar": thr_ar, "diffusion": thr_dlm}
    res["ar_speedup_vs_reference"] = thr_ar["speedup"]
    res["diffusion_speedup_vs_reference"] = thr_dlm["speedup"]
    res["sri_time_fraction"] = max(thr_ar["sri_time_fraction"], thr_dlm["sri_time_fraction"])
    g = bench_guard({"ar": sig_ar, "diffusion": sig_dlm},
                    {"ar": thr_ar["generation_s_per_trace"], "diffusion": thr_dlm["generation_s_per_trace"]}, prof, log)
    res["guard_time_fraction"] = g.pop("guard_time_fraction")
    res["guard"] = g
    res["rss"] = run_rss(prof, args, log, models=(ar, dlm))
    res["peak_rss_mb"] = max(r["peak_rss_mb"] for fam in res["rss"].values() for r in fam.values())
    res["scaling"] = bench_scaling(ar, dlm, ar_cfg, dlm_cfg, prof, log)
    if args.fast_decoding:
        res["fast_decoding"] = run_fast_decoding(args.fast_decoding, log, store=args.store)
    res["targets_met"] = targets_met(res)
    try:
        res["machine"]["loadavg_end"] = [round(x, 2) for x in os.getloadavg()]
    except OSError:
        pass
    res["wall_s"] = time.perf_counter() - t_start

    json_path = Path(args.json) if args.json else RESULTS / ("benchmark.json" if args.profile == "full"
                                                            else f"benchmark_{args.profile}.json")
    json_path.parent.mkdir(parents=True, exist_ok=True)
    fig_path = Path(args.figure) if args.figure else json_path.with_name(json_path.stem + "_scaling.png")
    m = res["machine"]
    fig = scaling_figure(res["scaling"], prof, f"{note} · {m['cpu']} · {m['cores']} cores · torch {m['torch']}")
    fig.savefig(fig_path, dpi=110)
    # beside the JSON: recorded by file name, so no machine's folder layout lands in a committed result
    res["figure"] = (fig_path.name if fig_path.resolve().parent == json_path.resolve().parent
                     else os.path.relpath(fig_path, json_path.parent))
    json_path.write_text(json.dumps(res, indent=2, default=float) + "\n")
    tbl = table(res)
    log("\n" + tbl + f"\n\nmachine: {m['cpu']}, {m['cores']} cores, torch {m['torch']}; models: {note}; "
        f"wall {res['wall_s']:.0f} s\nJSON: {json_path}\nfigure: {fig_path}")
    if args.update_readme:
        update_readme(res, tbl, json_path, fig_path)
    if args.store:
        from sri_kit.results import ResultsStore
        from sri_kit.results.imported import import_benchmark
        log(f"results store: {ResultsStore().write(import_benchmark(json_path))}")
    return res


def run_fast_decoding(kind: str, log, store: bool = False) -> dict:
    """``sri-kit fast-decoding`` (``--quick`` unless ``kind == "full"``) with this run's torch threads; its
    own JSON goes to ``results/fast_decoding[_quick].json`` (store tables only with ``--store`` and a full run);
    returned here: where, the target verdicts and, per setting, the traces/s and forward-pass ratios and the
    harmful refusal delta to exact decoding."""
    from sri_kit.results.fast_decoding import run

    log(f"fast decoding ({kind}): sri-kit fast-decoding")
    argv = (["--quick"] if kind == "quick" else []) + ["--threads", str(torch.get_num_threads())]
    if kind == "quick" or not store:
        argv.append("--no-store")
    json_path = HERE / "results" / ("fast_decoding_quick.json" if kind == "quick" else "fast_decoding.json")
    fd = run(argv, default_json=json_path)
    org = fd.get("organism", {})
    return {"json": str(json_path.relative_to(ROOT)),
            "command": fd.get("command"), "n_per_set": fd.get("n_per_set"), "target": fd.get("target"),
            "settings": [{"setting": r["setting"], "traces_per_s_ratio": r["traces_per_s_ratio"],
                          "passes_ratio": r["passes_ratio"], "refusal_harmful_delta": r["refusal_harmful"]["delta"],
                          "refusal_harmful_ci95": r["refusal_harmful"]["ci95"]} for r in org.get("settings", [])]}


def update_readme(res: dict, tbl: str, json_path: Path, fig_path: Path) -> None:
    readme = HERE / "README.md"
    text = readme.read_text()
    m = res["machine"]
    prov = res.get("provenance") or {}
    when = prov.get("date") or time.strftime("%Y-%m-%d")        # the run's date (and commit), not today's
    block = (f"<!-- results:start -->\nLast measured ({res['profile']} profile, {when}"
             + (f", commit {prov['commit']}{'+dirty' if prov.get('dirty') else ''}" if prov.get("commit") else "")
             + f"): {m['cpu']}, {m['cores']} cores, torch {m['torch']} ({m.get('torch_threads')} thread(s)), "
             f"transformers {m['transformers']}; models: {res['models']['note']}; load average at start "
             f"{m.get('loadavg_start')}, at end {m.get('loadavg_end')}; wall {res['wall_s']:.0f} s.\n\n{tbl}\n\n"
             f"JSON: `{json_path.relative_to(ROOT) if json_path.is_relative_to(ROOT) else json_path}`, "
             f"figure: `{fig_path.relative_to(ROOT) if fig_path.is_relative_to(ROOT) else fig_path}`\n"
             "<!-- results:end -->")
    a, b = text.find("<!-- results:start -->"), text.find("<!-- results:end -->")
    if a < 0 or b < 0:
        text = text.rstrip() + "\n\n" + block + "\n"
    else:
        text = text[:a] + block + text[b + len("<!-- results:end -->"):]
    readme.write_text(text)


if __name__ == "__main__":
    main()
