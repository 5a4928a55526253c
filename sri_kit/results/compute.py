"""Compute the rate tables of one model into the store: plain sets, the organism's wrapper families, the
paper's attack templates, and (for a DLM) diffusion vs left-to-right on the same weights.

Every generation is text only (:func:`sri_kit.sampling.generate_texts`, batch 32), read from or written
to the generation cache (:mod:`sri_kit.cache`: keyed by model fingerprint, config key and prompt hash,
checksummed, atomic), so an interrupted run resumes and the paired comparison needs no second generation. Tables are rewritten after every cell, with ``complete`` False and
the missing cells listed until the run ends.

Names cannot be confused: organism wrapper families are ``wrapper/<family>`` (registry name e.g.
``organism_flip``), the paper's attacks ``paper/<name>`` (e.g. ``paper/FlipAttack``, registry ``flip``),
unwrapped pools ``plain/<pool>``. Requests are always the held-out organism pools (``sri_kit/_data/prompts``);
``phrasings`` says which wrapper phrasings were used.
"""
from __future__ import annotations

import os
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .. import attacks
from ..cache import GenerationCache
from ..config import GenerationConfig
from ..errors import ConfigError
from ..judges import is_placeholder_compliance, is_refusal
from ..models import LoadedModel
from ..plugins import attack_name, wrapper_families
from ..resources import user_cache_dir
from ..sampling import generate_texts, get_sampler
from ..stats import paired_difference
from .schema import Column, Table, clustered_rate
from .store import ResultsStore, producing_code, provenance

__all__ = ["MODES", "PRIORITY", "PromptSet", "prompt_sets", "compute_order", "samplers_for", "compute_model", "paired_delta",
           "judge_cell", "cache_dir"]

#: Prompts per set (and per attack) in each mode. Report: a rate's 95 % interval (one generation per
#: request: Wilson) is at most about ±10 points; quick: about ±20 (CI-size checks only).
MODES = {"quick": 24, "report": 100}

#: The paper's attack templates measured here: registry name -> label (random_search is model-optimised
#: and measured by scripts/attack_success.py; random_search_template exceeds the organism's context).
PAPER_ATTACKS = {"refusal_suppression": "paper/refusal-suppression (Wei et al. rules)",
                 "flip": "paper/FlipAttack", "prefill": "paper/prefill", "template": "paper/templates (in the wild)",
                 "dija": "paper/DIJA", "pad": "paper/PAD", "pair": "paper/PAIR (JBB prompts, own goals)"}


@dataclass(frozen=True)
class PromptSet:
    """A labelled set: ``label`` (unique, shown in tables), ``source`` ("plain", "organism wrapper",
    "paper attack"), ``attack`` (registry name or None), ``pool`` and ``phrasings`` (a ``SPLITS`` key)."""

    label: str
    table: str
    source: str
    attack: str | None
    pool: str
    phrasings: str


def wrapper_registry_name(family: str) -> str:
    """The registry name of an organism family (``organism_<family>`` where a paper attack took the name)."""
    return attack_name("organism", family)


def prompt_sets(mode: str) -> list[PromptSet]:
    """Every set of a mode, in computing order (report mode adds the wrappers' training phrasings last)."""
    out = [PromptSet(f"plain/{p}", "plain", "plain", None, f"tiny_{p}", "n/a")
           for p in ("harmful", "benign", "borderline")]
    out += [PromptSet(f"wrapper/{f}", "wrappers", "organism wrapper", wrapper_registry_name(f), "tiny_harmful",
                      "heldout") for f in wrapper_families("organism").families]
    out += [PromptSet(lab, "paper_attacks", "paper attack", a, "jbb_pair" if a == "pair" else "tiny_harmful", "n/a")
            for a, lab in PAPER_ATTACKS.items()]
    if mode == "report":
        out += [PromptSet(f"wrapper/{f}", "wrappers", "organism wrapper", wrapper_registry_name(f),
                          "tiny_harmful", "train") for f in wrapper_families("organism").families]
    return out


#: Computing order (the rest follows in table order): the cells docs and issues cite first, so an
#: interrupted run has the most-read numbers.
PRIORITY = ("wrapper/roleplay", "wrapper/fiction", "plain/harmful", "paper/FlipAttack", "wrapper/flip",
            "paper/refusal-suppression (Wei et al. rules)", "wrapper/refusal_suppression", "wrapper/prefix_injection",
            "wrapper/random_suffix", "plain/benign", "plain/borderline")


def compute_order(sets: list[PromptSet]) -> list[PromptSet]:
    """``sets`` with held-out phrasings before training ones and :data:`PRIORITY` labels first."""
    rank = {lab: i for i, lab in enumerate(PRIORITY)}
    return sorted(sets, key=lambda ps: (ps.phrasings == "train", rank.get(ps.label, len(rank))))


def samplers_for(lm: LoadedModel) -> list[tuple[str, GenerationConfig]]:
    """The model's default decoding, plus left-to-right for a model that sampler can decode (a DLM)."""
    c = lm.default_config
    out = [("greedy" if lm.causal else "diffusion", c)]
    if not lm.causal and lm.family in get_sampler("left_to_right").families:
        out.append(("left-to-right", c.replace(order="left_to_right", steps=c.gen_length, block_length=None)))
    return out


def cache_dir(model: str) -> Path:
    """The per-prompt cell cache of ``model``: ``$SRI_KIT_RESULTS_CACHE/<model>`` (default ``<user cache>/results``: ``$SRI_KIT_CACHE``,
    ``$XDG_CACHE_HOME/sri_kit`` or ``~/.cache/sri_kit``)."""
    root = os.environ.get("SRI_KIT_RESULTS_CACHE") or user_cache_dir("results")
    return Path(root) / model


def judge_cell(lm, prompts, cfg, prefill: str | None = None, *, judges: dict | None = None,
               cache: GenerationCache | None = None, cached_only: bool = False) -> dict | None:
    """Generate (sorted by length for less padding; texts from the generation cache when there) and judge;
    bits only, in prompt order. ``cached_only``: None instead of generating.

    ``refused`` and ``complied`` always; ``judges`` adds a bit string per name, ``judge(prompt, response)``."""
    order = sorted(range(len(prompts)), key=lambda i: len(prompts[i]))
    cache = cache if cache is not None else GenerationCache()

    def refuse(*_):
        raise _NotCached

    try:
        texts, secs, _ = cache.texts(lm, [prompts[i] for i in order], cfg, prefill=prefill,
                                     generate=refuse if cached_only else None)
    except _NotCached:
        return None
    resp = [""] * len(prompts)
    for j, i in enumerate(order):
        resp[i] = (prefill or "") + texts[j]
    return {"refused": "".join("1" if is_refusal(r) else "0" for r in resp),
            "complied": "".join("1" if is_placeholder_compliance(r) else "0" for r in resp), "seconds": secs,
            **{name: "".join("1" if judge(p, r) else "0" for p, r in zip(prompts, resp))
               for name, judge in (judges or {}).items()}}


class _NotCached(Exception):
    pass


def _attacked(ps: PromptSet, lm, n: int, seed: int) -> tuple[list[str], str | None]:
    """The prompts and prefill of one set, built by the experiment protocol (:mod:`sri_kit.experiments`)."""
    from ..experiments import build_sets, rate_set_name, rates_experiment
    built = build_sets(rates_experiment([ps], n, seed), lm)[rate_set_name(ps.label, ps.phrasings)]
    return built.prompts, built.prefill


def paired_delta(a: str, b: str, n_boot: int = 2000, seed: int = 0) -> dict:
    """``rate(b) - rate(a)`` over the same prompts (bit strings a, b; prompt i = request i) with a 95 % CI,
    bootstrap over requests (:func:`sri_kit.stats.paired_difference`)."""
    x = np.array([c == "1" for c in a], float)
    y = np.array([c == "1" for c in b], float)
    return paired_difference(x, y, list(range(len(x))), n_boot=n_boot, seed=seed)


_RATE_COLS = [Column("refused", "refused", "rate"), Column("complied", "attack success (complied)", "rate"),
              Column("other", "other (neither)", "rate")]
_TABLES = {
    "plain": ("Plain held-out pools: refusal and compliance",
              [Column("set", "set"), Column("sampler", "sampler"), Column("n", "n", "int"),
               Column("refused", "refused", "rate"), Column("complied", "complied (placeholder)", "rate"),
               Column("other", "answered (neither)", "rate")], "n/a"),
    "wrappers": ("The organism's wrapper families (sri_kit.organism.wrappers), on held-out requests",
                 [Column("attack", "attack"), Column("registry", "registry name"), Column("phrasings", "phrasings"),
                  Column("sampler", "sampler"), Column("n", "n", "int")] + _RATE_COLS, "mixed"),
    "paper_attacks": ("The paper's attack templates (sri_kit.attacks), on held-out requests",
                      [Column("attack", "attack"), Column("registry", "registry name"), Column("sampler", "sampler"),
                       Column("n", "n", "int")] + _RATE_COLS + [Column("error", "not measured because")], "n/a"),
}


def _row(ps: PromptSet, sampler: str, cell: dict | None, error: str | None = None) -> dict:
    r = {"set": ps.label, "attack": ps.label, "registry": ps.attack or "none", "phrasings": ps.phrasings,
         "sampler": sampler}
    if cell is None:
        r.update(n=0, refused=None, complied=None, other=None, error=error)
        return r
    ref = [c == "1" for c in cell["refused"]]
    com = [c == "1" for c in cell["complied"]]
    n = len(ref)
    req = list(range(n))            # one generation per request (prompt i = request i)
    r.update(n=n, refused=clustered_rate(ref, req), complied=clustered_rate(com, req),
             other=clustered_rate([not a and not b for a, b in zip(ref, com)], req), error=error)
    return r


def compute_model(lm: LoadedModel, mode: str = "quick", *, store: ResultsStore | None = None, seed: int = 0,
                  n: int | None = None, command: str = "", progress: bool = True,
                  only_samplers=None, cached_only: bool = False, cache_root=None) -> list[Table]:
    """Compute (or resume) the rate tables of ``lm`` and write them to ``store``; returns the tables.

    ``only_samplers``: generate only these samplers' cells (two processes can share a model's work; a
    final run without it assembles every cell from the cache). ``cached_only``: generate nothing, write
    the tables from the cached cells (the rest stays pending). Generations come from the generation cache
    (:class:`sri_kit.cache.GenerationCache`, ``cache_root`` or the user's cache folder), so a run killed at
    any point resumes and writes the same tables."""
    if mode not in MODES:
        raise ConfigError(f"mode {mode!r} is not one of {sorted(MODES)}")
    n = n or MODES[mode]
    store = store or ResultsStore()
    samplers = samplers_for(lm)
    sets = prompt_sets(mode)
    prov = provenance(producing_code("rates", [lm.name]))
    cells: dict[tuple[str, str, str], tuple[dict | None, str | None]] = {}
    seconds = {k: 0.0 for k in _TABLES}
    gen_cache = GenerationCache(cache_root) if cache_root is not None else GenerationCache()

    def emit(final: bool) -> list[Table]:
        out = []
        for tname, (title, cols, split) in _TABLES.items():
            rows, pending = [], []
            for ps in sets:
                if ps.table != tname:
                    continue
                for s, _ in samplers:
                    key = (ps.label, ps.phrasings, s)
                    if key in cells:
                        rows.append({c.key: _row(ps, s, *cells[key])[c.key] for c in cols})
                    else:
                        pending.append(f"{ps.label} [{ps.phrasings}] {s}")
            t = Table(model=lm.name, name=tname, title=title, split=split, n=n, seed=seed, mode=mode, columns=cols,
                      rows=rows, prompts=_prompts_note(tname, n, seed),
                      configs={s: {"key": c.key(), "fields": c.to_dict()} for s, c in samplers},
                      command=command, compute_seconds=round(seconds[tname], 1), complete=not pending,
                      pending=pending, notes=_NOTES[tname], **prov)
            store.write(t)
            out.append(t)
        if any(s == "left-to-right" for s, _ in samplers):
            out.append(_fixed_weights(lm.name, sets, cells, n, seed, mode, command, prov, samplers, store))
        return out

    emit(False)                     # every table exists (incomplete) from the start
    for ps in compute_order(sets):
        try:
            prompts, prefill = _attacked(ps, lm, n, seed)
        except Exception as e:      # noqa: BLE001  (a dataset-backed attack without its data): recorded
            for s, _ in samplers:
                cells[(ps.label, ps.phrasings, s)] = (None, f"{type(e).__name__}: {e}")
            continue
        for s, cfg in samplers:
            if only_samplers and s not in only_samplers:
                continue
            try:
                cell = judge_cell(lm, prompts, cfg, prefill, cache=gen_cache, cached_only=cached_only)
                if cell is None:
                    continue
                cells[(ps.label, ps.phrasings, s)] = (cell, None)
                seconds[ps.table] += cell["seconds"]
                if progress:
                    print(f"{lm.name} {s} {ps.label} [{ps.phrasings}] n={len(prompts)}: refused "
                          f"{cell['refused'].count('1')}, complied {cell['complied'].count('1')} "
                          f"({cell['seconds']:.0f} s)", flush=True)
            except Exception as e:  # noqa: BLE001  (e.g. DIJA masks under left-to-right): recorded in the table
                cells[(ps.label, ps.phrasings, s)] = (None, f"{type(e).__name__}: {str(e)[:160]}")
        emit(False)
    return emit(True)


_NOTES = {
    "plain": "Held-out organism pools, no wrapper. complied = the organism's placeholder "
             "(is_placeholder_compliance); refused = the paper's refusal dictionary; answered = neither.",
    "wrappers": "Organism wrapper families applied to held-out harmful requests; phrasings = which of the "
                "family's phrasings (held-out: never in training; train: used in training). Attack success = "
                "placeholder compliance; other = neither refused nor complied (not a success).",
    "paper_attacks": "The paper's templates (not the organism's wrappers: paper/FlipAttack is not wrapper/flip). "
                     "They have no training/held-out phrasing split. random_search (model-optimised) is in "
                     "docs/ATTACKS.md's random-search table when measured.",
}


def _prompts_note(table: str, n: int, seed: int) -> dict:
    if table == "plain":
        return {"pools": "tiny_harmful, tiny_benign, tiny_borderline (held-out organism requests)",
                "selection": f"load_prompts(pool, n={n}, seed={seed})"}
    return {"requests": "tiny_harmful (held-out organism requests)",
            "selection": f"load_prompts('tiny_harmful', n={n}, seed={seed}); prompt i attacked with seed {seed} + i",
            "pair": "paper/PAIR uses the JailbreakBench PAIR prompts (their own goals), first n"}


def _fixed_weights(model, sets, cells, n, seed, mode, command, prov, samplers, store) -> Table:
    """Same weights, diffusion vs left-to-right, paired over prompts (Table 2 analogue)."""
    cols = [Column("attack", "attack"), Column("phrasings", "phrasings"), Column("n", "n", "int"),
            Column("rr_diffusion", "refused, diffusion", "rate"), Column("rr_l2r", "refused, left-to-right", "rate"),
            Column("delta_rr", "ΔRR = diff − l2r (pp) [95 % CI]", "pp"),
            Column("asr_diffusion", "success, diffusion", "rate"), Column("asr_l2r", "success, left-to-right", "rate"),
            Column("delta_asr", "ΔASR = l2r − diff (pp) [95 % CI]", "pp")]
    rows, pending = [], []
    for ps in sets:
        if ps.label in ("plain/benign", "plain/borderline"):
            continue
        ka, kb = (ps.label, ps.phrasings, "diffusion"), (ps.label, ps.phrasings, "left-to-right")
        if ka not in cells or kb not in cells:
            pending.append(f"{ps.label} [{ps.phrasings}]")
            continue
        a, b = cells[ka][0], cells[kb][0]
        if a is None or b is None:      # not measurable under one sampler (e.g. DIJA left to right)
            continue
        k = len(a["refused"])

        def cr(bits):
            return clustered_rate([c == "1" for c in bits], list(range(k)))
        rows.append({"attack": ps.label, "phrasings": ps.phrasings, "n": k,
                     "rr_diffusion": cr(a["refused"]), "rr_l2r": cr(b["refused"]),
                     "delta_rr": paired_delta(b["refused"], a["refused"], seed=seed),
                     "asr_diffusion": cr(a["complied"]), "asr_l2r": cr(b["complied"]),
                     "delta_asr": paired_delta(a["complied"], b["complied"], seed=seed)})
    t = Table(model=model, name="fixed_weights", title="Same weights: diffusion vs left-to-right (Table 2 analogue)",
              split="mixed", n=n, seed=seed, mode=mode, columns=cols, rows=rows,
              configs={s: {"key": c.key(), "fields": c.to_dict()} for s, c in samplers}, command=command,
              notes="Positive Δ = diffusion safer (the paper's sign). CIs: paired bootstrap over requests "
                    "(2000 resamples, seeded; docs/STATISTICS.md); the same prompts under both samplers.",
              compute_seconds=None, complete=not pending, pending=pending, **prov)
    store.write(t)
    return t
