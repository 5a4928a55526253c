"""The ``sri-kit`` command line.

    sri-kit demo [--out DIR]         the main job on the embedded organism (figures + table)
    sri-kit organism train [...]     retrain tiny-ar and tiny-dlm from scratch (``--smoke`` for a quick check)
    sri-kit generate MODEL PROMPTS.txt OUT [--steps N ...]   traces for one prompt per line
    sri-kit presets                  list the model presets
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path


def _generate(a) -> int:
    import sri_kit as sk

    lm = sk.load_model(a.model, device=a.device)
    cfg = lm.default_config
    over = {k: v for k, v in (("steps", a.steps), ("gen_length", a.gen_length), ("remasking", a.remasking),
                              ("temperature", a.temperature), ("order", a.order), ("seed", a.seed)) if v is not None}
    cfg = cfg.replace(**over)
    prompts = [l.strip() for l in Path(a.prompts).read_text().splitlines() if l.strip()]
    traces = sk.generate(lm, prompts, cfg, batch_size=a.batch_size)
    path = sk.save_traces(traces, a.out)
    print(f"{len(traces)} traces ({lm.name}, config {cfg.key()}) -> {path}")
    return 0


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="sri-kit", description="Step-wise refusal dynamics in AR and diffusion LMs.")
    sub = ap.add_subparsers(dest="cmd", required=True)
    d = sub.add_parser("demo", help="run the main job on the embedded organism", add_help=False)
    d.add_argument("rest", nargs=argparse.REMAINDER)
    o = sub.add_parser("organism", help="the embedded model organism")
    osub = o.add_subparsers(dest="ocmd", required=True)
    t = osub.add_parser("train", help="retrain tiny-ar and tiny-dlm from scratch", add_help=False)
    t.add_argument("rest", nargs=argparse.REMAINDER)
    e = osub.add_parser("evaluate", help="measure the organism's rates", add_help=False)
    e.add_argument("rest", nargs=argparse.REMAINDER)
    g = sub.add_parser("generate", help="generate traces for prompts (one per line)")
    g.add_argument("model")
    g.add_argument("prompts", help="a text file, one prompt per line")
    g.add_argument("out", help="output .safetensors path (a .json sidecar is written beside it)")
    for name, typ in (("--steps", int), ("--gen-length", int), ("--remasking", str), ("--temperature", float),
                      ("--order", str), ("--seed", int), ("--device", str)):
        g.add_argument(name, type=typ, default=None)
    g.add_argument("--batch-size", type=int, default=32)
    sub.add_parser("presets", help="list model presets")
    a = ap.parse_args(argv)
    if a.cmd == "demo":
        from .demo import main as demo_main
        return demo_main(a.rest)
    if a.cmd == "organism":
        if a.ocmd == "train":
            from .organism.train import main as train_main
            return train_main(a.rest) or 0
        from .organism.evaluate import main as eval_main
        return eval_main(a.rest) or 0
    if a.cmd == "generate":
        return _generate(a)
    if a.cmd == "presets":
        from .models import PRESETS
        for k, p in PRESETS.items():
            if "/" not in k:
                print(f"{k:28s} {p.family:9s} {p.hub_id:42s} {p.note}")
        return 0
    return 1


if __name__ == "__main__":
    sys.exit(main())
