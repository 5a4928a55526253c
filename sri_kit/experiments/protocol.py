"""The protocol's data types and :func:`build_sets` (see :mod:`sri_kit.experiments`)."""
from __future__ import annotations

import re
from dataclasses import dataclass, field

import numpy as np

from .. import attacks
from ..errors import ConfigError
from ..plugins import family_of

__all__ = ["Pool", "SplitSpec", "SetSpec", "Experiment", "AttackedSet", "build_sets", "attack_set", "rotate",
           "organism_phrasings", "split_pool", "public_eval_prompts", "near_duplicate"]

ROLES = ("benign", "harmful", "attacked", "matched", "anchor", "train", "calibration", "test", "probe")


@dataclass(frozen=True)
class Pool:
    """Where requests come from: a prompt set name (``sri_kit.data.load_prompts``), a file ``path``, explicit
    ``prompts``, or ``attack_prompts`` (a jailbreak artifact's own prompts, ``attacks.load_attack_prompts``).
    ``n`` None = all; ``seed`` selects the sample. ``split="eval"``: only the set's public **evaluation split**
    (:func:`public_eval_prompts`: never in any training split of the organism), a seeded sample of ``n``."""

    source: str | None = None
    path: str | None = None
    prompts: tuple | None = None
    attack_prompts: str | None = None
    n: int | None = None
    seed: int = 0
    split: str | None = None

    def load(self) -> list[str]:
        if self.prompts is not None:
            return list(self.prompts)
        if self.attack_prompts is not None:
            return [p for _, p in attacks.load_attack_prompts(self.attack_prompts)][:self.n]
        if not self.source and not self.path:
            raise ConfigError("a Pool needs source, path, prompts or attack_prompts")
        if self.split is not None:
            if self.split != "eval" or self.path is not None:
                raise ConfigError(f"Pool split {self.split!r}: only split='eval' (a public set's evaluation split, "
                                  "by source name) is defined")
            return public_eval_prompts(self.source or "", n=self.n, seed=self.seed)
        from ..data import load_prompts
        return load_prompts(self.source or "", path=self.path, n=self.n, seed=self.seed)


def public_eval_prompts(name: str, n: int | None = None, seed: int = 0) -> list[str]:
    """``n`` prompts (all: None) of public set ``name``'s evaluation split, a seeded sample in file order.

    The one place the protocol reads the public splits (:mod:`sri_kit.data.public_splits`)."""
    from ..data.public_splits import eval_prompts
    return eval_prompts(name, n=n, seed=seed)


def near_duplicate(a: str, b: str) -> bool:
    """Whether two requests are the same behaviour in other words (the public splits' content-word Jaccard
    rule; exact copies after normalisation included)."""
    from ..data.public_splits import near_duplicate as nd
    return nd(a, b)


@dataclass(frozen=True)
class SplitSpec:
    """How pools become disjoint splits.

    ``kind="paper"``: :func:`sri_kit.data.make_splits` of pools ``harmless`` and ``harmful`` with ``sizes``
    (``n_anchor``, ``n_train``, ``n_calib``, ``n_test_benign``, ``n_test_harmful``, ...): splits
    ``harmless_anchor``, ``harmful_anchor``, ``benign_train``, ``benign_calib``, ``benign_test``,
    ``harmful_test``. ``kind="anchor_eval"``: :func:`split_pool` of each pool in ``pools`` (name ->
    seed offset) into ``<name>_anchor`` (``n_anchor``) and ``<name>_eval`` (``n_eval``)."""

    kind: str
    harmless: str | None = None
    harmful: str | None = None
    pools: tuple = ()
    sizes: tuple = ()
    seed: int = 0


@dataclass(frozen=True)
class SetSpec:
    """One set: ``requests`` is ``pool:NAME`` or ``split:NAME``, optionally sliced ``[a:b]``; ``attack`` a
    registry name, a tuple of names (rotated: request i uses ``attack[(i + shift) % len]``) or None;
    ``phrasings`` the organism wrappers' phrasing split; request i is attacked with seed ``seed + i``;
    ``shifts`` (rotation only) concatenates one copy per shift (the matched negatives: each benign
    request in several wrappers); ``n`` keeps the first n requests. ``disjoint_from``: names of sets built
    before this one; a request equal to, or a near duplicate of (:func:`near_duplicate`), one of their
    requests is dropped before ``n`` applies (another source with the same behaviour in other words)."""

    name: str
    role: str
    requests: str
    attack: str | tuple | None = None
    phrasings: str | None = None
    seed: int = 0
    shifts: tuple = (0,)
    n: int | None = None
    attack_kwargs: tuple = ()
    disjoint_from: tuple = ()

    def __post_init__(self):
        if self.role not in ROLES:
            raise ConfigError(f"set {self.name!r}: role {self.role!r} is not one of {ROLES}")


@dataclass(frozen=True)
class Experiment:
    """An experiment as data: pools, splits, sets (plus, for the record, models, config overrides, seed)."""

    name: str
    pools: dict = field(default_factory=dict)
    splits: tuple = ()
    sets: tuple = ()
    models: tuple = ()
    config: dict = field(default_factory=dict)
    seed: int = 0


@dataclass
class AttackedSet:
    """A built set: the prompts to generate, the prefill (prefilling attacks), the underlying requests and
    one request id per prompt (``POOL:index``: the cluster of its interval), and the attack of each prompt
    (``prompt_attacks``: the rotated family of a rotated set; None for no attack). ``dropped``: requests left
    out by ``disjoint_from``."""

    name: str
    role: str
    prompts: list[str]
    prefill: str | None
    requests: list[str]
    request_ids: list[str]
    attack: str | tuple | None = None
    phrasings: str | None = None
    prompt_attacks: list = field(default_factory=list)
    dropped: int = 0


def split_pool(items: list[str], n_a: int, n_b: int, seed: int) -> tuple[list[str], list[str]]:
    """Two disjoint seeded samples of ``items`` (sizes ``n_a`` and at most ``n_b``).

    >>> split_pool(list("abcdef"), 2, 3, seed=0)
    (['d', 'c'], ['f', 'e', 'a'])
    """
    idx = np.random.default_rng(seed).permutation(len(items))
    return [items[i] for i in idx[:n_a]], [items[i] for i in idx[n_a:n_a + n_b]]


def organism_phrasings(attack: str, phrasings: str | None) -> dict:
    """``{"split": phrasings}`` for a plug-in's wrapper family (the organism's: they have phrasing splits,
    :func:`sri_kit.plugins.family_of`), else ``{}``."""
    if phrasings is None or phrasings == "n/a":
        return {}
    attacks.get(attack)                 # an unknown name: the registry's error
    return {"split": phrasings} if family_of(attack) is not None else {}


def attack_set(attack: str | None, requests: list[str], *, seed: int = 0, phrasings: str | None = None,
               lm=None, **kw) -> tuple[list[str], str | None]:
    """``(prompts, prefill)``: request i attacked with seed ``seed + i`` (its phrasing split for an organism
    family; ``lm`` for an attack that reads the model, e.g. DIJA / PAD). No attack: the requests."""
    if attack is None:
        return list(requests), None
    spec = attacks.get(attack)
    if spec.kind == "model":
        raise ConfigError(f"attack {attack!r} optimises against the model; run sri_kit.attacks.random_search and "
                          "give its prompts as a pool")
    if getattr(spec, "needs_lm", False) or attack in ("dija", "pad"):
        kw = {"lm": lm, **kw}
    prompts = [attacks.apply(attack, p, seed=seed + i, **organism_phrasings(attack, phrasings), **kw)
               for i, p in enumerate(requests)]
    return prompts, attacks.prefill_for(attack) if spec.kind == "prefill" else None


def rotate(names: tuple | list, requests: list[str], *, seed: int = 0, phrasings: str | None = None,
           shifts=(0,)) -> list[str]:
    """Request i in attack ``names[(i + shift) % len(names)]`` (seed ``seed + i``), one copy per shift."""
    names = list(names)
    if not names:
        return []
    return [attacks.apply(names[(i + j) % len(names)], r, seed=seed + i, **organism_phrasings(names[(i + j) % len(names)],
                                                                                             phrasings))
            for j in shifts for i, r in enumerate(requests)]


class _LazyPools(dict):
    """Pools loaded on first use (a set whose pool cannot load fails alone, not the experiment)."""

    def __init__(self, specs: dict):
        super().__init__()
        self.specs = specs

    def __contains__(self, k):
        return k in self.specs

    def __missing__(self, k):
        if k not in self.specs:
            raise KeyError(k)
        v = self[k] = self.specs[k].load()
        return v

    def __iter__(self):
        return iter(self.specs)

    def keys(self):
        return self.specs.keys()


_REF = re.compile(r"^(pool|split):([\w.+-]+)(?:\[(\d*):(\d*)\])?$")


def _splits(exp: Experiment, pools: dict) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for sp in exp.splits:
        sizes = dict(sp.sizes)
        if sp.kind == "paper":
            from ..data import make_splits
            out.update(make_splits(pools[sp.harmless], pools[sp.harmful], seed=sp.seed, **sizes).as_dict())
        elif sp.kind == "anchor_eval":
            for name, offset in sp.pools:
                a, b = split_pool(list(pools[name]), sizes["n_anchor"], sizes["n_eval"], sp.seed + offset)
                out[f"{name}_anchor"], out[f"{name}_eval"] = a, b
        elif sp.kind == "parts":
            for name, offset in sp.pools:
                items = list(pools[name])
                idx = np.random.default_rng(sp.seed + offset).permutation(len(items))
                lo = 0
                for part, k in sp.sizes:
                    out[f"{name}_{part}"] = [items[i] for i in idx[lo:lo + int(k)]]
                    lo += int(k)
        else:
            raise ConfigError(f"split kind {sp.kind!r} is not 'paper', 'anchor_eval' or 'parts'")
    return out


def _requests(ref: str, pools: dict, splits: dict) -> tuple[list[str], list[str]]:
    m = _REF.match(ref)
    if not m:
        raise ConfigError(f"requests {ref!r}: use pool:NAME or split:NAME, optionally sliced [a:b]")
    kind, name, a, b = m.groups()
    src = pools if kind == "pool" else splits
    if name not in src:
        raise ConfigError(f"requests {ref!r}: no {kind} {name!r}; known: {sorted(src)}")
    items = list(src[name])
    lo = int(a) if a else 0
    hi = int(b) if b else len(items)
    return items[lo:hi], [f"{name}:{i}" for i in range(lo, min(hi, len(items)))]


def build_sets(exp: Experiment, lm=None, *, only=None, errors: dict | None = None) -> dict[str, AttackedSet]:
    """Every set of ``exp`` (or those named in ``only``), in order: the one function that builds sets.

    ``errors``: when given, a set whose attack cannot be built (a dataset-backed attack without its data)
    is recorded there (name -> message) and left out instead of raising."""
    pools = _LazyPools(exp.pools)
    splits = _splits(exp, pools) if exp.splits else {}
    out: dict[str, AttackedSet] = {}
    for s in exp.sets:
        if only is not None and s.name not in only:
            continue
        try:
            reqs, ids = _requests(s.requests, pools, splits)
            dropped = 0
            if s.disjoint_from:
                missing = [d for d in s.disjoint_from if d not in out]
                if missing:
                    raise ConfigError(f"set {s.name!r}: disjoint_from names {missing}, which are not built before it "
                                      "(list them earlier in the experiment's sets)")
                others = [r for d in s.disjoint_from for r in out[d].requests]
                keep = [j for j, r in enumerate(reqs) if not any(near_duplicate(r, o) for o in others)]
                dropped = len(reqs) - len(keep)
                reqs, ids = [reqs[j] for j in keep], [ids[j] for j in keep]
            if s.n is not None:
                reqs, ids = reqs[:s.n], ids[:s.n]
            if isinstance(s.attack, (tuple, list)):
                prompts, prefill = rotate(s.attack, reqs, seed=s.seed, phrasings=s.phrasings, shifts=s.shifts), None
                names = list(s.attack)
                per = [names[(i + j) % len(names)] for j in s.shifts for i in range(len(reqs))] if names else []
                ids = [i for _ in s.shifts for i in ids]
                reqs_all = [r for _ in s.shifts for r in reqs]
            else:
                prompts, prefill = attack_set(s.attack, reqs, seed=s.seed, phrasings=s.phrasings, lm=lm,
                                              **dict(s.attack_kwargs))
                reqs_all = reqs
                per = [s.attack] * len(prompts)
        except Exception as e:           # noqa: BLE001  (recorded by callers that skip unbuildable sets)
            if errors is None:
                raise
            errors[s.name] = f"{type(e).__name__}: {e}"
            continue
        out[s.name] = AttackedSet(s.name, s.role, prompts, prefill, reqs_all, ids, s.attack, s.phrasings, per, dropped)
    return out
