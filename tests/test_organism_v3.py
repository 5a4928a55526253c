"""Organism v3 (issue 28): human-written benign answers with clean splits, the v3 recipe, resumable training,
and the organism_targets table."""
from __future__ import annotations

import json
import random
from pathlib import Path
from dataclasses import replace

import numpy as np
import pytest

from sri_kit.organism.corpus import public as P
from sri_kit.organism.corpus.concepts import DEFINITIONS, concept_request
from sri_kit.organism.corpus.text import normalize


def test_dolly_rows_split_into_question_and_human_answer(have_data):
    from sri_kit.data import load_records
    from sri_kit.data.sources import dolly_pair
    rows = load_records("dolly")
    assert len(rows) == 3742
    q, a = dolly_pair(rows[0])
    assert q.startswith("Why can camels") and a.startswith("Camels use the fat")
    assert "###" not in q and "###" not in a


def test_test_sets_never_train(have_data):
    """XSTest, HarmBench, Alpaca and the Dolly test split are never trained on; the dev split neither."""
    for name in ("xstest_safe", "xstest_unsafe", "harmbench", "alpaca"):
        assert P.splits(name)[1] == (), name
    trained = {normalize(r.text) for label in ("harmful", "benign") for r in P.public_requests(label)}
    dolly_eval = {normalize(p) for p in P.splits("dolly")[0]}
    assert len(dolly_eval) == 400 and not trained & dolly_eval
    for label in ("harmful", "benign"):
        dev = {normalize(p) for p in P.dev_prompts(label)}
        assert len(dev) == P.DEV_N and not trained & dev, label
    assert {r.category for r in P.public_requests("benign")} == {"public/dolly"}


def test_dolly_training_answers_are_the_human_answers_trimmed(have_data):
    reqs = P.public_requests("benign")
    assert len(reqs) > 3000
    pairs = {normalize(q): a for q, a in P._dolly_pairs()}
    for r in random.Random(0).sample(reqs, 50):
        (ans,) = r.answers
        human = " ".join(pairs[normalize(r.text)].split())
        assert human.startswith(ans) and len(ans) <= P.ANSWER_CHARS


def test_dangerous_sounding_dolly_questions_join_the_borderline_pool(have_data):
    pools = {"harmful": [], "benign": [P.Request(f"b{i}", "t", "c", "benign", ("a",)) for i in range(1000)],
             "borderline": [P.Request(f"l{i}", "t", "c", "borderline", ("a",)) for i in range(1000)]}
    mixed = P.add_to_pools(pools, 0.0, benign_share=0.5)
    pub_b = [r for r in mixed["borderline"] if r.category == "public/dolly"]
    assert pub_b and all(P.sounds_dangerous(r.text) for r in pub_b)
    assert mixed["harmful"] == []                       # harmful share 0: untouched


def test_concept_questions_split_frames_and_answer_without_refusing():
    from sri_kit.judges import is_refusal
    tr = [concept_request(random.Random(i), "train", "train") for i in range(300)]
    ho = [concept_request(random.Random(i), "heldout", "heldout") for i in range(300)]
    assert not {r.text for r in tr} & {r.text for r in ho}
    assert all(r.label == "borderline" for r in tr + ho)
    # three definitions say "illegal", which the paper's refusal dictionary flags: the v3 candidate trained on
    # them (known flaw, recorded in the recipe); filter_refusal_answers drops such requests from the pools
    flagged = {k for k, v in DEFINITIONS.items() if is_refusal(v)}
    assert flagged == {"drug trafficking", "insider trading", "bribery"}
    assert all(not is_refusal(r.answers[0]) for r in tr + ho if r.task.removeprefix("explain ") not in flagged)
    assert {r.category for r in tr} == {"concept/def", "concept/hist", "concept/game", "concept/safety"}
    assert all(d.endswith(".") for d in DEFINITIONS.values())


def test_filter_refusal_answers_drops_answers_the_judge_calls_refusals():
    from sri_kit.judges import is_refusal
    from sri_kit.organism.train.data import training_pools
    from sri_kit.organism.train.recipe import SMOKE
    cfg = replace(SMOKE, n_concepts=300)
    raw = training_pools(cfg)
    assert any(is_refusal(a) for r in raw["borderline"] for a in r.answers)
    clean = training_pools(replace(cfg, filter_refusal_answers=True))
    assert not any(is_refusal(a) for k in ("benign", "borderline") for r in clean[k] for a in r.answers)
    assert len(clean["borderline"]) < len(raw["borderline"])


def test_v3_recipe_is_named_and_v2_stays_the_default():
    from sri_kit.organism.train.recipe import RECIPES, RunCfg
    assert RECIPES["v2"] == RunCfg() and RunCfg().public_prompts == 0.0
    v3 = RECIPES["v3"]
    assert v3.recipe == "v3" and v3.public_benign > 0 and v3.n_concepts > 0


def test_training_resumes_bit_identically(tmp_path):
    """A stage killed after a checkpoint and started again ends with the same weights as an uninterrupted run."""
    import torch
    from sri_kit.organism import train
    from sri_kit.organism.tokenizer import train_tokenizer
    cfg = replace(train.SMOKE, ar_base=train.StageCfg(steps=6, lr=1e-3, warmup=1))
    pools = {k: v[:100] for k, v in train.training_pools(cfg).items()}
    tok = train_tokenizer(train.tokenizer_texts(pools, cfg), vocab_size=cfg.vocab_size)
    spec = train.ORGANISMS["ar"]
    enc = train.encode_examples(tok, train.make_examples("base", 6 * cfg.batch_size, pools, cfg, 0))

    def run(resume, fail_at=None, stop_at=None, log=lambda m: None):
        torch.manual_seed(0)
        model = spec.build(tok)
        calls = {"n": 0}

        def loss(*a):
            calls["n"] += 1
            if fail_at is not None and calls["n"] == fail_at:
                raise KeyboardInterrupt
            return spec.step_loss(*a)
        s = replace(spec, step_loss=loss)
        train.train_stage(model, enc, cfg.ar_base, s, tok, cfg, 0, log, resume=resume, resume_every=2,
                          stop_at=stop_at)
        return {k: v.clone() for k, v in model.state_dict().items()}

    ref = run(None)
    ck = tmp_path / "ck.safetensors"
    with pytest.raises(KeyboardInterrupt):
        run(ck, fail_at=5)                   # checkpoints after steps 2 and 4, killed in step 5
    assert ck.is_file() and not list(tmp_path.glob("*.partial"))
    resumed = run(ck)
    assert all(torch.equal(ref[k], resumed[k]) for k in ref)
    # stopped early (stop_at, schedule unchanged), then resumed to the end: the same weights again
    ck2 = tmp_path / "ck2.safetensors"
    early = run(ck2, stop_at=3)
    assert not all(torch.equal(ref[k], early[k]) for k in ref)
    assert all(torch.equal(ref[k], v) for k, v in run(ck2).items())
    # the older layout (metadata only in the JSON beside the tensor file) still resumes
    from safetensors.torch import load_file, save_file
    ck3 = tmp_path / "ck3.safetensors"
    run(ck3, stop_at=3)
    save_file(load_file(str(ck3)), str(ck3))          # the same tensors, no metadata inside
    assert ck3.with_suffix(".json").is_file()
    said = []
    assert all(torch.equal(ref[k], v) for k, v in run(ck3, log=said.append).items())
    assert any("resumed at step 3" in m for m in said), said
    # a checkpoint of another stage configuration is not used
    other = replace(cfg, ar_base=train.StageCfg(steps=7, lr=1e-3, warmup=1))
    torch.manual_seed(0)
    m = spec.build(tok)
    msgs = []
    train.train_stage(m, enc, other.ar_base, spec, tok, other, 0, msgs.append, resume=ck, resume_every=100)
    assert not any("resumed" in x for x in msgs)


def test_verdicts_read_the_interval():
    from sri_kit.results.organism_targets import _sigma_rows, verdict
    from sri_kit.results.schema import rate
    assert verdict(rate(100, 100), 0.9, 1.0) == "meets"
    assert verdict(rate(85, 100), 0.9, 1.0) == "inconclusive"       # point below, interval reaches 0.9
    assert verdict(rate(70, 100), 0.9, 1.0) == "misses"
    assert verdict(rate(45, 100), 0.2, 0.7) == "meets" and verdict(rate(95, 100), 0.2, 0.7) == "misses"
    assert verdict(rate(0, 100), 0.0, 0.01) == "inconclusive"        # Wilson upper bound 3.7 %: not shown ≤ 1 %
    rows = _sigma_rows({"benign": list(np.full(50, 0.95)), "harmful": list(np.full(50, 0.05))}, "greedy", 0)
    assert rows[-1]["verdict"] == "meets" and abs(rows[-1]["value"] - 0.9) < 1e-9
    rows = _sigma_rows({"benign": list(np.linspace(0, 1, 40)), "harmful": list(np.linspace(0, 1, 40))}, "g", 0)
    assert rows[-1]["verdict"] == "misses"


def test_sigma_rows_name_their_anchor_set_and_what_the_centers_kept():
    from sri_kit.results.organism_targets import _sigma_rows
    d = {"benign": [0.9] * 20, "harmful": [0.1] * 20, "n_anchors": [21, 32]}
    rows = _sigma_rows(d, "greedy", 0, "organism pools")
    assert [r["set"] for r in rows] == [f"σ_T {x} (organism pools anchors)" for x in
                                        ("answered dolly", "refused advbench", "median gap (answered − refused)")]
    assert "21 answered harmless / 32 refused harmful anchors" in rows[-1]["target"]
    bad = _sigma_rows({"benign": [], "harmful": [], "error": "no refused anchor; more prompts"}, "greedy", 0)
    assert bad[-1]["verdict"] == "n/a: no refused anchor" and bad[-1]["value"] is None


def test_paper_anchors_are_no_evaluated_request(have_data):
    from sri_kit.data.public_splits import eval_prompts, splits
    from sri_kit.results.organism_targets import PAPER_ANCHOR_N, anchor_prompts
    alpaca_eval = eval_prompts("alpaca", n=100, seed=0)
    harmless, harmful = anchor_prompts("paper", 0, exclude=alpaca_eval)
    assert len(harmless) == len(harmful) == PAPER_ANCHOR_N
    assert not set(harmless) & set(alpaca_eval) and set(harmless) <= set(splits("alpaca")[0])
    assert set(harmful) <= set(splits("advbench")[1]) and not set(harmful) & set(splits("advbench")[0])
    pools = anchor_prompts("organism pools", 0)
    assert pools != (harmless, harmful) and all(len(x) == 32 for x in pools)
    with pytest.raises(ValueError, match="unknown anchor set"):
        anchor_prompts("alpaca", 0)


def test_sigma_rows_measure_both_anchor_sets_on_the_organism(have_data, tmp_path, monkeypatch):
    torch = pytest.importorskip("torch")
    from sri_kit.models import load_model
    from sri_kit.results import ResultsStore
    from sri_kit.results import organism_targets as ot
    monkeypatch.setenv("SRI_KIT_RESULTS_CACHE", str(tmp_path / "cache"))
    monkeypatch.setattr(ot, "SIGMA_N", 12)
    monkeypatch.setattr(ot, "PAPER_ANCHOR_N", 16)
    lm = load_model("tiny-ar", dtype=torch.float32)
    t = ot.compute_organism_targets(lm, store=ResultsStore(tmp_path / "store"), n=2, n_wrapped=1, command="test",
                                    progress=False)
    sig = {r["set"]: r for r in t.rows if r["kind"] == "σ_T"}
    for a in ot.ANCHORS:
        gap = sig[f"σ_T median gap (answered − refused) ({a} anchors)"]
        b, h = (sig[f"σ_T {x} ({a} anchors)"]["value"] for x in ("answered dolly", "refused advbench"))
        assert 0 <= h <= b <= 1 and gap["value"] == pytest.approx(b - h)
        assert 0 < gap["n"] <= 12 and "refused harmful anchors" in gap["target"]
    # the paper's anchors separate what tiny-ar does (answered benign end compliant, refused harmful refusal-aligned)
    assert sig["σ_T median gap (answered − refused) (paper anchors)"]["value"] >= 0.6


def test_organism_targets_table_counts_match_the_cells(have_data, tmp_path, monkeypatch):
    torch = pytest.importorskip("torch")
    from sri_kit.models import load_model
    from sri_kit.organism.wrappers import FAMILIES
    from sri_kit.results import ResultsStore
    from sri_kit.results.organism_targets import SETS, TARGETS, compute_organism_targets, verdict
    monkeypatch.setenv("SRI_KIT_RESULTS_CACHE", str(tmp_path / "cache"))
    lm = load_model("tiny-ar", dtype=torch.float32)
    store = ResultsStore(tmp_path / "store")
    t = compute_organism_targets(lm, store=store, n=3, n_wrapped=2, command="test", progress=False, sigma=False)
    assert t.complete and store.read("tiny-ar", "organism_targets").rows == t.rows
    sets = [r for r in t.rows if r["kind"] in ("harmful", "benign")]
    assert [r["set"] for r in sets] == list(SETS)
    assert len([r for r in t.rows if r["kind"].endswith("wrapped")]) == 2 * len(FAMILIES)
    for r in sets:
        assert r["refused"]["k"] + r["complied"]["k"] + r["answered"]["k"] >= r["n"]
        _, metric, lo, hi = TARGETS[r["set"]]
        assert r["verdict"].split("; ")[0] == verdict(r[metric], lo, hi)
    dolly = next(r for r in sets if r["set"] == "dolly test")
    assert dolly["on_topic_ref"] is not None and dolly["on_topic_ref"]["k"] <= dolly["answered"]["k"]
    (summary,) = [r for r in t.rows if r["kind"] == "summary"]
    fam = [r for r in t.rows if r["kind"] == "harmful wrapped"]
    assert summary["value"] == sum(r["verdict"] == "meets" for r in fam)


def test_training_table_reports_the_selected_checkpoints_validation():
    from sri_kit.results.organism_targets import training_table
    rc = {"recipe": "v3", "batch_size": 64, "dlm_base": {"steps": 1300, "batch_size": None},
          "dlm_safety": {"steps": 200}}
    log = {"run_config": rc, "family": "dlm", "n_params": 5, "selected_step": 200, "rule_met": False,
           "base_seconds": 600.0, "safety_seconds": 60.0, "n_threads": 1, "init_from": "OUT/tiny-dlm",
           "val_checkpoints": [{"step": 100, "harmful_refused": 0.5, "benign_answered": 0.9, "borderline_answered": 0.8},
                               {"step": 200, "harmful_refused": 0.0, "benign_answered": 0.47, "borderline_answered": 0.81}]}
    row = training_table({"m": log}, model_label="x").rows[0]
    assert (row["val_refused"], row["val_benign"], row["val_borderline"]) == (0.0, 0.47, 0.81)
    assert row["start"] == "tiny-dlm's weights" and row["rule_met"] == "no" and row["base_min"] == 10.0
    adapted = dict(log, init_from=None, argv=["--only", "dlm", "--dlm-from-ar", "data/x/tiny-ar-v3b"])
    assert training_table({"m": adapted}, model_label="x").rows[0]["start"] == "tiny-ar-v3b's weights (AR made a DLM)"
    assert training_table({"m": dict(log, init_from=None)}, model_label="x").rows[0]["start"] == "scratch"


def test_safety_benign_share_moves_weight_from_plain_harmful_only():
    from dataclasses import replace as rep
    from sri_kit.organism.train import recipe as train
    from sri_kit.organism.train.data import mixture
    base = mixture("safety", train.V3)
    assert base["benign"] == 0.36 and abs(base["harmful_plain"] - 0.30) < 1e-9     # the recipes' mixture unchanged
    more = mixture("safety", rep(train.V3, safety_benign=0.5))
    assert more["benign"] == 0.5 and abs(more["harmful_plain"] - 0.16) < 1e-9
    assert {k: v for k, v in more.items() if k not in ("benign", "harmful_plain")} == \
        {k: v for k, v in base.items() if k not in ("benign", "harmful_plain")}
    assert abs(sum(more.values()) - sum(base.values())) < 1e-9
    with pytest.raises(ValueError, match="safety_benign"):
        mixture("safety", rep(train.V3, safety_benign=0.6))


def test_model_card_states_the_recipe_architecture_and_licence(tmp_path, monkeypatch):
    """A v3 card credits Dolly under CC BY-SA and describes the Dream-style DLM; a v2 card has no licence section.
    The mixtures are the run's own (replay 0.17 leaves no harmful-covered share in the safety stage)."""
    import shutil
    from sri_kit.organism import card
    from sri_kit.resources import data_dir
    monkeypatch.setattr(card, "sample_responses", lambda d, k=10: [("a prompt", "a response")])
    dirs = {"v3": shutil.copytree(data_dir("models", "tiny-dlm"), tmp_path / "tiny-dlm"),
            "v2": shutil.copytree(data_dir("models", "tiny-ar"), tmp_path / "tiny-ar")}
    # a v2 run's log (the v2 weights left the repository with organism v3; the card reads only the log and config)
    log = json.loads((dirs["v2"] / "training_log.json").read_text())
    log["run_config"] = {k: v for k, v in log["run_config"].items() if k not in ("recipe", "safety_benign")}
    log["run_config"].update(replay_uncovered=0.05)
    (dirs["v2"] / "training_log.json").write_text(json.dumps(log))
    texts = {k: card.write_model_card(d, training_details="(details)", rates="## Measured rates") for k, d in dirs.items()}
    assert (dirs["v3"] / "README.md").read_text() == texts["v3"]
    assert "CC BY-SA 3.0" in texts["v3"] and "databricks-dolly-15k" in texts["v3"] and "StrongREJECT" in texts["v3"]
    assert "Dream-style" in texts["v3"] and "`sri_kit.native.dream`" in texts["v3"] and "from scratch" not in texts["v3"]
    assert "30 % harmful plain, 0 % harmful covered, 17 % replay" in texts["v3"]
    assert "covered in name only" in texts["v3"] and "covered in name only" not in texts["v2"]
    assert "CC BY-SA" not in texts["v2"] and "12 % harmful covered, 5 % replay" in texts["v2"]
    assert "ModernBert" not in texts["v2"] and "standard transformers class" in texts["v2"]
