#!/usr/bin/env python
"""Where the time goes: the measurements behind the explanations in benchmarks/README.md.

Usage::

    python benchmarks/diagnostics.py            # all three, ~1 min on 2 cores with the organism

1. ``profile``: one timed ``sri_kit.generate`` call on tiny-dlm (32 prompts, batch 32, the
   benchmark's config): shares of the model forward (encoder, MLM head) and of the scoring in ``predict``.
2. ``sigma``: σ cost per trace for the organism's shape (T = 32, D = 256) and a 7–8B model's (D = 4096,
   random float32 activations), and the time of the float32 -> float64 upcast alone.
3. ``float32``: how far σ computed in float32 lies from the float64 σ on organism traces (64 tiny-ar,
   32 tiny-dlm; centers from the same traces, benign/harmful alternating).
"""
from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent


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

import sri_kit as sk  # noqa: E402
configs, prompts = _sibling("run").configs, _sibling("run").prompts


class _Timer:
    """Accumulated wall time of a module's forward calls (pre/post forward hooks) or of a function."""

    def __init__(self):
        self.total, self._t = 0.0, 0.0

    def pre(self, *_):
        self._t = time.perf_counter()

    def post(self, *_):
        self.total += time.perf_counter() - self._t

    def wrap(self, fn):
        def timed(*a, **k):
            t = time.perf_counter()
            try:
                return fn(*a, **k)
            finally:
                self.total += time.perf_counter() - t
        return timed


def profile_diffusion() -> None:
    from sri_kit.sampling import diffusion

    lm = sk.load_model("tiny-dlm")
    cfg = configs({"size": "organism", "steps": 32, "gen_length": 64, "block_length": 32}, lm, lm)[1]
    ps = prompts(32, "organism")
    sk.generate(lm, ps[:8], cfg, batch_size=8, progress=False)          # warm-up
    fwd, enc, pred = _Timer(), _Timer(), _Timer()
    hooks = [m.register_forward_pre_hook(t.pre) for m, t in ((lm.model, fwd), (lm.model.base_model, enc))]
    hooks += [m.register_forward_hook(t.post) for m, t in ((lm.model, fwd), (lm.model.base_model, enc))]
    orig = diffusion.predict
    diffusion.predict = pred.wrap(orig)
    try:
        t0 = time.perf_counter()
        sk.generate(lm, ps, cfg, batch_size=32, progress=False)
        total = time.perf_counter() - t0
    finally:
        diffusion.predict = orig
        for h in hooks:
            h.remove()
    per = 1e3 / (32 * cfg.steps)
    print(f"profile: tiny-dlm ({type(lm.model).__name__}), 32 prompts, batch 32, {cfg.steps} steps: {total:.2f} s; "
          f"model forward {fwd.total / total:.0%} (encoder {enc.total / total:.0%}, output head "
          f"{(fwd.total - enc.total) / total:.0%}); scoring (predict) {pred.total / total:.0%}; per trace and step: "
          f"forward {fwd.total * per:.2f} ms, everything {total * per:.2f} ms")


def _median_s(fn, reps: int = 10) -> float:
    fn()
    ts = []
    for _ in range(reps):
        t = time.perf_counter()
        fn()
        ts.append(time.perf_counter() - t)
    return statistics.median(ts)


class _Trace:
    def __init__(self, a):
        self.activations = a


def sigma_cost() -> None:
    rng = np.random.default_rng(0)
    for N, D in ((256, 256), (64, 4096)):
        T = 32
        acts = [rng.normal(size=(T, D)).astype(np.float32) for _ in range(N)]
        traces = [_Trace(a) for a in acts]
        centers = (rng.normal(size=(T, D)), rng.normal(size=(T, D)))
        t_sigma = _median_s(lambda: sk.sri_signal(traces, centers)) / N
        buf = np.empty((T, 8, D))
        t_up = _median_s(lambda: [np.stack(acts[i:i + 8], axis=1, out=buf[:, :len(acts[i:i + 8])])
                                  for i in range(0, N, 8)]) / N
        print(f"sigma: T={T} D={D}: {t_sigma * 1e6:.1f} µs per trace (list of traces); upcast alone "
              f"{t_up * 1e6:.1f} µs")


def sigma_float32() -> None:
    def f32(a, mh, mb, eps=np.float32(1e-8), tau=np.float32(0.1)):
        a, mh, mb = (x.astype(np.float32) for x in (a, mh, mb))

        def unit(v):
            return v / (np.linalg.norm(v, axis=-1, keepdims=True) + eps)

        dh = 1 - np.einsum("ntd,td->nt", unit(a), unit(mh))
        db = 1 - np.einsum("ntd,td->nt", unit(a), unit(mb))
        return 1 / (1 + np.exp(-(np.log(db + eps) - np.log(dh + eps)) / tau))

    for name, n in (("tiny-ar", 64), ("tiny-dlm", 32)):
        lm = sk.load_model(name)
        a = np.stack([t.activations for t in sk.generate(lm, prompts(n, "organism"), None, progress=False)])
        mh, mb = a[0::2].mean(0), a[1::2].mean(0)
        ref = sk.sri_signal(a, (mh, mb))
        u = a / np.linalg.norm(a, axis=-1, keepdims=True)
        d_h = 1 - np.einsum("ntd,td->nt", u, mh / np.linalg.norm(mh, axis=-1, keepdims=True))
        print(f"float32: {name}: max |σ32 − σ64| {np.abs(f32(a, mh, mb) - ref).max():.1e} over {n} traces; "
              f"smallest cosine distance to the harmless center {d_h.min():.3f}")


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("what", nargs="*", help="any of: profile sigma float32 (default: all three)")
    args = ap.parse_args(argv)
    todo = args.what or ["profile", "sigma", "float32"]
    bad = [w for w in todo if w not in ("profile", "sigma", "float32")]
    if bad:
        ap.error(f"unknown diagnostic(s) {bad}: choose from profile, sigma, float32")
    for w in todo:
        {"profile": profile_diffusion, "sigma": sigma_cost, "float32": sigma_float32}[w]()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
