"""The experiment protocol (sri_kit.experiments) builds exactly the prompt lists the stored tables were
computed from: the four former set builders (results compute, the report context, run configs, the guard
diagnosis) now call it, and ``fixtures/protocol_prompt_hashes.json`` holds the hash of every list they
made before the port."""
from __future__ import annotations

import hashlib
import json
import types
from pathlib import Path

import pytest

from sri_kit import GenerationConfig
from sri_kit.errors import ConfigError
from sri_kit.experiments import Experiment, Pool, SetSpec, build_sets, guard_diagnosis_experiment

FIX = json.loads((Path(__file__).parent / "fixtures" / "protocol_prompt_hashes.json").read_text())
ROOT = Path(__file__).resolve().parents[1]


def h(x):
    return hashlib.sha256(json.dumps(x, ensure_ascii=False).encode()).hexdigest()[:24]


def _want(prefix):
    return {k: v for k, v in FIX.items() if k.startswith(prefix)}


EXTERNAL = ROOT.parent / "shared" / "data" / "external"


def test_rate_sets_are_unchanged(monkeypatch):
    from sri_kit.data.files import DataNotFoundError
    from sri_kit.results import compute as C
    if EXTERNAL.is_dir() and "SRI_KIT_DATA" not in __import__("os").environ:
        monkeypatch.setenv("SRI_KIT_DATA", str(EXTERNAL))
    got, missing = {}, set()
    for mode in ("quick", "report"):
        for ps in C.prompt_sets(mode):
            key = f"compute/{mode}/{ps.label}/{ps.phrasings}"
            try:
                prompts, prefill = C._attacked(ps, None, C.MODES[mode], 0)
            except DataNotFoundError:       # the PAIR artifact, without ../shared/data/external or the network
                missing.add(key)
                continue
            got[key] = h([prompts, prefill])
    assert missing <= {k for k in FIX if "PAIR" in k}
    assert got == {k: v for k, v in _want("compute/").items() if k not in missing}


@pytest.mark.parametrize("quick", [True, False])
def test_report_sets_are_unchanged(quick):
    from sri_kit.report.context import make_context
    fake = types.SimpleNamespace(default_config=GenerationConfig(steps=8, gen_length=16), name="x")
    ctx = make_context(fake, fake, quick=quick, seed=0, harmful_pool=None, benign_pool=None, n_anchor=None,
                       n_eval=None, ar_cfg=None, dlm_cfg=None, progress=False, attack_names=None, layers=("last",))
    k = f"report/{'quick' if quick else 'full'}"
    got = {k + "/h_anchor": h(ctx.h_anchor), k + "/h_eval": h(ctx.h_eval), k + "/b_anchor": h(ctx.b_anchor),
           k + "/b_eval": h(ctx.b_eval), k + "/matched": h(ctx.matched_benign), k + "/prefills": h(ctx.prefills),
           k + "/skipped": h(sorted(s.split(" (")[0] for s in ctx.skipped_attacks))}
    got.update({f"{k}/attack/{a}": h(p) for a, p in ctx.prompts_by_attack.items()})
    assert got == _want(k + "/")


def test_run_config_sets_are_unchanged():
    from sri_kit.runconfig import load_run_config, resolve_sets
    cfg = load_run_config(ROOT / "examples" / "run_tiny.toml")
    got = {f"runconfig/run_tiny/{n}": h([r.prompts, r.prefill, r.requests, r.family, r.attack, r.role])
           for n, r in resolve_sets(cfg).items()}
    assert got == _want("runconfig/")


def test_guard_diagnosis_sets_are_unchanged():
    got = {f"guard_diagnosis/{k}": h(v.prompts) for k, v in build_sets(guard_diagnosis_experiment()).items()}
    assert got == _want("guard_diagnosis/")
    b = build_sets(guard_diagnosis_experiment(), only={"atk_roleplay", "benw_roleplay", "probe_harm"})
    # request ids: the cluster of each prompt; a family's jailbreaks and the plain set share requests
    assert b["atk_roleplay"].request_ids[:2] == ["harmful_test:0", "harmful_test:1"]
    assert b["benw_roleplay"].request_ids[0] == "benign_test:200"
    assert len(b["probe_harm"].prompts) == 120


def test_rotation_shifts_and_request_ids():
    exp = Experiment("t", pools={"b": Pool(prompts=("p0 x", "p1 y"))},
                     sets=(SetSpec("m", "matched", "pool:b", attack=("roleplay", "fiction"), phrasings="heldout",
                                   shifts=(0, 1)),))
    m = build_sets(exp)["m"]
    assert len(m.prompts) == 4 and m.request_ids == ["b:0", "b:1", "b:0", "b:1"]
    assert m.prompts[0] != m.prompts[2]          # request 0 in two different wrappers


def test_bad_specs_are_named():
    with pytest.raises(ConfigError, match="role"):
        SetSpec("x", "weird", "pool:a")
    exp = Experiment("t", pools={"a": Pool(prompts=("q",))}, sets=(SetSpec("x", "benign", "pool:nope"),))
    with pytest.raises(ConfigError, match="no pool 'nope'"):
        build_sets(exp)
    errs = {}
    assert build_sets(exp, errors=errs) == {} and "x" in errs


# ---------------------------------------------------------------------------------------------------------------
# One place builds sets: a search for attack applications outside the protocol and the attacks package


#: Calls that attack a request: the attacks registry's ``apply`` / ``apply_many`` and a wrapper family's ``wrap``.
_APPLY = {"apply", "apply_many"}
#: Where applying attacks is the job: the registry, the protocol, the plug-in glue that registers families,
#: the organism's wrapper definitions, and its trainer (training corpus and checkpoint selection: the trainer's
#: own data, built from the train phrasings, not an experiment's sets).
_OWNERS = ("sri_kit/attacks/", "sri_kit/experiments/", "sri_kit/plugins.py", "sri_kit/organism/wrappers.py",
           "sri_kit/organism/train/")


def _attack_calls(tree) -> int:
    """How many calls in ``tree`` attack a request: ``apply(...)`` / ``wrap(...)``, ``<...>attacks.apply*(...)``,
    or ``wrap`` on a wrapper-family object (``wf``, ``wrappers``, ``WRAPPERS``, ``wrapper_families(...)``)."""
    import ast
    n = 0
    for node in ast.walk(tree):
        f = node.func if isinstance(node, ast.Call) else None
        if isinstance(f, ast.Name):
            n += f.id in _APPLY | {"wrap"}
        elif isinstance(f, ast.Attribute):
            owner = ast.unparse(f.value)
            last = owner.split(".")[-1]
            n += (f.attr in _APPLY and last == "attacks") or (
                f.attr == "wrap" and (last in ("wf", "wrappers", "WRAPPERS") or "wrapper_families(" in owner))
    return n


def _code_units():
    import ast
    for folder in ("sri_kit", "scripts", "benchmarks", "examples"):
        for p in sorted((ROOT / folder).rglob("*.py")):
            yield p.relative_to(ROOT).as_posix(), ast.parse(p.read_text())
    for p in sorted((ROOT / "notebooks").glob("*.ipynb")):
        cells = json.loads(p.read_text())["cells"]
        src = "\n".join("".join(c["source"]) for c in cells if c["cell_type"] == "code")
        src = "\n".join(ln for ln in src.splitlines() if not ln.lstrip().startswith(("%", "!")))
        yield p.relative_to(ROOT).as_posix(), ast.parse(src)


def test_no_code_builds_attacked_sets_outside_the_protocol():
    import ast
    assert _attack_calls(ast.parse("attacks.apply('x', p)\nsk.attacks.apply_many('x', ps)\nwf.wrap('f', p)\n"
                                   "textwrap.wrap(s)\ndf.apply(f)\n")) == 3          # the search itself
    found = {rel: n for rel, tree in _code_units() if not rel.startswith(_OWNERS) and (n := _attack_calls(tree))}
    assert not found, (f"attacks applied outside the protocol in {found}: build the sets with "
                       "sri_kit.experiments.build_sets (or attack_set / rotate)")


def test_organism_evaluation_sets_come_from_the_protocol():
    from sri_kit.organism.evaluate import evaluation_experiment, load_pool
    from sri_kit.organism.wrappers import FAMILIES, wrap
    built = build_sets(evaluation_experiment(12, n_attack=5, external=False))
    harmful = [r["prompt"] for r in load_pool("harmful")][:12]
    assert built["harmful"].prompts == harmful
    assert built["borderline"].prompts == [r["prompt"] for r in load_pool("borderline")][:12]
    for f in FAMILIES:      # request i in the family's held-out phrasings, seed i (no longer one seed per family)
        assert built[f"attack_{f}"].prompts == [wrap(f, p, seed=i, split="heldout") for i, p in enumerate(harmful[:5])]
        assert built[f"attack_{f}"].request_ids == [f"harmful:{i}" for i in range(5)]
    assert not any(k.startswith("ext_") for k in built)
