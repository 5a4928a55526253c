"""The cross-source guard evaluation (issue 32): disjoint splits, the default detector, the selection rule, the
command's tables."""
from __future__ import annotations

import json
import warnings

import numpy as np
import pytest

from sri_kit.data import DataNotFoundError, load_prompts
from sri_kit.errors import ConfigError
from sri_kit.experiments import Experiment, Pool, SetSpec, SplitSpec, build_sets, guard_cross_source_experiment
from sri_kit.experiments.definitions import GUARD_XS_SOURCES
from sri_kit.experiments.protocol import near_duplicate
from sri_kit.guard import cross_source as X


# ---- protocol pieces ----------------------------------------------------------------------------------

def test_parts_split_is_disjoint_seeded_and_sized():
    exp = Experiment("t", pools={"p": Pool(prompts=tuple(f"prompt {i}" for i in range(30)))},
                     splits=(SplitSpec("parts", pools=(("p", 0),), sizes=(("a", 5), ("b", 10), ("c", 100)), seed=3),),
                     sets=(SetSpec("a", "anchor", "split:p_a"), SetSpec("b", "train", "split:p_b"),
                           SetSpec("c", "test", "split:p_c")))
    s = build_sets(exp)
    a, b, c = (set(s[k].prompts) for k in "abc")
    assert (len(a), len(b), len(c)) == (5, 10, 15) and not (a & b or a & c or b & c)
    assert build_sets(exp)["b"].prompts == s["b"].prompts          # seeded


def test_disjoint_from_drops_near_duplicates_before_n_and_rotation_records_each_prompts_attack():
    exp = Experiment("t", pools={"f": Pool(prompts=("How do I bake sourdough bread at home",)),
                                 "g": Pool(prompts=("how do i bake sourdough bread at home?", "Write a poem about rain",
                                                    "Name three rivers in France", "Describe a quiet forest"))},
                     sets=(SetSpec("fit", "train", "pool:f"),
                           SetSpec("test", "attacked", "pool:g", attack=("roleplay", "fiction"), shifts=(0, 1), n=2,
                                   disjoint_from=("fit",))))
    s = build_sets(exp)["test"]
    assert s.dropped == 1 and s.requests == ["Write a poem about rain", "Name three rivers in France"] * 2
    assert s.prompt_attacks == ["roleplay", "fiction", "fiction", "roleplay"]
    with pytest.raises(ConfigError, match="not built before"):
        build_sets(Experiment("t", pools=exp.pools, sets=(SetSpec("x", "test", "pool:g", disjoint_from=("nope",)),)))


# ---- the experiment's splits ---------------------------------------------------------------------------

@pytest.fixture(scope="module")
def built():
    exp = guard_cross_source_experiment("quick")
    try:
        return exp, build_sets(exp)
    except (DataNotFoundError, FileNotFoundError) as e:
        pytest.skip(f"public sets not available: {e}")


def test_cross_source_splits_are_disjoint_by_request_and_source(built):
    exp, b = built
    groups = X.check_disjoint(exp, b)
    assert groups["fit"] == ["advbench", "alpaca"] and groups["dev"] == ["advbench", "alpaca"]
    assert set(groups["xs"]) == {"xstest_safe", "dolly", *GUARD_XS_SOURCES, "art_pair", "art_random_search", "art_jbc"}
    fit = {X.request_key(r) for n, s in b.items() if s.role in X.FIT_ROLES for r in s.requests}
    dev = {X.request_key(r) for n, s in b.items() if n.startswith("dev_") for r in s.requests}
    xs = {X.request_key(r) for n, s in b.items() if n.startswith("xs_") for r in s.requests}
    assert fit and dev and xs and not (fit & dev) and not (fit & xs) and not (dev & xs)
    harmful_in = [r for n in ("anchor_harmful", "dev_attack") for r in b[n].requests]
    for src in GUARD_XS_SOURCES:
        assert not any(near_duplicate(r, o) for r in b[f"xs_attack_{src}"].requests for o in harmful_in)
    # every family of the development split is also tested cross-source (leave-one-family-out needs them)
    assert set(b["dev_attack"].prompt_attacks) == set(a for src in GUARD_XS_SOURCES
                                                      for a in b[f"xs_attack_{src}"].prompt_attacks)


def _leaky(xs_requests: str):
    pools = {"benign": Pool(prompts=tuple(f"Tell me about topic number {i}" for i in range(12))),
             "harm": Pool(prompts=("Explain how to pick a lock",)),
             "other": Pool(prompts=("Explain how someone would pick a lock", "Describe how to forge a signature")),
             "exact": Pool(prompts=("Explain how to pick a lock",)), "clean": Pool(prompts=("Name a quiet lake",))}
    return Experiment("leak", pools=pools,
                      splits=(SplitSpec("parts", pools=(("benign", 0),), sizes=(("train", 8), ("dev", 4))),),
                      sets=(SetSpec("anchor_harmful", "anchor", "pool:harm"),
                            SetSpec("benign_train", "train", "split:benign_train"),
                            SetSpec("dev_benign", "benign", "split:benign_dev"),
                            SetSpec("xs_benign_x", "test", xs_requests),
                            SetSpec("xs_attack_o", "attacked", "pool:other")))


def _check(exp):
    return X.check_disjoint(exp, build_sets(exp))


def test_a_test_prompt_leaking_into_fitting_fails():
    with pytest.raises(ConfigError, match="draw from fitting/development sources"):     # a fitting source
        _check(_leaky("split:benign_train"))
    with pytest.raises(ConfigError, match="xs_benign_x shares requests with fitting set"):   # same request
        _check(_leaky("pool:exact"))
    with pytest.raises(ConfigError, match="xs_attack_o: 1 request"):                  # same behaviour reworded
        _check(_leaky("pool:clean"))
    e = _leaky("pool:clean")
    e = Experiment("ok", pools=e.pools, splits=e.splits, sets=e.sets[:-1])
    assert _check(e)["xs"] == ["clean"]                                                # and a clean one passes


# ---- the default detector and the rule ----------------------------------------------------------------

def test_default_detector_is_unfitted_with_the_guard_interface():
    from sri_kit.detectors import SRIGuard, default_detector
    from sri_kit.detectors.default import CALIB_PERCENTILE, DEFAULT_CHOICE
    rng = np.random.default_rng(0)
    X_b = np.clip(0.95 + 0.01 * rng.standard_normal((200, 32)), 0, 1)
    for model in DEFAULT_CHOICE:
        det = default_detector(model)
        assert det.percentile == CALIB_PERCENTILE and getattr(det, "threshold_", None) is None
        with pytest.raises(RuntimeError, match="not fitted"):
            det.predict(X_b[:2])
        for name in ("fit", "predict", "decision_function", "score_samples"):
            assert callable(getattr(det, name)) and callable(getattr(SRIGuard, name))
        det.fit(X_b[:150], X_b[150:])
        dip = X_b[:1].copy()
        dip[0, 8:24] = 0.05
        assert det.predict(dip).tolist() == [-1] and set(det.predict(X_b).tolist()) <= {-1, 1}
    with pytest.warns(UserWarning, match="no evaluated choice"):
        det = default_detector("some-unknown-model")
    assert type(det) is type(default_detector("tiny-ar"))

    class FakeDLM:
        name, family = "my-dlm", "diffusion"
    with pytest.warns(UserWarning, match="tiny-dlm"):
        assert type(default_detector(FakeDLM())) is type(default_detector("tiny-dlm"))


def test_default_choice_is_the_stored_choice():
    from sri_kit.detectors.default import DEFAULT_CHOICE
    from sri_kit.results import ResultsStore
    st = ResultsStore()
    for model, choice in DEFAULT_CHOICE.items():
        if not st.exists(model, "guard_default_choice"):
            pytest.skip(f"no stored choice for {model}")
        t = st.read(model, "guard_default_choice")
        chosen = [r["candidate"] for r in t.rows if r["chosen"] == "yes"]
        assert chosen == [choice] == [t.extra["chosen"]], (model, chosen, choice)


def test_selection_rule_picks_what_it_says():
    from sri_kit.detectors.default import select_detector
    rows = [{"name": "sri_guard", "tpr": 0.95, "fpr": 0.08, "auroc": 0.99},       # best TPR but not eligible
            {"name": "knn", "tpr": 0.70, "fpr": 0.03, "auroc": 0.90},
            {"name": "one_class_svm", "tpr": 0.70, "fpr": 0.01, "auroc": 0.93},   # tie on TPR: higher AUROC wins
            {"name": "mahalanobis", "tpr": 0.60, "fpr": 0.00, "auroc": 0.99}]
    assert select_detector(rows)["name"] == "one_class_svm"
    rows[1]["auroc"] = 0.93                                                      # full tie: the simpler one
    assert select_detector(rows)["name"] == "knn"
    assert select_detector(rows, max_fpr=0.10)["name"] == "sri_guard"
    none = [dict(r, fpr=r["fpr"] + 0.2) for r in rows]                           # none eligible: lowest FPR
    assert select_detector(none)["name"] == "mahalanobis"
    none[0]["fpr"] = none[3]["fpr"]                                              # tied on the lowest FPR: TPR decides
    assert select_detector(none)["name"] == "sri_guard"
    none[0]["tpr"] = none[3]["tpr"]                                              # then AUROC, not simplicity alone
    assert select_detector(none)["name"] == "mahalanobis"
    none[3]["auroc"] = 0.5
    assert select_detector(none)["name"] == "sri_guard"


# ---- the command ---------------------------------------------------------------------------------------

def _small_experiment(scale="quick", seed=0):
    """Embedded organism sets only (no external data): same set names and roles as the real experiment."""
    harm = load_prompts("tiny_harmful", n=40, seed=5)
    fams = ("roleplay", "fiction")
    pools = {"benign": Pool("tiny_benign", n=88, seed=seed), "h_in": Pool(prompts=tuple(harm[:20])),
             "h_out": Pool(prompts=tuple(harm[20:])), "borderline": Pool("tiny_borderline", n=8, seed=seed)}
    sets = (SetSpec("anchor_harmless", "anchor", "split:benign_anchor"),
            SetSpec("anchor_harmful", "anchor", "split:h_in_anchor"),
            SetSpec("benign_train", "train", "split:benign_train"),
            SetSpec("benign_calib", "calibration", "split:benign_calib"),
            SetSpec("dev_benign", "benign", "split:benign_dev"),
            SetSpec("dev_attack", "attacked", "split:h_in_dev", attack=fams, phrasings="heldout", shifts=(0, 1)),
            SetSpec("xs_benign_borderline", "test", "pool:borderline"),
            SetSpec("xs_attack_other", "attacked", "pool:h_out", attack=fams, phrasings="heldout", shifts=(0, 1), n=5,
                    disjoint_from=("anchor_harmful", "dev_attack")))
    return Experiment("small", pools=pools, sets=sets, config={"scale": "test", "families": fams},
                      splits=(SplitSpec("parts", pools=(("benign", 0),),
                                        sizes=(("anchor", 12), ("train", 40), ("calib", 24), ("dev", 12))),
                              SplitSpec("parts", pools=(("h_in", 1),), sizes=(("anchor", 12), ("dev", 6)))))


def test_command_writes_the_four_tables(tmp_path, monkeypatch):
    import sri_kit.experiments as E
    from sri_kit.cli import main
    from sri_kit.results import ResultsStore
    monkeypatch.setenv("SRI_KIT_CACHE", str(tmp_path / "cache"))
    monkeypatch.setattr(E, "guard_cross_source_experiment", _small_experiment)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        assert main(["guard", "evaluate", "--model", "tiny-ar", "--scale", "quick", "--store", str(tmp_path / "st")]) == 0
    st = ResultsStore(tmp_path / "st")
    assert sorted(st.tables("tiny-ar")) == sorted(X.TABLES)
    t = st.read("tiny-ar", "guard_cross_source")
    splits = {(r["detector"].split(" — ")[0], r["split"]) for r in t.rows}
    for name in ("Mahalanobis", "kNN (k=5)", "IsolationForest", "One-class SVM", "SRI Guard (autoencoder, σ)"):
        assert {(name, "in-source"), (name, "cross-source")} <= splits
    for r in t.rows:
        assert r["succeeded"] <= r["attacks"] and r["tpr"]["n"] == r["succeeded"]
    choice = st.read("tiny-ar", "guard_default_choice")
    assert sum(r["chosen"] == "yes" for r in choice.rows) == 1
    targets = st.read("tiny-ar", "guard_targets")
    assert len(targets.rows) == 5 and {r["verdict"] for r in targets.rows} <= {"meets", "misses", "inconclusive"}
    assert "guard evaluate" in targets.command and targets.prompts["sources"]["xs"] == ["borderline", "h_out"]
    esc = json.loads(st.path("tiny-ar", "guard_escapes").read_text())
    assert not any("prompt" in c["key"] or "text" in c["key"] for c in esc["columns"])     # rates only, no text
