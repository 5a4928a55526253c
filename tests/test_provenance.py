"""``results check``: provenance of stored tables and hand-typed numbers in the docs (sri_kit.results.checks).

Fixtures prove the check fails where it must: a table from a dirty tree, a table whose producing code
changed, a ledger entry for a table that is clean or gone, a stray measured number in a doc. The repository
itself must pass, and its two ledgers (dirty tables, legacy doc numbers) can only shrink.
"""
from __future__ import annotations

import json
import shutil

import pytest

from sri_kit.results import Column, ResultsStore, Table, clustered_rate
from sri_kit.results.checks import check_all, legacy_markers, lint_numbers, lint_text, read_ledger, table_problems
from sri_kit.results.store import LEDGER_NAME, REPO, code_hashes, provenance

#: The ledger as first committed: entries may be removed, never added.
FROZEN_TABLES = {
    "tiny-ar+tiny-dlm/analysis_auroc", "tiny-ar+tiny-dlm/analysis_incomplete", "tiny-ar+tiny-dlm/analysis_irr",
    "tiny-ar+tiny-dlm/analysis_layers", "tiny-ar+tiny-dlm/analysis_lda", "tiny-ar+tiny-dlm/analysis_recovery",
    "tiny-ar+tiny-dlm/analysis_sweeps", "tiny-ar+tiny-dlm/analysis_trajectory_classes",
    "tiny-ar+tiny-dlm/analysis_verdicts", "tiny-ar+tiny-dlm/speed", "tiny-ar/guard_detection_auroc",
    "tiny-ar/guard_families", "tiny-ar/guard_lda", "tiny-ar/guard_overhead", "tiny-ar/guard_paper_templates",
    "tiny-ar/guard_signals", "tiny-ar/guard_table13", "tiny-ar/paper_attacks", "tiny-ar/plain",
    "tiny-ar/public_sets", "tiny-ar/random_search", "tiny-ar/wrappers", "tiny-dlm/fixed_weights",
    "tiny-dlm/guard_detection_auroc", "tiny-dlm/guard_families", "tiny-dlm/guard_lda", "tiny-dlm/guard_overhead",
    "tiny-dlm/guard_paper_templates", "tiny-dlm/guard_signals", "tiny-dlm/guard_table13", "tiny-dlm/paper_attacks",
    "tiny-dlm/plain", "tiny-dlm/public_sets", "tiny-dlm/wrappers"}
FROZEN_DATE = "2026-12-06"
#: Legacy doc-number markers as first committed: (file, count) may only go down.
FROZEN_LEGACY = {"00_quickstart.ipynb": 1, "02_text_level_recovery.ipynb": 1,
                 "04_sweeps.ipynb": 1, "05_sri_guard.ipynb": 3, "BROWSER_CHECK.md": 2, "FAST_DECODING.md": 1,
                 "GUARD_tiny-dlm.md": 1, "SCALE_OUT.md": 1}


def _table(name="t", **kw):
    d = dict(model="m", name=name, title="T", split="n/a", n=4, seed=0, mode="quick",
             columns=[Column("a", "a"), Column("r", "r", "rate")], rows=[{"a": "x", "r": clustered_rate([1, 0, 1, 1])}],
             command="python -m sri_kit.results compute --model m", commit="abc1234", dirty=False,
             date="2026-12-07 10:00 UTC")
    d.update(kw)
    return Table(**d)


def _ledger(st, entries):
    (st.root / LEDGER_NAME).write_text(json.dumps({"frozen": FROZEN_DATE, "tables": entries}))


def test_dirty_table_fails_unless_ledgered(tmp_path):
    st = ResultsStore(tmp_path)
    st.write(_table(commit="abc1234+dirty", dirty=True))
    bad, warn = table_problems(st)
    assert len(bad) == 1 and "dirty tree" in bad[0] and "recompute" in bad[0] and not warn
    _ledger(st, {"m/t": {"commit": "abc1234+dirty", "reason": "produced before provenance checks"}})
    bad, warn = table_problems(st)
    assert not bad and len(warn) == 1 and "legacy" in warn[0]
    # a ledger entry does not cover a *new* dirty run of the same table (another commit)
    st.write(_table(commit="def5678+dirty", dirty=True))
    assert len(table_problems(st)[0]) == 1


def test_unknown_tree_state_fails(tmp_path):
    st = ResultsStore(tmp_path)
    st.write(_table(commit="", dirty=None))
    assert "unknown tree state" in table_problems(st)[0][0]


def test_ledger_entries_for_clean_or_missing_tables_fail(tmp_path):
    st = ResultsStore(tmp_path)
    st.write(_table())
    _ledger(st, {"m/t": {"commit": "abc1234", "reason": "x"}, "m/gone": {"commit": "1", "reason": "x"}})
    bad, _ = table_problems(st)
    assert any("clean tree" in b for b in bad) and any("m/gone" in b and "not in the store" in b for b in bad)


def test_changed_producing_code_fails(tmp_path):
    st = ResultsStore(tmp_path)
    now = code_hashes(["sri_kit/stats.py"])
    assert now["sri_kit/stats.py"], "the test needs a git checkout"
    st.write(_table(code=now))
    assert table_problems(st) == ([], [])
    st.write(_table(code={"sri_kit/stats.py": "0" * 40}))
    bad, _ = table_problems(st)
    assert len(bad) == 1 and "producing code changed" in bad[0] and "sri_kit/stats.py" in bad[0]


def test_provenance_records_dirty_flag_and_code():
    p = provenance(["sri_kit/stats.py"])
    assert isinstance(p["dirty"], bool) and p["commit"].endswith("+dirty") == p["dirty"]
    assert set(p["code"]) == {"sri_kit/stats.py"}


def test_dirty_means_code_not_the_stores_tables_or_the_cards(tmp_path, monkeypatch):
    """Writing one table (or re-rendering a model card, a doc or a figure, or a benchmark writing its JSON) does
    not make the next table of the same run +dirty; any other tracked change does."""
    import subprocess
    from sri_kit.results import store as st
    repo = tmp_path / "repo"
    for f in ("sri_kit/_data/results/m/t.json", "sri_kit/_data/models/m/README.md",
              "sri_kit/_data/models/m/model.safetensors", "sri_kit/x.py", "docs/GUARD_m.md", "docs/figures/f.png",
              "benchmarks/results/b.json", "benchmarks/b.py"):
        (repo / f).parent.mkdir(parents=True, exist_ok=True)
        (repo / f).write_text("0\n")
    git = lambda *a: subprocess.run(["git", "-C", str(repo), *a], check=True, capture_output=True)
    git("init", "-q")
    git("add", "-A")
    git("-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "x")
    monkeypatch.setattr(st, "REPO", repo)
    monkeypatch.setattr(st, "DEFAULT_ROOT", repo / "sri_kit/_data/results")
    monkeypatch.setattr(st, "_NOT_CODE", st._not_code())
    assert provenance()["dirty"] is False
    (repo / "sri_kit/_data/results/m/t.json").write_text("1\n")
    (repo / "sri_kit/_data/models/m/README.md").write_text("1\n")
    (repo / "docs/GUARD_m.md").write_text("1\n")
    (repo / "docs/figures/f.png").write_text("1\n")
    (repo / "benchmarks/results/b.json").write_text("1\n")       # a benchmark's JSON, written before its tables
    assert provenance()["dirty"] is False
    assert "sri_kit/_data/models/m/README.md" not in st.producing_code("training", [str(repo / "sri_kit/_data/models/m")])
    (repo / "sri_kit/_data/models/m/model.safetensors").write_text("1\n")
    assert provenance()["dirty"] is True
    git("checkout", "-q", "--", "sri_kit/_data/models/m/model.safetensors")
    (repo / "sri_kit/x.py").write_text("1\n")
    assert provenance()["dirty"] is True
    git("checkout", "-q", "--", "sri_kit/x.py")
    (repo / "benchmarks/b.py").write_text("1\n")                 # benchmark code is code
    assert provenance()["dirty"] is True


@pytest.mark.parametrize("text", [
    "We measured an ASR of 41 % on the organism.\n",
    "| detector | AUROC |\n|---|---|\n| SRI Guard | 0.965 |\n",
    "Overhead 7.8e-5 of generation.\n",
    "Undefended ASR 45.5 [39.8, 51.3] (n=288).\n",
    "The demo took 95 s on the shared machine.\n",                                 # a timing
    "Peak memory 587 MB after 1,000 traces.\n",                                   # a memory reading
])
def test_stray_hand_typed_number_fails(text):
    assert len(lint_text(text, "doc.md")) == 1


@pytest.mark.parametrize("text", [
    "The paper reports HRR 0.81–0.96.\n",                                          # the paper's number
    "<!-- numbers: setting training recipe -->\nMixture: 42 % benign, lr 0.001.\n",  # a setting
    "Intervals are 95 % Wilson intervals; tolerance 1e-5.\n",                        # a level, a setting
    "<!-- results:m/t -->\n| 41 % |\n<!-- /results -->\n",                           # inside a block
    "Run `pytest -k 0.25` and read `x = 12 %` in code.\n",                         # code spans
    "<!-- numbers: setting defaults -->\n| `--budget S` | whole run 1800 s |\n",     # a default bound
    "Run it on 2 cores with 16 prompts, twice.\n",                                  # counts, not measurements
])
def test_allowed_numbers_pass(text):
    assert lint_text(text, "doc.md") == []


def test_legacy_marker_warns_and_region_ends(tmp_path):
    w = []
    text = "<!-- numbers: legacy old run -->\nA 41 %\n\nB 0.93\n<!-- /numbers -->\nC 12 %\n"
    bad = lint_text(text, "d.md", w)
    assert len(bad) == 1 and bad[0].startswith("d.md:6") and len(w) == 1 and "old run" in w[0]


def test_check_on_a_copy_fails_on_a_stray_number_and_a_dirty_table(tmp_path):
    shutil.copytree(ResultsStore().root, tmp_path / "results")
    st = ResultsStore(tmp_path / "results")
    doc = tmp_path / "NOTE.md"
    doc.write_text("# Note\n\nThe guard flags 3.3 % of benign prompts.\n")
    bad, _ = check_all(st, [doc])
    assert len(bad) == 1 and "NOTE.md:3" in bad[0]
    doc.write_text("# Note\n\nNo numbers here.\n")
    assert check_all(st, [doc])[0] == []
    t = st.read("tiny-ar", "plain")
    t.date = "2026-12-08 09:00 UTC"
    t.commit, t.dirty = "fff0000+dirty", True
    st.write(t)
    assert any("tiny-ar/plain" in b for b in check_all(st, [doc])[0])


def test_repository_passes_results_check():
    bad, _ = check_all()
    assert not bad, "\n".join(bad)


def test_dirty_ledger_can_only_shrink():
    st = ResultsStore()
    ledger = read_ledger(st)
    assert set(ledger) <= FROZEN_TABLES, f"new ledger entries: {sorted(set(ledger) - FROZEN_TABLES)}"
    for ref, e in ledger.items():
        model, name = ref.split("/")
        t = st.read(model, name)
        assert e["commit"] == t.commit, f"{ref}: the ledger covers commit {e['commit']}, the table is {t.commit}"
        assert t.date[:10] <= FROZEN_DATE, f"{ref}: dated {t.date}, newer than the ledger"
        assert "regenerate with" in e["reason"]
    d = json.loads((st.root / LEDGER_NAME).read_text())
    assert d["frozen"] == FROZEN_DATE


def test_legacy_doc_numbers_can_only_shrink():
    now = {}
    for (f, _), c in legacy_markers().items():
        now[f] = now.get(f, 0) + c
    grown = {f: c for f, c in now.items() if c > FROZEN_LEGACY.get(f, 0)}
    assert not grown, f"new legacy number markers (make them blocks instead): {grown}"


def test_lint_reads_notebook_markdown(tmp_path):
    nb = tmp_path / "x.ipynb"
    nb.write_text(json.dumps({"cells": [{"cell_type": "markdown", "source": ["Measured 0.984 here.\n"]},
                                        {"cell_type": "code", "source": ["x = 0.984\n"]}]}))
    bad = lint_numbers([nb])
    assert len(bad) == 1 and "cell 0" in bad[0]


def test_guard_markdown_becomes_store_tables_and_blocks(tmp_path):
    from sri_kit.results.imported import guard_tables, with_blocks
    from sri_kit.results.render import render_text
    md = ("# SRI Guard\n\n## Per wrapper family (SRI Guard, 99th percentile)\n\n| index | n | ASR % undefended |\n"
          "|---|---|---|\n| roleplay | 48 | 20.8 [11.7, 34.3] (n=48) |\n| fiction | 48 | 0.0 [0.0, 7.4] (n=48) |\n")
    ts = guard_tables(md, "m", commit="abc1234", dirty=False, date="d", command="sri-kit guard-eval --seed 0",
                      scale="paper-calib", notes="")
    assert [t.name for t in ts] == ["guard_families"] and ts[0].rows[0]["asr_undefended"]["k"] == 10
    st = ResultsStore(tmp_path)
    st.write(ts[0])
    doc = render_text(with_blocks(md, "m"), st)
    assert "<!-- results:m/guard_families -->" in doc and "| roleplay | 48 | 21 % [12, 34] |" in doc
    assert lint_text(doc, "GUARD.md") == []


def test_regenerate_times_each_job_and_states_the_cache(tmp_path, monkeypatch, capsys):
    """``regenerate --timings`` (benchmarks/report_mode.py) writes each job's wall time and exit, the machine and
    whether the generation cache was cold; a failing job stops the run and is recorded as failed."""
    import json

    from sri_kit.results import cli
    monkeypatch.setattr(cli, "doc_paths", lambda: [])
    monkeypatch.setenv("SRI_KIT_CACHE", str(tmp_path / "cache"))
    monkeypatch.setattr(cli, "REGENERATE", [("presets", ["presets"]), ("bad", ["presets", "--no-such-flag"]),
                                            ("never", ["presets"])])
    out = tmp_path / "t.json"
    rc = cli.main(["--store", str(tmp_path / "store"), "regenerate", "--allow-dirty", "--timings", str(out)])
    t = json.loads(out.read_text())
    assert rc != 0 and t["complete"] is False
    assert [j["job"] for j in t["jobs"]] == ["presets", "bad"]
    assert t["jobs"][0]["exit"] == 0 and t["jobs"][1]["exit"] != 0
    assert t["cache"] == {"files_at_start": 0, "cold": True}
    assert t["machine"]["cores"] >= 1 and "commit" in t["provenance"]
    (tmp_path / "cache" / "x").mkdir(parents=True)
    (tmp_path / "cache" / "x" / "entry").write_text("1")
    monkeypatch.setattr(cli, "REGENERATE", [("presets", ["presets"])])
    ResultsStore(tmp_path / "store").write(_table(code={"sri_kit/stats.py": "0" * 40}))   # a table no job writes
    capsys.readouterr()
    assert cli.main(["--store", str(tmp_path / "store"), "regenerate", "--allow-dirty", "--timings", str(out)]) == 0
    t = json.loads(out.read_text())
    assert t["complete"] is True and t["cache"]["cold"] is False and t["total_seconds"] >= t["jobs"][0]["seconds"]
    printed = capsys.readouterr().out          # the run names what it left stale, with the table's own command
    assert "1 table(s) that no regenerate job writes are stale" in printed
    assert "m/t: its producing code changed" in printed and "python -m sri_kit.results compute --model m" in printed


def test_regenerate_runs_jobs_side_by_side(tmp_path, monkeypatch, capsys):
    """``regenerate --jobs 2`` runs two jobs at once in child processes (their output prefixed with the job's
    name), records when each started, and after a failure starts no further job."""
    import json

    from sri_kit.results import cli
    monkeypatch.setattr(cli, "doc_paths", lambda: [])
    monkeypatch.setenv("SRI_KIT_CACHE", str(tmp_path / "cache"))
    monkeypatch.setattr(cli, "REGENERATE", [("presets", ["presets"]), ("bad", ["presets", "--no-such-flag"]),
                                            ("never", ["presets"])])
    out = tmp_path / "t.json"
    rc = cli.main(["--store", str(tmp_path / "store"), "regenerate", "--allow-dirty", "--jobs", "2",
                   "--timings", str(out)])
    t = json.loads(out.read_text())
    assert rc != 0 and t["complete"] is False and t["workers"] == 2 and t["torch_threads_per_job"] >= 1
    jobs = {j["job"]: j for j in t["jobs"]}
    assert {"presets", "bad"} <= set(jobs) and jobs["presets"]["exit"] == 0 and jobs["bad"]["exit"] != 0
    a, b = jobs["presets"], jobs["bad"]          # both started before either ended: side by side
    assert b["started_at_s"] < a["started_at_s"] + a["seconds"] and a["started_at_s"] < b["started_at_s"] + b["seconds"]
    # "never" may start only if a worker came free before the failure was seen (presets ended first); no job
    # starts after it was seen
    failure_seen = b["started_at_s"] + b["seconds"]
    assert all(j["started_at_s"] <= failure_seen for j in t["jobs"])
    printed = capsys.readouterr().out
    assert "[presets] tiny-ar" in printed
    assert ("never: started" in printed) == ("never" in jobs)
    assert cli.main(["--store", str(tmp_path / "store"), "regenerate", "--allow-dirty", "--jobs", "0"]) == 2


def test_report_mode_table_from_whole_runs(tmp_path):
    """The report-mode table takes a complete cold and a complete warm run of one clean commit, gives each job's
    times and the whole run's verdict against the targets, and refuses a partial run or mixed commits."""
    from sri_kit.errors import ConfigError
    from sri_kit.results.imported import import_report_mode

    def run(cold, total, jobs, commit="abc1234", complete=True):
        return {"provenance": {"commit": commit, "dirty": False, "date": "d", "kit_version": "0.1"},
                "machine": {"cpu": "x", "cores": 2, "loadavg_start": [0.5, 0.4, 0.3]}, "workers": 2,
                "torch_threads_per_job": 1, "cache": {"cold": cold, "files_at_start": 0 if cold else 9},
                "jobs": [{"job": k, "seconds": v, "exit": 0} for k, v in jobs.items()], "total_seconds": total,
                "complete": complete}
    c, w = tmp_path / "c.json", tmp_path / "w.json"
    c.write_text(json.dumps(run(True, 4000.0, {"a": 3000.0, "b": 1500.0})))
    w.write_text(json.dumps(run(False, 200.0, {"a": 150.0, "b": 60.0})))
    t = import_report_mode(c, w)
    assert (t.model, t.name, t.commit, t.dirty) == ("tiny-ar+tiny-dlm", "report_mode", "abc1234", False)
    assert [r["job"] for r in t.rows] == ["a", "b", "whole run (wall clock)"]
    assert t.rows[0]["cold"] == "3000 s" and t.rows[0]["warm"] == "150 s"
    assert t.rows[-1]["cold"] == "66.7 min" and t.rows[-1]["verdict"] == "cold misses, warm meets"
    for bad in (run(True, 1.0, {"a": 1.0}, complete=False), run(True, 1.0, {"a": 1.0}, commit="other")):
        c.write_text(json.dumps(bad))
        with pytest.raises(ConfigError):
            import_report_mode(c, w)
    with pytest.raises(ConfigError, match="warm"):                 # the runs given the wrong way round
        import_report_mode(w, w)


def test_speed_table_carries_the_benchmark_runs_commit(tmp_path):
    """benchmarks/run.py records the tree it ran from; the imported speed table carries it (a clean one leaves the
    legacy ledger), and a JSON without it stays of unknown state."""
    from sri_kit.results.imported import import_benchmark
    d = {"profile": "full", "machine": {"cpu": "x", "cores": 2}, "ar_hook_overhead_ratio": 1.01,
         "diffusion_hook_overhead_ratio": 1.0, "ar_speedup_vs_reference": 12.0, "diffusion_speedup_vs_reference": 3.1,
         "sri_time_fraction": 1e-4, "guard_time_fraction": 1e-4, "peak_rss_mb": 500, "targets_met": {}, "wall_s": 9}
    old = tmp_path / "old.json"
    old.write_text(json.dumps(d))
    t = import_benchmark(old)
    assert t.commit == "" and t.dirty is None and "legacy ledger" in t.notes
    new = tmp_path / "new.json"
    new.write_text(json.dumps({**d, "provenance": {"commit": "abc1234", "dirty": False, "date": "2026-12-07 03:00 UTC",
                                                   "kit_version": "0.3"}}))
    t = import_benchmark(new)
    assert (t.commit, t.dirty, t.date) == ("abc1234", False, "2026-12-07 03:00 UTC")
    assert "legacy" not in t.notes and "abc1234" in t.notes
    assert "load average" not in t.notes                 # none recorded: none claimed
    loaded = tmp_path / "loaded.json"
    loaded.write_text(json.dumps({**d, "machine": {**d["machine"], "loadavg_start": [1.9, 2.0, 1.8],
                                                   "loadavg_end": [1.0, 1.5, 1.7]}}))
    assert "at the start 1.9, 2.0, 1.8; load average (1, 5, 15 min) at the end 1.0, 1.5, 1.7" in \
        import_benchmark(loaded).notes                   # the run's load is in the notes, not only promised
    store = ResultsStore(tmp_path / "store")
    store.write(t)
    assert table_problems(store) == ([], [])          # a clean commit: neither a failure nor a ledger warning
    store.write(import_benchmark(old))
    bad, _ = table_problems(store)
    assert bad and "speed" in bad[0]                   # unknown tree, not in this store's ledger: a failure


def test_results_diff_lists_the_rendered_cells_that_changed():
    """``results diff``: a cell whose rendering changed is listed with before -> after; a change below the printed
    precision is not; rows added or removed are named."""
    from sri_kit.results.diff import diff_tables
    cols = [Column("set", "set"), Column("refused", "refused", "rate"), Column("auroc", "AUROC", "float", 2)]
    mk = lambda rows: Table(model="m", name="t", title="t", split="heldout", n=10, seed=0, mode="report",
                            columns=cols, rows=rows, commit="c")
    old = mk([{"set": "a", "refused": clustered_rate([1] * 5 + [0] * 5), "auroc": 0.901},
              {"set": "b", "refused": clustered_rate([1] * 10), "auroc": 0.5}])
    new = mk([{"set": "a", "refused": clustered_rate([1] * 6 + [0] * 4), "auroc": 0.904},
              {"set": "c", "refused": clustered_rate([0] * 10), "auroc": 0.5}])
    lines = diff_tables(old, new)
    assert any(ln.startswith("a | refused: 50 %") and "-> 60 %" in ln for ln in lines)
    assert not any("AUROC" in ln for ln in lines)          # 0.90 both times on the page
    assert "row removed: b" in lines and "row added: c" in lines
    assert diff_tables(old, old) == [] and diff_tables(None, new)[0].startswith("new table")


def test_results_diff_tells_rows_apart_by_as_many_words_as_needed():
    """One set measured under two samplers: the rows are matched set / kind / sampler, so a change under one
    sampler is listed under that sampler, and a row added under the other is named as added."""
    from sri_kit.results.diff import diff_tables
    cols = [Column("set", "set"), Column("kind", "kind"), Column("sampler", "sampler"),
            Column("refused", "refused", "rate")]
    mk = lambda rows: Table(model="m", name="t", title="t", split="n/a", n=10, seed=0, mode="report",
                            columns=cols, rows=rows, commit="c")
    r = lambda s, k: {"set": "alpaca", "kind": "benign", "sampler": s, "refused": clustered_rate([1] * k + [0] * (10 - k))}
    old = mk([r("diffusion", 2), r("left-to-right", 3)])
    new = mk([r("diffusion", 2), r("left-to-right", 4), {**r("ar", 1), "set": "alpaca"}])
    lines = diff_tables(old, new)
    assert "row added: alpaca / benign / ar" in lines
    assert any(ln.startswith("alpaca / benign / left-to-right | refused: 30 %") for ln in lines)
    assert not any(ln.startswith("alpaca / benign / diffusion") for ln in lines)


def test_regenerate_passes_the_store_relative_to_the_checkout(tmp_path, monkeypatch):
    """A job's ``{store}`` argument is written relative to the working directory when the store is inside it, so
    the command a table records holds no machine's path (found when the analysis tables recorded the worktree's absolute path)."""
    from sri_kit.results.cli import _store_arg
    (tmp_path / "sri_kit" / "_data" / "results").mkdir(parents=True)
    monkeypatch.chdir(tmp_path)
    assert _store_arg(tmp_path / "sri_kit" / "_data" / "results") == "sri_kit/_data/results"
    assert _store_arg(tmp_path.parent) == str(tmp_path.parent)             # outside the checkout: as given
