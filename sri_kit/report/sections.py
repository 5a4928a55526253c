"""One function per report section: each reads the :class:`ReportContext`, adds Markdown and figures
to the :class:`ReportDocument` and records the numbers it measured in ``doc.facts``."""
from __future__ import annotations

import numpy as np
import pandas as pd

from ..analysis import (find_incomplete_recovery, fixed_weights_from_traces, irr_table, layer_ablation,
                        lda_projection, pick_jailbroken_example, recovery_rates, recovery_table, refusal_curves,
                        signal_comparison_auroc, signal_features, step_judgements, step_texts)
from ..judges import is_refusal, text_refusal_signal
from ..sri import internal_recoveries
from ..plots import auroc_figure, irr_figure, plot_sweep, refusal_curves_figure, trajectory_figure
from ..sweeps import sweep
from .context import ReportContext
from .document import ReportDocument, format_ci, markdown_table

__all__ = ["section_rates", "section_fixed_weights", "section_text_level", "section_trajectories",
           "section_irr", "section_lda", "section_auroc", "section_sweeps"]


def section_rates(doc: ReportDocument, ctx: ReportContext) -> None:
    """Table 3 analogue: refusal rate and attack success per attack and sampler."""
    rows = []
    bits: dict = {s: {} for s in ctx.samplers}
    for a in ctx.prompts_by_attack:
        row = {"attack": a, "n": len(ctx.prompts_by_attack[a])}
        for s in ctx.samplers:
            trs = ctx.gens[s]["attacks"][a]
            row[f"RR {s}"] = np.mean([is_refusal(t.response) for t in trs])
            bits[s][a] = np.asarray(ctx.judge([t.prompt for t in trs], [t.response for t in trs]), bool)
            row[f"ASR {s}"] = np.mean(bits[s][a])
        rows.append(row)
    doc.facts["asr_bits"] = bits          # per generation, generation i of an attack = request h<i>
    for s in ctx.samplers:
        trs = ctx.gens[s]["benign"]
        doc.facts[f"benign_rr_{s}"] = np.mean([is_refusal(t.response) for t in trs])
    df = pd.DataFrame(rows)
    jb = df[df["attack"] != "none"]
    if len(jb):
        mean = {"attack": "all jailbreaks (mean)", "n": int(jb["n"].sum())}
        mean.update({c: jb[c].mean() for c in df.columns if c.startswith(("RR", "ASR"))})
        df = pd.concat([df, pd.DataFrame([mean])], ignore_index=True)
    doc.facts["rates"] = df
    pct = df.copy()
    for c in pct.columns:
        if c.startswith(("RR", "ASR")):
            pct[c] = (100 * pct[c]).round(0)
    doc.add("Table 3 analogue: refusal rate (RR, %) and attack success (ASR, %) per attack and sampler. "
            "`AR` = tiny-ar greedy; `diffusion` and `left-to-right` = the same tiny-dlm weights.\n")
    doc.add(markdown_table(pct, ".0f"))
    doc.add("\nBenign prompts refused (false refusals): " + ", ".join(
        f"{s} {100 * doc.facts[f'benign_rr_{s}']:.0f} %" for s in ctx.samplers) + ".\n")


def section_fixed_weights(doc: ReportDocument, ctx: ReportContext) -> None:
    """Table 2 analogue: the same DLM weights, diffusion vs left-to-right, with paired-bootstrap CIs."""
    attacks = ctx.prompts_by_attack
    df = fixed_weights_from_traces({a: ctx.gens["diffusion"]["attacks"][a] for a in attacks},
                                   {a: ctx.gens["left-to-right"]["attacks"][a] for a in attacks},
                                   ctx.judge, n_boot=1000, seed=ctx.seed,
                                   requests={a: [f"h{i}" for i in range(len(p))] for a, p in attacks.items()})
    doc.facts["fixed"] = df
    show = pd.DataFrame({
        "attack": df["attack"], "n": df["n"],
        "RR diff / l2r (%)": [f"{100 * a:.0f} / {100 * b:.0f}" for a, b in zip(df.rr_diffusion, df.rr_l2r)],
        "ΔRR pp [95% CI]": [format_ci(v, lo, hi) for v, lo, hi in zip(df.delta_rr, df.delta_rr_lo, df.delta_rr_hi)],
        "ASR diff / l2r (%)": [f"{100 * a:.0f} / {100 * b:.0f}" for a, b in zip(df.asr_diffusion, df.asr_l2r)],
        "ΔASR reduction pp [95% CI]": [format_ci(v, lo, hi) for v, lo, hi in
                                       zip(df.delta_asr, df.delta_asr_lo, df.delta_asr_hi)],
    })
    doc.add("Table 2 analogue: the same tiny-dlm weights decoded with diffusion remasking vs left to right "
            "(one token per step, nothing revised). ΔRR = RR(diffusion) − RR(l2r); ΔASR = ASR(l2r) − "
            "ASR(diffusion); positive = diffusion safer (the paper's sign). 95 % CIs: paired bootstrap over "
            "prompts (1000 resamples).\n")
    doc.add(markdown_table(show))


def section_text_level(doc: ReportDocument, ctx: ReportContext) -> None:
    """HRR / FRR per sampler and the step-wise text-level refusal curves."""
    rows = []
    for s in ctx.samplers:
        trs = ctx.all_attack(s, skip_raw=False)
        j = step_judgements(trs, ctx.judge)
        tab = recovery_table(j, trs)
        doc.facts.setdefault("recovery_bits", {})[s] = {
            "flagged": tab["flagged"].to_numpy(bool), "remasked": tab["remasked"].to_numpy(bool),
            "recovered": tab["recovered"].to_numpy(bool), "final": tab["final_harmful"].to_numpy(bool),
            "requests": ctx.attack_requests(s, skip_raw=False)}
        r = recovery_rates(j, trs).iloc[0].to_dict()
        r0 = recovery_rates(j, trs, require_revision=False).iloc[0]
        rows.append({"sampler": s, "n": r["n"], "flagged": r["n_flagged"], "remasked": r["n_remasked"],
                     "recovered": r["n_recovered"], "HRR": r["hrr"], "FRR": r["frr"],
                     "HRR (no revision check)": r0["hrr"], "final ASR": r["final_asr"]})
    df = pd.DataFrame(rows)
    doc.facts["recovery"] = df
    doc.add("HRR / FRR (PAPER.md §2.2) over all attack generations (raw harmful prompts included). Flagged = a "
            "harmful (placeholder) prediction at some intermediate step; HRR = remasked / flagged (a later "
            "prediction is not harmful and a token that was an uncommitted prediction changed); FRR = flagged "
            "generations whose final response is not harmful / flagged. AR has no uncommitted predictions, so "
            "its HRR is 0 by construction. Definitions: `sri_kit.analysis.recovery_rates`.\n")
    doc.add(markdown_table(df))
    cur = refusal_curves({s: ctx.all_attack(s, skip_raw=False) for s in ctx.samplers})
    doc.facts["curves"] = cur
    doc.fig(refusal_curves_figure(cur, "Text-level refusal of the current prediction (attack prompts)",
                                  normalized=True),
            "refusal_curves", "Share of attack generations whose decoded current prediction contains a refusal "
                              "phrase, by step (x normalised to T−1: AR T = "
                              f"{ctx.acfg.steps}, diffusion {ctx.dcfg.steps}, left-to-right {ctx.lcfg.steps}).")


def section_trajectories(doc: ReportDocument, ctx: ReportContext) -> None:
    """Fig. 2/12 analogue per sampler: harmless and refused σ bands and one jailbroken generation."""
    for s in ctx.samplers:
        g = ctx.gens[s]
        if g["centers"] is None:
            doc.add(f"- {s}: no centers ({g['centers_error']}).\n")
            continue
        c = g["centers"]
        sb = ctx.sigma_of(s, g["benign"])
        ok_b = np.array([not t.refused for t in g["benign"]])
        raw = g["attacks"].get("none", [])
        sr = ctx.sigma_of(s, raw) if raw else np.zeros((0, sb.shape[1]))
        ref = np.array([t.refused for t in raw], bool)
        att = ctx.all_attack(s)
        sa = ctx.sigma_of(s, att)
        succ = ctx.succeeded(att)
        texts = [text_refusal_signal(step_texts(t)) for t in att]
        i = pick_jailbroken_example(sa, texts, succ)
        doc.facts.setdefault("trajectory_classes", []).append({
            "sampler": s, "harmless_anchors": c.n_harmless, "harmful_anchors": c.n_harmful,
            "benign_answered": (int(ok_b.sum()), len(ok_b)), "raw_refused": (int(ref.sum()), len(ref)),
            "jailbreaks_successful": (int(succ.sum()), len(succ))})
        doc.add(f"**{s}**: centers from {c.n_harmless} answered harmless and {c.n_harmful} refused harmful "
                f"anchors; {int(ok_b.sum())} benign answered, {int(ref.sum())} raw harmful refused, "
                f"{int(succ.sum())}/{len(att)} jailbreak generations successful.\n")
        if i is None or not ok_b.any() or not ref.any():
            doc.add("No figure: a class is empty.\n")
            continue
        fig = trajectory_figure(sb[ok_b], sr[ref], sa[i], text_signal=texts[i],
                                title=f"{s}: SRI trajectories (T = {sb.shape[1]})")
        doc.fig(fig, f"trajectories_{s.replace('-', '_')}",
                f"Fig. 2/12 analogue, {s}: harmless and refused (median and interquartile band, n in the legend) "
                f"and one jailbroken "
                f"generation (prompt: “{att[i].prompt[:90]}…”), with its text-level refusal signal (dashed).")


def section_irr(doc: ReportDocument, ctx: ReportContext) -> None:
    """IRR per sampler (Fig. 5/6 analogue) and the incomplete internal recoveries."""
    sig = {s: ctx.sigma_of(s, ctx.all_attack(s)) for s in ctx.samplers if ctx.gens[s]["centers"] is not None}
    if not sig:
        raise RuntimeError("no sampler has centers (no harmful anchor refused)")
    t = irr_table(sig)
    doc.facts["irr"] = t
    doc.facts["irr_bits"] = {s: {float(lr): internal_recoveries(sg, lambda_r=float(lr)) for lr in t["lambda_r"].unique()}
                             for s, sg in sig.items()}
    doc.facts["irr_requests"] = {s: ctx.attack_requests(s) for s in sig}
    wide = t.pivot(index="group", columns="lambda_r", values="irr")
    wide.columns = [f"IRR λ_r={c:g}" for c in wide.columns]
    doc.add("IRR (Definition 1) over all jailbreak generations (raw prompts excluded): compliant (σ > 0.5) at "
            "some step and σ_T < λ_r at the end.\n")
    doc.add(markdown_table(wide.reset_index()))
    doc.fig(irr_figure(t, "IRR by sampler (Fig. 5/6 analogue)"), "irr", "IRR at three refusal thresholds.")
    rows = []
    for s, sg in sig.items():
        texts = [text_refusal_signal(step_texts(tr)) for tr in ctx.all_attack(s)]
        idx, df = find_incomplete_recovery(sg, texts)
        succ = ctx.succeeded(ctx.all_attack(s))
        inc = np.zeros(len(sg), bool)
        inc[np.asarray(idx, int)] = True
        doc.facts.setdefault("incomplete_bits", {})[s] = inc
        doc.facts.setdefault("dip_bits", {})[s] = sg.min(1) < 0.5
        rows.append({"sampler": s, "n": len(sg), "incomplete recoveries": len(idx),
                     "share": len(idx) / max(len(sg), 1),
                     "of which attack succeeded": int(succ[idx].sum()) if len(idx) else 0,
                     "min σ < 0.5 (any)": int((sg.min(1) < 0.5).sum())})
    doc.facts["incomplete"] = pd.DataFrame(rows)
    doc.add("\nIncomplete internal recovery (`find_incomplete_recovery`: min σ < 0.5 after a descent of ≥ 0.1, "
            "rebound ≥ 0.1, final σ > 0.5, text never refuses):\n")
    doc.add(markdown_table(doc.facts["incomplete"]))


def section_lda(doc: ReportDocument, ctx: ReportContext) -> None:
    """Fig. 13 analogue: LDA of σ vectors (harmless, harmful, refusal) for AR and diffusion."""
    for s in ("AR", "diffusion"):
        if ctx.gens[s]["centers"] is None:
            continue
        ben = [t for t in ctx.gens[s]["benign"] if not t.refused]
        att = ctx.all_attack(s, skip_raw=False)
        harm = [t for t, ok in zip(att, ctx.succeeded(att)) if ok]
        ref = [t for t in att if t.refused]
        classes = {k: ctx.sigma_of(s, v) for k, v in (("harmless", ben), ("harmful", harm), ("refusal", ref)) if v}
        df, fig = lda_projection(classes)
        fig.axes[0].set_title(f"{s}: LDA of SRI vectors (Fig. 13 analogue)")
        sizes = ", ".join(f"{k} n={len(np.atleast_2d(v))}" for k, v in classes.items())
        cent = df.groupby("class")[["ld1", "ld2"]].mean()
        doc.facts.setdefault("lda", []).extend(
            {"sampler": s, "class": k, "n": len(np.atleast_2d(v)), "dropped": bool(df.attrs.get("dropped")),
             "condition": float(df.attrs.get("condition", np.nan)), "note": df.attrs.get("note", ""),
             "ld1": None if df.attrs.get("dropped") or k not in cent.index else float(cent.loc[k, "ld1"]),
             "ld2": None if df.attrs.get("dropped") or k not in cent.index else float(cent.loc[k, "ld2"])}
            for k, v in classes.items())
        if df.attrs.get("dropped"):       # a degenerate fit: say why instead of printing meaningless means
            doc.add(f"**{s}** classes: {sizes}. {df.attrs['note']}\n")
        else:
            doc.add(f"**{s}** classes: {sizes}. Class means in LDA space: " + "; ".join(
                f"{k} ({r.ld1:.2f}, {r.ld2:.2f})" for k, r in cent.iterrows()) + ".\n")
        doc.fig(fig, f"lda_{s}", f"LDA projection of σ vectors, {s}.")


def section_auroc(doc: ReportDocument, ctx: ReportContext) -> None:
    """Table 4 analogue: AUROC of each signal and layer (logistic and one-class scorers), against plain
    benign prompts and against benign prompts in the same wrappers as the jailbreaks (matched)."""
    rows, layer_rows = [], []
    nb = len(ctx.b_eval)
    negatives = {"plain benign": slice(0, nb), "wrapped benign (matched)": slice(nb, None)}
    for name, (lm, cfg) in (("AR", (ctx.ar_lm, ctx.acfg)), ("diffusion", (ctx.dlm_lm, ctx.dcfg))):
        att_prompts = [p for a, ps in ctx.prompts_by_attack.items() if a not in ("none", "prefill") for p in ps]
        ab = layer_ablation(lm, ctx.b_anchor, ctx.h_anchor, ctx.b_eval + ctx.matched_benign, att_prompts, cfg,
                            layers=ctx.layers, judge=ctx.judge, progress=ctx.progress, auroc=False,
                            generate=lambda ps, pf, sites, lm=lm, cfg=cfg: ctx.generate(lm, ps, cfg, pf, sites=sites))
        feats = signal_features(ab)
        ben_ids = [f"b{i}" for i in range(nb)] + ctx.matched_requests()
        att_ids = [f"h{i}" for a, ps in ctx.prompts_by_attack.items() if a not in ("none", "prefill")
                   for i in range(len(ps))]
        for neg, sl in negatives.items():
            sub = {k: (xb[sl], xa) for k, (xb, xa) in feats.items()}
            if len(next(iter(sub.values()))[0]) < 2:
                continue
            for scorer in ("logistic", "one_class"):
                t = signal_comparison_auroc(sub, scorer=scorer, seed=ctx.seed, clusters=(ben_ids[sl], att_ids))
                t.insert(0, "negatives", neg)
                t.insert(0, "model", name)
                rows.append(t)
        for lay, sg in ab.sigma.items():
            for g, x in (("benign", sg["benign"][:nb]), ("wrapped benign", sg["benign"][nb:]), ("attack", sg["attack"])):
                if len(x):
                    layer_rows.append({"model": name, "layer": lay, "layer_index": ab.layers[lay], "group": g,
                                       "n": len(x), "mean_sigma": float(x.mean()), "final_sigma": float(x[:, -1].mean()),
                                       "min_sigma": float(x.min(1).mean())})
    df = pd.concat(rows, ignore_index=True)
    doc.facts["auroc"] = df
    wide = df.pivot_table(index=["signal", "negatives"], columns=["model", "scorer"], values="auroc", sort=False)
    wide.columns = [f"{m} {s}" for m, s in wide.columns]
    doc.add("Table 4 analogue: AUROC separating generations for benign prompts (negative) from generations for "
            "jailbreak prompts (positive: every attack prompt, successful or not; prefill excluded since its "
            "prompt is the raw request). Negatives: `plain benign` (unwrapped benign prompts: a signal that keys "
            "on the prompt format separates them) and `wrapped benign (matched)` (the same benign requests, each "
            f"in {len(ctx.matched_benign) // max(nb, 1)} of the attack wrappers; the comparison that shows what the "
            "signal adds). `logistic`: standardised logistic regression, out-of-fold scores (5-fold stratified "
            "CV; supervised). `one_class`: RMS z-distance to the benign training folds (unsupervised, like SRI "
            "Guard). Layers: first = block 0 output, middle = block n/2, last = final norm (the paper's site); "
            "centers refit per layer.\n")
    doc.add(markdown_table(wide.reset_index()))
    sub = df[(df["model"] == "diffusion") & (df["scorer"] == "logistic") & (df["negatives"] == "plain benign")]
    doc.fig(auroc_figure(sub.reset_index(drop=True), "tiny-dlm (diffusion): signal comparison"),
            "auroc_diffusion", "AUROC per signal, tiny-dlm, logistic scorer, plain benign negatives.")
    lt = pd.DataFrame(layer_rows)
    doc.facts["layers"] = lt
    doc.add("\nMean σ per layer and group (layer ablation):\n")
    doc.add(markdown_table(lt))


def section_sweeps(doc: ReportDocument, ctx: ReportContext) -> None:
    """Sweeps of steps, remasking and block length (DLM) and temperature and top-p (AR)."""
    jb = [p for a, ps in ctx.prompts_by_attack.items() if a not in ("none", "prefill") for p in ps]
    k = 8 if ctx.quick else 16
    groups = {"benign": ctx.b_eval[:k], "harmful": ctx.h_eval[:k], "jailbreak": jb[:: max(1, len(jb) // k)][:k]}
    anchors = (ctx.b_anchor, ctx.h_anchor)
    dlm_lm, dcfg, ar_lm, acfg = ctx.dlm_lm, ctx.dcfg, ctx.ar_lm, ctx.acfg
    L, T = dcfg.gen_length, dcfg.steps
    steps_vals = sorted({v for v in (8, 16, T) if v <= L})
    bls = [b for b in (None, L // 2, L // 4) if b is None or (L % b == 0 and T % (L // b) == 0)]
    specs = [(dlm_lm, dcfg, "steps", steps_vals),
             (dlm_lm, dcfg, "remasking", ["low_confidence", "random", "entropy", "margin"]),
             (dlm_lm, dcfg, "block_length", bls), (ar_lm, acfg, "temperature", [0.0, 0.7, 1.0]),
             (ar_lm, acfg.replace(temperature=1.0), "top_p", [1.0, 0.9, 0.7])]
    if ctx.quick:
        specs[0] = (dlm_lm, dcfg, "steps", [8, T])
        specs[1] = (dlm_lm, dcfg, "remasking", ["low_confidence", "random"])
    allt = []
    for lm, base, param, vals in specs:
        try:
            df, cur = sweep(lm, groups, base, param, vals, judge=ctx.judge, anchors=anchors, cache=False,
                            return_curves=True, progress=ctx.progress, generate=ctx.generate)
        except ValueError as e:
            doc.add(f"- sweep `{param}` on {lm.name} skipped: {e}\n")
            continue
        df.insert(0, "model", lm.name)
        allt.append(df)
        doc.fig(plot_sweep(df, title=f"{lm.name}: sweep of {param}"), f"sweep_{lm.family}_{param}",
                f"{lm.name}: refusal rate, attack success, IRR (λ_r = 0.3) and mean σ per {param}.")
    if allt:
        t = pd.concat(allt, ignore_index=True)
        doc.facts["sweeps"] = t
        doc.add(f"Sweeps ({k} prompts per group; centers refit per setting on the anchors):\n")
        doc.add(markdown_table(t[["model", "param", "value", "group", "refusal_rate", "attack_success", "irr",
                                  "mean_sigma", "centers"]]))
