"""Run configs: one TOML (or YAML) file describes a whole headless run.

A run = a model, generation settings, named prompt sets (each with a role and optionally an attack),
shard/batch sizes and an output folder. :func:`load_run_config` parses and validates the file and
:func:`resolve_sets` turns the set descriptions into concrete prompt lists (with their hashes). The
pipeline (:mod:`sri_kit.pipeline`) and the CLI (``sri-kit collect CONFIG`` ...) take the result.

Example (``examples/run_tiny.toml`` is a complete one)::

    [run]
    out_dir = "runs/tiny"          # relative to the config file
    shard_size = 16                # prompts per shard (fixed: independent of the number of ranks)
    batch_size = 16

    [model]
    name = "tiny-dlm"              # a preset or a local HF folder (relative to the config file)

    [generation]                   # GenerationConfig fields over the model's recommended config
    steps = 32

    [splits]                       # the paper's disjoint splits (sri_kit.data.make_splits)
    harmless = { source = "tiny_benign" }
    harmful = { source = "tiny_harmful" }
    n_anchor = 32
    attacks = ["none", "refusal_suppression", "prefill"]

    [sets.extra]                   # any number of explicit sets
    role = "attack"
    file = "my_prompts.txt"
    attack = "flip"

>>> cfg = RunConfig.from_dict({"model": {"name": "tiny-ar"}, "sets": {"a": {"role": "benign_test",
...                            "prompts": ["hi there"]}}}, base_dir=".")
>>> cfg.shard_size, sorted(cfg.sets)
(16, ['a'])
"""
from __future__ import annotations

import copy
import hashlib
import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from . import attacks as atk
from .config import GenerationConfig
from .data import prompts_hash
from .errors import ConfigError, SriKitError, UnknownNameError
from .models import FAMILY_ALIASES, MODELS_DIR, PRESETS
from .sampling import get_sampler, sampler_for_family

__all__ = ["RunConfig", "SetSpec", "ResolvedSet", "load_run_config", "resolve_sets", "ROLES",
           "ConfigError", "read_config_file"]

#: What each prompt set is used for downstream.
ROLES = ("harmless_anchor", "harmful_anchor", "benign_train", "benign_calib", "benign_test", "attack", "other")
_SPLIT_ROLES = ("harmless_anchor", "harmful_anchor", "benign_train", "benign_calib", "benign_test")

#: Fields that do not change results: they may differ between a run and its resume.
RUNTIME_FIELDS = {("run", "batch_size"), ("model", "device"), ("run", "progress")}
_SECTIONS = {"run", "model", "generation", "splits", "sets", "guard", "report"}


# ConfigError is the kit's (sri_kit.errors): a ValueError for a run config that cannot be used (bad field,
# mismatched run folder ...)

def _toml_loads(text: str) -> dict:
    try:
        import tomllib  # Python >= 3.11
    except ModuleNotFoundError:  # pragma: no cover - Python 3.10
        try:
            import tomli as tomllib
        except ModuleNotFoundError:
            raise ConfigError("reading TOML on Python 3.10 needs the 'tomli' package: pip install tomli") from None
    return tomllib.loads(text)


def read_config_file(path: str | os.PathLike) -> tuple[dict, str]:
    """(parsed dict, raw text) of a ``.toml``, ``.yaml`` or ``.yml`` file."""
    p = Path(path)
    if not p.is_file():
        raise FileNotFoundError(f"run config {p} does not exist")
    text = p.read_text(encoding="utf-8")
    suf = p.suffix.lower()
    try:
        if suf == ".toml":
            data = _toml_loads(text)
        elif suf in (".yaml", ".yml"):
            try:
                import yaml  # optional: only YAML run configs need it
            except ModuleNotFoundError:
                raise ConfigError("YAML configs need pyyaml: pip install pyyaml (or use TOML)") from None
            data = yaml.safe_load(text) or {}
        else:
            raise ConfigError(f"{p}: a run config is a .toml or .yaml file, got {suf!r}")
    except ConfigError:
        raise
    except Exception as e:  # parse errors of either library
        raise ConfigError(f"{p}: cannot parse ({e})") from None
    if not isinstance(data, dict):
        raise ConfigError(f"{p}: the top level must be a table/mapping")
    return data, text


@dataclass(frozen=True)
class SetSpec:
    """One prompt set: where its prompts come from, its role, and an optional attack wrapper."""

    name: str
    role: str = "other"
    source: str | None = None       # a name for sri_kit.data.load_prompts
    path: str | None = None         # a file/folder passed as load_prompts(path=...)
    prompts: tuple[str, ...] | None = None   # inline prompts
    n: int | None = None
    seed: int | None = 0
    skip: int = 0                   # drop the first `skip` prompts (after sub-sampling)
    attack: str = "none"
    attack_seed: int = 0
    attack_kwargs: dict = field(default_factory=dict)
    family: str | None = None       # label in the blocking table (default: the attack name)
    from_split: str | None = None   # take prompts from a [splits] split (e.g. "harmful_test")

    def to_dict(self) -> dict:
        d = {k: getattr(self, k) for k in self.__dataclass_fields__}
        d["prompts"] = list(self.prompts) if self.prompts is not None else None
        return d


@dataclass
class RunConfig:
    """A parsed, validated run config. ``raw`` is the file's mapping; paths are resolved against ``base_dir``."""

    raw: dict
    base_dir: Path
    out_dir: Path
    shard_size: int
    batch_size: int
    model: dict
    generation: dict
    splits: dict | None
    sets: dict[str, SetSpec]
    guard: dict
    report: dict
    source_text: str | None = None
    source_suffix: str = ".toml"

    # ------------------------------------------------------------------------------------------
    @classmethod
    def from_dict(cls, data: dict, base_dir: str | os.PathLike = ".", *, source_text: str | None = None,
                  source_suffix: str = ".toml") -> "RunConfig":
        data = copy.deepcopy(data)
        base = Path(base_dir).resolve()
        unknown = set(data) - _SECTIONS
        if unknown:
            raise ConfigError(f"unknown config sections {sorted(unknown)}; known: {sorted(_SECTIONS)}")
        run = dict(data.get("run") or {})
        bad = set(run) - {"out_dir", "shard_size", "batch_size", "name", "progress"}
        if bad:
            raise ConfigError(f"[run]: unknown fields {sorted(bad)} (out_dir, shard_size, batch_size, name, progress)")
        if not isinstance(run.get("out_dir", ""), str) or run.get("out_dir") == "":
            raise ConfigError(f"[run] out_dir must be a folder path (a string), got {run.get('out_dir')!r}")
        out_dir = Path(os.path.expanduser(str(run.get("out_dir", "sri_kit_run"))))
        out_dir = out_dir if out_dir.is_absolute() else base / out_dir
        for q in (out_dir, *out_dir.parents):
            if q.exists():
                if not q.is_dir():
                    raise ConfigError(f"[run] out_dir {out_dir}: {q} is a file, not a folder; choose another out_dir")
                break
        shard_size, batch_size = run.get("shard_size", 16), run.get("batch_size", 16)
        for k, v in (("shard_size", shard_size), ("batch_size", batch_size)):
            if not isinstance(v, int) or isinstance(v, bool) or v < 1:
                raise ConfigError(f"[run] {k} must be a positive integer, got {v!r}")
        model = dict(data.get("model") or {})
        if model.get("name") is not None and not isinstance(model.get("name"), str):
            raise ConfigError(f"[model] name must be a string, got {model.get('name')!r}")
        if not model.get("name"):
            raise ConfigError("[model] name is required: a preset (e.g. 'tiny-dlm', 'llada-8b-instruct') or a local folder")
        bad = set(model) - {"name", "device", "dtype", "trust_remote_code"}
        if bad:
            raise ConfigError(f"[model]: unknown fields {sorted(bad)} (name, device, dtype, trust_remote_code)")
        name = str(model["name"])
        local = Path(os.path.expanduser(name))
        if not local.is_absolute() and (name.startswith(".") or (base / local).is_dir()):
            local = base / local
        if local.is_absolute() or local.is_dir():
            model["name"] = str(local.resolve())
        generation = dict(data.get("generation") or {})
        known = set(GenerationConfig.__dataclass_fields__)
        bad = set(generation) - known
        if bad:
            raise ConfigError(f"[generation]: unknown GenerationConfig fields {sorted(bad)}; known: {sorted(known)}")
        check_generation(generation, model["name"])
        splits = data.get("splits")
        sets: dict[str, SetSpec] = {}
        if splits is not None:
            splits = dict(splits)
            for side in ("harmless", "harmful"):
                if not isinstance(splits.get(side), dict):
                    raise ConfigError(f"[splits] needs `{side} = {{ source = ... }}` (or path = ...)")
            attacks = splits.get("attacks", ["none"])
            if isinstance(attacks, str) or not isinstance(attacks, list) or not all(isinstance(a, str) for a in attacks):
                raise ConfigError("[splits] attacks must be a list of attack names")
            for a in attacks:
                _check_attack(a, "[splits] attacks")
            for role in _SPLIT_ROLES:
                sets[role] = SetSpec(name=role, role=role, from_split=role)
            for a in attacks:
                sets[f"attack_{a}"] = SetSpec(name=f"attack_{a}", role="attack", from_split="harmful_test",
                                              attack=a, attack_seed=int(splits.get("attack_seed", 0)),
                                              attack_kwargs=dict((splits.get("attack_kwargs") or {}).get(a, {})))
        for sname, spec in (data.get("sets") or {}).items():
            if not isinstance(spec, dict):
                raise ConfigError(f"[sets.{sname}] must be a table")
            if sname in sets:
                raise ConfigError(f"set {sname!r} is defined twice (by [splits] and [sets.{sname}])")
            if not sname.replace("_", "").replace("-", "").isalnum():
                raise ConfigError(f"set name {sname!r}: use letters, digits, '_' and '-' only (it names files)")
            spec = dict(spec)
            if "file" in spec:
                spec["path"] = spec.pop("file")
            bad = set(spec) - set(SetSpec.__dataclass_fields__) - {"name"}
            if bad:
                raise ConfigError(f"[sets.{sname}]: unknown fields {sorted(bad)}")
            if spec.get("path"):
                p = Path(os.path.expanduser(str(spec["path"])))
                spec["path"] = str(p if p.is_absolute() else base / p)
            if spec.get("prompts") is not None:
                spec["prompts"] = tuple(spec["prompts"])
            if not (spec.get("source") or spec.get("path") or spec.get("prompts") or spec.get("from_split")):
                raise ConfigError(f"[sets.{sname}] needs source = <prompt-set name>, file = <path>, prompts = [...] "
                                  "or from_split = <split>")
            if spec.get("from_split") and splits is None:
                raise ConfigError(f"[sets.{sname}] from_split needs a [splits] section")
            spec.setdefault("name", sname)
            _check_attack(spec.get("attack", "none"), f"[sets.{sname}] attack")
            for k in ("n", "skip", "attack_seed", "seed"):
                v = spec.get(k)
                if v is not None and (isinstance(v, bool) or not isinstance(v, int) or v < 0):
                    raise ConfigError(f"[sets.{sname}] {k} must be a non-negative integer, got {v!r}")
            if spec.get("prompts") is not None and not all(isinstance(x, str) and x.strip() for x in spec["prompts"]):
                i = next(i for i, x in enumerate(spec["prompts"]) if not (isinstance(x, str) and x.strip()))
                raise ConfigError(f"[sets.{sname}] prompts[{i}] is {spec['prompts'][i]!r}: every prompt must be a "
                                  "non-empty string")
            sets[sname] = SetSpec(**spec)
        if not sets:
            raise ConfigError("the config defines no prompt sets: add [splits] and/or [sets.<name>] tables")
        for s in sets.values():
            if s.role not in ROLES:
                raise ConfigError(f"set {s.name!r}: unknown role {s.role!r}; choose one of {ROLES}")
        return cls(raw=data, base_dir=base, out_dir=out_dir.resolve(), shard_size=shard_size,
                   batch_size=batch_size, model=model, generation=generation, splits=splits, sets=sets,
                   guard=dict(data.get("guard") or {}), report=dict(data.get("report") or {}),
                   source_text=source_text, source_suffix=source_suffix)

    # ------------------------------------------------------------------------------------------
    def generation_config(self, lm) -> "Any":
        """The model's recommended GenerationConfig with this config's ``[generation]`` fields on top."""
        return lm.default_config.replace(**self.generation) if self.generation else lm.default_config

    def semantic(self) -> dict:
        """Everything that determines the results (no runtime-only fields), JSON-able."""
        run = {"shard_size": self.shard_size}
        model = {k: v for k, v in self.model.items() if k != "device"}
        return {"run": run, "model": model, "generation": self.generation, "splits": self.splits,
                "sets": {k: v.to_dict() for k, v in sorted(self.sets.items())},
                "guard": self.guard, "report": self.report}

    def key(self) -> str:
        blob = json.dumps(self.semantic(), sort_keys=True, separators=(",", ":"), default=str)
        return hashlib.sha256(blob.encode()).hexdigest()[:16]


def load_run_config(path: str | os.PathLike | dict | RunConfig, base_dir: str | os.PathLike | None = None) -> RunConfig:
    """Parse a config file (or a mapping, or pass a RunConfig through). Relative paths in the file are
    resolved against the file's folder."""
    if isinstance(path, RunConfig):
        return path
    if isinstance(path, dict):
        return RunConfig.from_dict(path, base_dir or ".")
    data, text = read_config_file(path)
    p = Path(path)
    return RunConfig.from_dict(data, base_dir or p.resolve().parent, source_text=text, source_suffix=p.suffix.lower())


def _check_attack(name, where: str) -> None:
    if not isinstance(name, str):
        raise ConfigError(f"{where}: an attack name is a string, got {name!r}")
    try:
        atk.get(name)
    except KeyError:
        raise ConfigError(f"{where}: unknown attack {name!r}; known attacks: {', '.join(atk.names())} "
                          "(`python -c 'import sri_kit; print(sri_kit.attacks.names())'`)") from None


def _model_defaults(name: str) -> tuple[dict, str | None]:
    """(recommended GenerationConfig fields, family or None) of a model, without loading it: the preset's,
    then a local folder's ``sri_kit.json`` on top (as :func:`sri_kit.load_model` combines them)."""
    preset = PRESETS.get(name) or PRESETS.get(name.lower())
    dc = dict(preset.default_config) if preset else {}
    family = preset.family if preset else None
    folder = MODELS_DIR / preset.hub_id if preset is not None and preset.local else Path(name)
    kit_path = folder / "sri_kit.json"
    if kit_path.is_file():
        try:
            kit = json.loads(kit_path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            kit = {}           # load_model names the damaged file
        if isinstance(kit, dict):
            if isinstance(kit.get("default_config"), dict):
                dc.update(kit["default_config"])
            if "system_prompt" in kit:
                dc["system_prompt"] = kit["system_prompt"]
            family = FAMILY_ALIASES.get(kit.get("family"), family) if isinstance(kit.get("family"), str) else family
    return dc, family


def check_generation(generation: dict, model_name: str, where: str = "[generation]") -> None:
    """Validate ``[generation]`` before any model is loaded or file written: every field's type and range,
    the combination with the model's recommended config, the sampler name and (when the model's family
    is known without loading it) the sampler's own checks."""
    base, family = _model_defaults(str(model_name))
    try:
        cfg = GenerationConfig.from_dict({**base, **generation})
    except SriKitError as e:
        raise ConfigError(f"{where}: {str(e).removeprefix('GenerationConfig: ')}") from None
    try:
        if family is not None:
            sampler = sampler_for_family(family, cfg, model_name=str(model_name))
        elif cfg.sampler is not None:
            sampler = get_sampler(cfg.sampler)
        else:
            return
        sampler.validate(None, cfg)
    except UnknownNameError as e:
        raise ConfigError(f"{where} sampler: {e}") from None
    except SriKitError as e:
        raise ConfigError(f"{where}: {e}") from None


@dataclass
class ResolvedSet:
    """A set's concrete prompts (after attacks), per-prompt prefills and the original requests."""

    name: str
    role: str
    prompts: list[str]
    prefill: str | None
    requests: list[str]
    family: str
    attack: str

    @property
    def hash(self) -> str:
        return prompts_hash(self.prompts + ([f"\0prefill:{self.prefill}"] if self.prefill else []))


def _side_pool(spec: dict, what: str):
    from .experiments import Pool
    if spec.get("prompts") is not None:
        return Pool(prompts=tuple(spec["prompts"]))
    name, path = spec.get("source"), spec.get("path") or spec.get("file")
    if not name and not path:
        raise ConfigError(f"[splits] {what} needs source = <prompt-set name> or path = <file>")
    return Pool(name or what, path=path, n=spec.get("n"), seed=spec.get("seed", 0))


def experiment_of(cfg: RunConfig):
    """The run config as an :class:`~sri_kit.experiments.Experiment` (its pools, [splits] and [sets])."""
    from .experiments import Experiment, Pool, SetSpec, SplitSpec
    pools, splits = {}, ()
    if cfg.splits is not None:
        s = cfg.splits
        base = cfg.base_dir

        def side(d):
            d = dict(d)
            for k in ("path", "file"):
                if d.get(k):
                    p = Path(os.path.expanduser(str(d[k])))
                    d[k] = str(p if p.is_absolute() else base / p)
            return d

        sizes = tuple((k, s[k]) for k in ("n_anchor", "n_harmful_anchor", "n_train", "n_calib", "n_test_benign",
                                          "n_test_harmful") if k in s)
        pools["splits.harmless"] = _side_pool(side(s["harmless"]), "harmless")
        pools["splits.harmful"] = _side_pool(side(s["harmful"]), "harmful")
        splits = (SplitSpec("paper", harmless="splits.harmless", harmful="splits.harmful", seed=int(s.get("seed", 0)),
                            sizes=sizes),)
    sets = []
    known = {"harmless_anchor", "harmful_anchor", "benign_train", "benign_calib", "benign_test", "harmful_test"}
    for name, spec in cfg.sets.items():
        if spec.from_split:
            if spec.from_split not in known or cfg.splits is None:
                raise ConfigError(f"set {name!r}: unknown split {spec.from_split!r}; known: "
                                  f"{sorted(known) if cfg.splits is not None else []}")
            ref, n = f"split:{spec.from_split}", spec.n
        else:
            pools[f"set.{name}"] = (Pool(prompts=tuple(spec.prompts)) if spec.prompts is not None
                                    else Pool(spec.source or name, path=spec.path, n=spec.n, seed=spec.seed))
            ref, n = f"pool:set.{name}", spec.n if spec.prompts is not None else None
        if spec.skip:
            ref += f"[{spec.skip}:]"
        if atk.get(spec.attack).kind == "model":
            raise ConfigError(f"set {name!r}: attack {spec.attack!r} optimises against the model; run it in Python "
                              "(sri_kit.attacks.random_search) and give the resulting prompts as a file")
        sets.append(SetSpec(name, "attacked" if spec.attack != "none" else "benign", ref, attack=spec.attack,
                            seed=spec.attack_seed, n=n, attack_kwargs=tuple(sorted(spec.attack_kwargs.items()))))
    return Experiment(cfg.name if hasattr(cfg, "name") else "run", pools=pools, splits=splits, sets=tuple(sets))


def resolve_sets(cfg: RunConfig) -> dict[str, ResolvedSet]:
    """Load every set's prompts and apply its attack (deterministic; no model needed), through the
    experiment protocol (:func:`experiment_of`, :func:`sri_kit.experiments.build_sets`)."""
    from .experiments import build_sets
    built = build_sets(experiment_of(cfg))
    out: dict[str, ResolvedSet] = {}
    for name, spec in cfg.sets.items():
        b = built[name]
        if not b.prompts:
            raise ConfigError(f"set {name!r} has no prompts (check n / skip / the source)")
        out[name] = ResolvedSet(name=name, role=spec.role, prompts=b.prompts, prefill=b.prefill, requests=b.requests,
                                family=spec.family or spec.attack, attack=spec.attack)
    return out
