"""The headless CLI: every step over a run folder on a tiny random model, config checks and errors,
and the older subcommands (presets, generate)."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from sri_kit import attacks, cli, load_traces, pipeline
from sri_kit.detectors import SRIGuard
from sri_kit.runconfig import ConfigError, load_run_config

from test_distributed import save_tiny

SORRY = "I am sorry, but I cannot help with that."


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory):
    return save_tiny(tmp_path_factory.mktemp("cli_model") / "m", "ar")


@pytest.fixture
def sorry_attack():
    """A prefill 'attack' that forces a refusal, so a random model yields refused harmful anchors."""
    attacks.register("test_sorry", lambda p, seed=0, **_: p, source="test", kind="prefill", overwrite=True)
    attacks.PREFILLS["test_sorry"] = SORRY
    yield
    attacks.unregister("test_sorry")
    attacks.PREFILLS.pop("test_sorry", None)


def prompts(tag: str, n: int) -> list[str]:
    return [f"{tag} request number {i}: write a short note" for i in range(n)]


def full_config(tmp: Path, model: Path, out: str = "run", epochs: int = 20) -> Path:
    sets = {"harmless_anchor": ("harmless_anchor", "ha", 6, "none"), "harmful_anchor": ("harmful_anchor", "hb", 6, "test_sorry"),
            "benign_train": ("benign_train", "bt", 24, "none"), "benign_calib": ("benign_calib", "bc", 20, "none"),
            "benign_test": ("benign_test", "bx", 8, "none"), "attack_rs": ("attack", "ax", 8, "refusal_suppression")}
    body = [f'[run]\nout_dir = "{out}"\nshard_size = 8\nbatch_size = 8\n', f'[model]\nname = "{model}"\n',
            "[generation]\nsteps = 4\ntemperature = 0.0\n", f"[guard]\nepochs = {epochs}\nhidden = [8, 4]\nseed = 0\n"]
    for name, (role, tag, n, attack) in sets.items():
        body.append(f'[sets.{name}]\nrole = "{role}"\nprompts = {json.dumps(prompts(tag, n))}\nattack = "{attack}"\n')
    p = tmp / "run.toml"
    p.write_text("\n".join(body))
    return p


@pytest.mark.filterwarnings("ignore:Only 20 calibration signals")
def test_every_step_through_the_cli(tmp_path, model_dir, sorry_attack, capsys):
    cfg = full_config(tmp_path, model_dir)
    assert cli.main(["collect", str(cfg), "--quiet"]) == 0
    run = tmp_path / "run"
    assert (run / "config.toml").read_text() == cfg.read_text()
    rec = json.loads((run / "run.json").read_text())
    assert rec["sets"]["benign_train"]["n"] == 24 and rec["sets"]["benign_train"]["shards"] == 3
    assert len(rec["sets"]["attack_rs"]["hash"]) == 64 and rec["sets"]["harmful_anchor"]["prefill"] == SORRY
    assert all(t.refused for t in load_traces(run / "traces" / "harmful_anchor.safetensors"))
    for step in (["centers"], ["signal"], ["guard", "fit"], ["guard", "eval"], ["report"]):
        assert cli.main([*step, str(cfg)]) == 0, step
    out = capsys.readouterr().out
    assert "AUROC" in out and "report:" in out
    sig = pipeline.compute_signals(cfg)
    assert sig["benign_test"].shape == (8, 4) and np.isfinite(sig["attack_rs"]).all()
    m = json.loads((run / "eval" / "metrics.json").read_text())
    # the reported AUROC is the saved guard's on these signals (benign_test negative, attack positive),
    # computed here by counting pairs, not through the kit's metric code
    guard = SRIGuard.load(run / "guard")
    normal_b, normal_a = guard.score_samples(sig["benign_test"]), guard.score_samples(sig["attack_rs"])
    pairs = (normal_a[:, None] < normal_b[None, :]).mean() + 0.5 * (normal_a[:, None] == normal_b[None, :]).mean()
    assert m["detection"]["attack_rs"]["auroc"] == pytest.approx(pairs)
    assert m["threshold"] == guard.threshold_ and m["detection"]["attack_rs"]["n_attack"] == 8
    assert set(m["summary"]) == {"sri_guard", "undefended"}
    assert (run / "eval" / "blocking.csv").exists() and (run / "guard" / "sri_guard.json").exists()
    rep = (run / "report.md").read_text()
    assert "SRI Guard" in rep and "harmless_anchor" in rep
    # rerunning a finished step is fine and reuses the traces
    assert cli.main(["collect", str(cfg), "--quiet"]) == 0
    assert "0 shard(s) written" in capsys.readouterr().out


def test_mismatched_config_is_refused(tmp_path, model_dir, sorry_attack, capsys):
    cfg = full_config(tmp_path, model_dir, epochs=5)
    assert cli.main(["collect", str(cfg), "--quiet"]) == 0
    cfg.write_text(cfg.read_text().replace("steps = 4", "steps = 3"))
    assert cli.main(["collect", str(cfg), "--quiet"]) == 2
    err = capsys.readouterr().err
    assert "mismatched config" in err and "generation.steps" in err
    # changing only [guard] is accepted with --update-config
    cfg.write_text(cfg.read_text().replace("steps = 3", "steps = 4").replace("epochs = 5", "epochs = 6"))
    assert cli.main(["centers", str(cfg)]) == 2
    assert "--update-config" in capsys.readouterr().err
    assert cli.main(["centers", str(cfg), "--update-config"]) == 0
    # the prompts themselves are part of the run: an edited prompt list is a mismatch too
    cfg.write_text(cfg.read_text().replace("bx request number 0", "bx request number zero"))
    with pytest.raises(ConfigError, match="mismatched config.*sets"):
        pipeline.prepare(cfg)


def test_clear_errors(tmp_path, model_dir, capsys):
    cfg = tmp_path / "c.toml"
    cfg.write_text('[model]\nname = "./no_such_model"\n[sets.a]\nprompts = ["hi"]\n')
    assert cli.main(["collect", str(cfg), "--quiet"]) == 2
    assert "no_such_model ([model] name) does not exist" in capsys.readouterr().err
    cfg.write_text('[model]\nname = "tiny-ar"\n[generation]\nstepz = 3\n[sets.a]\nprompts = ["hi"]\n')
    with pytest.raises(ConfigError, match="stepz"):
        load_run_config(cfg)
    cfg.write_text('[model]\nname = "tiny-ar"\n[sets.a]\nrole = "anchor"\nprompts = ["hi"]\n')
    with pytest.raises(ConfigError, match="unknown role"):
        load_run_config(cfg)
    cfg.write_text(f'[model]\nname = "{model_dir}"\n[run]\nout_dir = "o"\n[sets.a]\nprompts = ["hi"]\n')
    assert cli.main(["centers", str(cfg)]) == 2
    assert "needs sets with role 'harmless_anchor'" in capsys.readouterr().err
    assert cli.main(["signal", str(cfg)]) == 2
    assert "centers.safetensors does not exist: run `sri-kit centers` first" in capsys.readouterr().err


def test_yaml_config_and_splits(tmp_path, model_dir):
    yaml = pytest.importorskip("yaml")
    (tmp_path / "benign.txt").write_text("\n".join(prompts("b", 12)))
    (tmp_path / "harm.txt").write_text("\n".join(prompts("h", 6)))
    cfg = {"run": {"out_dir": "y", "shard_size": 4}, "model": {"name": str(model_dir)}, "generation": {"steps": 2},
           "splits": {"harmless": {"path": "benign.txt"}, "harmful": {"path": "harm.txt"}, "n_anchor": 2,
                      "n_harmful_anchor": 2, "n_train": 4, "n_calib": 2, "n_test_benign": 2, "attacks": ["none", "flip"]}}
    p = tmp_path / "run.yaml"
    p.write_text(yaml.safe_dump(cfg))
    run = pipeline.prepare(p)
    assert {k: len(s.prompts) for k, s in run.sets.items()} == {
        "harmless_anchor": 2, "harmful_anchor": 2, "benign_train": 4, "benign_calib": 2, "benign_test": 2,
        "attack_none": 4, "attack_flip": 4}
    assert run.sets["attack_flip"].requests == run.sets["attack_none"].prompts
    assert (tmp_path / "y" / "config.yaml").exists()
    assert not set(run.sets["benign_train"].prompts) & set(run.sets["harmless_anchor"].prompts)


def test_existing_subcommands_still_work(tmp_path, model_dir, capsys):
    assert cli.main(["presets"]) == 0
    assert "tiny-dlm" in capsys.readouterr().out
    (tmp_path / "p.txt").write_text("hello world\nwrite a poem about the sea\n")
    assert cli.main(["generate", str(model_dir), str(tmp_path / "p.txt"), str(tmp_path / "o.safetensors"),
                     "--steps", "3"]) == 0
    assert len(load_traces(tmp_path / "o.safetensors")) == 2


def test_example_config_parses():
    cfg = load_run_config(Path(__file__).resolve().parents[1] / "examples" / "run_tiny.toml")
    assert cfg.model["name"] == "tiny-dlm" and cfg.shard_size == 16
    assert {"harmless_anchor", "harmful_anchor", "benign_train", "benign_calib", "benign_test", "attack_none"} <= set(cfg.sets)
