"""The steps after collect, each reading the previous step's files from the run folder: centers ->
signals -> SRI Guard fit -> guard evaluation -> ``report.md``."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import safetensors.numpy        # the module: its functions are looked up at call time (tests patch them)

from ..detectors import SRIGuard, blocking_table, defense_summary, detection_metrics
from ..judges import is_placeholder_compliance
from ..runconfig import ConfigError
from ..sri import Centers, internal_recovery_rate, sri_signal
from .collect import load_set
from .files import write_atomic, write_json, write_text
from .run import IncompleteRunError, Run, get_run

__all__ = ["fit_centers", "signal_path", "compute_signals", "load_signal", "fit_guard", "eval_guard", "write_report"]


def fit_centers(config):
    """Per-step centers from the ``harmless_anchor`` and ``harmful_anchor`` sets -> ``centers.safetensors``."""
    run = get_run(config)
    hl, hf = run.of_role("harmless_anchor"), run.of_role("harmful_anchor")
    if not hl or not hf:
        raise ConfigError("fitting centers needs sets with role 'harmless_anchor' and 'harmful_anchor' "
                          "(add a [splits] section or [sets.<name>] role = ...)")
    c = Centers.fit([t for n in hl for t in load_set(run, n)], [t for n in hf for t in load_set(run, n)])
    c.meta.update({"run_key": run.cfg.key(), "harmless_sets": hl, "harmful_sets": hf})
    c.save(run.dir / "centers.safetensors")
    return c


def signal_path(run: Run, name: str) -> Path:
    """Where one set's σ is stored."""
    return run.dir / "signals" / f"{name}.safetensors"


def compute_signals(config, lambda_r: float = 0.3) -> dict[str, np.ndarray]:
    """σ [N, T] of every set against the run's centers -> ``signals/<set>.safetensors`` (+ .json flags)."""
    run = get_run(config)
    cp = run.dir / "centers.safetensors"
    if not cp.exists():
        raise IncompleteRunError(f"{cp} does not exist: run `sri-kit centers` first")
    centers = Centers.load(cp)
    out = {}
    for name, s in run.sets.items():
        traces = load_set(run, name)
        sigma = sri_signal(traces, centers)
        p = signal_path(run, name)
        arrays = {"sigma": np.ascontiguousarray(sigma)}
        write_atomic(p, lambda tmp: safetensors.numpy.save_file(arrays, str(tmp)), sigma.nbytes)
        refused = [bool(t.refused) for t in traces]
        complied = [bool(is_placeholder_compliance(t.response)) for t in traces]
        write_json(p.with_suffix(".json"), {
            "set": name, "role": s.role, "family": s.family, "attack": s.attack, "n": len(traces),
            "refused": refused, "complied": complied, "refusal_rate": float(np.mean(refused)),
            "compliance_rate": float(np.mean(complied)), "mean_final_sigma": float(sigma[:, -1].mean()),
            "irr": internal_recovery_rate(sigma, lambda_r=lambda_r), "lambda_r": lambda_r})
        out[name] = sigma
    return out


def load_signal(run: Run, name: str) -> tuple[np.ndarray, dict]:
    """σ [N, T] of one set and its JSON flags (run ``compute_signals`` first)."""
    p = signal_path(run, name)
    if not p.exists():
        raise IncompleteRunError(f"{p} does not exist: run `sri-kit signal` first")
    return safetensors.numpy.load_file(str(p))["sigma"], json.loads(p.with_suffix(".json").read_text())


def fit_guard(config):
    """SRI Guard on the ``benign_train`` signals (calibrated on ``benign_calib`` when present) -> ``guard/``."""
    run = get_run(config)
    train = run.of_role("benign_train")
    if not train:
        raise ConfigError("guard fit needs a set with role 'benign_train'")
    X = np.concatenate([load_signal(run, n)[0] for n in train])
    calib = run.of_role("benign_calib")
    Xc = np.concatenate([load_signal(run, n)[0] for n in calib]) if calib else None
    params = dict(run.cfg.guard)
    if "hidden" in params:
        params["hidden"] = tuple(params["hidden"])
    guard = SRIGuard(**params).fit(X, Xc)
    guard.save(run.dir / "guard")
    return guard


def eval_guard(config) -> dict:
    """Detection metrics (benign_test vs each attack set) and the blocking table -> ``eval/``."""
    run = get_run(config)
    gp = run.dir / "guard"
    if not (gp / "sri_guard.json").exists():
        raise IncompleteRunError(f"{gp} holds no fitted guard: run `sri-kit guard fit` first")
    guard = SRIGuard.load(gp)
    bench = run.of_role("benign_test")
    attacks = run.of_role("attack")
    if not bench or not attacks:
        raise ConfigError("guard eval needs sets with role 'benign_test' and 'attack'")
    sb = [load_signal(run, n) for n in bench]
    Xb = np.concatenate([x for x, _ in sb])
    score_b = guard.score_samples(Xb)
    flags, refused, complied, fams = [], [], [], []
    for x, meta in sb:
        flags += (guard.predict(x) == -1).tolist()
        refused += meta["refused"]
        complied += meta["complied"]
        fams += ["benign"] * len(x)
    metrics = {}
    for n in attacks:
        x, meta = load_signal(run, n)
        metrics[n] = detection_metrics(score_b, guard.score_samples(x))
        flags += (guard.predict(x) == -1).tolist()
        refused += meta["refused"]
        complied += meta["complied"]
        fams += [meta["family"]] * len(x)
    table = blocking_table(flags, refused, complied, fams)
    undefended = blocking_table([False] * len(flags), refused, complied, fams)
    (run.dir / "eval").mkdir(parents=True, exist_ok=True)
    write_text(run.dir / "eval" / "blocking.csv", table.to_csv())
    res = {"threshold": float(guard.threshold_), "detection": metrics,
           "summary": {"sri_guard": {k: float(v) for k, v in defense_summary(table).items()},
                       "undefended": {k: float(v) for k, v in defense_summary(undefended).items()}}}
    write_json(run.dir / "eval" / "metrics.json", res)
    res["blocking"] = table
    return res


def write_report(config) -> Path:
    """A Markdown summary of whatever steps have run -> ``report.md``."""
    run = get_run(config)
    rec = json.loads((run.dir / "run.json").read_text())
    lines = [f"# sri_kit run `{run.dir.name}`", "", f"- model: `{run.cfg.model['name']}`",
             f"- config key: `{rec['config_key']}`; shard size {run.cfg.shard_size}"]
    stats = run.dir / "collect_stats.json"
    if stats.exists():
        st = json.loads(stats.read_text())
        pps = st.get("prompts_per_s")
        lines.append(f"- collect: {st['prompts']} generations in {st['seconds']:.1f} s of generation time"
                     + (f" ({pps:.2f} prompts/s per process)" if pps else "") + f"; per rank: {st['by_rank']}")
    lines += ["", "## Sets", "", "| set | role | attack | n | refusal % | compliance % | mean σ_T | IRR |",
              "|---|---|---|---|---|---|---|---|"]
    for name, s in run.sets.items():
        p = signal_path(run, name).with_suffix(".json")
        if p.exists():
            m = json.loads(p.read_text())
            lines.append(f"| {name} | {s.role} | {s.attack} | {m['n']} | {100 * m['refusal_rate']:.1f} | "
                         f"{100 * m['compliance_rate']:.1f} | {m['mean_final_sigma']:.3f} | {m['irr']:.3f} |")
        else:
            lines.append(f"| {name} | {s.role} | {s.attack} | {len(s.prompts)} | – | – | – | – |")
    cj = run.dir / "centers.json"
    if cj.exists():
        c = json.loads(cj.read_text())
        lines += ["", f"Centers: {c['n_harmless']} answered harmless and {c['n_harmful']} refused harmful anchors "
                      f"(pooling `{c['pooling']}`, generation config `{c['config_key']}`)."]
    mj = run.dir / "eval" / "metrics.json"
    if mj.exists():
        m = json.loads(mj.read_text())
        lines += ["", "## SRI Guard", "", f"Threshold (reconstruction error): {m['threshold']:.4g}", "",
                  "| attack set | AUROC | TPR@1%FPR | TPR@5%FPR | n |", "|---|---|---|---|---|"]
        for k, v in m["detection"].items():
            lines.append(f"| {k} | {v['auroc']:.3f} | {v['tpr_at_1fpr']:.3f} | {v['tpr_at_5fpr']:.3f} | {v['n_attack']} |")
        lines += ["", "ASR counts the organism's placeholder compliance (`sri_kit.is_placeholder_compliance`); "
                      "for hub models it is a lower bound: judge harmfulness with a judge model for real ASR.",
                  "", "| defense | FP % | RR % | ASR % |", "|---|---|---|---|"]
        for k, v in m["summary"].items():
            vals = [v.get(c, float("nan")) for c in ("FP %", "RR %", "ASR %")]
            lines.append(f"| {k} | " + " | ".join(f"{x:.1f}" for x in vals) + " |")
        bc = run.dir / "eval" / "blocking.csv"
        if bc.exists():
            lines += ["", "Blocking table (`eval/blocking.csv`):", "", "```", bc.read_text().strip(), "```"]
    path = run.dir / "report.md"
    write_text(path, "\n".join(lines) + "\n")
    return path
