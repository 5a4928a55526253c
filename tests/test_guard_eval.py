"""``sri-kit guard-eval`` (sri_kit.guard.evaluate): its store tables are built from the run's frames, with rate
cells clustered by request (never re-parsed from printed Markdown), and the clusters are the requests."""
from __future__ import annotations

import numpy as np
import pandas as pd

from sri_kit.guard.evaluate import TABLES, frame_table
from sri_kit.results import ResultsStore, Table
from sri_kit.results.schema import clustered_rate

PROV = {"commit": "abc1234", "dirty": False, "code": {}, "date": "d", "kit_version": "0"}


def test_frame_table_keeps_clustered_cells_and_kinds(tmp_path):
    # one request under six wrappers, refused under every one: 6 generations but 1 request per outcome pattern
    bits = np.r_[np.ones(12, bool), np.zeros(12, bool)]
    ids = np.repeat([f"r{i}" for i in range(4)], 6)
    df = pd.DataFrame({"n": {"A": 24, "B": 24}, "ASR %": {"A": clustered_rate(bits, ids), "B": clustered_rate(bits)},
                       "AUROC": {"A": "0.900 [0.80, 0.97]", "B": "0.500 [0.40, 0.60]"},
                       "threshold": {"A": 0.25, "B": float("nan")}})
    t = frame_table(df, model="m", name="guard_table13", title="t", index_label="defense", prov=PROV,
                    command="sri-kit guard-eval --seed 0", scale="quick", seed=0, notes="n")
    kinds = {c.label: c.kind for c in t.columns}
    assert kinds == {"defense": "text", "n": "int", "ASR %": "rate", "AUROC": "text", "threshold": "float"}
    a, b = t.rows[0]["asr"], t.rows[1]["asr"]
    assert a["k"] == b["k"] == 12 and a["clusters"] == 4 and b["clusters"] == 24
    assert a["hi"] - a["lo"] > b["hi"] - b["lo"]            # 4 requests say less than 24 independent ones
    assert t.rows[1]["threshold"] is None and t.rows[0]["defense"] == "A"
    ResultsStore(tmp_path).write(t)
    back = ResultsStore(tmp_path).read("m", "guard_table13")   # the schema re-checks every clustered interval
    assert isinstance(back, Table) and back.rows[0]["asr"] == a


def test_every_frame_has_a_table_and_title():
    assert set(TABLES) == {"guard_table13", "guard_families", "guard_paper_templates", "guard_detection_auroc",
                           "guard_signals", "guard_lda", "guard_overhead"}
    assert {v[0] for v in TABLES.values()} == {"t13", "per_family", "paper", "detection", "t4", "lda", "overhead"}


def test_request_ids_are_shared_across_wrapper_families():
    """The same held-out harmful request under two wrappers has one id (one cluster), and benign ids differ."""
    from sri_kit.guard.diagnosis import ORG_FAMILIES
    from sri_kit.guard.evaluate import request_ids
    D = {f"atk_{f}": ([None] * 5, []) for f in ORG_FAMILIES[:2]}
    D["benign_test"] = ([None] * 3, [])
    ids = request_ids(D)
    a, b = (ids[f"atk_{f}"] for f in ORG_FAMILIES[:2])
    assert a == b and len(set(a)) == 5 and len(ids["benign_test"]) == 3
    assert not set(a) & set(ids["benign_test"])
