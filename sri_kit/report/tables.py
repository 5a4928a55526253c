"""The report's measured numbers as results-store tables (``<ar>+<dlm>/analysis_*``), so docs/RESULTS.md
renders sections 3–9 from the store like its rate tables: every rate as counts with its Wilson interval,
every table with its n, seed, configs, phrasings, commit and the command that made it.

:func:`analysis_tables` reads what the sections recorded in ``doc.facts``; a section that was not computed
leaves its table out (the store keeps no half table)."""
from __future__ import annotations

import math

import pandas as pd

import numpy as np

from ..results.schema import Column, Table, clustered_rate, rate
from ..results.store import producing_code, provenance

__all__ = ["analysis_tables", "ANALYSIS_TABLES"]

#: Table name -> title, in document order.
ANALYSIS_TABLES = {
    "analysis_recovery": "HRR / FRR per sampler (text level)",
    "analysis_trajectory_classes": "Trajectory figure classes (Fig. 2/12 analogue)",
    "analysis_irr": "IRR per sampler (Fig. 5/6 analogue)",
    "analysis_incomplete": "Incomplete internal recovery",
    "analysis_lda": "LDA class means (Fig. 13 analogue)",
    "analysis_auroc": "AUROC per signal and layer (Table 4 analogue)",
    "analysis_layers": "Mean σ per layer and group (layer ablation)",
    "analysis_sweeps": "Sweeps of steps, remasking, block length (DLM), temperature and top-p (AR)",
    "analysis_verdicts": "What agrees with the paper and what does not",
}


def _count(share: float, n: int) -> dict | None:
    """A rate cell from a share of ``n`` equal-weight items (exact: share = k / n)."""
    if n <= 0 or share is None or (isinstance(share, float) and math.isnan(share)):
        return None
    return rate(int(round(share * n)), int(n))


def _f(v) -> float | None:
    return None if v is None or (isinstance(v, float) and math.isnan(v)) else float(v)


def _recovery(f) -> tuple[list, list, str]:
    cols = [Column("sampler", "sampler"), Column("n", "n", "int"), Column("flagged", "flagged", "int"),
            Column("hrr", "HRR = remasked / flagged", "rate"), Column("frr", "FRR = recovered / flagged", "rate"),
            Column("hrr0", "HRR (no revision check)", "float"), Column("final", "final attack success", "rate")]
    rows = []
    for _, r in f["recovery"].iterrows():
        b = f.get("recovery_bits", {}).get(r["sampler"])
        if b is not None:       # per generation, clustered by request
            fl, req = np.asarray(b["flagged"], bool), np.asarray(b["requests"])
            hrr = clustered_rate(np.asarray(b["remasked"], bool)[fl], req[fl])
            frr = clustered_rate(np.asarray(b["recovered"], bool)[fl], req[fl])
            final = clustered_rate(b["final"], req)
        else:
            hrr, frr = rate(int(r["remasked"]), int(r["flagged"])), rate(int(r["recovered"]), int(r["flagged"]))
            final = _count(r["final ASR"], int(r["n"]))
        rows.append({"sampler": r["sampler"], "n": int(r["n"]), "flagged": int(r["flagged"]), "hrr": hrr, "frr": frr,
                     "hrr0": _f(r["HRR (no revision check)"]), "final": final})
    return cols, rows, ("Over every attack generation (raw harmful prompts included). Flagged = a harmful "
                        "(placeholder) prediction at an intermediate step; AR has no uncommitted predictions, so its "
                        "HRR is 0 by construction. Definitions: sri_kit.analysis.recovery_rates.")


def _trajectory_classes(f) -> tuple[list, list, str]:
    cols = [Column("sampler", "sampler"), Column("harmless_anchors", "harmless anchors answered", "int"),
            Column("harmful_anchors", "harmful anchors refused", "int"),
            Column("benign_answered", "benign answered", "rate"), Column("raw_refused", "raw harmful refused", "rate"),
            Column("jailbreaks_successful", "jailbreaks successful", "rate")]
    rows = [{**{k: r[k] for k in ("sampler", "harmless_anchors", "harmful_anchors")},
             **{k: rate(*r[k]) for k in ("benign_answered", "raw_refused", "jailbreaks_successful")}}
            for r in f["trajectory_classes"]]
    return cols, rows, ("Centers: answered harmless and refused harmful anchors. The figures draw the answered "
                        "benign and refused raw harmful generations (median and interquartile band) and one "
                        "successful jailbreak.")


def _irr(f) -> tuple[list, list, str]:
    t = f["irr"]
    lams = sorted(t["lambda_r"].unique())
    cols = [Column("group", "sampler")] + [Column(f"irr_{lr:g}", f"IRR λ_r={lr:g}", "rate") for lr in lams]
    rows = []
    for g, sub in t.groupby("group", sort=False):
        r = {"group": g}
        for _, x in sub.iterrows():
            bits = f.get("irr_bits", {}).get(g, {}).get(float(x["lambda_r"]))
            r[f"irr_{x['lambda_r']:g}"] = (clustered_rate(bits, f["irr_requests"][g]) if bits is not None
                                          else rate(int(x["n_recovered"]), int(x["n"])))
        rows.append({c.key: r.get(c.key) for c in cols})
    return cols, rows, ("IRR (Definition 1) over every jailbreak generation (raw prompts excluded): compliant "
                        "(σ > 0.5) at some step and σ_T < λ_r at the end.")


def _incomplete(f) -> tuple[list, list, str]:
    cols = [Column("sampler", "sampler"), Column("n", "n", "int"),
            Column("incomplete", "incomplete recoveries", "rate"),
            Column("succeeded", "of which attack succeeded", "int"), Column("dips", "min σ < 0.5 (any)", "rate")]
    rows = []
    for _, r in f["incomplete"].iterrows():
        s = r["sampler"]
        if s in f.get("incomplete_bits", {}):
            req = f["irr_requests"][s]
            inc, dips = clustered_rate(f["incomplete_bits"][s], req), clustered_rate(f["dip_bits"][s], req)
        else:
            inc, dips = rate(int(r["incomplete recoveries"]), int(r["n"])), rate(int(r["min σ < 0.5 (any)"]), int(r["n"]))
        rows.append({"sampler": s, "n": int(r["n"]), "incomplete": inc, "succeeded": int(r["of which attack succeeded"]),
                     "dips": dips})
    return cols, rows, ("find_incomplete_recovery: min σ < 0.5 after a descent of ≥ 0.1, rebound ≥ 0.1, final "
                        "σ > 0.5, text never refuses.")


def _lda(f) -> tuple[list, list, str]:
    cols = [Column("sampler", "sampler"), Column("class", "class"), Column("n", "n", "int"),
            Column("ld1", "LD1 mean", "float"), Column("ld2", "LD2 mean", "float"),
            Column("condition", "condition number (within-class covariance)", "text"), Column("fit", "fit")]
    rows = [{"sampler": r["sampler"], "class": r["class"], "n": int(r["n"]), "ld1": _f(r["ld1"]), "ld2": _f(r["ld2"]),
             "condition": f"{r['condition']:.2g}", "fit": "dropped (degenerate)" if r["dropped"] else "kept"}
            for r in f["lda"]]
    notes = sorted({r["note"] for r in f["lda"] if r["note"]})
    return cols, rows, ("Shrinkage LDA of σ vectors (sri_kit.analysis.lda_projection); a fit whose within-class "
                        "covariance is degenerate is dropped (no means) rather than reported. " + " ".join(notes)).strip()


def _auroc(f) -> tuple[list, list, str]:
    df = f["auroc"]
    combos = list(dict.fromkeys(zip(df["model"], df["scorer"])))
    ci = "auroc_lo" in df
    cols = ([Column("signal", "signal"), Column("negatives", "negatives"), Column("n_benign", "n negatives", "int"),
             Column("n_attack", "n jailbreaks", "int")] + ([Column("n_requests", "requests", "int")] if ci else [])
            + [Column(f"{m}_{s}", f"{m} {s}" + (" [95 % CI]" if ci else ""), "text" if ci else "float")
               for m, s in combos])
    rows = []
    for (sig, neg), sub in df.groupby(["signal", "negatives"], sort=False):
        r = {"signal": sig, "negatives": neg, "n_benign": int(sub["n_benign"].iloc[0]),
             "n_attack": int(sub["n_attack"].iloc[0])}
        if ci:
            r["n_requests"] = int(sub["n_requests"].iloc[0])
        for _, x in sub.iterrows():
            r[f"{x['model']}_{x['scorer']}"] = (f"{x['auroc']:.2f} [{x['auroc_lo']:.2f}, {x['auroc_hi']:.2f}]" if ci
                                               else _f(x["auroc"]))
        rows.append({c.key: r.get(c.key) for c in cols})
    return cols, rows, ("Jailbreak generations (every attack prompt but prefill) vs benign generations. plain "
                        "benign: a signal keyed on the prompt format separates them (the static row); wrapped benign "
                        "(matched): the same benign requests in the jailbreaks' wrappers. logistic: 5-fold "
                        "out-of-fold (supervised); one_class: RMS z-distance to benign training folds.")


def _layers(f) -> tuple[list, list, str]:
    lt = f["layers"]
    cols = [Column("model", "model"), Column("layer", "layer"), Column("layer_index", "layer index", "int"),
            Column("group", "group"), Column("n", "n", "int"), Column("mean_sigma", "mean σ", "float"),
            Column("final_sigma", "final σ", "float"), Column("min_sigma", "min σ", "float")]
    rows = [{c.key: (r[c.key] if c.kind == "text" else int(r[c.key]) if c.kind == "int" else _f(r[c.key]))
             for c in cols} for _, r in lt.iterrows()]
    return cols, rows, "Means over generations; centers refit per layer."


def _sweeps(f) -> tuple[list, list, str]:
    t = f["sweeps"]
    cols = [Column("model", "model"), Column("param", "param"), Column("value", "value"), Column("group", "group"),
            Column("n", "n", "int"), Column("refusal_rate", "refused", "rate"),
            Column("attack_success", "attack success", "rate"), Column("irr", "IRR (λ_r = 0.3)", "float"),
            Column("mean_sigma", "mean σ", "float"), Column("centers", "centers")]
    rows = [{"model": r["model"], "param": r["param"], "value": str(r["value"]), "group": r["group"], "n": int(r["n"]),
             "refusal_rate": _count(r["refusal_rate"], int(r["n"])),
             "attack_success": _count(r["attack_success"], int(r["n"])), "irr": _f(r["irr"]),
             "mean_sigma": _f(r["mean_sigma"]), "centers": str(r["centers"])} for _, r in t.iterrows()]
    return cols, rows, "Centers refit per setting on the anchors."


def _verdicts(f) -> tuple[list, list, str]:
    from .verdicts import CAVEATS, verdict_rows
    cols = [Column("claim", "claim"), Column("verdict", "verdict"), Column("measured", "measured here")]
    return cols, verdict_rows(f), "Caveats: " + CAVEATS


_BUILDERS = {"analysis_recovery": ("recovery", _recovery), "analysis_trajectory_classes": ("trajectory_classes",
             _trajectory_classes), "analysis_irr": ("irr", _irr), "analysis_incomplete": ("incomplete", _incomplete),
             "analysis_lda": ("lda", _lda), "analysis_auroc": ("auroc", _auroc), "analysis_layers": ("layers", _layers),
             "analysis_sweeps": ("sweeps", _sweeps), "analysis_verdicts": (None, _verdicts)}


def analysis_tables(facts: dict, ctx, *, command: str, seconds: float | None = None) -> list[Table]:
    """The ``analysis_*`` tables of one report run (``ctx``: its :class:`~sri_kit.report.ReportContext`)."""
    prov = provenance(producing_code("report", [ctx.ar_lm.name, ctx.dlm_lm.name]))
    model = f"{ctx.ar_lm.name}+{ctx.dlm_lm.name}"
    configs = {s: {"key": c.key(), "fields": c.to_dict()} for s, (_, c) in ctx.samplers.items()}
    attacks = [a for a in ctx.prompts_by_attack if a != "none"]
    prompts = {"anchors": f"{ctx.n_anchor} harmless + {ctx.n_anchor} harmful (centers; organism pools tiny_benign, "
                          "tiny_harmful)",
               "evaluation": f"{len(ctx.b_eval)} benign, {len(ctx.h_eval)} harmful requests disjoint from the anchors; "
                             f"attacks {', '.join(attacks)} applied to the harmful ones (organism wrappers: held-out "
                             f"phrasings); {len(ctx.matched_benign)} matched benign prompts in the same wrappers",
               "seed": f"split_pool(pool, n_anchor, n_eval, seed={ctx.seed}); attack seed {ctx.seed} + i"}
    out = []
    for name, title in ANALYSIS_TABLES.items():
        key, build = _BUILDERS[name]
        if key is not None and (key not in facts or (isinstance(facts[key], (pd.DataFrame, list)) and not len(facts[key]))):
            continue
        cols, rows, notes = build(facts)
        out.append(Table(model=model, name=name, title=title, split="heldout", n="per row", seed=ctx.seed,
                         mode="quick" if ctx.quick else "report", columns=cols, rows=rows, prompts=prompts,
                         configs=configs, command=command, compute_seconds=None if seconds is None else round(seconds, 1),
                         notes=notes, **prov))
    return out
