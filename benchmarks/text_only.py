#!/usr/bin/env python
"""Text-only diffusion decoding: rows leave the batch once their text is decided (``until_decided``).

Through the package API only: ``sri_kit.sampling.generate_canvases`` (every step of every row: the whole
final canvas) against ``sri_kit.generate_texts`` (a row stops once an end token is committed with every
position before it: ``sri_kit/sampling/diffusion.py``), on the same prompts and configs, interleaved
repeats after a warm-up in this one process, medians. Checks that the texts are identical, and prints the
ratio ``full / text_only`` for each sampler the rate tables use (diffusion and left-to-right on the DLM).

Usage::

    python benchmarks/text_only.py                      # the organism DLM, 64 prompts, 3 repeats
    python benchmarks/text_only.py --quick --json out.json
"""
from __future__ import annotations

import argparse
import json
import statistics
import time

import torch

import sri_kit as sk
from sri_kit.data import load_prompts
from sri_kit.results.compute import samplers_for
from sri_kit.results.store import machine_info, provenance
from sri_kit.sampling import generate_canvases


def measure(lm, cfg, ps, repeats: int, batch: int) -> dict:
    full = lambda: [r.text for r in generate_canvases(lm, ps, cfg, batch_size=batch)]  # noqa: E731
    fast = lambda: sk.generate_texts(lm, ps, cfg, batch_size=batch)  # noqa: E731
    same = full() == fast()                       # also the warm-up
    t = {"full": [], "text_only": []}
    for i in range(repeats):
        order = [("full", full), ("text_only", fast)]
        if i % 2:
            order.reverse()                       # alternate which runs first
        for name, f in order:
            t0 = time.perf_counter()
            f()
            t[name].append(time.perf_counter() - t0)
    med = {k: statistics.median(v) for k, v in t.items()}
    return {"same_texts": same, "median_s": med, "all_s": t, "full_over_text_only": med["full"] / med["text_only"]}


def main(argv=None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", default="tiny-dlm")
    ap.add_argument("--n", type=int, default=64, help="prompts (half harmful, half benign organism requests)")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--quick", action="store_true", help="16 prompts, 1 repeat")
    ap.add_argument("--json", default=None, help="write the results here")
    a = ap.parse_args(argv)
    if a.quick:
        a.n, a.repeats = 16, 1
    torch.set_num_threads(a.threads)
    lm = sk.load_model(a.model)
    ps = load_prompts("tiny_harmful", n=a.n // 2, seed=7) + load_prompts("tiny_benign", n=a.n - a.n // 2, seed=7)
    res = {"model": a.model, "n": len(ps), "repeats": a.repeats, "threads": a.threads, "provenance": provenance(),
           "machine": machine_info(), "samplers": {}}
    for name, cfg in samplers_for(lm):
        r = res["samplers"][name] = measure(lm, cfg, ps, a.repeats, a.batch)
        print(f"{name}: same texts {r['same_texts']}; full {r['median_s']['full']:.1f} s, text only "
              f"{r['median_s']['text_only']:.1f} s: {r['full_over_text_only']:.2f}x", flush=True)
    if a.json:
        with open(a.json, "w") as f:
            json.dump(res, f, indent=1)
    if not all(r["same_texts"] for r in res["samplers"].values()):
        raise SystemExit("text-only decoding changed a text: a bug in until_decided")
    return res


if __name__ == "__main__":
    main()
