#!/usr/bin/env python
"""Before -> after of the weight-dependent measurements when the organism's weights change (issue 28).

    python benchmarks/organism_before_after.py --rev 54b5fb2          # print it: the store at REV vs now
    python benchmarks/organism_before_after.py --rev 54b5fb2 --store  # also the store table tiny-ar+tiny-dlm/organism_before_after

Reads each table at the git revision ``--rev`` (``git show``, :func:`sri_kit.results.diff.table_at`) and from
the store folder, and prints one Markdown table, measure | before | after, with each side's commit. Every cell is
read from a stored table (rates as % [95 % interval] as stored, verdicts as stored), nothing is computed anew.
``--store`` writes it as the store table ``tiny-ar+tiny-dlm/organism_before_after`` (docs/RESULTS.md renders it;
run it from a committed tree). A table missing on one side prints ``missing``.
"""
from __future__ import annotations

import argparse
import sys

from sri_kit.results import ResultsStore, format_rate
from sri_kit.results.diff import table_at


def _fmt(c) -> str:
    return format_rate(c) if c else "—"


def _signed(x: float) -> str:
    """A difference in points, signed; one that rounds to zero prints ``0`` (as the store's ``pp`` cells)."""
    r = round(100 * x)
    return "0" if r == 0 else f"{r:+d}"


def _pp(d) -> str:
    return f"{_signed(d['value'])} pp [{_signed(d['lo'])}, {_signed(d['hi'])}]"


def _rows(t, **match):
    return [r for r in t.rows if all(r.get(k) == v for k, v in match.items())]


def _public(t, model):
    out = []
    samplers = ("greedy",) if model == "tiny-ar" else ("diffusion", "left-to-right")
    for s in samplers:
        for set_, col, lab in (("advbench", "refused", "AdvBench refused"), ("harmbench", "refused", "HarmBench refused"),
                               ("xstest_unsafe", "refused", "XSTest unsafe refused"),
                               ("xstest_safe", "answered", "XSTest safe answered"),
                               ("alpaca", "answered", "Alpaca answered"), ("alpaca", "on_topic", "Alpaca on topic")):
            r = _rows(t, set=set_, sampler=s)
            out.append((f"{model} ({s}): {lab}", _fmt(r[0][col]) if r else "missing"))
    return out


def _fixed(t):
    d = [r["delta_rr"] for r in t.rows]
    plain = _rows(t, attack="plain/harmful")
    return [("fixed weights: diffusion − left-to-right refusal, per set",
             f"{len(d)} sets: less in {sum(x['value'] < 0 for x in d)} ({sum(x['hi'] < 0 for x in d)} intervals "
             f"below 0), more in {sum(x['value'] > 0 for x in d)} ({sum(x['lo'] > 0 for x in d)} above 0)"),
            ("fixed weights: plain harmful ΔRR", _pp(plain[0]["delta_rr"]) if plain else "missing")]


def _verdicts(t):
    return [(f"verdict: {r['claim']}", r["verdict"]) for r in t.rows]


def _irr(t):
    return [(f"IRR λ_r 0.1 / 0.3 / 0.5: {r['group']}",
             " / ".join(f"{100 * r[k]['rate']:.0f} %" for k in ("irr_0.1", "irr_0.3", "irr_0.5"))) for r in t.rows]


def _incomplete(t):
    return [(f"incomplete recovery: {r['sampler']}", _fmt(r["incomplete"])) for r in t.rows]


def _auroc(t):
    return [(f"Table 4 AUROC (logistic), {r['signal']}, {r['negatives']}: AR / diffusion",
             f"{r['AR_logistic']} / {r['diffusion_logistic']}") for r in t.rows if "wrapped" in r["negatives"]]


def _layers(t):
    out = []
    for m in ("AR", "diffusion"):
        cells = [f"{r['layer']} {r['final_sigma']:.2f}" for r in _rows(t, model=m, group="attack")]
        if cells:
            out.append((f"layers: mean final σ of attack generations ({m}), first / middle / last layer", ", ".join(cells)))
    return out


def _guard(t, model):
    out = []
    for r in t.rows:
        if r["split"] != "cross-source":
            continue
        auroc = "—" if r["auroc"] is None else f"{r['auroc']:.2f}"
        cells = f"{auroc}, {_fmt(r['benign_flagged'])}, {_fmt(r['tpr'])}"
        if "default" in r["detector"]:
            name = r["detector"].split(" — ")[0]
            out.append((f"guard cross-source {model}: the default detector: AUROC, benign flagged, jailbreaks flagged",
                        f"{name}: {cells}"))
        elif r["detector"] == "SRI Guard (autoencoder, σ)":
            out.append((f"guard cross-source {model}: SRI Guard (σ): AUROC, benign flagged, jailbreaks flagged", cells))
    return out


def _fast(t):
    met = [r["setting"] for r in t.rows if r.get("verdict") == "meets"]
    best = max(t.rows, key=lambda r: r["passes_ratio"])
    exact = [r for r in t.rows if r["setting"] == "threshold=1+stop"]
    return [("fast decoding: exact decoding's text (threshold=1+stop), passes saved",
             f"{exact[0]['passes_ratio']:.1f}× fewer passes" if exact else "missing"),
            ("fast decoding: settings meeting ≥ 3× exact within 2 points", f"{len(met)} of {len(t.rows)}"
             + (f" ({', '.join(met)})" if met else "")),
            ("fast decoding: most passes saved", f"{best['setting']}: {best['passes_ratio']:.1f}× fewer passes")]


def _interventions(t, label):
    out = []
    for r in t.rows:
        if r["intervention"] == "ablate" and r["prompts"] == "harmful" and r["window"] in ("early", "all"):
            out.append((f"interventions {label}: ablate the refusal direction, {r['window']} window: Δ refused",
                        _pp(r["delta_refused"])))
    return out


#: (model, table, reader): the measurements the issue names, in its order.
MEASURES = [
    ("tiny-ar", "public_sets", lambda t: _public(t, "tiny-ar")),
    ("tiny-dlm", "public_sets", lambda t: _public(t, "tiny-dlm")),
    ("tiny-dlm", "fixed_weights", _fixed),
    ("tiny-ar+tiny-dlm", "analysis_verdicts", _verdicts),
    ("tiny-ar+tiny-dlm", "analysis_irr", _irr),
    ("tiny-ar+tiny-dlm", "analysis_incomplete", _incomplete),
    ("tiny-ar+tiny-dlm", "analysis_layers", _layers),
    ("tiny-ar+tiny-dlm", "analysis_auroc", _auroc),
    ("tiny-ar", "guard_cross_source", lambda t: _guard(t, "tiny-ar")),
    ("tiny-dlm", "guard_cross_source", lambda t: _guard(t, "tiny-dlm")),
    ("tiny-dlm", "fast_decoding", _fast),
    ("tiny-ar", "interventions_ar", lambda t: _interventions(t, "AR")),
    ("tiny-dlm", "interventions_diffusion", lambda t: _interventions(t, "diffusion")),
    ("tiny-dlm", "interventions_left_to_right", lambda t: _interventions(t, "left-to-right")),
]


def before_after_rows(rev: str, store: ResultsStore | None = None) -> tuple[list[dict], dict]:
    """``(rows, commits)``: one row ``{"measure", "before", "after"}`` per measurement, and the commits each side's
    tables were made at."""
    store = store or ResultsStore()
    rows = []
    commits = {"before": set(), "after": set()}
    for model, name, read in MEASURES:
        old = table_at(rev, store, model, name)
        new = store.read(model, name) if store.exists(model, name) else None
        a = dict(read(old)) if old else {}
        b = dict(read(new)) if new else {}
        for side, t in (("before", old), ("after", new)):
            if t is not None:
                commits[side].add(t.commit or "?")
        for key in list(a) + [k for k in b if k not in a]:
            rows.append({"measure": key, "before": a.get(key, "missing"), "after": b.get(key, "missing")})
    return rows, commits


def _head(rev: str, commits: dict) -> str:
    return (f"Before: the store at `{rev}` (tables made at {', '.join(sorted(commits['before'])) or '—'}); after: the "
            f"store now (tables made at {', '.join(sorted(commits['after'])) or '—'}).")


def before_after(rev: str, store: ResultsStore | None = None, measured=None) -> str:
    """The Markdown table (with a line naming both sides' commits); ``measured``: :func:`before_after_rows`' result,
    when already read."""
    rows, commits = measured or before_after_rows(rev, store)
    lines = ["| measure | before | after |", "|---|---|---|"] + [
        f"| {r['measure']} | {r['before']} | {r['after']} |" for r in rows]
    return _head(rev, commits) + "\n\n" + "\n".join(lines) + "\n"


def before_after_table(rev: str, store: ResultsStore | None = None, measured=None):
    """The same as a store table (``tiny-ar+tiny-dlm/organism_before_after``), with this tree's provenance."""
    from sri_kit.results import Column, Table
    from sri_kit.results.store import provenance
    rows, commits = measured or before_after_rows(rev, store)
    prov = provenance()
    return Table(model="tiny-ar+tiny-dlm", name="organism_before_after",
                 title="Before -> after: the weight-dependent measurements when the organism's weights changed",
                 split="n/a", n="per row", seed=None, mode="report",
                 columns=[Column("measure", "measure"), Column("before", "before"), Column("after", "after")],
                 rows=rows, commit=prov["commit"], dirty=prov["dirty"], date=prov["date"],
                 kit_version=prov["kit_version"],
                 command=f"python benchmarks/organism_before_after.py --rev {rev} --store",
                 notes=_head(rev, commits) + " Every cell is copied from a stored table of that side (rates: % [95 % "
                       "interval] as stored; verdicts as stored); the current tables carry their own n and configs.")


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rev", required=True, help="git revision of the 'before' store (e.g. the commit before a swap)")
    ap.add_argument("--store", action="store_true", help="also write the store table tiny-ar+tiny-dlm/organism_before_after")
    a = ap.parse_args(argv)
    measured = before_after_rows(a.rev)
    sys.stdout.write(before_after(a.rev, measured=measured))
    if a.store:
        print(ResultsStore().write(before_after_table(a.rev, measured=measured)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
