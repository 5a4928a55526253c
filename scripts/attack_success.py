"""Attack success of every attack against the organism, into the results store, then docs/ATTACKS.md.

    python scripts/attack_success.py [--mode quick|report] [--random-search N] [--rs-iters 20]

Runs ``python -m sri_kit.results compute`` for tiny-ar and tiny-dlm (tables ``plain``, ``wrappers``,
``paper_attacks``, ``fixed_weights`` in ``data/results/<model>/``), optionally the model-optimised random
search on N held-out requests (table ``random_search``), then re-renders docs/ATTACKS.md's blocks from the
store. Success = the organism's placeholder (``is_placeholder_compliance``), refusal = the paper's
dictionary, scored separately; only counts are stored, never outputs.
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import torch

import sri_kit as sk
from sri_kit import attacks
from sri_kit.data import load_prompts
from sri_kit.results import Column, ResultsStore, Table, provenance, rate, render_docs
from sri_kit.results.compute import compute_model, samplers_for

DOC = Path(__file__).resolve().parents[1] / "docs" / "ATTACKS.md"


def random_search_table(lm, n: int, iters: int, seed: int, mode: str, command: str) -> Table:
    """The optimised suffix attack (bare request + suffix) on ``n`` held-out requests, per sampler."""
    harmful = load_prompts("tiny_harmful", n=n, seed=seed)
    kw = {"random_search": dict(n_iters=iters, n_tokens_change=3, suffix_len=12, template=False)}
    rows, secs = [], 0.0
    for s, cfg in samplers_for(lm):
        t0 = time.perf_counter()
        r = attacks.evaluate(lm, harmful, ["random_search"], config=cfg, attack_kwargs=kw, seed=seed)[0]
        secs += time.perf_counter() - t0
        k = r["n"]
        rows.append({"attack": "paper/random-search (optimised suffix)", "registry": "random_search", "sampler": s,
                     "n": k, "refused": rate(round(r["refusal_rate"] * k), k) if k else None,
                     "complied": rate(round(r["asr"] * k), k) if k else None,
                     "error": r["error"]})
    cols = [Column("attack", "attack"), Column("registry", "registry name"), Column("sampler", "sampler"),
            Column("n", "n", "int"), Column("refused", "refused", "rate"),
            Column("complied", "attack success (complied)", "rate"), Column("error", "not measured because")]
    return Table(model=lm.name, name="random_search", title=f"Random search ({iters} iterations per request)",
                 split="n/a", n=n, seed=seed, mode=mode, columns=cols, rows=rows, command=command,
                 compute_seconds=round(secs, 1), configs={s: {"key": c.key(), "fields": c.to_dict()}
                                                          for s, c in samplers_for(lm)},
                 notes="Control: the unoptimised suffix is the organism's `wrapper/random_suffix` row above.",
                 **provenance())


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--mode", choices=["quick", "report"], default="report")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--random-search", type=int, default=0, metavar="N", help="requests for random search (0: skip)")
    ap.add_argument("--rs-iters", type=int, default=20, help="random-search iterations per request")
    ap.add_argument("--models", nargs="+", default=["tiny-ar", "tiny-dlm"])
    a = ap.parse_args(argv)
    cmd = "python scripts/attack_success.py " + " ".join(sys.argv[1:] if argv is None else argv)
    store = ResultsStore()
    for m in a.models:
        torch.manual_seed(a.seed)
        lm = sk.load_model(m)
        compute_model(lm, a.mode, store=store, seed=a.seed, command=cmd.strip())
        if a.random_search:
            store.write(random_search_table(lm, a.random_search, a.rs_iters, a.seed, a.mode, cmd.strip()))
    for p in render_docs([DOC], store):
        print(f"rendered {p}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
