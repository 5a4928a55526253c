"""Collect: prompts -> fixed-size trace shards (resumable, data-parallel), merged per set.

Example:
    >>> import tempfile
    >>> cfg = {"run": {"out_dir": tempfile.mkdtemp(), "shard_size": 2}, "model": {"name": "tiny-ar"},
    ...        "generation": {"steps": 4},
    ...        "sets": {"hello": {"role": "benign_test", "prompts": ["Hi!", "Bake bread."]}}}
    >>> summary = collect(cfg, progress=False)
    >>> summary["written"], len(load_set(cfg, "hello"))
    (1, 2)
"""
from __future__ import annotations

import errno
import hashlib
import json
import os
import time
from pathlib import Path

from ..data import prompts_hash
from ..distributed import Dist, from_env
from ..models import load_model
from ..sampling import generate, load_traces, save_traces
from .files import disk_full, sha256_file, write_json
from .run import IncompleteRunError, Run, StopAfterShards, prepare

__all__ = ["SHARD_FORMAT", "shard_plan", "shard_paths", "shard_complete", "write_shard", "load_run_model", "collect",
           "merge", "load_set"]

SHARD_FORMAT = "sri_kit.shard/1"


def shard_plan(run: Run) -> list[tuple[str, int, int, int]]:
    """Every shard as (set, index, start, stop), sets in config order. Independent of the world size."""
    S = run.cfg.shard_size
    out = []
    for name, s in run.sets.items():
        n = len(s.prompts)
        for i in range((n + S - 1) // S):
            out.append((name, i, i * S, min(n, (i + 1) * S)))
    return out


def shard_paths(run: Run, name: str, i: int) -> tuple[Path, Path, Path]:
    """A shard's trace file, its JSON sidecar and its commit marker (``.done.json``)."""
    base = run.dir / "shards" / f"{name}-{i:05d}"
    return base.with_suffix(".safetensors"), base.with_suffix(".json"), base.with_suffix(".done.json")


def shard_complete(run: Run, name: str, i: int, start: int, stop: int) -> bool:
    """A shard counts as done when its marker names this run and these prompts and both files match their hashes."""
    st, js, done = shard_paths(run, name, i)
    if not (done.exists() and st.exists() and js.exists()):
        return False
    try:
        m = json.loads(done.read_text())
    except (OSError, ValueError):
        return False
    s = run.sets[name]
    return (m.get("format") == SHARD_FORMAT and m.get("run_key") == run.cfg.key()
            and m.get("prompts_hash") == prompts_hash(s.prompts[start:stop]) and m.get("n") == stop - start
            and m.get("sha256", {}).get("safetensors") == sha256_file(st) and m.get("sha256", {}).get("json") == sha256_file(js))


def write_shard(run: Run, name: str, i: int, start: int, stop: int, traces, *, rank: int, seconds: float,
                gen_key: str, batch_size: int | None = None, device: str | None = None) -> None:
    """Write a shard's two files under temporary names, move them into place, then its commit marker
    (a full disk removes the temporary files and raises :class:`DiskFullError`)."""
    st, js, done = shard_paths(run, name, i)
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
            raise disk_full(st, need, [tmp, tmp_js]) from None
        for t in (tmp, tmp_js):
            if t.exists():
                t.unlink()
        raise
    write_json(done, {"format": SHARD_FORMAT, "run_key": run.cfg.key(), "set": name, "index": i, "start": start,
                       "stop": stop, "n": stop - start, "prompts_hash": prompts_hash(run.sets[name].prompts[start:stop]),
                       "generation_key": gen_key, "rank": rank, "seconds": round(seconds, 4),
                       "batch_size": batch_size, "device": device,
                       "sha256": {"safetensors": sha256_file(st), "json": sha256_file(js)}})


def load_run_model(run: Run, dist: Dist):
    """The run's ``[model]`` on this rank's device, with a clear error when it cannot be loaded."""
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
        lm = load_run_model(run, d)
        gcfg = run.cfg.generation_config(lm)
        gen_key = gcfg.key()
        say(f"model {lm.name} ({lm.family}) on {lm.device}; generation config {gen_key}")
        olds = {json.loads(shard_paths(run, n, i)[2].read_text()).get("batch_size")
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
            write_shard(run, name, i, start, stop, traces, rank=d.rank, seconds=dt, gen_key=gen_key,
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
        markers = [json.loads(shard_paths(run, name, i)[2].read_text()) for i, _, _ in shards]
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
                        json.loads(done.read_text()).get("sha256") == sha256_file(target):
                    out[name] = target
                    continue
            except (OSError, ValueError):
                pass
        traces = []
        for i, _, _ in shards:
            traces += load_traces(shard_paths(run, name, i)[0])
        need = sum(t.activations.nbytes + t.predicted.nbytes + t.committed.nbytes + t.confidence.nbytes for t in traces)
        try:
            save_traces(traces, target)
        except OSError as e:
            if e.errno == errno.ENOSPC:
                raise disk_full(target, need) from None
            raise
        write_json(done, {"set": name, "n": len(traces), "shards_sha256": sig, "sha256": sha256_file(target)})
        out[name] = target
        say(f"merged {name}: {len(traces)} traces from {len(shards)} shard(s) -> {target.relative_to(run.dir)}")
    stats["prompts_per_s"] = stats["prompts"] / stats["seconds"] if stats["seconds"] else None
    write_json(run.dir / "collect_stats.json", stats)
    return out


def load_set(config, name: str) -> list:
    """The merged traces of one set (run ``collect``/``merge`` first)."""
    run = config if isinstance(config, Run) else prepare(config, write=False)
    if name not in run.sets:
        raise KeyError(f"unknown set {name!r}; this run has {sorted(run.sets)}")
    p = run.dir / "traces" / f"{name}.safetensors"
    if not p.exists():
        raise IncompleteRunError(f"{p} does not exist: run `sri-kit collect` (and `sri-kit merge`) first")
    return load_traces(p)
