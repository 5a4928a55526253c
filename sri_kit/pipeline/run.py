"""A run: its config, resolved prompt sets and folder; :func:`prepare` checks the folder holds this run.

Example:
    >>> import tempfile
    >>> cfg = {"run": {"out_dir": tempfile.mkdtemp(), "shard_size": 2}, "model": {"name": "tiny-ar"},
    ...        "sets": {"hello": {"role": "benign_test", "prompts": ["Hi!", "Write a poem.", "Bake bread."]}}}
    >>> run = prepare(cfg)
    >>> run.n_shards("hello"), run.of_role("benign_test"), (run.dir / "run.json").exists()
    (2, ['hello'], True)
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..distributed import Dist
from ..runconfig import ConfigError, ResolvedSet, RunConfig, load_run_config, resolve_sets
from ..errors import SriKitError, reading
from .files import write_json, write_text

__all__ = ["RUN_FORMAT", "IncompleteRunError", "StopAfterShards", "Run", "config_diff", "prepare", "save_config",
           "get_run"]

RUN_FORMAT = "sri_kit.run/1"
#: config sections whose change invalidates collected traces
COLLECT_SECTIONS = ("run", "model", "generation", "splits", "sets")


class IncompleteRunError(SriKitError, RuntimeError):
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


def config_diff(a: Any, b: Any, prefix: str = "") -> list[str]:
    """Dotted keys where two JSON-like values differ.

    >>> config_diff({"a": 1, "b": {"c": 2}}, {"a": 1, "b": {"c": 3}})
    ['b.c']
    """
    if isinstance(a, dict) and isinstance(b, dict):
        out = []
        for k in sorted(set(a) | set(b), key=str):
            out += config_diff(a.get(k), b.get(k), f"{prefix}.{k}" if prefix else str(k))
        return out
    return [] if a == b else [prefix or "(root)"]


def prepare(config, *, dist: Dist | None = None, write: bool = True, allow_update: bool = False) -> Run:
    """Resolve the config's prompt sets and check them against the run folder.

    The first call writes ``config.toml`` (the file as given) and ``run.json`` into the folder; later
    calls must describe the same run (unless nothing was collected yet: a start that failed, say on a
    model that would not load, does not bind the folder to its config), else a :class:`ConfigError` ("mismatched config") lists what
    differs. ``allow_update=True`` accepts changes to the downstream ``[guard]``/``[report]`` sections
    only (traces stay valid; rerun the later steps).
    """
    cfg = load_run_config(config)
    run = Run(cfg, resolve_sets(cfg))
    rec = run.record()
    path = run.dir / "run.json"
    if path.exists():
        with reading(path, "sri_kit run record (run.json)",
                     f"it was cut short: delete {path} and rerun (complete shards are checked against the config "
                     "again and kept when they match), or use a new [run] out_dir"):
            old = json.loads(path.read_text(encoding="utf-8"))
        if not isinstance(old, dict) or old.get("format") != RUN_FORMAT:
            raise ConfigError(f"{path} is not a sri_kit run record; choose another out_dir")
        if not started(run) and (old.get("config_key") != rec["config_key"] or old.get("sets") != rec["sets"]):
            # nothing was collected under the old config (a failed start): the corrected config takes over
            if write and (dist is None or dist.is_main):
                save_config(run, rec)
            return run
        if old.get("config_key") != rec["config_key"] or old.get("sets") != rec["sets"]:
            diffs = (config_diff(old.get("config"), rec["config"], "config")
                     + config_diff(old.get("sets"), rec["sets"], "sets"))
            collect_diffs = [d for d in diffs if d.split(".")[0] == "sets" or d.split(".")[1] in COLLECT_SECTIONS]
            if collect_diffs or not allow_update:
                shown = ", ".join((collect_diffs or diffs)[:8]) + (" ..." if len(diffs) > 8 else "")
                hint = ("" if collect_diffs else " (only [guard]/[report] changed: pass --update-config to accept "
                        "that and rerun the later steps)")
                raise ConfigError(f"mismatched config: {run.dir} holds a run made with a different config "
                                  f"(differs in: {shown}){hint}. Use a new [run] out_dir, or delete the folder "
                                  "to start over")
            if write and (dist is None or dist.is_main):
                save_config(run, rec)
        return run
    if write and (dist is None or dist.is_main):
        save_config(run, rec)
    return run


def started(run: Run) -> bool:
    """Whether anything was collected in the run folder (a shard commit marker or merged traces)."""
    return any((run.dir / "shards").glob("*.done.json")) or any((run.dir / "traces").glob("*.safetensors"))


def save_config(run: Run, rec: dict) -> None:
    """Write the config as given, every set's prompts and ``run.json`` into the run folder."""
    cfg = run.cfg
    run.dir.mkdir(parents=True, exist_ok=True)
    if cfg.source_text is not None:
        suffix = ".toml" if cfg.source_suffix == ".toml" else cfg.source_suffix
        write_text(run.dir / f"config{suffix}", cfg.source_text)
    else:
        write_json(run.dir / "config.json", cfg.raw)
    write_json(run.dir / "prompts.json", {k: {"prompts": s.prompts, "requests": s.requests, "prefill": s.prefill}
                                          for k, s in run.sets.items()})
    write_json(run.dir / "run.json", rec)


def get_run(config) -> Run:
    """``config`` itself when it is a :class:`Run`, else :func:`prepare` of it."""
    return config if isinstance(config, Run) else prepare(config)
