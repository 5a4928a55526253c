"""``sri-kit fast-decoding``: its sets come from the experiment protocol, its verdicts from intervals, and a run
lands in the results store as tables that render."""
from __future__ import annotations

import pytest

from sri_kit.errors import ConfigError
from sri_kit.experiments import build_sets
from sri_kit.results import ResultsStore
from sri_kit.results.fast_decoding import fast_decoding_experiment, organism_table, run, target_verdict
from sri_kit.results.render import render_text


def test_sets_are_protocol_slices_with_shared_request_ids():
    sets = build_sets(fast_decoding_experiment(5, offset=3))
    assert list(sets) == ["harmful", "attack", "benign"]
    assert sets["harmful"].request_ids == [f"tiny_harmful:{i}" for i in range(3, 8)]
    assert sets["attack"].requests == sets["harmful"].prompts          # the same requests, wrapped
    assert sets["attack"].request_ids == sets["harmful"].request_ids
    assert all(p != r for p, r in zip(sets["attack"].prompts, sets["harmful"].prompts))
    assert sets["benign"].request_ids[0] == "tiny_benign:3"
    with pytest.raises(ConfigError, match="harmful plus"):
        fast_decoding_experiment(5, sets=("benign",))
    with pytest.raises(ConfigError, match="wrapper families"):
        fast_decoding_experiment(5, attack="no_such_family")


def _row(speed, lo, hi):
    return {"traces_per_s_ratio": speed, "refusal_harmful": {"ci95": [lo, hi], "delta": (lo + hi) / 2}}


@pytest.mark.parametrize("speed, lo, hi, want", [
    (4.0, -0.01, 0.015, "meets"),          # fast enough, whole interval within ±2 points
    (2.9, -0.01, 0.01, "misses"),          # too slow, whatever the refusal does
    (4.0, -0.05, 0.01, "inconclusive"),    # the interval reaches past −2 points
    (4.0, 0.03, 0.07, "misses"),           # the whole interval outside
    (4.0, -0.02, 0.02, "meets"),           # the band's edges count as within
])
def test_target_verdict_is_read_from_the_interval(speed, lo, hi, want):
    assert target_verdict(_row(speed, lo, hi)) == want


def test_run_stores_a_table_that_renders(tmp_path):
    """threshold 1.0 with stop_at_end decodes exact decoding's texts (by construction): every delta is 0,
    the text agreement 1, and the stored table renders with those cells."""
    res = run(["--n", "2", "--traces", "2", "--repeats", "1", "--settings", "threshold=1+stop", "--no-native",
               "--threads", "1", "--store", str(tmp_path)])
    row = res["organism"]["settings"][0]
    assert row["text_agreement"] == 1.0
    for k in ("refusal_harmful", "refusal_attack", "refusal_benign", "attack_success"):
        assert row[k]["delta"] == 0 and row[k]["flips_to_1"] == row[k]["flips_to_0"] == 0
    t = ResultsStore(tmp_path).read("tiny-dlm", "fast_decoding")
    assert [r["setting"] for r in t.rows] == ["threshold=1+stop"] and t.rows[0]["same_text"] == 1.0
    assert t.prompts["sets"] == ["harmful", "attack", "benign"] and t.n == 2
    out = render_text("<!-- results:tiny-dlm/fast_decoding -->\n<!-- /results -->\n", ResultsStore(tmp_path))
    assert "| threshold=1+stop |" in out and "bootstrap-by-request" in out
    # the table equals what organism_table makes of the returned result (one code path)
    assert organism_table(res).rows == t.rows


def test_a_harmful_only_run_says_what_it_timed(tmp_path):
    """With ``--sets harmful`` the traces/s prompts are harmful requests and no wrapper is involved: the table's
    note and phrasing split say so (they must not describe a benign half or an attack that was not run)."""
    run(["--n", "2", "--traces", "2", "--repeats", "1", "--settings", "threshold=1+stop", "--no-native",
         "--threads", "1", "--sets", "harmful", "--store", str(tmp_path), "--table", "fresh"])
    t = ResultsStore(tmp_path).read("tiny-dlm", "fresh")
    assert t.split == "n/a" and "no benign set" in t.notes and "half benign" not in t.notes
    assert "Attack:" not in t.notes and [c.key for c in t.columns if c.key.startswith("d_")] == ["d_harmful"]
