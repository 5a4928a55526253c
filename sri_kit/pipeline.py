"""Headless run steps over a run folder: collect → merge → centers → signal → guard fit/eval → report.

Each step is a plain function of a run config (a path, a mapping or a :class:`~sri_kit.runconfig.RunConfig`)
that reads the previous step's files from the run folder and writes its own; the ``sri-kit`` CLI and
the notebooks call the same functions.

Run folder layout::

    config.toml            the config file as given (YAML configs keep .yaml)
    run.json               resolved config, its key, per-set prompt hashes and shard counts
    prompts.json           every set's final prompts (after attacks) and original requests
    shards/<set>-<i>.safetensors + .json + .done.json   fixed-size trace shards (done = commit marker)
    traces/<set>.safetensors + .json                    merged per-set traces (rank 0 / `merge`)
    centers.safetensors + .json                         per-step SRI centers
    signals/<set>.safetensors + .json                   σ [N, T], refusal / compliance flags
    guard/                                              the fitted SRI Guard
    eval/metrics.json, eval/blocking.csv                detection metrics and the blocking table
    report.md

Example:
    >>> from sri_kit import pipeline                                        # doctest: +SKIP
    >>> pipeline.collect("examples/run_tiny.toml")                          # doctest: +SKIP
    >>> centers = pipeline.fit_centers("examples/run_tiny.toml")            # doctest: +SKIP
"""
from __future__ import annotations

import errno
import hashlib
import json
import os
import shutil
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from .distributed import Dist, from_env
from .runconfig import ConfigError, ResolvedSet, RunConfig, load_run_config, resolve_sets

__all__ = ["Run", "prepare", "collect", "merge", "fit_centers", "compute_signals", "fit_guard", "eval_guard",
           "write_report", "load_set", "shard_plan", "DiskFullError", "IncompleteRunError", "StopAfterShards",
           "ConfigError"]

RUN_FORMAT = "sri_kit.run/1"
SHARD_FORMAT = "sri_kit.shard/1"
#: config sections whose change invalidates collected traces
_COLLECT_SECTIONS = ("run", "model", "generation", "splits", "sets")


class DiskFullError(OSError):
    """Writing an output ran out of disk space (the partial file was removed)."""


class IncompleteRunError(RuntimeError):
    """A step needs outputs an earlier step has not (fully) written."""


class StopAfterShards(RuntimeError):
    """Raised by ``collect(stop_after=k)`` after k shards: simulates a crash for resume tests."""


@dataclass
class Run:
    """A run config with its resolved prompt sets and folder."""

    cfg: RunConfig
    sets: dict[str, ResolvedSet]

    @property
    def dir(self) -> Path:
        return self.cfg.out_dir

    def n_shards(self, name: str) -> int:
        n = len(self.sets[name].prompts)
        return (n + self.cfg.shard_size - 1) // self.cfg.shard_size

    def of_role(self, role: str) -> list[str]:
        return [k for k, s in self.sets.items() if s.role == role]

    def record(self) -> dict:
        """What run.json stores (and what a resume must match)."""
        return {"format": RUN_FORMAT, "config_key": self.cfg.key(), "config": self.cfg.semantic(),
                "sets": {k: {"role": s.role, "n": len(s.prompts), "hash": s.hash, "shards": self.n_shards(k),
                             "attack": s.attack, "family": s.family, "prefill": s.prefill}
                         for k, s in sorted(self.sets.items())}}


# ------------------------------------------------------------------------------------------------
# small file helpers
# ------------------------------------------------------------------------------------------------
def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _disk_full(path: Path, need: int, tmp_files=()) -> DiskFullError:
    for t in tmp_files:
        try:
            os.remove(t)
        except FileNotFoundError:
            pass
    try:
        free = shutil.disk_usage(path.parent if path.parent.exists() else Path.cwd()).free
    except OSError:
        free = -1
    return DiskFullError(errno.ENOSPC, f"disk full while writing {path}: needed about {need / 1e6:.1f} MB, "
                                       f"{free / 1e6:.1f} MB free on that disk; the partial file was removed. Free "
                                       f"some space (or point [run] out_dir elsewhere) and rerun: completed shards "
                                       f"are kept")


def _write_text(path: Path, text: str) -> None:
    """Atomic text write (temp file + os.replace); ENOSPC becomes a DiskFullError."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        tmp.write_text(text, encoding="utf-8")
        os.replace(tmp, path)
    except OSError as e:
        if e.errno == errno.ENOSPC:
            raise _disk_full(path, len(text.encode()), [tmp]) from None
        if tmp.exists():
            tmp.unlink()
        raise


def _write_json(path: Path, obj: Any) -> None:
    _write_text(path, json.dumps(obj, indent=1, ensure_ascii=False, default=str))


def _diff(a: Any, b: Any, prefix: str = "") -> list[str]:
    """Dotted keys where two JSON-like values differ."""
    if isinstance(a, dict) and isinstance(b, dict):
        out = []
        for k in sorted(set(a) | set(b), key=str):
            out += _diff(a.get(k), b.get(k), f"{prefix}.{k}" if prefix else str(k))
        return out
    return [] if a == b else [prefix or "(root)"]


# ------------------------------------------------------------------------------------------------
# run preparation and the mismatched-config check
# ------------------------------------------------------------------------------------------------
def prepare(config, *, dist: Dist | None = None, write: bool = True, allow_update: bool = False) -> Run:
    """Resolve the config's prompt sets and check them against the run folder.

    The first call writes ``config.toml`` (the file as given) and ``run.json`` into the folder; later
    calls must describe the same run, else a :class:`ConfigError` ("mismatched config") lists what
    differs. ``allow_update=True`` accepts changes to the downstream ``[guard]``/``[report]`` sections
    only (traces stay valid; rerun the later steps).
    """
    cfg = load_run_config(config)
    run = Run(cfg, resolve_sets(cfg))
    rec = run.record()
    path = run.dir / "run.json"
    if path.exists():
        old = json.loads(path.read_text())
        if old.get("format") != RUN_FORMAT:
            raise ConfigError(f"{path} is not a sri_kit run record; choose another out_dir")
        if old.get("config_key") != rec["config_key"] or old.get("sets") != rec["sets"]:
            diffs = _diff(old.get("config"), rec["config"], "config") + _diff(old.get("sets"), rec["sets"], "sets")
            collect_diffs = [d for d in diffs if d.split(".")[0] == "sets" or d.split(".")[1] in _COLLECT_SECTIONS]
            if collect_diffs or not allow_update:
                shown = ", ".join((collect_diffs or diffs)[:8]) + (" ..." if len(diffs) > 8 else "")
                hint = ("" if collect_diffs else " (only [guard]/[report] changed: pass --update-config to accept "
                        "that and rerun the later steps)")
                raise ConfigError(f"mismatched config: {run.dir} holds a run made with a different config "
                                  f"(differs in: {shown}){hint}. Use a new [run] out_dir, or delete the folder "
                                  "to start over")
            if write and (dist is None or dist.is_main):
                _save_config(run, rec)
        return run
    if write and (dist is None or dist.is_main):
        _save_config(run, rec)
    return run


def _save_config(run: Run, rec: dict) -> None:
    cfg = run.cfg
    run.dir.mkdir(parents=True, exist_ok=True)
    if cfg.source_text is not None:
        suffix = ".toml" if cfg.source_suffix == ".toml" else cfg.source_suffix
        _write_text(run.dir / f"config{suffix}", cfg.source_text)
    else:
        _write_json(run.dir / "config.json", cfg.raw)
    _write_json(run.dir / "prompts.json", {k: {"prompts": s.prompts, "requests": s.requests, "prefill": s.prefill}
                                           for k, s in run.sets.items()})
    _write_json(run.dir / "run.json", rec)


# ------------------------------------------------------------------------------------------------
# collect: prompts -> trace shards
# ------------------------------------------------------------------------------------------------
def shard_plan(run: Run) -> list[tuple[str, int, int, int]]:
    """Every shard as (set, index, start, stop), sets in config order. Independent of the world size."""
    S = run.cfg.shard_size
    out = []
    for name, s in run.sets.items():
        n = len(s.prompts)
        for i in range((n + S - 1) // S):
            out.append((name, i, i * S, min(n, (i + 1) * S)))
    return out


def _shard_paths(run: Run, name: str, i: int) -> tuple[Path, Path, Path]:
    base = run.dir / "shards" / f"{name}-{i:05d}"
    return base.with_suffix(".safetensors"), base.with_suffix(".json"), base.with_suffix(".done.json")


def shard_complete(run: Run, name: str, i: int, start: int, stop: int) -> bool:
    """A shard counts as done when its marker names this run and these prompts and both files match their hashes."""
    st, js, done = _shard_paths(run, name, i)
    if not (done.exists() and st.exists() and js.exists()):
        return False
    try:
        m = json.loads(done.read_text())
    except (OSError, ValueError):
        return False
    from .data import prompts_hash

    s = run.sets[name]
    return (m.get("format") == SHARD_FORMAT and m.get("run_key") == run.cfg.key()
            and m.get("prompts_hash") == prompts_hash(s.prompts[start:stop]) and m.get("n") == stop - start
            and m.get("sha256", {}).get("safetensors") == _sha256(st) and m.get("sha256", {}).get("json") == _sha256(js))


def _write_shard(run: Run, name: str, i: int, start: int, stop: int, traces, *, rank: int, seconds: float,
                 gen_key: str, batch_size: int | None = None, device: str | None = None) -> None:
    from .data import prompts_hash
    from .sampling import save_traces

    st, js, done = _shard_paths(run, name, i)
    st.parent.mkdir(parents=True, exist_ok=True)
    tmp = st.with_name(f".tmp-{name}-{i:05d}-r{rank}-{os.getpid()}.safetensors")
    tmp_js = tmp.with_suffix(".json")
    need = sum(getattr(t, a).nbytes for t in traces for a in ("activations", "predicted", "committed", "confidence"))
    need += sum(len(t.prompt) + len(t.text) + 512 for t in traces)
    try:
        save_traces(traces, tmp)
        os.replace(tmp, st)
        os.replace(tmp_js, js)
    except OSError as e:
        if e.errno == errno.ENOSPC:
            raise _disk_full(st, need, [tmp, tmp_js]) from None
        for t in (tmp, tmp_js):
            if t.exists():
                t.unlink()
        raise
    _write_json(done, {"format": SHARD_FORMAT, "run_key": run.cfg.key(), "set": name, "index": i, "start": start,
                       "stop": stop, "n": stop - start, "prompts_hash": prompts_hash(run.sets[name].prompts[start:stop]),
                       "generation_key": gen_key, "rank": rank, "seconds": round(seconds, 4),
                       "batch_size": batch_size, "device": device,
                       "sha256": {"safetensors": _sha256(st), "json": _sha256(js)}})


def _load_lm(run: Run, dist: Dist):
    from .models import load_model

    m = run.cfg.model
    if os.path.isabs(m["name"]) and not os.path.exists(m["name"]):
        raise FileNotFoundError(f"cannot load model: the folder {m['name']} ([model] name) does not exist; give a "
                                "preset name (`sri-kit presets`), a hub id, or a folder saved with save_pretrained()")
    try:
        return load_model(m["name"], device=dist.device(m.get("device")), dtype=m.get("dtype"),
                          trust_remote_code=bool(m.get("trust_remote_code", False)))
    except (FileNotFoundError, OSError, ValueError) as e:
        raise FileNotFoundError(f"cannot load model {m['name']!r} from [model] name: {e}") from None


def collect(config, *, rank: int | None = None, world: int | None = None, dist: Dist | None = None,
            stop_after: int | None = None, do_merge: bool = True, progress: bool = True) -> dict:
    """Generate traces for every prompt set into fixed-size shards; skip shards already complete.

    Under ``torchrun`` each rank takes shards ``j % world == rank`` and rank 0 merges after a barrier.
    ``stop_after=k`` stops this rank after k newly written shards (raises :class:`StopAfterShards`;
    a crash stand-in for tests). Returns a summary dict (shards done/skipped, seconds, prompts/s).
    """
    from .sampling import generate

    d = dist or from_env(rank, world)
    run = prepare(config, dist=d)
    d.barrier()          # rank 0 has written run.json before anyone looks at shards
    plan = shard_plan(run)
    done = [shard_complete(run, *s) for s in plan]
    if d.group:
        # every rank sees the same folder between two barriers, so all agree on what is left: spread
        # the remaining shards evenly (on a fresh run this is exactly shard j -> rank j % world)
        mine = d.mine([s for s, ok in zip(plan, done) if not ok])
        todo, n_skip = mine, sum(done)
    else:
        # independent processes (array jobs) start at different times: a fixed assignment
        mine = d.mine(list(zip(plan, done)))
        todo, n_skip = [s for s, ok in mine if not ok], sum(ok for _, ok in mine)
    say = d.log if progress else (lambda m: None)
    say(f"collect {run.dir.name}: {len(plan)} shards in total, {sum(done)} already complete, "
        f"{len(todo)} to do on this rank")
    summary = {"shards_total": len(plan), "skipped": n_skip, "written": 0, "prompts": 0, "seconds": 0.0}
    d.barrier()          # nobody writes a shard before every rank has taken stock
    if todo:
        lm = _load_lm(run, d)
        gcfg = run.cfg.generation_config(lm)
        gen_key = gcfg.key()
        say(f"model {lm.name} ({lm.family}) on {lm.device}; generation config {gen_key}")
        olds = {json.loads(_shard_paths(run, n, i)[2].read_text()).get("batch_size")
                for (n, i, a, b), ok in zip(plan, done) if ok}
        if olds - {run.cfg.batch_size}:
            say(f"note: completed shards used batch_size {sorted(x for x in olds if x)}; this run uses "
                f"{run.cfg.batch_size} (results agree up to float rounding, not bit for bit)")
        for k, (name, i, start, stop) in enumerate(todo):
            if stop_after is not None and k >= stop_after:
                say(f"stopping after {stop_after} shard(s) as asked (resume by running collect again)")
                raise StopAfterShards(f"stopped after {stop_after} shard(s) (rank {d.rank})")
            s = run.sets[name]
            t0 = time.perf_counter()
            traces = generate(lm, s.prompts[start:stop], gcfg, batch_size=run.cfg.batch_size, progress=False,
                              prefill=s.prefill)
            dt = time.perf_counter() - t0
            _write_shard(run, name, i, start, stop, traces, rank=d.rank, seconds=dt, gen_key=gen_key,
                         batch_size=run.cfg.batch_size, device=str(lm.device))
            summary["written"] += 1
            summary["prompts"] += stop - start
            summary["seconds"] += dt
            say(f"{name} shard {i} ({stop - start} prompts) {dt:.1f}s, {(stop - start) / max(dt, 1e-9):.2f} prompts/s "
                f"[{k + 1}/{len(todo)}]")
    d.barrier()
    if do_merge and d.is_main:
        merge(run, dist=d, progress=progress)
    d.barrier()
    return summary


def merge(config, *, dist: Dist | None = None, progress: bool = True) -> dict[str, Path]:
    """Join each set's complete shards into ``traces/<set>.safetensors`` (idempotent)."""
    from .sampling import load_traces, save_traces

    run = config if isinstance(config, Run) else prepare(config, dist=dist)
    d = dist or Dist()
    say = d.log if progress else (lambda m: None)
    plan = shard_plan(run)
    missing = [f"{n}-{i}" for n, i, a, b in plan if not shard_complete(run, n, i, a, b)]
    if missing:
        raise IncompleteRunError(f"{len(missing)} shard(s) are missing or incomplete ({', '.join(missing[:6])}"
                                 f"{' ...' if len(missing) > 6 else ''}): run `sri-kit collect` again to finish them")
    out, stats = {}, {"seconds": 0.0, "prompts": 0, "by_rank": {}}
    for name in run.sets:
        shards = [(i, a, b) for n, i, a, b in plan if n == name]
        markers = [json.loads(_shard_paths(run, name, i)[2].read_text()) for i, _, _ in shards]
        for m in markers:
            stats["seconds"] += m["seconds"]
            stats["prompts"] += m["n"]
            stats["by_rank"][str(m["rank"])] = stats["by_rank"].get(str(m["rank"]), 0) + m["n"]
        sig = hashlib.sha256("".join(m["sha256"]["safetensors"] + m["sha256"]["json"] for m in markers).encode()).hexdigest()
        target = run.dir / "traces" / f"{name}.safetensors"
        done = target.with_suffix(".done.json")
        if target.exists() and done.exists():
            try:
                if json.loads(done.read_text()).get("shards_sha256") == sig and \
                        json.loads(done.read_text()).get("sha256") == _sha256(target):
                    out[name] = target
                    continue
            except (OSError, ValueError):
                pass
        traces = []
        for i, _, _ in shards:
            traces += load_traces(_shard_paths(run, name, i)[0])
        need = sum(t.activations.nbytes + t.predicted.nbytes + t.committed.nbytes + t.confidence.nbytes for t in traces)
        try:
            save_traces(traces, target)
        except OSError as e:
            if e.errno == errno.ENOSPC:
                raise _disk_full(target, need) from None
            raise
        _write_json(done, {"set": name, "n": len(traces), "shards_sha256": sig, "sha256": _sha256(target)})
        out[name] = target
        say(f"merged {name}: {len(traces)} traces from {len(shards)} shard(s) -> {target.relative_to(run.dir)}")
    stats["prompts_per_s"] = stats["prompts"] / stats["seconds"] if stats["seconds"] else None
    _write_json(run.dir / "collect_stats.json", stats)
    return out


def load_set(config, name: str) -> list:
    """The merged traces of one set (run ``collect``/``merge`` first)."""
    from .sampling import load_traces

    run = config if isinstance(config, Run) else prepare(config, write=False)
    if name not in run.sets:
        raise KeyError(f"unknown set {name!r}; this run has {sorted(run.sets)}")
    p = run.dir / "traces" / f"{name}.safetensors"
    if not p.exists():
        raise IncompleteRunError(f"{p} does not exist: run `sri-kit collect` (and `sri-kit merge`) first")
    return load_traces(p)


# ------------------------------------------------------------------------------------------------
# analysis steps
# ------------------------------------------------------------------------------------------------
def _run(config) -> Run:
    return config if isinstance(config, Run) else prepare(config)


def fit_centers(config):
    """Per-step centers from the ``harmless_anchor`` and ``harmful_anchor`` sets -> ``centers.safetensors``."""
    from .sri import Centers

    run = _run(config)
    hl, hf = run.of_role("harmless_anchor"), run.of_role("harmful_anchor")
    if not hl or not hf:
        raise ConfigError("fitting centers needs sets with role 'harmless_anchor' and 'harmful_anchor' "
                          "(add a [splits] section or [sets.<name>] role = ...)")
    c = Centers.fit([t for n in hl for t in load_set(run, n)], [t for n in hf for t in load_set(run, n)])
    c.meta.update({"run_key": run.cfg.key(), "harmless_sets": hl, "harmful_sets": hf})
    c.save(run.dir / "centers.safetensors")
    return c


def _signal_path(run: Run, name: str) -> Path:
    return run.dir / "signals" / f"{name}.safetensors"


def compute_signals(config, lambda_r: float = 0.3) -> dict[str, np.ndarray]:
    """σ [N, T] of every set against the run's centers -> ``signals/<set>.safetensors`` (+ .json flags)."""
    from safetensors.numpy import save_file

    from .judges import is_placeholder_compliance
    from .sri import Centers, internal_recovery_rate, sri_signal

    run = _run(config)
    cp = run.dir / "centers.safetensors"
    if not cp.exists():
        raise IncompleteRunError(f"{cp} does not exist: run `sri-kit centers` first")
    centers = Centers.load(cp)
    out = {}
    for name, s in run.sets.items():
        traces = load_set(run, name)
        sigma = sri_signal(traces, centers)
        p = _signal_path(run, name)
        p.parent.mkdir(parents=True, exist_ok=True)
        tmp = p.with_name(f".{p.name}.{os.getpid()}.tmp")
        try:
            save_file({"sigma": np.ascontiguousarray(sigma)}, str(tmp))
            os.replace(tmp, p)
        except OSError as e:
            if e.errno == errno.ENOSPC:
                raise _disk_full(p, sigma.nbytes, [tmp]) from None
            raise
        refused = [bool(t.refused) for t in traces]
        complied = [bool(is_placeholder_compliance(t.response)) for t in traces]
        _write_json(p.with_suffix(".json"), {
            "set": name, "role": s.role, "family": s.family, "attack": s.attack, "n": len(traces),
            "refused": refused, "complied": complied, "refusal_rate": float(np.mean(refused)),
            "compliance_rate": float(np.mean(complied)), "mean_final_sigma": float(sigma[:, -1].mean()),
            "irr": internal_recovery_rate(sigma, lambda_r=lambda_r), "lambda_r": lambda_r})
        out[name] = sigma
    return out


def _load_signal(run: Run, name: str) -> tuple[np.ndarray, dict]:
    from safetensors.numpy import load_file

    p = _signal_path(run, name)
    if not p.exists():
        raise IncompleteRunError(f"{p} does not exist: run `sri-kit signal` first")
    return load_file(str(p))["sigma"], json.loads(p.with_suffix(".json").read_text())


def fit_guard(config):
    """SRI Guard on the ``benign_train`` signals (calibrated on ``benign_calib`` when present) -> ``guard/``."""
    from .detectors import SRIGuard

    run = _run(config)
    train = run.of_role("benign_train")
    if not train:
        raise ConfigError("guard fit needs a set with role 'benign_train'")
    X = np.concatenate([_load_signal(run, n)[0] for n in train])
    calib = run.of_role("benign_calib")
    Xc = np.concatenate([_load_signal(run, n)[0] for n in calib]) if calib else None
    params = dict(run.cfg.guard)
    if "hidden" in params:
        params["hidden"] = tuple(params["hidden"])
    guard = SRIGuard(**params).fit(X, Xc)
    guard.save(run.dir / "guard")
    return guard


def eval_guard(config) -> dict:
    """Detection metrics (benign_test vs each attack set) and the blocking table -> ``eval/``."""
    from .detectors import SRIGuard, blocking_table, defense_summary, detection_metrics

    run = _run(config)
    gp = run.dir / "guard"
    if not (gp / "sri_guard.json").exists():
        raise IncompleteRunError(f"{gp} holds no fitted guard: run `sri-kit guard fit` first")
    guard = SRIGuard.load(gp)
    bench = run.of_role("benign_test")
    attacks = run.of_role("attack")
    if not bench or not attacks:
        raise ConfigError("guard eval needs sets with role 'benign_test' and 'attack'")
    sb = [_load_signal(run, n) for n in bench]
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
        x, meta = _load_signal(run, n)
        metrics[n] = detection_metrics(score_b, guard.score_samples(x))
        flags += (guard.predict(x) == -1).tolist()
        refused += meta["refused"]
        complied += meta["complied"]
        fams += [meta["family"]] * len(x)
    table = blocking_table(flags, refused, complied, fams)
    undefended = blocking_table([False] * len(flags), refused, complied, fams)
    (run.dir / "eval").mkdir(parents=True, exist_ok=True)
    _write_text(run.dir / "eval" / "blocking.csv", table.to_csv())
    res = {"threshold": float(guard.threshold_), "detection": metrics,
           "summary": {"sri_guard": {k: float(v) for k, v in defense_summary(table).items()},
                       "undefended": {k: float(v) for k, v in defense_summary(undefended).items()}}}
    _write_json(run.dir / "eval" / "metrics.json", res)
    res["blocking"] = table
    return res


def write_report(config) -> Path:
    """A Markdown summary of whatever steps have run -> ``report.md``."""
    run = _run(config)
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
        p = _signal_path(run, name).with_suffix(".json")
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
    _write_text(path, "\n".join(lines) + "\n")
    return path
