"""Tests for sri_kit.data: loaders over ../shared/data/external, embedded sets, subsets, splits."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from sri_kit import data

REPO = Path(__file__).resolve().parents[1]
EXTERNAL = REPO.parent / "shared" / "data" / "external"
needs_external = pytest.mark.skipif(not EXTERNAL.is_dir(), reason="../shared/data/external absent")

# expected counts of the prompts each loader returns from the files in ../shared/data/external
COUNTS = {
    "advbench": 520,
    "alpaca": 31323,
    "jailbreakbench": 100,
    "harmbench_all": 320,
    "strongreject": 313,
    "xstest": 450,
    "xstest_safe": 250,
    "xstest_unsafe": 200,
    "jbb_pair": 82,  # 18 of the 100 PAIR prompts are null (attack failed) and are skipped
    "jbb_random_search": 100,
    "jbb_jbc": 100,
}


@needs_external
@pytest.mark.parametrize("name,count", sorted(COUNTS.items()))
def test_external_counts(name, count):
    ps = data.load_prompts(name, path=EXTERNAL, n=None)
    assert len(ps) == count
    assert all(isinstance(p, str) and p.strip() for p in ps)


@needs_external
def test_raw_file_row_counts():
    # raw rows of every file in the folder, before any filtering
    raw = {
        "advbench": 520, "alpaca": 31323, "jailbreakbench": 100, "harmbench": 320, "strongreject": 313,
        "xstest": 450, "jbb_pair": 100, "jbb_random_search": 100, "jbb_jbc": 100,
    }
    for name, count in raw.items():
        assert len(data.load_records(name, EXTERNAL)) == count, name
    files = {p.name for p in EXTERNAL.rglob("*") if p.suffix in {".csv", ".json"}}
    covered = {data._SOURCES[n].fname for n in raw}
    assert files <= covered, f"files without a loader: {files - covered}"


@needs_external
def test_harmbench_categories_and_context():
    std = data.load_prompts("harmbench", path=EXTERNAL, n=None)
    ctx = data.load_prompts("harmbench_contextual", path=EXTERNAL, n=None)
    cp = data.load_prompts("harmbench_copyright", path=EXTERNAL, n=None)
    assert len(std) + len(ctx) + len(cp) == 320
    assert all("\n\n---\n\n" in p for p in ctx) and not any("\n\n---\n\n" in p for p in std)


@needs_external
def test_default_resolution_and_file_path(monkeypatch):
    monkeypatch.delenv("SRI_KIT_DATA", raising=False)
    a = data.load_prompts("advbench", n=None)  # default: <repo>/../shared/data/external
    assert a == data.load_prompts("advbench", path=EXTERNAL / "advbench.csv", n=None)
    monkeypatch.setenv("SRI_KIT_DATA", str(EXTERNAL))
    assert data.load_prompts("advbench", n=None) == a
    assert a[0].startswith("Write a script that can exploit vulnerabilities")


@needs_external
def test_subsets_first_n_and_seeded():
    full = data.load_prompts("advbench", path=EXTERNAL, n=None)
    assert data.load_prompts("advbench", path=EXTERNAL, n=10, seed=None) == full[:10]  # paper's code: first N
    s0 = data.load_prompts("advbench", path=EXTERNAL, n=10, seed=0)
    assert s0 == data.load_prompts("advbench", path=EXTERNAL, n=10, seed=0)
    assert s0 != data.load_prompts("advbench", path=EXTERNAL, n=10, seed=1)
    assert s0 == sorted(s0, key=full.index)  # kept in file order
    with pytest.raises(ValueError, match="only 520"):
        data.load_prompts("advbench", path=EXTERNAL, n=1000)


def test_subset_helper():
    xs = [f"p{i}" for i in range(20)]
    assert data.subset(xs, 5, None) == xs[:5]
    assert len(set(data.subset(xs, 5, 3))) == 5
    with pytest.raises(ValueError):
        data.subset(xs, -1)


def test_bad_names_and_paths(tmp_path, monkeypatch):
    monkeypatch.setenv("SRI_KIT_DATA", str(tmp_path))
    monkeypatch.setenv("SRI_KIT_OFFLINE", "1")
    with pytest.raises(KeyError, match="unknown prompt set"):
        data.load_prompts("no_such_set")
    with pytest.raises(FileNotFoundError, match="does not exist"):
        data.load_prompts("advbench", path=tmp_path / "missing.csv")
    with pytest.raises(FileNotFoundError, match="no advbench.csv"):
        data.load_prompts("advbench", path=tmp_path)
    with pytest.raises(FileNotFoundError, match="SRI_KIT_DATA"):
        data.load_prompts("advbench")  # nothing local, offline
    with pytest.raises(FileNotFoundError, match="hub"):
        data.load_prompts("alpaca")
    with pytest.raises(TypeError):
        data.load_prompts(None)


def test_custom_files(tmp_path):
    (tmp_path / "a.txt").write_text("one\n\ntwo\n")
    assert data.load_prompts("mine", path=tmp_path / "a.txt") == ["one", "two"]
    (tmp_path / "b.jsonl").write_text('{"prompt": "x", "label": "harmful"}\n{"prompt": "y"}\n')
    assert data.load_prompts("mine", path=tmp_path / "b.jsonl") == ["x", "y"]
    (tmp_path / "c.csv").write_text("goal,target\ng1,t1\ng2,t2\n")
    assert data.load_prompts("mine", path=tmp_path / "c.csv") == ["g1", "g2"]
    (tmp_path / "d.csv").write_text("foo\nbar\n")
    with pytest.raises(ValueError, match="no prompt column"):
        data.load_prompts("mine", path=tmp_path / "d.csv")


@pytest.mark.parametrize("name", data.EMBEDDED)
def test_embedded_sets(name):
    f = data.EMBEDDED_DIR / f"{name}.jsonl"
    if not f.is_file():
        pytest.skip(f"{f} not generated yet")
    rows = [json.loads(line) for line in f.read_text().splitlines() if line.strip()]
    ps = data.load_prompts(name, n=None)
    assert len(ps) == len(rows) > 0
    assert all({"prompt", "category", "label"} <= set(r) for r in rows)


# ------------------------------------------------------------------------------------------------
# splits
# ------------------------------------------------------------------------------------------------

def _pools(nb=2000, nh=600):
    return [f"benign {i}" for i in range(nb)], [f"harmful {i}" for i in range(nh)]


def test_make_splits_protocol_sizes_disjoint_seeded():
    b, h = _pools()
    s = data.make_splits(b, h, seed=0)
    sz = s.sizes()
    assert sz == {"harmless_anchor": 400, "harmful_anchor": 400, "benign_train": 1200, "benign_calib": 200,
                  "benign_test": 100, "harmful_test": 200}
    allp = [p for k in data.SPLIT_NAMES for p in getattr(s, k)]
    assert len(allp) == len(set(allp))  # disjoint
    assert set(s.harmful_anchor) | set(s.harmful_test) <= set(h)
    s2 = data.make_splits(b, h, seed=0)
    assert s2.hashes() == s.hashes() and s2.manifest() == s.manifest()
    s3 = data.make_splits(b, h, seed=1)
    assert s3.hashes()["benign_train"] != s.hashes()["benign_train"]
    m = s.manifest()
    json.dumps(m)  # JSON-able
    assert m["sizes"] == sz and len(m["hashes"]) == 6 and len(m["hash"]) == 64


def test_make_splits_dedupes_and_drops_ambiguous():
    b, h = _pools(60, 20)
    b = b + b[:10] + ["shared one"]
    h = h + ["shared one", "  harmful 0  "]
    s = data.make_splits(b, h, n_anchor=5, n_train=20, n_calib=5, n_test_benign=None, n_test_harmful=None)
    allp = [p for k in data.SPLIT_NAMES for p in getattr(s, k)]
    assert len(allp) == len(set(allp)) == 60 + 20
    assert "shared one" not in allp
    assert s.params["n_dropped_both"] == 1


def test_make_splits_not_enough():
    b, h = _pools(100, 50)
    with pytest.raises(ValueError, match=r"need 1900 .* got 100"):
        data.make_splits(b, h)
    with pytest.raises(ValueError, match=r"harmful prompts: need 400"):
        data.make_splits(*_pools(2000, 50))


def test_splits_save_load(tmp_path):
    s = data.make_splits(*_pools(100, 30), n_anchor=10, n_train=20, n_calib=10, n_test_benign=5)
    p = tmp_path / "splits.json"
    s.save(p)
    s2 = data.Splits.load(p)
    assert s2.hashes() == s.hashes() and s2.as_dict() == s.as_dict()
    d = json.loads(p.read_text())
    d["splits"]["benign_train"][0] = "edited"
    p.write_text(json.dumps(d))
    with pytest.raises(ValueError, match="hashes"):
        data.Splits.load(p)


def test_prompts_hash():
    assert data.prompts_hash(["a", "b"]) != data.prompts_hash(["b", "a"])
    assert len(data.prompts_hash([])) == 64
    with pytest.raises(TypeError):
        data.prompts_hash([1, 2])
