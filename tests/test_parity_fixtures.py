"""The kit against golden fixtures recorded from the upstream code (runs in CI, no upstream files needed).

``tests/fixtures/parity/*.json`` were written by ``sri-kit parity record --upstream DIR`` from ML-GSAI/LLaDA's
generate.py, NVlabs/Fast-dLLM's LLaDA / Dream modelling code, Dream's ``diffusion_generate`` and
Fast-dLLM's threshold / prefix-cache / dual-cache decoding, on tiny models rebuilt here from a config and
a weight seed (``sri_kit.parity``). Every case compares logits (1e-5), final tokens and the response
canvas after every step; Fast-dLLM's cases also the forward passes.

With ``SRI_KIT_UPSTREAM`` set (the folder layout of ``sri_kit/parity/upstream.py``) the upstream code is
also run now and compared with the stored fixtures (``test_live_upstream_equals_fixtures``).
"""
from __future__ import annotations

import json
import os
import re
from pathlib import Path

import pytest
import torch

from sri_kit.cli import main as cli_main
from sri_kit.errors import ConfigError
from sri_kit.parity import build_kit_model, check_case, load_fixture, run_case
from sri_kit.parity.record import CASES, MODELS

FIXTURES = Path(__file__).parent / "fixtures" / "parity"
FAMILIES = ("llada", "dream", "fastdllm")
LOADED = {f: load_fixture(FIXTURES / f"{f}.json") for f in FAMILIES}


def _case_ids():
    return [(f, c["name"]) for f in FAMILIES for c in LOADED[f]["cases"]]


def _case(fam, name):
    return next(c for c in LOADED[fam]["cases"] if c["name"] == name)


@pytest.mark.parametrize("fam,name", _case_ids(), ids=[f"{f}:{n}" for f, n in _case_ids()])
def test_kit_matches_upstream_fixture(fam, name):
    """Logits to 1e-5; tokens, per-step canvases (commit order) and Fast-dLLM's forward passes exactly."""
    bad = check_case(LOADED[fam], _case(fam, name))
    assert not bad, "\n".join(bad)


def test_fixtures_cover_every_case_and_name_their_source():
    """Every case the recorder defines is in the files; each file names upstream repositories and commits;
    all fixtures together stay under 2 MB."""
    for fam in FAMILIES:
        fx = LOADED[fam]
        assert [c["name"] for c in fx["cases"]] == [c["name"] for c in CASES[fam]]
        for role in ("modelling", "sampling"):
            src = fx["upstream"][role]
            assert src["repository"] in ("NVlabs/Fast-dLLM", "ML-GSAI/LLaDA") and src["files"]
            assert re.fullmatch(r"[0-9a-f]{40}", src["commit"]), src
        for name, m in fx["models"].items():
            assert (m["kind"], m["config"], m["seed"]) == MODELS[name]
    assert sum(p.stat().st_size for p in FIXTURES.glob("*.json")) < 2_000_000


def _canvases(fam, name):
    return _case(fam, name)["canvases"]


def test_fixture_cases_have_power():
    """The cases are not interchangeable: remasking rules, Dream's algorithms, filters and thresholds each
    commit in their own order, so a sampler that ignored the option would fail its case."""
    assert _canvases("llada", "low_confidence-one_block") != _canvases("llada", "random")
    assert _canvases("llada", "low_confidence-one_block") != _canvases("llada", "cfg")
    algs = [_canvases("dream", f"{a}-alone") for a in ("origin", "maskgit_plus", "topk_margin", "entropy")]
    assert len({json.dumps(a) for a in algs}) == 4
    assert _canvases("dream", "maskgit_plus-top_p") != _canvases("dream", "maskgit_plus-batched")
    assert _canvases("dream", "entropy-top_k") != _canvases("dream", "entropy-alone")
    for name in ("entropy-masks_in_prompt", "origin-masks_in_prompt"):   # the prompt's masks are filled
        c = _case("dream", name)
        assert 4 in c["rows"][0] and 4 not in c["filled_prompt"][0] and len(c["filled_prompt"][0]) == len(c["rows"][0])
    for name in ("threshold", "threshold-one_block", "prefix_cache-threshold", "dual_cache-threshold"):
        c = _case("fastdllm", name)
        steps = c["config"]["steps"]
        assert min(c["n_forward"]) < steps and any(len(x) < steps for x in c["canvases"]), name
    # within a step several positions change at once where the schedule says so (blocks of 4, 2 steps each)
    c = _case("llada", "low_confidence-blocks")["canvases"][0]
    assert sum(t != 4 for t in c[0]) == 2


def test_changed_weights_are_refused():
    """A fixture model rebuilt with other weights (another seed, or a torch drawing other numbers) is an
    error naming the fix, not a silent comparison on other weights."""
    m = LOADED["llada"]["models"]["llada"]
    with pytest.raises(ConfigError, match="sri-kit parity record"):
        build_kit_model(m["kind"], m["config"], m["seed"] + 1, digest=m["digest"])


def test_a_changed_result_is_reported(tmp_path, capsys):
    """`sri-kit parity check` exits 1 and names the case and step when the kit and a fixture disagree."""
    fx = json.loads((FIXTURES / "llada.json").read_text())
    case = next(c for c in fx["cases"] if c["name"] == "tied-low_confidence")
    case["canvases"][1][2][0] = (case["canvases"][1][2][0] + 1) % 128
    fx["cases"] = [case]
    (tmp_path / "llada.json").write_text(json.dumps(fx))
    assert cli_main(["parity", "check", "--fixtures", str(tmp_path)]) == 1
    out = capsys.readouterr().out
    assert "FAIL llada:tied-low_confidence" in out and "row 1: canvas differs first after step 2" in out


def test_record_needs_the_upstream_files(tmp_path, capsys):
    assert cli_main(["parity", "record", "--upstream", str(tmp_path), "--out", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err
    assert "llada_generate.py" in err and "NVlabs/Fast-dLLM" in err and not (tmp_path / "out").exists()


def test_logits_case_compares_values():
    """The logits comparison reads the values (a perturbation of 1e-4 at one entry fails)."""
    fx = LOADED["dream"]
    case = _case("dream", "logits")
    got = run_case(fx, case)
    assert not check_case(fx, case, got)
    got["logits"]["dream"][1, 2, 7] += 1e-4
    bad = check_case(fx, case, got)
    assert len(bad) == 1 and bad[0].startswith("dream:logits dream: max |Δlogit|")


@pytest.mark.skipif(not os.environ.get("SRI_KIT_UPSTREAM"), reason="SRI_KIT_UPSTREAM not set (live upstream run)")
def test_live_upstream_equals_fixtures():
    """The upstream code run now gives what the fixtures hold (so the fixtures are what upstream does)."""
    from sri_kit.parity.record import record

    live = record(os.environ["SRI_KIT_UPSTREAM"])
    for fam in FAMILIES:
        stored = LOADED[fam]
        for a, b in zip(live[fam]["cases"], stored["cases"]):
            assert a["name"] == b["name"]
            if a["type"] == "logits":
                for n in a["logits"]:
                    torch.testing.assert_close(torch.tensor(a["logits"][n]), torch.tensor(b["logits"][n]),
                                               rtol=1e-5, atol=1e-5)
            else:
                assert (a["tokens"], a["canvases"], a.get("n_forward")) == (b["tokens"], b["canvases"],
                                                                            b.get("n_forward")), a["name"]
        assert live[fam]["models"] == json.loads(json.dumps(stored["models"]))


def test_real_models_table_is_current():
    """docs/REAL_MODELS.md holds the table sri_kit.parity.table renders now, and every test it names exists."""
    from sri_kit.parity.table import BEGIN, END, referenced_tests, render

    root = Path(__file__).parent.parent
    doc = (root / "docs" / "REAL_MODELS.md").read_text(encoding="utf-8")
    assert BEGIN in doc and END in doc
    block = doc[doc.index(BEGIN):doc.index(END) + len(END)]
    assert block == render(root), "docs/REAL_MODELS.md is stale: paste `python -m sri_kit.parity.table` between the markers"
    for ref in referenced_tests():
        path, func = ref.split("::")
        name = func.split("[")[0]
        assert f"def {name}(" in (root / path).read_text(encoding="utf-8"), ref
