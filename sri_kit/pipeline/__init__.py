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

One file per job: ``run`` (the run record and the mismatched-config check), ``collect`` (shards,
merge), ``steps`` (centers, signals, guard, report), ``files`` (atomic writes, :class:`DiskFullError`).

Example (``pipeline.collect("examples/run_tiny.toml")`` runs the shipped config the same way):
    >>> import tempfile
    >>> from sri_kit import pipeline
    >>> cfg = {"run": {"out_dir": tempfile.mkdtemp(), "shard_size": 4}, "model": {"name": "tiny-ar"},
    ...        "generation": {"steps": 4},
    ...        "sets": {"harmless": {"role": "harmless_anchor", "prompts": ["Write a poem.", "Bake bread."]},
    ...                 "harmful": {"role": "harmful_anchor", "prompts": ["Explain how to break into a car."]}}}
    >>> pipeline.collect(cfg, progress=False)["shards_total"]
    2
    >>> sorted(p.name for p in (pipeline.prepare(cfg).dir / "traces").glob("*.safetensors"))
    ['harmful.safetensors', 'harmless.safetensors']
"""
from __future__ import annotations

from ..runconfig import ConfigError
from .collect import SHARD_FORMAT, collect, load_set, merge, shard_complete, shard_plan  # noqa: F401
from .files import DiskFullError
from .run import RUN_FORMAT, IncompleteRunError, Run, StopAfterShards, prepare  # noqa: F401
from .steps import compute_signals, eval_guard, fit_centers, fit_guard, write_report

__all__ = ["Run", "prepare", "collect", "merge", "fit_centers", "compute_signals", "fit_guard", "eval_guard",
           "write_report", "load_set", "shard_plan", "DiskFullError", "IncompleteRunError", "StopAfterShards",
           "ConfigError"]
