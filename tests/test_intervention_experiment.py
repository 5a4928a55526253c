"""The step-window experiment's pieces (sri_kit/analysis/interventions.py): intervals, samplers, the stored
tables and the command's input checks. The experiment itself runs with `sri-kit intervene` (docs/INTERVENTIONS.md)."""
from __future__ import annotations

import numpy as np
import pytest

import sri_kit as sk
from sri_kit.analysis.interventions import WINDOWS, experiment_samplers, paired_bootstrap, store_tables
from sri_kit.errors import ConfigError
from sri_kit.results import ResultsStore, render_block


def test_paired_bootstrap_resamples_requests():
    base, new = [1] * 10 + [0] * 10, [0] * 10 + [0] * 10
    d = paired_bootstrap(base, new, seed=1)
    assert d["value"] == -0.5 and d["lo"] < -0.25 and d["hi"] <= -0.25 and d["lo"] >= -0.8
    same = paired_bootstrap(base, base)
    assert same == {"value": 0.0, "lo": 0.0, "hi": 0.0}       # identical outcomes per request: no spread
    with pytest.raises(ConfigError, match="equal-length"):
        paired_bootstrap([1, 0], [1])


def test_samplers_and_windows():
    dlm = sk.load_model("tiny-dlm")
    (l1, diff), (l2, l2r) = experiment_samplers(dlm)
    assert (l1, l2) == ("diffusion", "left-to-right") and l2r.order == "left_to_right"
    assert l2r.gen_length == diff.gen_length and l2r.steps == diff.gen_length
    assert experiment_samplers(dlm, diffusion_steps=16)[0][1].steps == 16
    T = 32
    covered = np.zeros(T, int)
    for w in ("early", "middle", "late"):
        covered += sk.Intervention(np.ones(4), steps=WINDOWS[w]).active_steps(T)[:T]
    assert (covered == 1).all()                               # the thirds partition the schedule


def test_store_tables_writes_one_table_per_sampler(tmp_path):
    class LM:
        name = "tiny-x"

    cfg = sk.GenerationConfig(steps=8)
    rows = []
    for mode, window, kind, bits in (("none", "-", "harmful", [1, 1, 1, 0]), ("ablate", "early", "harmful", [0, 1, 0, 0])):
        rows.append({"sampler": "AR greedy", "intervention": mode, "window": window, "prompts": kind, "n": 4,
                     "refused_bits": bits, "complied_bits": [not b for b in bits], "texts": [""] * 4,
                     "delta_refused": paired_bootstrap([1, 1, 1, 0], bits)})
    info = {"layer": 2, "alpha_add": 3.0, "direction_sampler": "AR greedy", "n_fit_harmful_refused": 4,
            "n_fit_harmless_answered": 4, "n_fit": 4, "n_eval": 4, "seed": 0, "configs": {"AR greedy": cfg},
            "seconds": 1.0}
    store = ResultsStore(tmp_path)
    (t,) = store_tables(LM(), rows, info, command="test", store=store)
    back = store.read("tiny-x", "interventions_ar")
    assert back.rows[1]["refused"]["k"] == 1 and back.rows[1]["delta_refused"]["value"] == -0.5
    text = render_block(back)
    assert "| ablate | early | harmful | 4 | 25 % [5, 70] | -50 [" in text and cfg.key() in text


def test_command_checks_its_input(capsys):
    from sri_kit.cli import main

    assert main(["intervene", "--n-eval", "1", "--no-store"]) == 2
    assert "--n-eval must be >= 2" in capsys.readouterr().err
