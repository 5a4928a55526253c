"""What every report section reads: the models and configs, the prompt splits, the attacked prompts
and the generations of each sampler (with its SRI centers)."""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .. import sampling            # the module: sampling.generate is looked up at call time (tests patch it)
from ..attacks import names as attack_registry
from ..config import GenerationConfig
from ..judges import PlaceholderComplianceJudge
from ..sri import Centers, sri_signal

__all__ = ["ATTACKS_FULL", "ATTACKS_QUICK", "ReportContext", "make_context", "generate_all"]

from ..experiments.definitions import MATCHED_PER_PROMPT, REPORT_ATTACKS_FULL as ATTACKS_FULL
from ..experiments.definitions import REPORT_ATTACKS_QUICK as ATTACKS_QUICK


@dataclass
class ReportContext:
    """Inputs and generations shared by the sections.

    ``samplers``: name -> (model, config) for "AR", "diffusion" and "left-to-right" (the same DLM
    weights decoded one token per step). ``gens[s]``: "anchor_h", "anchor_b", "benign", "attacks"
    (attack -> traces), "centers" (None when they could not be fitted, with "centers_error").
    """

    ar_lm: object
    dlm_lm: object
    acfg: GenerationConfig
    dcfg: GenerationConfig
    lcfg: GenerationConfig
    n_anchor: int
    h_anchor: list[str]
    h_eval: list[str]
    b_anchor: list[str]
    b_eval: list[str]
    prompts_by_attack: dict[str, list[str]]
    matched_benign: list[str]
    prefills: dict[str, str]
    skipped_attacks: list[str]
    seed: int
    quick: bool
    progress: bool
    layers: tuple
    judge: PlaceholderComplianceJudge = field(default_factory=PlaceholderComplianceJudge)
    gens: dict = field(default_factory=dict)
    cache: object = None            # a sri_kit.cache.GenerationCache: generations read from / written to it

    @property
    def samplers(self) -> dict:
        return {"AR": (self.ar_lm, self.acfg), "diffusion": (self.dlm_lm, self.dcfg),
                "left-to-right": (self.dlm_lm, self.lcfg)}

    def generate(self, lm, prompts, cfg, prefill=None, sites=None) -> list:
        """Traces of ``prompts`` (recording the extra ``sites`` too, when given): from the generation cache when
        the context has one, else generated. Every section generates through this, so a rerun with a warm cache
        generates nothing."""
        def gen(lm_, ps, c, pf):
            return sampling.generate(lm_, ps, c, progress=self.progress, prefill=pf, sites=sites)
        if self.cache is None:
            return gen(lm, prompts, cfg, prefill)
        return self.cache.traces(lm, prompts, cfg, prefill=prefill, generate=gen, sites=sites)

    def sigma_of(self, s: str, trs) -> np.ndarray:
        """σ [N, T] of traces ``trs`` against sampler ``s``'s centers (an error when it has none)."""
        c = self.gens[s]["centers"]
        if c is None:
            raise RuntimeError(f"no centers for the {s} sampler: {self.gens[s]['centers_error']}")
        return sri_signal(trs, c)

    def all_attack(self, s: str, skip_raw: bool = True) -> list:
        """Every attack generation of sampler ``s`` (``skip_raw``: without the unwrapped "none" prompts)."""
        return [t for a, trs in self.gens[s]["attacks"].items() if not (skip_raw and a == "none") for t in trs]

    def attack_requests(self, s: str, skip_raw: bool = True) -> list[str]:
        """The request id of each generation of :meth:`all_attack` (``h<i>``: harmful evaluation request i).

        Every attack wraps the same evaluation requests in order, so generation j of an attack belongs to
        request j: the unit the intervals are clustered by (docs/STATISTICS.md)."""
        return [f"h{i}" for a, trs in self.gens[s]["attacks"].items() if not (skip_raw and a == "none")
                for i in range(len(trs))]

    def matched_requests(self) -> list[str]:
        """The request id of each matched benign prompt (``b<i>``: benign evaluation request i)."""
        nb = len(self.b_eval)
        return [f"b{i % nb}" for i in range(len(self.matched_benign))] if nb else []

    def succeeded(self, trs) -> np.ndarray:
        """bool [N]: the judge on each trace's response."""
        return np.array(self.judge([t.prompt for t in trs], [t.response for t in trs]), bool)


def make_context(ar_lm, dlm_lm, *, quick: bool, seed: int, harmful_pool, benign_pool, n_anchor, n_eval, ar_cfg,
                 dlm_cfg, progress: bool, attack_names, layers) -> ReportContext:
    """Build the report's sets with the experiment protocol (:func:`sri_kit.experiments.report_experiment`:
    anchors vs evaluation requests, the attacked sets, the matched negatives) and resolve the configs."""
    from dataclasses import replace

    from ..experiments import build_sets, report_experiment, report_matched
    exp = report_experiment(quick=quick, seed=seed, n_anchor=n_anchor, n_eval=n_eval, attack_names=attack_names,
                            harmful_pool=harmful_pool, benign_pool=benign_pool, registered=set(attack_registry()))
    errors: dict = {}
    built = build_sets(exp, errors=errors)
    attacked = {k.split(":", 1)[1]: v for k, v in built.items() if k.startswith("attack:")}
    skipped = [f"{k.split(':', 1)[1]} ({e.split(': ', 1)[-1]})" for k, e in errors.items()]
    matched = []
    spec = report_matched(list(attacked), seed)
    if spec is not None:
        matched = build_sets(replace(exp, sets=exp.sets + (spec,)), only={spec.name})[spec.name].prompts
    acfg = ar_cfg or ar_lm.default_config
    dcfg = dlm_cfg or dlm_lm.default_config
    lcfg = dcfg.replace(order="left_to_right", steps=dcfg.gen_length, block_length=None)
    return ReportContext(ar_lm=ar_lm, dlm_lm=dlm_lm, acfg=acfg, dcfg=dcfg, lcfg=lcfg, n_anchor=exp.config["n_anchor"],
                         h_anchor=built["harmful_anchor"].prompts, h_eval=built["harmful_eval"].prompts,
                         b_anchor=built["benign_anchor"].prompts, b_eval=built["benign_eval"].prompts,
                         prompts_by_attack={a: v.prompts for a, v in attacked.items()}, matched_benign=matched,
                         prefills={a: v.prefill for a, v in attacked.items() if v.prefill is not None},
                         skipped_attacks=skipped, seed=seed, quick=quick, progress=progress, layers=tuple(layers))


def matched_benign(benign: list[str], attack_names: list[str], seed: int, per_prompt: int = MATCHED_PER_PROMPT) -> list[str]:
    """Benign prompts in the same wrappers as the jailbreaks (the Table 4 analogue's matched negatives):
    benign prompt ``i`` wrapped in ``per_prompt`` of the attacks, rotating (attack ``(i + j) mod F``), each
    with the seed that attack gives prompt ``i`` (``seed + i``) and the same phrasings
    (:func:`sri_kit.experiments.rotate`)."""
    from ..experiments import rotate
    names = list(attack_names)
    return rotate(names, list(benign), seed=seed, phrasings="heldout", shifts=range(min(per_prompt, len(names))))


def generate_all(ctx: ReportContext) -> None:
    """Generate anchors, benign and attack prompts with every sampler and fit its centers."""
    for s, (lm, cfg) in ctx.samplers.items():
        g = {"anchor_h": ctx.generate(lm, ctx.b_anchor, cfg), "anchor_b": ctx.generate(lm, ctx.h_anchor, cfg),
             "benign": ctx.generate(lm, ctx.b_eval, cfg),
             "attacks": {a: ctx.generate(lm, p, cfg, ctx.prefills.get(a)) for a, p in ctx.prompts_by_attack.items()}}
        try:
            g["centers"] = Centers.fit(g["anchor_h"], g["anchor_b"])
        except ValueError as e:
            g["centers"] = None
            g["centers_error"] = str(e)
        ctx.gens[s] = g
