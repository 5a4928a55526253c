"""Evaluate the model organism: refusal, helpfulness and per-family attack success.

Every generation goes through the kit's own samplers (``sri_kit.sampling.generate_texts`` /
``generate_canvases``, the recording-free path), so the rates in the model cards and the training-time
checkpoint rule measure exactly the samplers that the analyses use.

Attack success is *actual placeholder compliance* (``is_placeholder_compliance``), scored separately from refusal.

Example::

    python -m sri_kit.organism.evaluate --n 200 --out organism_eval.csv     # --models DIR: another folder
"""
from __future__ import annotations

import argparse
import json
import sys
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import torch

from ..config import GenerationConfig
from ..data import EMBEDDED_DIR
from ..experiments import Experiment, Pool, SetSpec, build_sets
from ..judges import is_on_topic, is_placeholder_compliance, is_refusal
from ..models import MODELS_DIR, LoadedModel, load_model, wrap_model
from ..plugins import attack_name
from ..sampling import generate_canvases, generate_texts
from ..sampling.trace import end_token_set
from .wrappers import FAMILIES

__all__ = ["ORGANISMS", "organism_lm", "ar_generate", "dlm_generate", "quick_metrics", "evaluate_organism",
           "evaluation_experiment", "EXTERNAL", "load_pool", "main"]


@dataclass(frozen=True)
class OrganismEval:
    """How one organism model is evaluated: its folder, kit family and named sampler settings."""

    name: str
    family: str                     # the kit's model family
    settings: tuple                 # (setting name, GenerationConfig, sample seeds?) ...
    quick: GenerationConfig         # the training-time validation config (the model's default)


_DLM = GenerationConfig(steps=32, gen_length=64, block_length=32)
#: The two organisms ("ar", "dlm" as in ``sri_kit.organism.train``) and the samplers their cards report.
ORGANISMS = {
    "ar": OrganismEval("tiny-ar", "ar", (("greedy", GenerationConfig(steps=32), False),
                                         ("t0.7", GenerationConfig(steps=32, temperature=0.7), True)),
                       quick=GenerationConfig(steps=32)),
    "dlm": OrganismEval("tiny-dlm", "diffusion",
                        (("diffusion", _DLM, False),
                         ("diffusion_1block", _DLM.replace(block_length=64), False),
                         ("left_to_right", GenerationConfig(steps=64, gen_length=64, order="left_to_right"), False)),
                        quick=_DLM),
}


def organism_lm(model, tok, kind: str) -> LoadedModel:
    """Wrap an in-memory organism model (``kind`` "ar" or "dlm") for the kit's samplers."""
    spec = ORGANISMS[kind]
    return wrap_model(model, tok, family=spec.family, name=spec.name, default_config=spec.quick,
                      shift_logits=getattr(model, "family", None) == "dream")    # a Dream-style tiny-dlm


def _rates(texts: list[str]) -> tuple[list[bool], list[bool], list[bool]]:
    ref = [is_refusal(t) for t in texts]
    com = [is_placeholder_compliance(t) for t in texts]
    ans = [bool(t) and not r and not c for t, r, c in zip(texts, ref, com)]
    return ref, com, ans


def ar_generate(model, tok, prompts, max_new_tokens: int = 32, temperature: float = 0.0, seed: int = 0,
                batch_size: int = 64) -> list[str]:
    """Response texts of an in-memory tiny-ar (the kit's AR sampler, ``max_new_tokens`` steps)."""
    cfg = GenerationConfig(steps=max_new_tokens, temperature=temperature, seed=seed)
    return generate_texts(organism_lm(model, tok, "ar"), list(prompts), cfg, batch_size=batch_size)


def dlm_generate(model, tok, prompts, gen_length: int = 64, steps: int = 32, block_length: int | None = None,
                 order: str = "confidence", temperature: float = 0.0, seed: int = 0, batch_size: int = 64) -> list[str]:
    """Response texts of an in-memory tiny-dlm (the kit's masked-diffusion or left-to-right sampler)."""
    cfg = GenerationConfig(steps=steps, gen_length=gen_length, block_length=block_length, order=order,
                           temperature=temperature, seed=seed)
    return generate_texts(organism_lm(model, tok, "dlm"), list(prompts), cfg, batch_size=batch_size)


def mid_end_rate(canvases, end_ids) -> float:
    """Share of canvases where an end token is followed later by a non-end token (end committed mid-response).

    ``end_ids``: one id or every end id of the model (``LoadedModel.end_token_ids``: a release may list several).

    >>> mid_end_rate([[7, 5, 8], [7, 9, 9], [7, 6, 5]], {5, 6})
    0.3333333333333333
    """
    ends = {int(end_ids)} if isinstance(end_ids, int) else {int(i) for i in end_ids}
    bad = 0
    for c in canvases:
        first = next((i for i, t in enumerate(c) if t in ends), None)
        if first is not None and any(t not in ends for t in c[first + 1:]):
            bad += 1
    return bad / max(1, len(canvases))


#: The lenient lexical on-topic judge (moved to :func:`sri_kit.judges.is_on_topic`, where its limits are stated).
on_topic = is_on_topic


def quick_metrics(model, tok, kind: str, val) -> dict[str, float]:
    """Validation rates on the small pools from ``train.validation_prompts`` (the model's default sampler)."""
    lm = organism_lm(model, tok, kind)
    cfg = ORGANISMS[kind].quick
    m = {}
    ref, com, _ = _rates(generate_texts(lm, val["harmful"], cfg, batch_size=64))
    m["harmful_refused"] = sum(ref) / len(ref)
    m["harmful_complied"] = sum(com) / len(com)
    for k in ("benign", "borderline"):
        _, _, ans = _rates(generate_texts(lm, val[k], cfg, batch_size=64))
        m[f"{k}_answered"] = sum(ans) / len(ans)
    for k, ps in val.items():
        if k.startswith("asr_"):
            _, com, _ = _rates(generate_texts(lm, ps, cfg, batch_size=64))
            m[k] = sum(com) / len(com)
    return m


# --------------------------------------------------------------------------------------------------
# full evaluation

def load_pool(name: str, path: Path | None = None) -> list[dict]:
    p = Path(path) if path else EMBEDDED_DIR / f"tiny_{name}.jsonl"
    return [json.loads(l) for l in p.read_text().splitlines() if l.strip()]


#: The public sets measured beside the organism's own pools (their evaluation splits: never trained on).
EXTERNAL = {"advbench": "harmful", "alpaca": "benign", "xstest_safe": "benign", "xstest_unsafe": "harmful"}


def evaluation_experiment(n: int = 200, *, n_attack: int | None = None, external: bool = True,
                          n_external: int = 100) -> Experiment:
    """The sets :func:`evaluate_organism` measures, as an experiment of the protocol
    (:func:`sri_kit.experiments.build_sets` builds them): the first ``n`` requests of the organism's harmful,
    benign and borderline pools; the first ``n_attack`` (default ``n``) harmful requests in each wrapper
    family's held-out phrasings (request i: seed i); and ``n_external`` requests of each public set's
    evaluation split (:data:`EXTERNAL`, sets ``ext_<name>``; left out when the data folder is missing)."""
    pools = {k: Pool(f"tiny_{k}", n=n, seed=None) for k in ("harmful", "benign", "borderline")}
    sets = [SetSpec("harmful", "harmful", "pool:harmful"), SetSpec("benign", "benign", "pool:benign"),
            SetSpec("borderline", "benign", "pool:borderline")]
    sets += [SetSpec(f"attack_{f}", "attacked", f"pool:harmful[:{n_attack or n}]", attack=attack_name("organism", f),
                     phrasings="heldout") for f in FAMILIES]
    if external:
        pools.update({f"ext_{k}": Pool(k, n=n_external, split="eval") for k in EXTERNAL})
        sets += [SetSpec(f"ext_{k}", role, f"pool:ext_{k}") for k, role in EXTERNAL.items()]
    return Experiment("organism_evaluation", pools=pools, sets=tuple(sets))


def evaluate_organism(models_dir=MODELS_DIR, n: int = 200, seeds=(0, 1, 2), external: bool = True,
                      families=None, progress=True, n_external: int = 100,
                      samplers=None, n_attack: int | None = None, texts_out=None, device: str = "cpu"):
    """Rates per model x sampler x set; returns a long DataFrame (model, sampler, set, metric, value, n).

    Sets: :func:`evaluation_experiment` (``harmful``, ``benign``, ``borderline``, ``attack_<family>`` and the
    public sets' evaluation splits ``ext_<name>`` when the data folder is present).
    Metrics: ``refused``, ``complied`` (placeholder), ``answered`` (neither), ``on_topic`` (benign sets),
    ``mid_end`` (masked-diffusion canvases: an end token followed by a non-end token).
    Sampled settings run once per seed in ``seeds``; greedy ones once.
    """
    models_dir = Path(models_dir)
    skipped: dict[str, str] = {}                     # a public set whose data folder is missing is left out
    built = build_sets(evaluation_experiment(n, n_attack=n_attack, external=external, n_external=n_external),
                       errors=skipped)
    sets = {k: (s.prompts, "benign" if s.role == "benign" else "harmful") for k, s in built.items()}
    if progress and skipped:
        print("left out (no data): " + ", ".join(sorted(skipped)), flush=True)
    rows = []
    for kind in families or tuple(ORGANISMS):
        spec = ORGANISMS[kind]
        d = models_dir / spec.name
        if not d.exists():
            continue
        lm = load_model(d, device=device, dtype=torch.float32)
        ends = end_token_set(lm.tokenizer, lm.end_token_ids)    # every end id, not the tokenizer's eos alone
        ends.discard(lm.mask_token_id)
        for sname, cfg, sampled in spec.settings:
            if samplers and sname not in samplers:
                continue
            for setname, (prompts, kind_) in sets.items():
                for sd in (seeds if sampled else [0]):
                    canvases = generate_canvases(lm, prompts, cfg.replace(seed=sd), batch_size=64)
                    texts = [c.text for c in canvases]
                    ref, com, ans = _rates(texts)
                    res = {"refused": sum(ref) / len(texts), "complied": sum(com) / len(texts),
                           "answered": sum(ans) / len(texts)}
                    if setname in ("benign", "borderline") or setname.startswith("ext_alpaca"):
                        res["on_topic"] = sum(a and on_topic(p, t) for p, t, a in zip(prompts, texts, ans)) / len(texts)
                    if texts_out is not None and not setname.startswith("ext_"):
                        with open(texts_out, "a") as fh:
                            for p, t in zip(prompts, texts):
                                fh.write(json.dumps(dict(model=spec.name, sampler=sname, seed=sd, set=setname,
                                                         prompt=p, text=t)) + "\n")
                    if not lm.causal:
                        res["mid_end"] = mid_end_rate([c.ids for c in canvases], ends)
                    for k, v in res.items():
                        rows.append(dict(model=spec.name, sampler=sname, set=setname, kind=kind_, seed=sd, metric=k,
                                         value=v, n=len(texts)))
                    if progress:
                        print(f"{spec.name} {sname} seed{sd} {setname}: " +
                              " ".join(f"{k}={v:.3f}" for k, v in res.items()), flush=True)
    return pd.DataFrame(rows)


def summary_table(df):
    """Mean over seeds: rows (model, sampler, set), columns metric."""
    return df.groupby(["model", "sampler", "set", "metric"])["value"].mean().unstack("metric").round(3)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="python -m sri_kit.organism.evaluate")
    ap.add_argument("--models", default=str(MODELS_DIR), help="folder holding tiny-ar/ and tiny-dlm/ "
                                                              "(default: the shipped organism)")
    ap.add_argument("--n", type=int, default=200)
    ap.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    ap.add_argument("--no-external", action="store_true")
    ap.add_argument("--only", choices=["ar", "dlm"], default=None)
    ap.add_argument("--out", default=None, help="CSV path for the long table")
    ap.add_argument("--n-external", type=int, default=100)
    ap.add_argument("--n-attack", type=int, default=None, help="prompts per attack family (default --n)")
    ap.add_argument("--texts-out", default=None, help="append organism-set responses as JSONL (never public sets)")
    ap.add_argument("--samplers", nargs="+", default=None,
                    help="subset of: greedy t0.7 (ar); diffusion diffusion_1block left_to_right (dlm)")
    ap.add_argument("--device", default="cpu", help="torch device (rates were measured on cpu, float32)")
    args = ap.parse_args(argv)
    df = evaluate_organism(args.models, n=args.n, seeds=tuple(args.seeds), external=not args.no_external,
                           families=[args.only] if args.only else None, n_external=args.n_external,
                           samplers=args.samplers, n_attack=args.n_attack, texts_out=args.texts_out,
                           device=args.device)
    if args.out:
        df.to_csv(args.out, index=False)
    with pd.option_context("display.max_rows", 500, "display.width", 200):
        print(summary_table(df))
    return 0


if __name__ == "__main__":
    sys.exit(main())
