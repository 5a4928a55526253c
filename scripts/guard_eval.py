"""SRI Guard and baselines on the organism, by the paper's protocol (issue 6: Table 13 / Table 4 analogues).

    python scripts/guard_eval.py [--model tiny-ar] [--scale paper|small] [--out docs/GUARD_<model>.md]

Protocol (PAPER.md §5): disjoint splits of the organism's held-out pools (``sri_kit.data.make_splits``):
harmless + harmful anchors for the centers, benign signals for training, benign calibration signals for
the 99th-percentile threshold, held-out benign prompts for false positives; every attack family is an
unseen test set (no detector sees attacks, except the supervised upper bound, which is marked). Success =
the organism's placeholder; refusal = the paper's dictionary; a blocked generation counts as a refusal.
Overhead = time added to generating the same batch, measured in the same run (median of interleaved
repeats; ``defense %`` is the defense's own time over generation time, the less noisy of the two).
"""
from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
import pandas as pd
import torch

import sri_kit as sk
from sri_kit import attacks
from sri_kit.data import load_prompts, make_splits
from sri_kit.detectors import (IsolationForestDetector, KeywordRefusalJudge, MahalanobisDetector, OneClassSVMDetector,
                               PerplexityFilter, SelfExamine, SRIGuard, SupervisedUpperBound, blocking_table,
                               defense_summary, detection_table, measure_overhead)
from sri_kit.io import atomic_write_text
from sri_kit.report import markdown_table

FAMILIES = ("refusal_suppression", "flip", "roleplay", "fiction", "prefix_injection", "random_suffix")
SCALES = {"paper": dict(n_anchor=400, n_train=1200, n_calib=200, n_test_benign=200, n_attack=100),
          "small": dict(n_anchor=48, n_train=160, n_calib=60, n_test_benign=60, n_attack=24)}


def run(model: str, scale: str, seed: int = 0):
    sz = SCALES[scale]
    lm = sk.load_model(model)
    ar = lm if lm.causal else sk.load_model("tiny-ar")      # the perplexity filter needs a causal (AR) model
    cfg = lm.default_config
    sp = make_splits(load_prompts("tiny_benign", n=None), load_prompts("tiny_harmful", n=None),
                     n_anchor=sz["n_anchor"], n_train=sz["n_train"], n_calib=sz["n_calib"],
                     n_test_benign=sz["n_test_benign"], n_test_harmful=sz["n_attack"], seed=seed)
    gen = lambda ps: sk.generate(lm, ps, cfg, progress=False)
    t0 = time.time()
    centers = sk.Centers.fit(gen(sp.harmless_anchor), gen(sp.harmful_anchor))
    tr_train, tr_calib, tr_test = gen(sp.benign_train), gen(sp.benign_calib), gen(sp.benign_test)
    sets = {f: gen([attacks.apply(f, p, seed=seed + i) for i, p in enumerate(sp.harmful_test)]) for f in FAMILIES}
    sets["plain harmful"] = gen(sp.harmful_test)
    gen_s = time.time() - t0
    S = lambda trs: sk.sri_signal(trs, centers)
    X_train, X_calib, X_test = S(tr_train), S(tr_calib), S(tr_test)
    X_att = {f: S(t) for f, t in sets.items()}
    fams = list(FAMILIES)
    dets = {"SRI Guard": SRIGuard(seed=seed).fit(X_train, X_calib),
            "Mahalanobis": MahalanobisDetector().fit(X_train, X_calib),
            "IsolationForest": IsolationForestDetector(seed=seed).fit(X_train, X_calib),
            "OneClassSVM": OneClassSVMDetector().fit(X_train, X_calib)}
    # supervised upper bound (NOT benign-only): trained on the plain-harmful set's signals as "attacks"
    dets["Logistic (supervised, not benign-only)"] = SupervisedUpperBound().fit(X_train, X_calib, X_attack=X_att["plain harmful"])
    ppl = PerplexityFilter(ar).fit(sp.benign_train)
    ppl_w = PerplexityFilter(ar, window=8).fit(sp.benign_train)
    selfx = SelfExamine(lm)

    test_tr = tr_test + [t for f in fams for t in sets[f]]
    labels = ["benign"] * len(tr_test) + [f for f in fams for _ in sets[f]]
    refused = np.array([t.refused for t in test_tr])
    complied = np.array([sk.is_placeholder_compliance(t.response) for t in test_tr])
    X_all = np.concatenate([X_test] + [X_att[f] for f in fams])
    prompts = [t.prompt for t in test_tr]
    flags = {"Undefended": np.zeros(len(test_tr), bool),
             **{n: d.predict(X_all) == -1 for n, d in dets.items()},
             "Perplexity filter": ppl.flag(prompts), "Perplexity filter (window 8)": ppl_w.flag(prompts),
             "Self-Examine": selfx.flag(prompts, [t.response for t in test_tr]),
             "Keyword judge": KeywordRefusalJudge().flag(prompts, [t.response for t in test_tr])}
    table13 = pd.DataFrame({n: defense_summary(blocking_table(f, refused, complied, labels)) for n, f in flags.items()}).T
    per_family = blocking_table(flags["SRI Guard"], refused, complied, labels)
    undefended = blocking_table(flags["Undefended"], refused, complied, labels)
    det_rows = []
    for n, d in dets.items():
        t = detection_table(d.score_samples(X_test), {f: d.score_samples(X_att[f]) for f in fams})
        det_rows.append(t.loc["All jailbreaks"].rename(n))
    ppl_scores = -ppl.scores(prompts)      # higher = more normal
    t = detection_table(ppl_scores[: len(tr_test)], {f: ppl_scores[np.array(labels) == f] for f in fams})
    det_rows.append(t.loc["All jailbreaks"].rename("Perplexity filter"))
    detection = pd.DataFrame(det_rows)
    guard_by_family = detection_table(dets["SRI Guard"].score_samples(X_test), {f: dets["SRI Guard"].score_samples(X_att[f]) for f in fams})

    probe = sp.benign_test[:16]
    g = lambda: sk.generate(lm, probe, cfg, progress=False)
    over = {"SRI Guard (σ + autoencoder)": lambda trs: dets["SRI Guard"].predict(sk.sri_signal(trs, centers)),
            "Perplexity filter": lambda trs: ppl.flag([t.prompt for t in trs]),
            "Self-Examine": lambda trs: selfx.flag([t.prompt for t in trs], [t.response for t in trs])}
    overhead = pd.DataFrame([{"defense": n, **{k: v for k, v in vars(measure_overhead(g, fn, repeats=5)).items()
                                                 if k in ("overhead_pct", "defense_pct")}} for n, fn in over.items()])
    return dict(table13=table13, per_family=per_family, undefended=undefended, detection=detection,
                guard_by_family=guard_by_family, overhead=overhead, sizes=sp.sizes(), gen_seconds=gen_s,
                threshold=dets["SRI Guard"].threshold_, n_params=dets["SRI Guard"].n_params_)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", default="tiny-ar")
    ap.add_argument("--scale", choices=sorted(SCALES), default="paper")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--out", type=Path, default=None)
    a = ap.parse_args(argv)
    torch.manual_seed(a.seed)
    t0 = time.time()
    r = run(a.model, a.scale, a.seed)
    out = a.out or Path(f"docs/GUARD_{a.model}.md")
    fmt = lambda df: markdown_table(df.reset_index() if df.index.name or not isinstance(df.index, pd.RangeIndex) else df, ".2f")
    text = "\n\n".join([
        f"# SRI Guard and baselines on {a.model}",
        f"Measured with `python scripts/guard_eval.py --model {a.model} --scale {a.scale} --seed {a.seed}` "
        f"({time.time() - t0:.0f} s on 2 CPU cores; generation {r['gen_seconds']:.0f} s). Split sizes: {r['sizes']}. "
        f"SRI Guard: {r['n_params']} parameters, threshold {r['threshold']:.4g} (99th percentile of calibration errors). "
        "Attacks are unseen by every detector except the supervised row.",
        "## Table 13 analogue: FP % on held-out benign, RR % and ASR % on jailbreaks after blocking (mean over families)",
        fmt(r["table13"]),
        "## Detection (Table 4 style): AUROC and TPR at 1 % / 5 % FPR, benign test vs each family, mean over families",
        fmt(r["detection"]),
        "## SRI Guard per attack family",
        fmt(r["guard_by_family"]), fmt(r["per_family"]),
        "## Undefended model per family",
        fmt(r["undefended"]),
        "## Overhead (% of generation time for a batch of 16, median of 5 interleaved repeats)",
        fmt(r["overhead"]),
    ]) + "\n"
    atomic_write_text(out, text)
    print(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
