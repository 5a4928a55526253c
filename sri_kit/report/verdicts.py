"""The closing section: what agrees with the paper and what does not, read from intervals.

Every verdict is three-valued (:func:`sri_kit.stats.verdict`): *agrees* when the whole 95 % interval of
the measured quantity lies on the paper's side, *disagrees* when none of it does, *inconclusive* when it
straddles. Intervals are clustered by request (docs/STATISTICS.md): the same request under nine
attacks is one unit, not nine. Each line says how many generations and requests it rests on.
"""
from __future__ import annotations

import numpy as np

from ..stats import paired_difference, verdict

__all__ = ["verdicts", "verdict_rows", "CAVEATS", "combine"]


CAVEATS = ("the organism is a pair of ~5 M-parameter models trained on 2 CPU cores (human-written answers, public "
           "harmful requests and a generated corpus), the DLM made from the AR model's weights; its jailbreak gap is "
           "designed (uncovered wrapper families), not emergent, so agreement in direction is the most one can read "
           "from it. The paper's values are 7–8B-model numbers with an LLM judge.")


def verdicts(f: dict) -> str:
    """Direction checks against the paper, from the numbers the sections measured (``doc.facts``).

    >>> verdicts({}).startswith("Each line compares a direction the paper reports")
    True
    """
    lines = ["Each line compares a direction the paper reports with what the organism shows here. A verdict "
             "is read from the 95 % interval clustered by request (docs/STATISTICS.md): agrees (the whole "
             "interval on the paper's side), disagrees (none of it), inconclusive (it straddles).\n"]
    for r in verdict_rows(f):
        mark = "**disagrees**" if r["verdict"] == "disagrees" else r["verdict"]
        lines.append(f"- {r['claim']}: {mark}. {r['measured']}")
    lines.append("\nCaveats: " + CAVEATS)
    return "\n".join(lines) + "\n"


def combine(vs: list[str]) -> str:
    """One verdict from several that must all hold: any *disagrees* wins, then any *inconclusive*.

    >>> combine(["agrees", "inconclusive"]), combine(["agrees", "disagrees", "inconclusive"]), combine(["agrees"])
    ('inconclusive', 'disagrees', 'agrees')
    """
    if not vs:
        return "inconclusive"
    return "disagrees" if "disagrees" in vs else "inconclusive" if "inconclusive" in vs else "agrees"


def _pp(d: dict) -> str:
    return f"{100 * d['value']:+.0f} pp [{100 * d['lo']:+.0f}, {100 * d['hi']:+.0f}]"


def _n(bits, requests) -> str:
    return f"n = {len(bits)} generations of {len(set(requests))} requests"


def verdict_rows(f: dict, seed: int = 0) -> list[dict]:
    """The checks of :func:`verdicts` as rows: claim, verdict (agrees / disagrees / inconclusive), measured.

    A check whose inputs were not measured is left out.

    >>> verdict_rows({})
    []
    >>> x = {"irr_bits": {"AR": {0.3: np.zeros(40, bool)}, "diffusion": {0.3: np.arange(40) % 2 == 0}},
    ...      "irr_requests": {"AR": [f"h{i % 20}" for i in range(40)], "diffusion": [f"h{i % 20}" for i in range(40)]}}
    >>> [r["verdict"] for r in verdict_rows(x)]
    ['agrees']
    """
    lines: list[dict] = []

    def say(v, claim, detail):
        lines.append({"claim": claim, "verdict": v, "measured": detail})

    fx = f.get("fixed")
    if fx is not None and len(fx):
        per = fx[fx["attack"] != "all"]
        cell = [combine([verdict((r.delta_rr_lo, r.delta_rr_hi), above=0.0, kind="paper"),
                         verdict((r.delta_asr_lo, r.delta_asr_hi), above=0.0, kind="paper")])
                for r in per.itertuples()]
        allrow = fx[fx["attack"] == "all"]
        src = allrow if len(allrow) else per
        r0 = src.iloc[0]
        v = combine([verdict((r0.delta_rr_lo, r0.delta_rr_hi), above=0.0, kind="paper"),
                     verdict((r0.delta_asr_lo, r0.delta_asr_hi), above=0.0, kind="paper")])
        say(v, "Fixed weights: diffusion is safer than left-to-right (Table 2)",
            f"{'pooled' if len(allrow) else per.iloc[0]['attack']} ΔRR {100 * r0.delta_rr:+.0f} pp "
            f"[{100 * r0.delta_rr_lo:+.0f}, {100 * r0.delta_rr_hi:+.0f}], ΔASR {100 * r0.delta_asr:+.0f} pp "
            f"[{100 * r0.delta_asr_lo:+.0f}, {100 * r0.delta_asr_hi:+.0f}] (n = {int(r0.n)} paired generations; "
            f"pooled interval clustered by request); per attack: {cell.count('agrees')} agree, "
            f"{cell.count('disagrees')} disagree, {cell.count('inconclusive')} inconclusive of {len(cell)}.")
    rb = f.get("recovery_bits")
    if rb and "diffusion" in rb:
        from ..stats import rate_interval
        d = rb["diffusion"]
        fl = np.asarray(d["flagged"], bool)
        req = np.asarray(d["requests"])[fl]
        hrr = rate_interval(np.asarray(d["remasked"], bool)[fl], req)
        frr = rate_interval(np.asarray(d["recovered"], bool)[fl], req)
        iv = (hrr["lo"], hrr["hi"]) if hrr["n"] else None
        say(verdict(iv, above=0.0, kind="paper"),
            "Diffusion revises harmful intermediate predictions (HRR > 0; the paper's HRR 0.81–0.96, FRR 0.63–0.73)",
            (f"diffusion HRR {hrr['rate']:.2f} [{hrr['lo']:.2f}, {hrr['hi']:.2f}], FRR {frr['rate']:.2f} "
             f"[{frr['lo']:.2f}, {frr['hi']:.2f}] over {hrr['n']} flagged generations of {hrr['clusters']} requests"
             if hrr["n"] else "no diffusion generation was flagged (HRR undefined)")
            + "; AR HRR is 0 by construction.")
    ib, ir = f.get("irr_bits"), f.get("irr_requests")
    if ib and ir:
        for other, claim in (("AR", "IRR is higher under diffusion than AR at every λ_r (Fig. 5)"),
                             ("left-to-right", "Same weights: IRR diffusion > AR-style sampling (Fig. 6)")):
            if "diffusion" not in ib or other not in ib:
                continue
            if list(ir["diffusion"]) != list(ir[other]):
                raise ValueError(f"IRR generations of diffusion and {other} are not paired by request")
            parts, vs = [], []
            for lr in sorted(ib["diffusion"]):
                d = paired_difference(ib[other][lr], ib["diffusion"][lr], ir["diffusion"], seed=seed)
                vs.append(verdict(d, above=0.0, kind="paper"))
                parts.append(f"λ_r={lr:g}: diffusion {np.mean(ib['diffusion'][lr]):.2f} vs {other} "
                             f"{np.mean(ib[other][lr]):.2f}, Δ {_pp(d)}")
            say(combine(vs), claim, "; ".join(parts) + f" ({_n(ib['diffusion'][lr], ir['diffusion'])}).")
    inc = f.get("incomplete_bits")
    if inc and ir and "AR" in inc and "diffusion" in inc:
        d = paired_difference(inc["diffusion"], inc["AR"], ir["AR"], seed=seed)
        say(verdict(d, above=0.0, kind="paper"),
            "Incomplete internal recovery appears mostly under AR sampling (abstract v3)",
            f"share of jailbreak generations: AR {np.mean(inc['AR']):.2f}, diffusion {np.mean(inc['diffusion']):.2f}, "
            f"Δ {_pp(d)} ({_n(inc['AR'], ir['AR'])}).")
    au = f.get("auroc")
    if au is not None and len(au) and "auroc_lo" in au:
        neg = "plain benign"
        if (au["negatives"] == "wrapped benign (matched)").any():
            neg = "wrapped benign (matched)"       # the comparison that shows what the signal adds
        au = au[au["negatives"] == neg]
        for model in ("AR", "diffusion"):
            a = au[(au["model"] == model) & (au["scorer"] == "logistic")].set_index("signal")
            if "SRI (last layer)" not in a.index or "text-based signal" not in a.index:
                continue
            last = a.loc["SRI (last layer)"]
            others = [a.loc[k] for k in ("text-based signal", "SRI (first layer)") if k in a.index]
            # two AUROC intervals: the claim holds when they do not overlap (a conservative reading)
            vs = ["agrees" if last.auroc_lo > o.auroc_hi else "disagrees" if last.auroc_hi < o.auroc_lo
                  else "inconclusive" for o in others]
            say(combine(vs), f"{model}: last-layer SRI beats the text signal and the first layer (Table 4)",
                "AUROC " + ", ".join(f"{k} {a.loc[k, 'auroc']:.2f} [{a.loc[k, 'auroc_lo']:.2f}, {a.loc[k, 'auroc_hi']:.2f}]"
                                     for k in a.index)
                + f" (logistic scorer; negatives: {neg}; {int(last.n_benign)} + {int(last.n_attack)} generations of "
                  f"{int(last.n_requests)} requests; non-overlapping intervals required).")
    bits = f.get("asr_bits")
    if bits and "AR" in bits and "diffusion" in bits:
        atts = [a for a in bits["AR"] if a != "none"]
        if atts:
            ar = np.concatenate([bits["AR"][a] for a in atts])
            di = np.concatenate([bits["diffusion"][a] for a in atts])
            req = [f"h{i}" for a in atts for i in range(len(bits["AR"][a]))]
            d = paired_difference(di, ar, req, seed=seed)
            say(verdict(d, above=0.0, kind="paper"), "Jailbreak ASR is higher for the AR model than for the DLM (Table 3)",
                f"pooled jailbreak ASR AR {100 * ar.mean():.0f} % vs diffusion {100 * di.mean():.0f} %, Δ {_pp(d)} "
                f"({_n(ar, req)}; different weights: the organism's two models are trained separately, like the paper's).")
    return lines
