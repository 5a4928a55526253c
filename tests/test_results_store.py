"""The results store: schema round trip, Wilson intervals, rendering, and the docs consistency check.

``test_docs_agree_with_store`` is the check the test command runs: every generated block in docs/*.md,
sri_kit/_data/models/*/README.md and README.md must equal what the store renders. The mutation tests prove it fails
when a number is edited by hand (on a temporary copy of the repository's docs and store).
"""
from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest

from sri_kit.errors import ConfigError, CorruptFileError, UnknownNameError
from sri_kit.results import (Column, ResultsStore, Table, check_docs, doc_paths, format_rate, rate, render_docs,
                             render_text, wilson)
from sri_kit.results.render import check_text
from sri_kit.results.store import DEFAULT_ROOT

REPO = Path(__file__).resolve().parents[1]          # the checkout whose docs the check reads


def _table(**kw):
    d = dict(model="tiny-x", name="wrappers", title="T", split="heldout", n=20, seed=0, mode="quick",
             columns=[Column("attack", "attack"), Column("asr", "attack success", "rate")],
             rows=[{"attack": "wrapper/roleplay", "asr": rate(7, 20)}, {"attack": "paper/FlipAttack", "asr": rate(0, 20)}],
             command="python -m sri_kit.results compute --model tiny-x")
    d.update(kw)
    return Table(**d)


def test_wilson_known_values():
    # by hand: centre (0.35 + z²/40) / (1 + z²/20) = 0.3742, half-width 0.1930 (z = 1.96)
    lo, hi = wilson(7, 20)
    assert (round(lo, 4), round(hi, 4)) == (0.1812, 0.5671)
    lo, hi = wilson(0, 10)
    assert lo == 0.0 and round(hi, 4) == 0.2775
    assert format_rate(rate(7, 20)) == "35 % [18, 57]"


def test_rate_rejects_bad_counts():
    for k, n in ((3, 2), (-1, 5), (1.0, 2), (True, 2)):
        with pytest.raises(ConfigError):
            rate(k, n)


def test_round_trip_and_atomic_layout(tmp_path):
    st = ResultsStore(tmp_path)
    t = _table()
    p = st.write(t)
    assert p == tmp_path / "tiny-x" / "wrappers.json"
    assert st.read("tiny-x", "wrappers") == t
    d = json.loads(p.read_text())
    for key in ("schema", "model", "split", "n", "seed", "mode", "configs", "kit_version", "commit", "date", "command"):
        assert key in d
    assert not list(tmp_path.rglob("*.tmp"))


def test_damaged_tables_are_named(tmp_path):
    st = ResultsStore(tmp_path)
    p = st.write(_table())
    d = json.loads(p.read_text())
    d["rows"][0]["asr"]["rate"] = 0.9            # value no longer matches its counts
    p.write_text(json.dumps(d))
    with pytest.raises(CorruptFileError, match="does not match its counts"):
        st.read("tiny-x", "wrappers")
    p.write_text("{not json")
    with pytest.raises(CorruptFileError, match="not valid JSON"):
        st.read("tiny-x", "wrappers")
    with pytest.raises(UnknownNameError, match="compute"):
        st.read("tiny-x", "missing")
    with pytest.raises(ConfigError, match="split"):
        _table(split="sometimes")


def test_render_changes_only_blocks(tmp_path):
    st = ResultsStore(tmp_path)
    st.write(_table())
    doc = "# Title\n\nProse 12 %.\n\n<!-- results:tiny-x/wrappers -->\nstale\n<!-- /results -->\n\nEnd.\n"
    new = render_text(doc, st)
    assert new.startswith("# Title\n\nProse 12 %.\n\n<!-- results:tiny-x/wrappers -->\n")
    assert new.endswith("<!-- /results -->\n\nEnd.\n")
    assert "| wrapper/roleplay | 35 % [18, 57] |" in new and "| paper/FlipAttack | 0 % [0, 16] |" in new
    assert "held-out phrasings" in new and "n = 20" in new and "seed 0" in new
    assert render_text(new, st) == new                       # idempotent
    only = render_text("<!-- results:tiny-x/wrappers where=attack:paper/FlipAttack columns=asr -->\n<!-- /results -->",
                       st)
    assert "0 % [0, 16]" in only and "roleplay" not in only


def test_blocks_name_the_store_they_come_from(tmp_path, monkeypatch):
    from sri_kit.results.render import store_label
    monkeypatch.chdir(tmp_path)
    st = ResultsStore(tmp_path / "candidates" / "results")
    st.write(_table())
    new = render_text("<!-- results:tiny-x/wrappers -->\n<!-- /results -->\n", st)
    assert "_Generated from the results store `candidates/results/tiny-x/wrappers.json`" in new
    assert check_text(new, st) == [] and check_text(new, ResultsStore(tmp_path / "other"))
    assert store_label(ResultsStore(DEFAULT_ROOT)) == store_label(None) == "sri_kit/_data/results"


def test_check_fails_on_hand_edit_and_missing_table(tmp_path):
    st = ResultsStore(tmp_path)
    st.write(_table())
    good = render_text("<!-- results:tiny-x/wrappers -->\n<!-- /results -->\n", st)
    assert check_text(good, st) == []
    bad = check_text(good.replace("35 % [18, 57]", "36 % [18, 57]"), st, "doc.md")
    assert len(bad) == 1 and "doc.md: block tiny-x/wrappers disagrees" in bad[0] and "36 %" in bad[0]
    assert check_text(good.replace("tiny-x/wrappers", "tiny-x/nope"), st)
    assert check_text("<!-- results:tiny-x/wrappers -->\nno end\n", st)


def test_docs_agree_with_store():
    """The consistency check of the test command: every generated block equals the store's rendering."""
    paths = doc_paths(REPO)
    n_blocks = sum(p.read_text(encoding="utf-8").count("<!-- results:") for p in paths)
    assert n_blocks >= 6, "the docs and model cards should show their numbers through store blocks"
    bad = check_docs(paths, ResultsStore())
    assert not bad, "\n\n".join(bad)


def test_hand_edited_number_in_a_copy_fails(tmp_path):
    """Mutation check on a temporary copy: edit one number inside a block, the check must fail; re-render fixes it."""
    shutil.copytree(DEFAULT_ROOT, tmp_path / "results")
    (tmp_path / "docs").mkdir()
    for p in doc_paths(REPO):
        rel = p.relative_to(REPO)
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(p, tmp_path / rel)
    st = ResultsStore(tmp_path / "results")
    paths = doc_paths(tmp_path)
    assert check_docs(paths, st) == []
    mutated = 0
    for p in paths:
        text = p.read_text(encoding="utf-8")
        i = text.find("<!-- results:")
        m = re.compile(r"\| (\d+) % \[").search(text, i) if i >= 0 else None
        if m is None:
            continue
        k, j = m.span(1)
        p.write_text(text[:k] + str((int(m.group(1)) + 1) % 101) + text[j:], encoding="utf-8")
        bad = check_docs([p], st)
        assert len(bad) == 1 and "disagrees with the store" in bad[0], p
        render_docs([p], st)
        assert check_docs([p], st) == [] and p.read_text(encoding="utf-8") == text
        mutated += 1
    assert mutated >= 3          # RESULTS.md, ATTACKS.md and both model cards carry rate blocks


def test_store_edit_without_render_fails(tmp_path):
    """The other direction: a recomputed store whose docs were not re-rendered fails the check."""
    shutil.copytree(DEFAULT_ROOT, tmp_path / "results")
    st = ResultsStore(tmp_path / "results")
    t = st.read("tiny-ar", "wrappers")
    r = next(r for r in t.rows if r["complied"] is not None)
    c = r["complied"]
    r["complied"] = rate(c["k"] + 1 if c["k"] < c["n"] else c["k"] - 1, c["n"])
    st.write(t)
    card = REPO / "sri_kit" / "_data" / "models" / "tiny-ar" / "README.md"
    assert check_docs([card], st)


@pytest.mark.parametrize("doc", ["docs/RESULTS.md", "docs/ATTACKS.md"])
def test_no_hand_written_rates_outside_blocks(doc):
    """Rates and proportions appear only inside generated blocks (prose keeps words, not measurements)."""
    import re
    text = (REPO / doc).read_text(encoding="utf-8")
    outside = re.sub(r"<!-- results:.*?<!-- /results -->", "", text, flags=re.S)
    found = [m.group(0) for m in re.finditer(r"\b\d+(\.\d+)? ?%|\b0\.\d\d\b", outside) if m.group(0) != "95 %"]
    assert not found, f"{doc}: numbers outside generated blocks: {found[:10]}"
