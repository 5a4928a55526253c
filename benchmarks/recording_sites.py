#!/usr/bin/env python
"""Cost of recording several sites in one pass (the per-step door, ``sri_kit/sampling/recorder.py``).

Through the package API only: ``sri_kit.generate(lm, prompts, cfg)`` (the config's one site) against
``sri_kit.generate(..., sites=[three more])`` (4 sites: the final norm plus a residual stream, an attention
output and an MLP output), interleaved repeats after a warm-up in this one process, medians; also the
recording-free path (``sri_kit.generate_texts``) for scale. The ratio ``sites4 / sites1 - 1`` is the extra
cost of the three extra sites as a share of generation (target <= 0.10).

Usage::

    python benchmarks/recording_sites.py                 # organism AR + DLM, 16 prompts, 5 repeats
    python benchmarks/recording_sites.py --quick --json out.json
"""
from __future__ import annotations

import argparse
import importlib.util
import json
import os
import statistics
import sys
from pathlib import Path

import sri_kit as sk

HERE = Path(__file__).resolve().parent


if "run" not in sys.modules:       # benchmarks/run.py, a neighbour script loaded by path (nothing edits sys.path)
    _spec = importlib.util.spec_from_file_location("run", HERE / "run.py")
    sys.modules["run"] = importlib.util.module_from_spec(_spec)
    _spec.loader.exec_module(sys.modules["run"])
prompts, timed = sys.modules["run"].prompts, sys.modules["run"].timed

EXTRA = ["resid_post.1", "attn_out.2", "mlp_out.2"]


def measure(lm, cfg, ps, repeats: int, batch: int) -> dict:
    one = lambda: sk.generate(lm, ps, cfg, batch_size=batch, progress=False)  # noqa: E731
    four = lambda: sk.generate(lm, ps, cfg, batch_size=batch, progress=False, sites=EXTRA)  # noqa: E731
    text = lambda: sk.generate_texts(lm, ps, cfg, batch_size=batch)  # noqa: E731
    for f in (one, four, text):
        f()
    t = {"sites1": [], "sites4": [], "text_only": []}
    for i in range(repeats):
        order = [("sites1", one), ("sites4", four), ("text_only", text)]
        if i % 2:
            order.reverse()                      # alternate which runs first
        for name, f in order:
            t[name].append(timed(f)[0])
    med = {k: statistics.median(v) for k, v in t.items()}
    return {"median_s": med, "all_s": t, "sites4_over_sites1": med["sites4"] / med["sites1"],
            "extra_share_of_generation": med["sites4"] / med["sites1"] - 1.0,
            "sites1_over_text_only": med["sites1"] / med["text_only"]}


def main(argv=None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="8 prompts, 3 repeats")
    ap.add_argument("--json", type=Path, help="write the result here")
    args = ap.parse_args(argv)
    n, repeats = (8, 3) if args.quick else (16, 5)
    ps = prompts(n, "organism")
    res = {"n_prompts": n, "repeats": repeats, "extra_sites": EXTRA, "threads": int(os.environ.get("OMP_NUM_THREADS", 0))
           or None, "load_avg": os.getloadavg()}
    ar, dlm = sk.load_model("tiny-ar"), sk.load_model("tiny-dlm")
    # --quick: a shorter diffusion schedule (the ratio compares two runs of the same config)
    dcfg = dlm.default_config.replace(steps=16, gen_length=32, block_length=None) if args.quick else dlm.default_config
    res["configs"] = {"ar": ar.default_config.to_dict(), "diffusion": dcfg.to_dict()}
    for name, lm, cfg in (("ar", ar, ar.default_config), ("diffusion", dlm, dcfg)):
        r = measure(lm, cfg, ps, repeats, batch=n)
        res[name] = r
        print(f"{name:9s} 1 site {r['median_s']['sites1']:.3f} s | 4 sites {r['median_s']['sites4']:.3f} s | "
              f"text only {r['median_s']['text_only']:.3f} s | 4/1 = {r['sites4_over_sites1']:.3f}")
    res["load_avg_end"] = os.getloadavg()
    if args.json:
        tmp = args.json.with_suffix(".tmp")
        tmp.write_text(json.dumps(res, indent=1))
        os.replace(tmp, args.json)
    return res


if __name__ == "__main__":
    main()
