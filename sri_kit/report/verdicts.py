"""The closing section: what agrees with the paper and what does not, from the measured facts."""
from __future__ import annotations

import numpy as np

__all__ = ["verdicts", "verdict_rows", "CAVEATS"]


CAVEATS = ("the organism is a ~4 M-parameter model trained on a templated corpus; its jailbreak gap is designed "
           "(uncovered wrapper families), not emergent, so agreement in direction is the most one can read from it. "
           "The paper's values are 7–8B-model numbers with an LLM judge.")


def verdicts(f: dict) -> str:
    """Direction checks against the paper, from the numbers the sections measured (``doc.facts``).

    >>> print(verdicts({}).splitlines()[0])
    Each line compares a direction the paper reports with what the organism shows here.
    """
    lines = ["Each line compares a direction the paper reports with what the organism shows here.\n"]
    for r in verdict_rows(f):
        mark = "**disagrees**" if r["verdict"] == "disagrees" else r["verdict"]
        lines.append(f"- {r['claim']}: {mark}. {r['measured']}")
    lines.append("\nCaveats: " + CAVEATS)
    return "\n".join(lines) + "\n"


def verdict_rows(f: dict) -> list[dict]:
    """The checks of :func:`verdicts` as rows: claim, verdict (agrees / disagrees / not measurable), measured.

    >>> verdict_rows({})
    []
    """
    lines: list[dict] = []

    def say(ok, claim, detail):
        lines.append({"claim": claim, "verdict": {True: "agrees", False: "disagrees", None: "not measurable"}[ok],
                      "measured": detail})

    fx = f.get("fixed")
    if fx is not None and len(fx):
        per = fx[fx["attack"] != "all"]
        neg = per[(per["delta_rr"] < 0) | (per["delta_asr"] < 0)]
        sig_neg = per[(per["delta_rr_hi"] < 0) | (per["delta_asr_hi"] < 0)]
        allrow = fx[fx["attack"] == "all"]
        d = (f"pooled ΔRR {100 * allrow['delta_rr'].iloc[0]:+.0f} pp, ΔASR {100 * allrow['delta_asr'].iloc[0]:+.0f} pp; "
             if len(allrow) else "")
        flat = bool((per[["delta_rr", "delta_asr"]].abs() < 1e-12).all().all())
        say(None if flat else len(neg) == 0, "Fixed weights: diffusion is safer than left-to-right in every cell (Table 2)",
            d + f"{len(neg)} of {len(per)} attacks have a negative Δ ({', '.join(neg['attack']) or 'none'}); "
                f"{len(sig_neg)} with the whole 95 % CI below 0.")
    rec = f.get("recovery")
    if rec is not None:
        r = rec.set_index("sampler")
        ar0 = r.loc["AR", "HRR"] if "AR" in r.index else np.nan
        dh = r.loc["diffusion", "HRR"] if "diffusion" in r.index else np.nan
        say(None if np.isnan(dh) else bool(dh > 0),
            "Diffusion revises harmful intermediate predictions (HRR > 0; paper 0.81–0.96, FRR 0.63–0.73)",
            f"diffusion HRR {dh:.2f} (flagged {int(r.loc['diffusion', 'flagged'])}), FRR "
            f"{r.loc['diffusion', 'FRR']:.2f}; left-to-right HRR {r.loc['left-to-right', 'HRR']:.2f}; AR HRR "
            f"{ar0:.2f} (0 by construction).")
    irr = f.get("irr")
    if irr is not None and len(irr):
        w = irr.pivot(index="group", columns="lambda_r", values="irr")
        if "diffusion" in w.index and "AR" in w.index:
            ok = bool((w.loc["diffusion"] >= w.loc["AR"]).all())
            say(ok, "IRR is higher under diffusion than AR at every λ_r (Fig. 5)",
                "; ".join(f"λ_r={c:g}: diffusion {w.loc['diffusion', c]:.2f} vs AR {w.loc['AR', c]:.2f}" for c in w.columns))
        if "diffusion" in w.index and "left-to-right" in w.index:
            ok = bool((w.loc["diffusion"] >= w.loc["left-to-right"]).all())
            say(ok, "Same weights: IRR diffusion > AR-style sampling (Fig. 6)",
                "; ".join(f"λ_r={c:g}: {w.loc['diffusion', c] - w.loc['left-to-right', c]:+.2f}" for c in w.columns))
    inc = f.get("incomplete")
    if inc is not None and len(inc):
        r = inc.set_index("sampler")
        ar = r.loc["AR", "share"] if "AR" in r.index else np.nan
        di = r.loc["diffusion", "share"] if "diffusion" in r.index else np.nan
        say(None if np.isnan(ar) or np.isnan(di) else bool(ar > di),
            "Incomplete internal recovery appears mostly under AR sampling (abstract v3)",
            f"share of jailbreak generations: AR {ar:.2f}, diffusion {di:.2f}.")
    au = f.get("auroc")
    if au is not None and len(au):
        neg = "plain benign"
        if "negatives" in au and (au["negatives"] == "wrapped benign (matched)").any():
            neg = "wrapped benign (matched)"       # the comparison that shows what the signal adds
        if "negatives" in au:
            au = au[au["negatives"] == neg]
        for model in ("AR", "diffusion"):
            a = au[(au["model"] == model) & (au["scorer"] == "logistic")].set_index("signal")["auroc"]
            if "SRI (last layer)" in a and "text-based signal" in a:
                last, first, text = a.get("SRI (last layer)"), a.get("SRI (first layer)", np.nan), a["text-based signal"]
                say(bool(last > text and last > first),     # strict: a tie (e.g. both saturated at 1.00) shows nothing
                    f"{model}: last-layer SRI beats the text signal and the first layer (Table 4)",
                    f"AUROC last {last:.2f}, middle {a.get('SRI (middle layer)', np.nan):.2f}, first {first:.2f}, "
                    f"static {a.get('static activations (first step)', np.nan):.2f}, text {text:.2f} "
                    f"(logistic scorer; negatives: {neg}).")
    rates = f.get("rates")
    if rates is not None and len(rates):
        row = rates[rates["attack"] == "all jailbreaks (mean)"]
        if len(row):
            a, d = row["ASR AR"].iloc[0], row["ASR diffusion"].iloc[0]
            say(None if a == d == 0 else bool(a > d), "Jailbreak ASR is higher for the AR model than for the DLM (Table 3)",
                f"mean jailbreak ASR AR {100 * a:.0f} % vs diffusion {100 * d:.0f} % (different weights: the "
                "organism's two models are trained separately, like the paper's).")
    return lines
