"""One experiment protocol: every prompt set of every measurement, defined as data and built by one function.

An :class:`Experiment` names its prompt pools, how they are split (the paper's splits, or anchors vs
evaluation), and its sets: benign, harmful, attacked (an attack with its phrasing split), matched
negatives (benign requests in the jailbreaks' wrappers), calibration, probes. :func:`build_sets` turns it
into prompts, and nothing else in the kit applies attacks to build a set: the results store
(:mod:`sri_kit.results.compute`), the report (:mod:`sri_kit.report.context`), run configs
(:mod:`sri_kit.runconfig`) and the guard diagnosis all describe their sets here. Every built set keeps
its request ids, so intervals can be clustered by request (docs/STATISTICS.md).

>>> exp = Experiment("demo", pools={"h": Pool(prompts=("a b", "c d", "e f"))},
...                  sets=(SetSpec("plain", "harmful", "pool:h"),
...                        SetSpec("roleplay", "attacked", "pool:h", attack="roleplay", phrasings="heldout")))
>>> s = build_sets(exp)
>>> s["plain"].prompts, s["roleplay"].requests == s["plain"].prompts, s["roleplay"].request_ids[:2]
(['a b', 'c d', 'e f'], True, ['h:0', 'h:1'])
"""
from __future__ import annotations

from .definitions import (guard_cross_source_experiment, guard_diagnosis_experiment, rate_set_name, rates_experiment, report_experiment,
                          report_matched)
from .protocol import (AttackedSet, Experiment, Pool, SetSpec, SplitSpec, attack_set, build_sets,
                       organism_phrasings, rotate, split_pool)

__all__ = ["Experiment", "Pool", "SplitSpec", "SetSpec", "AttackedSet", "build_sets", "attack_set", "rotate",
           "organism_phrasings", "split_pool", "rates_experiment", "rate_set_name", "report_experiment",
           "report_matched", "guard_diagnosis_experiment", "guard_cross_source_experiment"]
