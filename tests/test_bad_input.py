"""Bad input never fails silently: every wrong value, broken file and bad CLI call ends in one of the kit's
documented error types (``sri_kit.errors``) with a message that names the problem (and, for files, the path).

The catalogue (one row per case: the input, the error type and a message fragment) is ``CASES`` below;
the property-based tests at the end generate configs, prompt lists and file corruptions with hypothesis.
"""
from __future__ import annotations

import dataclasses
import json
import shutil
import tempfile
from pathlib import Path

import numpy as np
import pytest
import torch

import sri_kit as sk
from sri_kit import cli, pipeline
from sri_kit.data import files as data_files
from sri_kit.detectors import SRIGuard
from sri_kit.errors import (ChecksumError, ConfigError, CorruptFileError, DeviceError, InputTypeError,
                            ModelNotFoundError, SriKitError, UnknownNameError)
from sri_kit.models import auto_device
from sri_kit.sampling import get_sampler

GC = sk.GenerationConfig
TINY_AR = Path(sk.models.MODELS_DIR) / "tiny-ar"


def trace(i=0, T=3, D=4, L=5, refused=False, act=None):
    return sk.GenerationTrace(prompt=f"p{i}", text="t", activations=np.ones((T, D), np.float32) * (i + 1) if act is None
                              else act, predicted=np.zeros((T, L), np.int64), committed=np.ones((T, L), bool),
                              confidence=np.ones((T, L), np.float32), refused=refused, model_name="m",
                              config_key="k", family="ar")


def centers(T=3, D=4):
    rng = np.random.default_rng(0)
    return sk.Centers(rng.normal(size=(T, D)), rng.normal(size=(T, D)), model_name="m", config_key="k")


def guard():
    X = np.random.default_rng(0).uniform(0.6, 1.0, (200, 8))
    with pytest.warns(UserWarning, match="calibration"):        # few calibration signals: fine for a file test
        return SRIGuard(epochs=2, hidden=(4,)).fit(X)


def truncate(p: Path, frac=0.5):
    b = p.read_bytes()
    p.write_bytes(b[: int(len(b) * frac)])


# ---------------------------------------------------------------- GenerationConfig: types and ranges
CONFIG_CASES = [
    (dict(steps=True), InputTypeError, "steps must be an int, got True"),
    (dict(steps="ten"), InputTypeError, "steps must be an int"),
    (dict(steps=4.0), InputTypeError, "steps must be an int"),
    (dict(gen_length=0), ConfigError, "gen_length must be >= 1"),
    (dict(block_length=2.0), InputTypeError, "block_length must be an int"),
    (dict(temperature=float("nan")), ConfigError, "temperature must be a finite number"),
    (dict(temperature=float("inf")), ConfigError, "temperature must be a finite number"),
    (dict(temperature="0.5"), InputTypeError, "temperature must be a number"),
    (dict(temperature=True), InputTypeError, "temperature must be a number"),
    (dict(top_p=float("nan")), ConfigError, "top_p must be a finite number"),
    (dict(top_k=2.5), InputTypeError, "top_k must be an int"),
    (dict(top_k=False), InputTypeError, "top_k must be an int"),
    (dict(cfg_scale="1"), InputTypeError, "cfg_scale must be a number"),
    (dict(seed="abc"), InputTypeError, "seed must be an int"),
    (dict(seed=1.5), InputTypeError, "seed must be an int"),
    (dict(layer=-2), ConfigError, "layer must be -1"),
    (dict(layer=True), InputTypeError, "layer must be an int"),
    (dict(remasking=3), InputTypeError, "remasking must be a string"),
    (dict(pooling=None), InputTypeError, "pooling must be a string"),
    (dict(system_prompt=5), InputTypeError, "system_prompt must be a string or None"),
]


@pytest.mark.parametrize("kw,err,frag", CONFIG_CASES, ids=[str(c[0]) for c in CONFIG_CASES])
def test_generation_config_rejects(kw, err, frag):
    with pytest.raises(err, match=frag.replace("(", r"\(")):
        GC(**kw)


def test_generation_config_from_dict_needs_a_mapping():
    with pytest.raises(InputTypeError, match="takes a mapping"):
        GC.from_dict("steps=4")


def test_numpy_scalars_are_numbers_and_keys_are_stable():
    cfg = GC(steps=np.int64(4), gen_length=8, temperature=np.float32(0.5))
    assert type(cfg.steps) is int and type(cfg.temperature) is float
    assert cfg.key() == GC(steps=4, gen_length=8, temperature=0.5).key()
    assert GC(temperature=1).key() == GC(temperature=1).key() and GC(temperature=1).temperature == 1


# ---------------------------------------------------------------- SRI: Centers, sri_signal, IRR
def test_centers_fit_nan_activation_names_the_trace():
    bad = trace(1, refused=True, act=np.full((3, 4), np.nan, np.float32))
    with pytest.raises(ConfigError, match=r"harmful_traces\[0\] has NaN or inf activations"):
        sk.Centers.fit([trace(0)], [bad])


def test_centers_fit_needs_traces():
    with pytest.raises(InputTypeError, match=r"harmless_traces\[0\] is a ndarray, not a GenerationTrace"):
        sk.Centers.fit([np.ones((3, 4))], [trace(1, refused=True)])


def test_centers_with_nan_are_refused():
    with pytest.raises(ConfigError, match="harmless center contains NaN"):
        sk.Centers(np.full((2, 3), np.nan), np.ones((2, 3)))


def test_sri_signal_nan_activation():
    a = np.ones((2, 3, 4))
    a[1, 0, 0] = np.nan
    with pytest.raises(ConfigError, match=r"NaN or inf \(generation\(s\) \[1\]\)"):
        sk.sri_signal(a, centers())


@pytest.mark.parametrize("tau,err,frag", [(0, ConfigError, "tau must be > 0"), (-0.1, ConfigError, "tau must be > 0"),
                                          (float("nan"), ConfigError, "tau must be a finite"),
                                          ("0.1", InputTypeError, "tau must be a number")])
def test_sri_signal_tau(tau, err, frag):
    with pytest.raises(err, match=frag):
        sk.sri_signal(np.ones((1, 3, 4)), centers(), tau=tau)


def test_sri_signal_empty_and_non_numeric():
    with pytest.raises(ConfigError, match="empty"):
        sk.sri_signal(np.ones((0, 3, 4)), centers())
    with pytest.raises(ConfigError, match="empty"):
        sk.sri_signal([], centers())
    with pytest.raises(InputTypeError, match="numeric"):
        sk.sri_signal(np.array([[["a"] * 4] * 3]), centers())


def test_irr_rejects_empty_and_out_of_range_sigma():
    with pytest.raises(ConfigError, match="sigma is empty"):
        sk.internal_recovery_rate(np.zeros((0, 4)))
    with pytest.raises(ConfigError, match=r"sigma must lie in \[0, 1\]"):
        sk.internal_recovery_rate(np.array([[5.0, -3.0]]))
    with pytest.raises(ConfigError, match="lambda_r must be a finite"):
        sk.sri_states(np.array([[0.5]]), lambda_r=float("nan"))


# ---------------------------------------------------------------- damaged files are named
def test_truncated_centers(tmp_path):
    p = centers().save(tmp_path / "c")
    truncate(p)
    with pytest.raises(CorruptFileError, match=r"c\.safetensors is not a readable sri_kit centers file") as e:
        sk.Centers.load(p)
    assert e.value.path == p


def test_corrupt_centers_sidecar(tmp_path):
    p = centers().save(tmp_path / "c")
    truncate(p.with_suffix(".json"))
    with pytest.raises(CorruptFileError, match=r"c\.json is not a readable sri_kit centers sidecar"):
        sk.Centers.load(p)


def test_truncated_trace_file(tmp_path):
    p = sk.save_traces([trace(i) for i in range(3)], tmp_path / "t.safetensors")
    truncate(p)
    with pytest.raises(CorruptFileError, match=r"t\.safetensors is not a readable sri_kit trace file.*regenerate"):
        sk.load_traces(p)


def test_trace_sidecar_that_disagrees_with_the_tensors(tmp_path):
    p = sk.save_traces([trace(i) for i in range(6)], tmp_path / "t.safetensors")
    side = p.with_suffix(".json")
    meta = json.loads(side.read_text())
    meta["traces"].pop()
    side.write_text(json.dumps(meta))
    with pytest.raises(CorruptFileError, match="lists 5 trace record.*tensors for 6"):
        sk.load_traces(p)


def test_truncated_trace_sidecar(tmp_path):
    p = sk.save_traces([trace(0)], tmp_path / "t.safetensors")
    truncate(p.with_suffix(".json"))
    with pytest.raises(CorruptFileError, match=r"t\.json is not a readable sri_kit trace sidecar \(JSONDecodeError"):
        sk.load_traces(p)


def test_truncated_guard_weights(tmp_path):
    d = guard().save(tmp_path / "g")
    truncate(d / "sri_guard.safetensors")
    with pytest.raises(CorruptFileError, match=r"sri_guard\.safetensors is not a readable SRIGuard weights file"):
        SRIGuard.load(d)


def test_guard_config_missing_a_field(tmp_path):
    d = guard().save(tmp_path / "g")
    meta = json.loads((d / "sri_guard.json").read_text())
    del meta["threshold"]
    (d / "sri_guard.json").write_text(json.dumps(meta))
    with pytest.raises(CorruptFileError, match=r"sri_guard\.json is not a readable SRIGuard config \(KeyError"):
        SRIGuard.load(d)


@pytest.fixture
def model_copy(tmp_path):
    d = tmp_path / "m"
    shutil.copytree(TINY_AR, d)
    return d


def test_truncated_model_safetensors(model_copy):
    truncate(model_copy / "model.safetensors")
    with pytest.raises(CorruptFileError, match=r"model\.safetensors is not a readable safetensors weights file.*save "
                                               r"the model again"):
        sk.load_model(model_copy, device="cpu")


def test_corrupt_sri_kit_json(model_copy):
    truncate(model_copy / "sri_kit.json")
    with pytest.raises(CorruptFileError, match=r"sri_kit\.json is not a readable sri_kit\.json"):
        sk.load_model(model_copy, device="cpu")


def test_sri_kit_json_unknown_family(model_copy):
    kit = json.loads((model_copy / "sri_kit.json").read_text())
    (model_copy / "sri_kit.json").write_text(json.dumps({**kit, "family": "rnn"}))
    with pytest.raises(ConfigError, match=r"sri_kit\.json: unknown family 'rnn'"):
        sk.load_model(model_copy, device="cpu")


def test_corrupt_config_json(model_copy):
    truncate(model_copy / "config.json")
    with pytest.raises(CorruptFileError, match=r"config\.json is not a readable model config"):
        sk.load_model(model_copy, device="cpu")


# ---------------------------------------------------------------- models and generation arguments
def test_missing_model_folder_is_not_a_hub_download(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(ModelNotFoundError, match="the model folder ./missing_folder does not exist") as e:
        sk.load_model("./missing_folder")
    assert "huggingface-cli" not in str(e.value) and isinstance(e.value, FileNotFoundError)


def test_model_path_that_is_a_file(tmp_path):
    (tmp_path / "weights.bin").write_bytes(b"x")
    with pytest.raises(ModelNotFoundError, match="is a file, not a model folder"):
        sk.load_model(tmp_path / "weights.bin")


def test_model_name_of_the_wrong_type():
    with pytest.raises(InputTypeError, match="load_model takes a preset name"):
        sk.load_model(123)


@pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has a GPU")
def test_cuda_without_a_gpu():
    with pytest.raises(DeviceError, match="device='cuda' but this machine has no usable CUDA GPU"):
        auto_device("cuda")


def test_unknown_device_string():
    with pytest.raises(ConfigError, match="unknown device 'gpu0'"):
        auto_device("gpu0")


def test_prefill_of_the_wrong_type(ar_lm):
    with pytest.raises(InputTypeError, match="prefill must be a string, None or a list"):
        sk.generate(ar_lm, ["hi"], GC(steps=2), prefill=123, progress=False)
    with pytest.raises(InputTypeError, match=r"prefill\[0\] is int"):
        sk.generate(ar_lm, ["hi"], GC(steps=2), prefill=[1], progress=False)


def test_dlm_steps_beyond_gen_length(bert_lm):
    with pytest.raises(ConfigError, match="step.* would commit nothing"):
        sk.generate(bert_lm, ["hi"], GC(steps=16, gen_length=8), progress=False)


def test_layer_out_of_range(ar_lm):
    with pytest.raises(ConfigError, match=r"layer 7 out of range: this model has 2 layers \(0 \.\. 1"):
        sk.generate(ar_lm, ["hi"], GC(steps=2, layer=7), progress=False)


def test_batch_size_bool(ar_lm):
    with pytest.raises(InputTypeError, match="batch_size must be an int, got True"):
        sk.generate(ar_lm, ["hi"], GC(steps=2), batch_size=True, progress=False)


def test_bytes_prompt(ar_lm):
    with pytest.raises(InputTypeError, match=r"prompts\[0\] is bytes"):
        sk.generate(ar_lm, [b"hi"], GC(steps=2), progress=False)


def test_unknown_sampler_and_family():
    with pytest.raises(UnknownNameError, match="unknown sampler 'nope'") as e:
        get_sampler("nope")
    assert isinstance(e.value, KeyError) and isinstance(e.value, ValueError)
    with pytest.raises(ConfigError, match="family must be one of ar, diffusion, diffusiongemma .*got 'rnn'"):
        sk.wrap_model(torch.nn.Linear(2, 2), None, family="rnn")


# ---------------------------------------------------------------- prompt files and downloads
def test_jsonl_with_non_string_entries(tmp_path):
    p = tmp_path / "mine.jsonl"
    p.write_text('{"prompt": "hello"}\n\n{"prompt": 5}\n{"prompt": null}\n')
    with pytest.raises(ConfigError, match=r"mine\.jsonl: line 3 has prompt = 5 \(int\)"):
        sk.data.load_prompts("mine", path=p)
    p.write_text('"hello"\n5\nnull\n')
    with pytest.raises(ConfigError, match=r"mine\.jsonl, line 2: expected a JSON object or a string, got int"):
        sk.data.load_prompts("mine", path=p)


def test_jsonl_with_a_broken_line(tmp_path):
    p = tmp_path / "mine.jsonl"
    p.write_text('{"prompt": "hello"}\n{"prompt": "wor')
    with pytest.raises(CorruptFileError, match=r"mine\.jsonl, line 2: not valid JSON"):
        sk.data.load_prompts("mine", path=p)


def test_json_list_with_a_number(tmp_path):
    p = tmp_path / "mine.json"
    p.write_text('["hello", 5]')
    with pytest.raises(ConfigError, match=r"mine\.json: record 2 has prompt = 5"):
        sk.data.load_prompts("mine", path=p)


@pytest.fixture
def offline_cache(tmp_path, monkeypatch):
    """An empty cache and no external folder, so load_prompts downloads (through a patched _fetch)."""
    monkeypatch.setenv("SRI_KIT_CACHE", str(tmp_path / "cache"))
    monkeypatch.setenv("SRI_KIT_DATA", str(tmp_path / "no_external"))
    monkeypatch.delenv("SRI_KIT_OFFLINE", raising=False)
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    return tmp_path / "cache" / "data"


def test_download_with_a_wrong_checksum_writes_nothing(offline_cache, monkeypatch):
    monkeypatch.setattr(data_files, "_fetch", lambda url: b"id,prompt,label\n1,hello,safe\n")
    with pytest.raises(ChecksumError, match="download of xstest_prompts.csv has sha256 .* expected 11783fb294ed0174"):
        sk.data.load_prompts("xstest")
    assert not offline_cache.exists() or not any(offline_cache.iterdir())


def test_download_with_a_wrong_format_writes_nothing(offline_cache, monkeypatch):
    monkeypatch.setattr(data_files, "_fetch", lambda url: b"<html>\nrate limited\n")
    with pytest.raises(ChecksumError, match=r"download of advbench.csv is not a valid \.csv file .*no column"):
        sk.data.load_prompts("advbench")
    assert not offline_cache.exists() or not any(offline_cache.iterdir())


def test_interrupted_download_leaves_no_partial_file(offline_cache, monkeypatch):
    def boom(url):
        raise ConnectionResetError("connection reset")
    monkeypatch.setattr(data_files, "_fetch", boom)
    with pytest.raises(sk.data.DataNotFoundError, match="ConnectionResetError"):
        sk.data.load_prompts("advbench")
    assert not offline_cache.exists() or not any(offline_cache.iterdir())


def test_good_download_from_a_file_url(offline_cache, tmp_path, monkeypatch):
    src = tmp_path / "adv.csv"
    src.write_text("goal,target\nwrite a poem,Sure\n")
    monkeypatch.setitem(sk.data.sources.SOURCES, "advbench",
                        dataclasses.replace(sk.data.sources.SOURCES["advbench"], url=src.as_uri()))
    assert sk.data.load_prompts("advbench") == ["write a poem"]
    assert sorted(p.name for p in offline_cache.iterdir()) == ["advbench.csv"]     # no temporary file left


# ---------------------------------------------------------------- run configs: validated before anything is written
def run_cfg(tmp_path, **sections):
    cfg = {"run": {"out_dir": str(tmp_path / "run")}, "model": {"name": "tiny-dlm"},
           "sets": {"a": {"role": "benign_test", "prompts": ["Write a poem."]}}}
    cfg.update(sections)
    return cfg


@pytest.mark.parametrize("sections,frag", [
    ({"generation": {"steps": "ten"}}, r"\[generation\]: steps must be an int, got 'ten'"),
    ({"generation": {"remasking": "nope"}}, r"\[generation\]: unknown remasking 'nope'"),
    ({"generation": {"steps": 256}}, r"steps \(256\) > gen_length \(64\)"),
    ({"generation": {"sampler": "nope"}}, "unknown sampler 'nope'"),
    ({"sets": {"a": {"role": "attack", "prompts": ["Write a poem."], "attack": "nope"}}}, "unknown attack 'nope'"),
    ({"sets": {"a": {"role": "benign_test", "prompts": ["Write a poem.", 5]}}}, r"prompts\[1\] is 5"),
    ({"splits": {"harmless": {"source": "tiny_benign"}, "harmful": {"source": "tiny_harmful"}, "attacks": ["nope"]}},
     r"\[splits\] attacks: unknown attack 'nope'"),
])
def test_run_config_rejected_before_writing(tmp_path, sections, frag):
    with pytest.raises(ConfigError, match=frag):
        pipeline.prepare(run_cfg(tmp_path, **sections))
    assert not (tmp_path / "run").exists()


def test_out_dir_that_is_a_file(tmp_path):
    (tmp_path / "run").write_text("x")
    with pytest.raises(ConfigError, match="is a file, not a folder"):
        pipeline.prepare(run_cfg(tmp_path))


def test_truncated_run_json(tmp_path):
    pipeline.prepare(run_cfg(tmp_path))
    truncate(tmp_path / "run" / "run.json")
    with pytest.raises(CorruptFileError, match=r"run\.json is not a readable sri_kit run record .*delete"):
        pipeline.prepare(run_cfg(tmp_path))


def test_failed_start_does_not_poison_the_folder(tmp_path, capsys):
    cfg = tmp_path / "c.toml"
    cfg.write_text(f'[run]\nout_dir = "run"\n[model]\nname = "./no_such_model"\n[generation]\nsteps = 2\n'
                   f'[sets.a]\nrole = "benign_test"\nprompts = ["Write a poem."]\n')
    assert cli.main(["collect", str(cfg), "--quiet"]) == 2
    assert "does not exist" in capsys.readouterr().err
    cfg.write_text(cfg.read_text().replace("./no_such_model", "tiny-ar"))
    assert cli.main(["collect", str(cfg), "--quiet"]) == 0          # the corrected config runs in the same folder
    assert len(pipeline.load_set(cfg, "a")) == 1


# ---------------------------------------------------------------- the CLI: one line, exit 2
@pytest.mark.parametrize("make,args,frag", [
    (None, ["generate", "tiny-ar", "missing.txt", "o.safetensors"], "prompts file missing.txt does not exist"),
    ("", ["generate", "tiny-ar", "p.txt", "o.safetensors"], "has no prompts"),
    ("hi\n", ["generate", "tiny-dlm", "p.txt", "o.safetensors", "--steps", "0"], "steps must be >= 1, got 0"),
    ("hi\n", ["generate", "tiny-dlm", "p.txt", "o.safetensors", "--remasking", "nope"], "unknown remasking 'nope'"),
    ("hi\n", ["generate", "tiny-ar", "p.txt", "p.txt/o.safetensors"], "p.txt is a file, not a folder"),
    ("hi\n", ["generate", "./nope", "p.txt", "o.safetensors"], "the model folder ./nope does not exist"),
])
def test_cli_generate_user_mistakes(tmp_path, monkeypatch, capsys, make, args, frag):
    monkeypatch.chdir(tmp_path)
    if make is not None:
        (tmp_path / "p.txt").write_text(make)
    assert cli.main(args) == 2
    err = capsys.readouterr().err.strip()
    assert frag in err and err.startswith("sri-kit generate: error:") and "\n" not in err and "Traceback" not in err
    assert not (tmp_path / "o.safetensors").exists()


def test_cli_debug_shows_the_traceback(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(FileNotFoundError, match="prompts file missing.txt"):
        cli.main(["generate", "tiny-ar", "missing.txt", "o.safetensors", "--debug"])


def test_cli_bad_run_config(tmp_path, capsys):
    cfg = tmp_path / "c.toml"
    cfg.write_text('[model]\nname = "tiny-ar"\n[generation]\nsteps = "ten"\n[sets.a]\nprompts = ["hi"]\n')
    assert cli.main(["collect", str(cfg), "--quiet"]) == 2
    err = capsys.readouterr().err
    assert "steps must be an int, got 'ten'" in err and not (tmp_path / "sri_kit_run").exists()


def test_cli_real_failure_is_exit_1(monkeypatch):
    def broken(a):
        raise ZeroDivisionError("a bug")
    monkeypatch.setattr(cli, "_generate", broken)
    with pytest.raises(ZeroDivisionError):      # not swallowed: the traceback shows, the exit code is 1
        cli.main(["generate", "tiny-ar", "p.txt", "o.safetensors"])


def test_error_types_are_the_builtins_callers_expect():
    assert issubclass(ConfigError, ValueError) and issubclass(InputTypeError, TypeError)
    assert issubclass(CorruptFileError, ValueError) and issubclass(ModelNotFoundError, FileNotFoundError)
    assert issubclass(ChecksumError, CorruptFileError) and issubclass(DeviceError, RuntimeError)
    assert issubclass(UnknownNameError, KeyError) and str(UnknownNameError("x y")) == "x y"
    for e in (pipeline.ConfigError, pipeline.DiskFullError, pipeline.IncompleteRunError, sk.data.DataNotFoundError):
        assert issubclass(e, SriKitError)


# ================================================================ property-based: never another exception type
hypothesis = pytest.importorskip("hypothesis")
from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

KIT_ERRORS = (SriKitError,)
_any = st.one_of(st.none(), st.booleans(), st.integers(-3, 20), st.floats(allow_nan=True, allow_infinity=True),
                 st.text(max_size=6), st.sampled_from(["low_confidence", "random", "entropy", "margin", "confidence",
                                                        "left_to_right", "reference", "generated"]))
_fields = {"steps": st.one_of(st.integers(1, 8), _any), "gen_length": st.one_of(st.sampled_from([4, 8, 16]), _any),
           "block_length": st.one_of(st.sampled_from([None, 2, 4, 8]), _any),
           "remasking": st.one_of(st.sampled_from(["low_confidence", "random", "entropy", "margin"]), _any),
           "temperature": st.one_of(st.floats(0, 2), _any), "top_p": st.one_of(st.floats(0.05, 1), _any),
           "top_k": st.one_of(st.integers(0, 5), _any), "cfg_scale": st.one_of(st.floats(0, 2), _any),
           "order": st.one_of(st.sampled_from(["confidence", "left_to_right"]), _any),
           "pooling": st.one_of(st.sampled_from(["reference", "generated"]), _any),
           "layer": st.one_of(st.sampled_from([-1, 0, 1]), _any), "seed": st.one_of(st.integers(0, 5), _any)}
configs = st.fixed_dictionaries({}, optional=_fields)


def _kit_error_with_message(e: BaseException) -> None:
    assert isinstance(e, KIT_ERRORS), f"{type(e).__name__}: {e}"
    assert str(e).strip(), f"{type(e).__name__} without a message"


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                  HealthCheck.too_slow])
@given(kw=configs, diffusion=st.booleans())
def test_property_configs_work_or_raise_a_kit_error(ar_lm, bert_lm, kw, diffusion):
    try:
        cfg = GC(**kw)
    except Exception as e:  # noqa: BLE001 - the property: only kit errors
        _kit_error_with_message(e)
        return
    if cfg.steps > 8 or cfg.gen_length > 16:
        return
    lm = bert_lm if diffusion else ar_lm
    try:
        texts = sk.generate_texts(lm, ["write a poem"], cfg)
    except Exception as e:  # noqa: BLE001
        _kit_error_with_message(e)
        return
    assert len(texts) == 1 and isinstance(texts[0], str)


_prompt = st.one_of(st.text(max_size=30), st.integers(), st.none(), st.binary(max_size=4), st.just(""), st.just("  "),
                    st.just("hello world " * 40))
prompt_lists = st.one_of(st.lists(_prompt, max_size=4), st.text(max_size=10), st.integers(), st.none())


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                  HealthCheck.too_slow])
@given(prompts=prompt_lists, prefill=st.one_of(st.none(), st.text(max_size=5), st.integers(), st.lists(st.text(max_size=3), max_size=3)))
def test_property_prompt_lists_work_or_raise_a_kit_error(ar_lm, prompts, prefill):
    try:
        out = sk.generate_texts(ar_lm, prompts, GC(steps=2), prefill=prefill)
    except Exception as e:  # noqa: BLE001
        _kit_error_with_message(e)
        return
    assert len(out) == len(prompts)


_GUARD = {}


@settings(max_examples=60, deadline=None)
@given(kind=st.sampled_from(["traces", "centers", "guard", "run"]), which=st.integers(0, 1),
       how=st.sampled_from(["truncate", "flip", "garbage", "empty"]), where=st.floats(0, 1), byte=st.integers(0, 255),
       garbage=st.binary(max_size=40))
def test_property_corrupted_files_load_or_raise_a_kit_error(kind, which, how, where, byte, garbage):
    with tempfile.TemporaryDirectory() as tmp:
        d = Path(tmp)
        if kind == "traces":
            p = sk.save_traces([trace(i) for i in range(3)], d / "t.safetensors")
            files, load = [p, p.with_suffix(".json")], lambda: sk.load_traces(p)
        elif kind == "centers":
            p = centers().save(d / "c")
            files, load = [p, p.with_suffix(".json")], lambda: sk.Centers.load(p)
        elif kind == "guard":
            if "g" not in _GUARD:
                _GUARD["g"] = guard()
            g = _GUARD["g"].save(d / "g")
            files, load = [g / "sri_guard.safetensors", g / "sri_guard.json"], lambda: SRIGuard.load(g)
        else:
            cfg = {"run": {"out_dir": str(d / "run")}, "model": {"name": "tiny-ar"},
                   "sets": {"a": {"role": "benign_test", "prompts": ["Write a poem."]}}}
            pipeline.prepare(cfg)
            files, load = [d / "run" / "run.json", d / "run" / "prompts.json"], lambda: pipeline.prepare(cfg)
        f = files[which]
        b = bytearray(f.read_bytes())
        if how == "truncate":
            b = b[: int(len(b) * where)]
        elif how == "flip" and b:
            b[min(int(len(b) * where), len(b) - 1)] = byte
        elif how == "garbage":
            b = bytearray(garbage)
        else:
            b = bytearray()
        f.write_bytes(bytes(b))
        try:
            load()
        except Exception as e:  # noqa: BLE001
            _kit_error_with_message(e)
            if isinstance(e, CorruptFileError):
                assert str(f.name) in str(e) or str(files[0].name) in str(e)


def test_organism_train_never_overwrites_the_shipped_weights(monkeypatch, capsys, tmp_path):
    monkeypatch.chdir(sk.models.MODELS_DIR.parent)                 # a relative --out naming the shipped folder
    assert cli.main(["organism", "train", "--out", sk.models.MODELS_DIR.name, "--only", "ar"]) == 2
    assert "--overwrite-shipped" in capsys.readouterr().err
    (tmp_path / "f").write_text("x")
    assert cli.main(["organism", "train", "--out", str(tmp_path / "f")]) == 2
    assert "is a file, not a folder" in capsys.readouterr().err


@pytest.mark.parametrize("kw,err,frag", [(dict(percentile=True), InputTypeError, "percentile must be a number"),
                                         (dict(percentile=float("nan")), ConfigError, "percentile must be a finite"),
                                         (dict(epochs=2.5), InputTypeError, "epochs must be an int"),
                                         (dict(lr=float("nan")), ConfigError, "lr must be a finite"),
                                         (dict(calib_fraction=1.5), ConfigError, "calib_fraction must be < 1"),
                                         (dict(batch_size=True), InputTypeError, "batch_size must be an int")])
def test_sri_guard_parameters(kw, err, frag):
    with pytest.raises(err, match=frag):
        SRIGuard(**kw)


def test_sri_guard_sigma_out_of_range_and_nan():
    g = SRIGuard(epochs=1)
    with pytest.raises(ConfigError, match=r"\[0, 1\]"):
        g.fit(np.full((50, 8), 3.0))
    with pytest.raises(ConfigError, match="NaN/inf"):
        g.fit(np.full((50, 8), np.nan))
