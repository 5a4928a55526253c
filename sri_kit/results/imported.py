"""Tables imported into the store from what earlier runs already wrote, without re-running them.

Two sources had numbers but no store tables: the generated part of ``docs/GUARD_<model>.md`` (written by
the guard evaluation) and ``benchmarks/results/benchmark.json`` (the speed benchmark behind the README's
speed table). :func:`import_guard_doc` and :func:`import_benchmark` turn them into :class:`Table` s and
say where each number came from: the source file and the commit that last changed it, the command and
commit the source names. A rate printed as ``45.5 [39.8, 51.3] (n=288)`` becomes counts only when exactly
one count k reproduces the printed rate and its Wilson interval; anything else raises.

The producing tree's state is unknown for these tables (``dirty`` None), so ``results check`` keeps
them in the legacy ledger until they are recomputed by the package's own commands.

>>> parse_rate_cell("45.5 [39.8, 51.3] (n=288)")["k"], parse_rate_cell("0.0 [0.0, 7.4] (n=48)")["k"]
(131, 0)
"""
from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

from ..errors import ConfigError
from .schema import Column, Table, rate, wilson
from .store import REPO

__all__ = ["parse_rate_cell", "import_guard_doc", "import_benchmark", "import_report_mode", "guard_tables", "with_blocks",
           "GUARD_SECTIONS", "REPORT_MODE_TARGETS"]

_RATE = re.compile(r"^(\d+(?:\.\d+)?) \[(\d+(?:\.\d+)?), (\d+(?:\.\d+)?)\] \(n=(\d+)\)$")

#: Heading prefix of a generated section of GUARD_<model>.md -> store table name.
GUARD_SECTIONS = {
    "Table 13 analogue": "guard_table13",
    "Per wrapper family": "guard_families",
    "The paper's attack templates": "guard_paper_templates",
    "Detection: AUROC": "guard_detection_auroc",
    "Table 4 analogue": "guard_signals",
    "LDA of σ vectors": "guard_lda",
    "Overhead": "guard_overhead",
}


def parse_rate_cell(s: str) -> dict | None:
    """``"45.5 [39.8, 51.3] (n=288)"`` -> a stored rate (counts), checked against the printed interval."""
    m = _RATE.match(s.strip())
    if not m:
        return None
    v, lo, hi, n = float(m.group(1)), float(m.group(2)), float(m.group(3)), int(m.group(4))
    ks = [k for k in range(n + 1) if abs(round(100 * k / n, 1) - v) < 1e-9]
    ks = [k for k in ks if all(abs(100 * b - p) <= 0.05 + 1e-9 for b, p in zip(wilson(k, n), (lo, hi)))]
    if len(ks) != 1:
        raise ConfigError(f"rate cell {s!r}: {len(ks)} counts reproduce it; not importable as counts")
    return rate(ks[0], n)


def _git_last(path: Path) -> tuple[str, str]:
    out = subprocess.run(["git", "-C", str(REPO), "log", "-1", "--format=%h %ad", "--date=format:%Y-%m-%d %H:%M",
                          "--", str(path)], capture_output=True, text=True, timeout=20).stdout.strip()
    h, _, d = out.partition(" ")
    return h, (d + " UTC") if d else ""


def _md_table(lines: list[str]) -> tuple[list[str], list[list[str]]]:
    rows = [[c.strip() for c in ln.strip().strip("|").split("|")] for ln in lines]
    return rows[0], rows[2:]


def _slug(label: str, used: set) -> str:
    k = re.sub(r"[^a-z0-9]+", "_", label.lower()).strip("_")[:40] or "col"
    while k in used:
        k += "_"
    used.add(k)
    return k


def guard_tables(text: str, model: str, *, commit: str, dirty, date: str, command: str, scale: str,
                 notes: str, code: dict | None = None, extra: dict | None = None) -> list[Table]:
    """The generated sections of a guard document's Markdown ``text`` as store tables ``<model>/guard_*``."""
    out = []
    lines = text.splitlines()
    i = 0
    while i < len(lines):
        h = re.match(r"^## (.+)$", lines[i])
        if not h:
            i += 1
            continue
        title = h.group(1)
        name = next((v for k, v in GUARD_SECTIONS.items() if title.startswith(k)), None)
        j = i + 1
        while j < len(lines) and not lines[j].startswith("|") and not lines[j].startswith("## "):
            j += 1
        k = j
        while k < len(lines) and lines[k].startswith("|"):
            k += 1
        if name is None or j == k:
            i = max(k, i + 1)
            continue
        header, body = _md_table(lines[j:k])
        used: set = set()
        keys = [_slug(c, used) for c in header]
        kinds = []
        for c, _ in enumerate(header):
            vals = [r[c] for r in body if c < len(r) and r[c]]
            kinds.append("rate" if vals and all(_RATE.match(v) for v in vals) else "text")
        cols = [Column(kk, lab, kind) for kk, lab, kind in zip(keys, header, kinds)]
        rows = [{kk: (parse_rate_cell(v) if kind == "rate" and v else (v or None))
                 for kk, kind, v in zip(keys, kinds, r + [""] * (len(keys) - len(r)))} for r in body]
        out.append(Table(
            model=model, name=name, title=f"SRI Guard evaluation, {scale} scale: {title}", split="heldout",
            n="per row", seed=int(re.search(r"--seed (\d+)", command).group(1)) if "--seed" in command else None,
            mode=scale, columns=cols, rows=rows, commit=commit, dirty=dirty, code=dict(code or {}), date=date,
            command=command, notes=notes, extra=dict(extra or {})))
        i = k
    return out


def with_blocks(text: str, model: str) -> str:
    """``text`` with each generated guard table replaced by its (empty) results block, ready to render."""
    out, cur = [], None
    lines = text.split("\n")
    i = 0
    while i < len(lines):
        h = re.match(r"^## (.+)$", lines[i])
        if h:
            cur = next((v for k, v in GUARD_SECTIONS.items() if h.group(1).startswith(k)), None)
        if lines[i].startswith("|") and cur:
            while i < len(lines) and lines[i].startswith("|"):
                i += 1
            out.append(f"<!-- results:{model}/{cur} -->\n<!-- /results -->")
            cur = None
            continue
        out.append(lines[i])
        i += 1
    return "\n".join(out)


def import_guard_doc(doc: str | Path, model: str) -> list[Table]:
    """The generated sections of ``doc`` (up to its hand-written part) as store tables ``<model>/guard_*``."""
    doc = Path(doc)
    text = doc.read_text(encoding="utf-8")
    gen = text.split("<!-- kept by scripts/guard_eval.py")[0]
    made = re.search(r"Made by `([^`]+)` at commit (\w+) \(([^)]*)\)\. Scale `([\w-]+)`", gen)
    if not made:
        raise ConfigError(f"{doc}: no 'Made by `...` at commit ...' line; not a generated guard document")
    command, commit, timing, scale = made.groups()
    doc_commit, date = _git_last(doc)
    rel = doc.resolve().relative_to(REPO).as_posix() if doc.resolve().is_relative_to(REPO) else doc.name
    out = guard_tables(
        gen, model, commit=commit, dirty=None, date=date, command=command, scale=scale,
        notes=(f"Imported from {rel} as generated at commit {commit} by `{command}` ({timing}); source file "
               f"last changed in {doc_commit}. Whether that tree was clean is unknown (legacy ledger). Rates: "
               "Wilson per generation, as the run printed them; jailbreak rows pool one request under six "
               "wrappers, so their intervals are too narrow (docs/STATISTICS.md)."),
        extra={"imported_from": {"file": rel, "file_commit": doc_commit, "importer": "sri_kit.results.imported"}})
    if not out:
        raise ConfigError(f"{doc}: no generated tables found")
    return out


def _repo_rel(path: Path) -> str:
    """``path`` relative to the repository when inside it (no machine's path in a table), else its name."""
    return path.resolve().relative_to(REPO).as_posix() if path.resolve().is_relative_to(REPO) else path.name


def _machine_text(m: dict) -> str:
    """A timing's machine record as one line (scalar fields only)."""
    return ", ".join(f"{k} {v}" for k, v in m.items() if not isinstance(v, (dict, list)))


def import_benchmark(path: str | Path) -> Table:
    """``benchmarks/results/benchmark.json`` -> ``tiny-ar+tiny-dlm/speed`` (the README's speed table)."""
    path = Path(path)
    d = json.loads(path.read_text(encoding="utf-8"))
    file_commit, date = _git_last(path)
    rel = _repo_rel(path)
    m = d.get("machine", {})
    rows = [
        {"metric": "AR hook overhead vs HF generate", "value": f"{d['ar_hook_overhead_ratio']:.2f}×", "target": "≤ 1.10"},
        {"metric": "diffusion hook overhead", "value": f"{d['diffusion_hook_overhead_ratio']:.2f}×", "target": "≤ 1.05"},
        {"metric": "AR traces/s vs a reference-style loop", "value": f"{d['ar_speedup_vs_reference']:.1f}×",
         "target": "≥ 10"},
        {"metric": "diffusion traces/s vs reference", "value": f"{d['diffusion_speedup_vs_reference']:.2f}×",
         "target": "≥ 3"},
        {"metric": "σ time / generation time", "value": f"{d['sri_time_fraction']:.1e}", "target": "≤ 5e-4"},
        {"metric": "SRI Guard scoring / generation time", "value": f"{d['guard_time_fraction']:.1e}", "target": "≤ 1e-3"},
        {"metric": "peak RSS", "value": f"{d['peak_rss_mb']:.0f} MB", "target": ""},
    ]
    met = d.get("targets_met", {})
    cols = [Column("metric", "metric"), Column("value", "value"), Column("target", "target")]
    machine = _machine_text(m)
    load = "; ".join(f"load average (1, 5, 15 min) at the {w} {', '.join(str(x) for x in m[f'loadavg_{w}'])}"
                     for w in ("start", "end") if m.get(f"loadavg_{w}"))
    prov = d.get("provenance") or {}        # recorded by benchmarks/run.py since the provenance checks
    made = (f"Made by benchmarks/run.py at commit {prov['commit']}" if prov.get("commit")
            else f"Imported from {rel} (last changed in {file_commit})")
    return Table(model="tiny-ar+tiny-dlm", name="speed", title="Speed of the kit on the organism (benchmarks/run.py)",
                 split="n/a", n="per row", seed=None, mode=str(d.get("profile", "")), columns=cols, rows=rows,
                 commit=prov.get("commit", ""), dirty=prov.get("dirty"), date=prov.get("date") or date,
                 kit_version=prov.get("kit_version", ""), command="python benchmarks/run.py",
                 compute_seconds=round(float(d.get("wall_s", 0)), 1) or None,
                 notes=(f"{made}; machine: {machine}. Ratios are measured inside one process"
                        + (f"; {load} (how busy the machine was)" if load else "") + ". Targets met: "
                        + ", ".join(f"{k} {'yes' if v else 'no'}" for k, v in met.items())
                        + ("." if prov.get("commit") else ". The producing commit was not recorded in the file "
                           "(legacy ledger).")),
                 extra={"imported_from": {"file": rel, "file_commit": file_commit,
                                          "importer": "sri_kit.results.imported"}})


#: Issue 27's targets for the whole report mode on 2 CPU cores, in seconds (cold cache, warm cache).
REPORT_MODE_TARGETS = {"cold": 3600.0, "warm": 300.0}


def _minutes(s: float) -> str:
    return f"{s / 60:.1f} min"


def import_report_mode(cold: str | Path, warm: str | Path) -> Table:
    """``benchmarks/results/report_mode_cold.json`` and ``report_mode_warm.json`` (``benchmarks/report_mode.py``,
    whole runs of ``regenerate``) -> ``tiny-ar+tiny-dlm/report_mode``: each job's wall time from a cold and from a
    warm cache, the whole run's against issue 27's targets (:data:`REPORT_MODE_TARGETS`). Both runs must be
    complete and from one clean commit (a timing of other code, or of a part, is not the report mode's)."""
    runs = {}
    for state, path in (("cold", Path(cold)), ("warm", Path(warm))):
        d = json.loads(path.read_text(encoding="utf-8"))
        if not d.get("complete"):
            raise ConfigError(f"{path}: the run is not complete (a job failed or it was stopped); rerun "
                              "benchmarks/report_mode.py until every job exits 0")
        if d.get("cache", {}).get("cold") is not (state == "cold"):
            raise ConfigError(f"{path}: recorded as a {'cold' if d.get('cache', {}).get('cold') else 'warm'} run, "
                              f"given as the {state} one")
        runs[state] = d
    prov = [runs[s]["provenance"] for s in ("cold", "warm")]
    if prov[0].get("commit") != prov[1].get("commit") or any(p.get("dirty") is not False for p in prov):
        raise ConfigError(f"the cold and warm runs must come from one clean commit (got {prov[0].get('commit')!r} and "
                          f"{prov[1].get('commit')!r}); run both from a clean worktree of one commit")
    warm_s = {j["job"]: j["seconds"] for j in runs["warm"]["jobs"]}
    rows = [{"job": j["job"], "cold": f"{j['seconds']:.0f} s", "warm": f"{warm_s.get(j['job'], float('nan')):.0f} s",
             "target": "", "verdict": ""} for j in sorted(runs["cold"]["jobs"], key=lambda j: -j["seconds"])]
    verdict = {k: "meets" if runs[k]["total_seconds"] <= REPORT_MODE_TARGETS[k] else "misses" for k in runs}
    rows.append({"job": "whole run (wall clock)", "cold": _minutes(runs["cold"]["total_seconds"]),
                 "warm": _minutes(runs["warm"]["total_seconds"]),
                 "target": f"cold ≤ {_minutes(REPORT_MODE_TARGETS['cold'])}, warm ≤ {_minutes(REPORT_MODE_TARGETS['warm'])}",
                 "verdict": f"cold {verdict['cold']}, warm {verdict['warm']}"})
    m = runs["cold"]["machine"]
    machine = _machine_text(m)
    load = "; ".join(f"{k} run: load average (1, 5, 15 min) at the start "
                     + ", ".join(f"{x:.2f}" for x in runs[k]["machine"].get("loadavg_start", []))
                     for k in runs if runs[k]["machine"].get("loadavg_start"))
    cols = [Column("job", "job"), Column("cold", "cold cache"), Column("warm", "warm cache"), Column("target", "target"),
            Column("verdict", "verdict")]
    rels = [_repo_rel(Path(p)) for p in (cold, warm)]
    return Table(model="tiny-ar+tiny-dlm", name="report_mode",
                 title="Report mode: every table of the store regenerated (benchmarks/report_mode.py)",
                 split="n/a", n="per row", seed=None, mode="report", columns=cols, rows=rows,
                 commit=prov[0]["commit"], dirty=False, date=prov[0].get("date", ""),
                 kit_version=prov[0].get("kit_version", ""),
                 command=f"python benchmarks/report_mode.py --cache DIR --jobs {runs['cold'].get('workers', 1)} "
                         "(twice: cold, then warm)",
                 notes=(f"One run each (a timing, no interval): {runs['cold'].get('workers', 1)} job(s) side by side, "
                        f"{runs['cold'].get('torch_threads_per_job', m.get('torch_threads'))} torch thread(s) per job; "
                        f"job times overlap, so they add up to more than the whole run. Machine: {machine}; {load}."
                        + "".join(f" {k.capitalize()} run: {runs[k]['note']}" for k in runs if runs[k].get("note"))),
                 extra={"imported_from": {"files": rels, "importer": "sri_kit.results.imported"}})
