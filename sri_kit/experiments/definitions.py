"""The kit's experiments as data: the results store's rate tables, the analysis report, the guard diagnosis.

Each function returns an :class:`~sri_kit.experiments.Experiment`; :func:`~sri_kit.experiments.build_sets`
builds its prompts. Their prompt lists are pinned by ``tests/test_experiments.py`` (equal, prompt for
prompt, to what the stored tables were computed from).
"""
from __future__ import annotations

from ..errors import ConfigError as ConfigError_
from .protocol import Experiment, Pool, SetSpec, SplitSpec

__all__ = ["rates_experiment", "rate_set_name", "report_experiment", "report_matched", "guard_diagnosis_experiment",
           "guard_cross_source_experiment", "REPORT_ATTACKS_FULL", "REPORT_ATTACKS_QUICK", "MATCHED_PER_PROMPT",
           "ORG_FAMILIES", "GUARD_PAPER_ATTACKS", "GUARD_SIZES", "GUARD_XS_SCALES", "GUARD_XS_SOURCES",
           "GUARD_XS_ARTIFACTS"]

#: Report attacks, in table order (those not registered are skipped).
REPORT_ATTACKS_FULL = ("none", "refusal_suppression", "organism_refusal_suppression", "roleplay", "fiction",
                       "prefix_injection", "random_suffix", "organism_flip", "flip", "prefill")
REPORT_ATTACKS_QUICK = ("none", "organism_refusal_suppression", "roleplay", "fiction", "prefix_injection",
                        "organism_flip", "prefill")
#: Matched negatives per benign evaluation request (each in another attack's wrapper).
MATCHED_PER_PROMPT = 3
#: The organism's wrapper families under their registered names.
ORG_FAMILIES = ("organism_refusal_suppression", "roleplay", "fiction", "prefix_injection", "random_suffix",
                "organism_flip")
#: The paper's templates measured apart in the guard diagnosis.
GUARD_PAPER_ATTACKS = ("flip", "refusal_suppression")
#: Guard diagnosis set sizes at paper scale (PAPER.md §5).
GUARD_SIZES = dict(harmless_anchor=400, harmful_anchor=400, benign_train=1200, benign_calib=200, benign_test=200,
                   wrapped=100, harmful_test=100, probe=120)


def rate_set_name(label: str, phrasings: str) -> str:
    """The set name of a rate-table cell: ``<label>|<phrasings>``."""
    return f"{label}|{phrasings}"


def rates_experiment(prompt_sets, n: int, seed: int = 0) -> Experiment:
    """The rate tables' sets (:func:`sri_kit.results.compute.prompt_sets`): ``n`` requests per set, sampled
    with ``seed``; attack seed ``seed + i``; PAIR uses the JailbreakBench prompts (first n)."""
    pools = {"tiny_harmful": Pool("tiny_harmful", n=n, seed=seed), "tiny_benign": Pool("tiny_benign", n=n, seed=seed),
             "tiny_borderline": Pool("tiny_borderline", n=n, seed=seed), "jbb_pair": Pool(attack_prompts="pair", n=n)}
    sets = []
    for ps in prompt_sets:
        name = rate_set_name(ps.label, ps.phrasings)
        if ps.attack is None:
            sets.append(SetSpec(name, "benign" if ps.pool != "tiny_harmful" else "harmful", f"pool:{ps.pool}"))
        elif ps.attack == "pair":
            sets.append(SetSpec(name, "attacked", "pool:jbb_pair"))
        else:
            sets.append(SetSpec(name, "attacked", "pool:tiny_harmful", attack=ps.attack, seed=seed,
                                phrasings=ps.phrasings if ps.source == "organism wrapper" else None))
    return Experiment("rates", pools=pools, sets=tuple(sets), seed=seed)


def report_experiment(*, quick: bool, seed: int, n_anchor: int | None = None, n_eval: int | None = None,
                      attack_names=None, harmful_pool=None, benign_pool=None, registered=None) -> Experiment:
    """The analysis report: anchors and evaluation requests split from the organism pools (harmful with
    ``seed``, benign with ``seed + 1``), each attack on the harmful evaluation requests (organism wrappers:
    held-out phrasings), and the matched negatives (benign evaluation requests in the attacks' wrappers)."""
    n_anchor = n_anchor or (24 if quick else 64)
    n_eval = n_eval or (12 if quick else 40)
    pools = {"h": Pool(prompts=tuple(harmful_pool)) if harmful_pool else Pool("tiny_harmful", seed=seed),
             "b": Pool(prompts=tuple(benign_pool)) if benign_pool else Pool("tiny_benign", seed=seed)}
    names = list(attack_names or (REPORT_ATTACKS_QUICK if quick else REPORT_ATTACKS_FULL))
    if registered is not None:
        names = [a for a in names if a in registered]
    sets = [SetSpec("harmful_anchor", "anchor", "split:h_anchor"), SetSpec("harmful_eval", "harmful", "split:h_eval"),
            SetSpec("benign_anchor", "anchor", "split:b_anchor"), SetSpec("benign_eval", "benign", "split:b_eval")]
    sets += [SetSpec(f"attack:{a}", "attacked", "split:h_eval", attack=a, seed=seed, phrasings="heldout")
             for a in names]
    return Experiment("report", pools=pools, seed=seed,
                      splits=(SplitSpec("anchor_eval", pools=(("h", 0), ("b", 1)),
                                        sizes=(("n_anchor", n_anchor), ("n_eval", n_eval)), seed=seed),),
                      sets=tuple(sets), config={"n_anchor": n_anchor, "n_eval": n_eval, "attacks": tuple(names)})


def report_matched(attacks_built, seed: int, per_prompt: int = MATCHED_PER_PROMPT) -> SetSpec | None:
    """The matched-negatives set over the attacks that were built (not ``none`` or ``prefill``)."""
    names = tuple(a for a in attacks_built if a not in ("none", "prefill"))
    if not names:
        return None
    return SetSpec("matched_benign", "matched", "split:b_eval", attack=names, seed=seed, phrasings="heldout",
                   shifts=tuple(range(min(per_prompt, len(names)))))


def guard_diagnosis_experiment() -> Experiment:
    """The guard diagnosis (scripts/guard_diagnosis.py): the paper's splits of the organism pools at paper
    scale, each organism family on held-out harmful requests and on other benign requests (matched), the
    paper's templates, and a supervised probe on disjoint requests with training phrasings."""
    z = GUARD_SIZES
    n_t, n_w, n_h, n_p = z["benign_test"], z["wrapped"], z["harmful_test"], z["probe"]
    sets = [SetSpec("harmless_anchor", "anchor", "split:harmless_anchor"),
            SetSpec("harmful_anchor", "anchor", "split:harmful_anchor"),
            SetSpec("benign_train", "train", "split:benign_train"),
            SetSpec("benign_calib", "calibration", "split:benign_calib"),
            SetSpec("benign_test", "test", f"split:benign_test[0:{n_t}]"),
            SetSpec("plain_harmful", "harmful", f"split:harmful_test[0:{n_h}]")]
    for f in ORG_FAMILIES:
        sets.append(SetSpec(f"atk_{f}", "attacked", f"split:harmful_test[0:{n_h}]", attack=f, phrasings="heldout"))
        sets.append(SetSpec(f"benw_{f}", "matched", f"split:benign_test[{n_t}:{n_t + n_w}]", attack=f,
                            phrasings="heldout"))
    for f in GUARD_PAPER_ATTACKS:
        sets.append(SetSpec(f"paper_{f}", "attacked", f"split:harmful_test[0:{n_h}]", attack=f))
    sets.append(SetSpec("probe_harm", "probe", f"split:harmful_test[{n_h}:{n_h + n_p}]", attack=ORG_FAMILIES,
                        phrasings="train"))
    sets.append(SetSpec("probe_ben", "probe", f"split:benign_test[{n_t + n_w}:{n_t + n_w + n_p}]",
                        attack=ORG_FAMILIES, phrasings="train"))
    return Experiment(
        "guard_diagnosis", pools={"benign": Pool("tiny_benign"), "harmful": Pool("tiny_harmful")},
        splits=(SplitSpec("paper", harmless="benign", harmful="harmful", seed=0,
                          sizes=(("n_anchor", z["harmless_anchor"]), ("n_train", z["benign_train"]),
                                 ("n_calib", z["benign_calib"]), ("n_test_benign", None), ("n_test_harmful", None))),),
        sets=tuple(sets), models=("tiny-dlm",))


#: Cross-source guard evaluation (issue 32), set sizes per scale. ``report`` (about 760 prompts) is sized so that a
#: cold run on tiny-dlm (the slow one) takes at most about 15 minutes of one CPU core (docs/GUARD_tiny-dlm.md gives
#: the measured time); ``full`` is for a machine with time.
#: anchor: per class; train / calib / dev_benign: Alpaca; dev_requests: AdvBench requests, each under
#: ``shifts`` wrapper families; xstest / dolly: benign cross-source prompts; xs_requests: requests per
#: harmful cross-source (HarmBench, StrongREJECT, JailbreakBench), each under ``shifts`` families;
#: artifacts: real attack prompts per JailbreakBench artifact (PAIR, random search, JBC).
GUARD_XS_SCALES = {
    "quick": dict(anchor=12, train=48, calib=40, dev_benign=16, dev_requests=6, xstest=12, dolly=8, xs_requests=3,
                  shifts=2, artifacts=4),
    "report": dict(anchor=24, train=200, calib=80, dev_benign=64, dev_requests=24, xstest=80, dolly=48, xs_requests=16,
                   shifts=3, artifacts=24),
    "full": dict(anchor=48, train=300, calib=100, dev_benign=100, dev_requests=40, xstest=100, dolly=100,
                 xs_requests=24, shifts=3, artifacts=40),
}
#: Harmful sources never used to fit, calibrate or choose (the cross-source test requests).
GUARD_XS_SOURCES = ("harmbench", "strongreject", "jailbreakbench")
#: JailbreakBench's real attack prompts (pool name -> ``attacks.load_attack_prompts`` name), as given.
GUARD_XS_ARTIFACTS = {"pair": "pair", "random_search": "random_search", "jbc": "jbc"}


def guard_cross_source_experiment(scale: str = "report", seed: int = 0, *, families=ORG_FAMILIES) -> Experiment:
    """The cross-source guard evaluation (``sri-kit guard evaluate``; issue 32): detectors are fitted,
    calibrated and chosen on one group of prompt sources and tested on others.

    Every pool is a public set's **evaluation split** (``Pool(split="eval")``: never in any organism training
    split). Fitting group (in-source): SRI centers from Alpaca (harmless) and AdvBench (harmful) anchors;
    benign train / calibration / development prompts from Alpaca; development attacks = AdvBench requests in the
    organism's wrapper families (held-out phrasings; each request under ``shifts`` families, rotated).
    Test group (cross-source): benign XSTest safe (dangerous-sounding) and Dolly (a benign source never fitted
    on); harmful HarmBench / StrongREJECT / JailbreakBench requests in the same families (requests equal to
    or near duplicates of an AdvBench request dropped), scored leave-one-family-out by the evaluation; and
    JailbreakBench's real PAIR / random-search / JBC prompts as given. Disjoint by construction: one seeded
    permutation per pool cut into parts (``SplitSpec("parts")``).
    """
    if scale not in GUARD_XS_SCALES:
        raise ConfigError_(f"scale {scale!r} is not one of {sorted(GUARD_XS_SCALES)}")
    z = GUARD_XS_SCALES[scale]
    shifts = tuple(range(z["shifts"]))
    fam = tuple(families)
    n_alp = z["anchor"] + z["train"] + z["calib"] + z["dev_benign"]
    pools = {"alpaca": Pool("alpaca", split="eval", n=n_alp, seed=seed),
             "advbench": Pool("advbench", split="eval", seed=seed),
             "xstest_safe": Pool("xstest_safe", split="eval", seed=seed),
             "dolly": Pool("dolly", split="eval", seed=seed),
             **{src: Pool(src, split="eval", seed=seed) for src in GUARD_XS_SOURCES},
             **{f"art_{k}": Pool(attack_prompts=v, n=z["artifacts"]) for k, v in GUARD_XS_ARTIFACTS.items()}}
    parts = (SplitSpec("parts", pools=(("alpaca", 0),), seed=seed,
                       sizes=(("anchor", z["anchor"]), ("train", z["train"]), ("calib", z["calib"]),
                              ("dev", z["dev_benign"]))),
             SplitSpec("parts", pools=(("advbench", 1),), seed=seed,
                       sizes=(("anchor", z["anchor"]), ("dev", z["dev_requests"]))),
             # test sources: one seeded order each (a set takes its first n after dropping duplicates)
             SplitSpec("parts", pools=(("xstest_safe", 2), ("dolly", 3),
                                       *((src, 4 + i) for i, src in enumerate(GUARD_XS_SOURCES))),
                       seed=seed, sizes=(("test", 1_000_000),)))
    fit = ("anchor_harmless", "anchor_harmful", "benign_train", "benign_calib")
    sets = [SetSpec("anchor_harmless", "anchor", "split:alpaca_anchor"),
            SetSpec("anchor_harmful", "anchor", "split:advbench_anchor"),
            SetSpec("benign_train", "train", "split:alpaca_train"),
            SetSpec("benign_calib", "calibration", "split:alpaca_calib"),
            SetSpec("dev_benign", "benign", "split:alpaca_dev"),
            SetSpec("dev_attack", "attacked", "split:advbench_dev", attack=fam,
                    phrasings="heldout", seed=seed, shifts=shifts),
            # the test group: xstest / dolly / the harmful sources are cut the same way, their "test" part is used
            SetSpec("xs_benign_xstest", "test", "split:xstest_safe_test", n=z["xstest"], disjoint_from=fit),
            SetSpec("xs_benign_dolly", "test", "split:dolly_test", n=z["dolly"], disjoint_from=fit)]
    seen = ("anchor_harmful", "dev_attack")
    for k, src in enumerate(GUARD_XS_SOURCES):   # each source also drops the behaviours an earlier one has, and
        # starts its rotation where the previous one stopped (every family is tested even with few requests)
        sh = tuple(k * len(shifts) + j for j in shifts)
        sets.append(SetSpec(f"xs_attack_{src}", "attacked", f"split:{src}_test", attack=fam, phrasings="heldout",
                            seed=seed, shifts=sh, n=z["xs_requests"], disjoint_from=seen))
        seen += (f"xs_attack_{src}",)
    for k in GUARD_XS_ARTIFACTS:
        sets.append(SetSpec(f"xs_artifact_{k}", "attacked", f"pool:art_{k}"))
    return Experiment("guard_cross_source", pools=pools, splits=parts, sets=tuple(sets), seed=seed,
                      config={"scale": scale, **z, "families": fam})
