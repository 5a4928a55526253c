"""Data-parallel collect: 2 gloo CPU processes under torchrun equal one process bit for bit; a run
stopped midway resumes to the same result; shards, markers and errors behave."""
from __future__ import annotations

import errno
import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from conftest import build_tokenizer

from sri_kit import load_traces, pipeline
from sri_kit.distributed import Dist, from_env

REPO = Path(__file__).resolve().parents[1]
PROMPTS_A = [f"tell me a story about a dragon number {i}" for i in range(7)]
PROMPTS_B = [f"write a poem about the sea, part {i}" for i in range(4)]


def save_tiny(folder: Path, kind: str = "ar") -> Path:
    """A tiny random model + tokenizer saved with save_pretrained, loadable by sri_kit.load_model(folder)."""
    tok = build_tokenizer()
    torch.manual_seed(0)
    if kind == "ar":
        from transformers import LlamaConfig, LlamaForCausalLM

        m = LlamaForCausalLM(LlamaConfig(vocab_size=len(tok), hidden_size=32, intermediate_size=64,
                                         num_hidden_layers=2, num_attention_heads=4, num_key_value_heads=2,
                                         max_position_embeddings=1024, pad_token_id=tok.pad_token_id,
                                         bos_token_id=tok.bos_token_id, eos_token_id=tok.eos_token_id))
    else:
        from transformers import BertConfig, BertForMaskedLM

        m = BertForMaskedLM(BertConfig(vocab_size=len(tok), hidden_size=32, intermediate_size=64, num_hidden_layers=2,
                                       num_attention_heads=4, max_position_embeddings=1024,
                                       pad_token_id=tok.pad_token_id))
    m.eval().save_pretrained(folder)
    tok.save_pretrained(folder)
    return folder


def write_config(path: Path, model: Path, out: str, *, steps: int = 6, gen_length: int = 12,
                 shard_size: int = 2, batch_size: int = 2) -> Path:
    path.write_text(f"""
[run]
out_dir = "{out}"
shard_size = {shard_size}
batch_size = {batch_size}

[model]
name = "{model}"

[generation]
steps = {steps}
gen_length = {gen_length}
temperature = 0.0

[sets.alpha]
role = "other"
file = "a.txt"

[sets.beta]
role = "attack"
file = "b.txt"
attack = "refusal_suppression"
""")
    (path.parent / "a.txt").write_text("\n".join(PROMPTS_A) + "\n")
    (path.parent / "b.txt").write_text("\n".join(PROMPTS_B) + "\n")
    return path


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def env() -> dict:
    e = dict(os.environ, OMP_NUM_THREADS="1", MKL_NUM_THREADS="1", TOKENIZERS_PARALLELISM="false",
             PYTHONPATH=str(REPO) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    for k in ("RANK", "WORLD_SIZE", "LOCAL_RANK", "MASTER_ADDR", "MASTER_PORT", "SRI_KIT_STOP_AFTER_SHARDS"):
        e.pop(k, None)
    return e


def torchrun(cfg: Path, *extra: str, n: int = 2) -> subprocess.CompletedProcess:
    cmd = [sys.executable, "-m", "torch.distributed.run", "--nproc-per-node", str(n), "--master-addr", "127.0.0.1",
           "--master-port", str(free_port()), "-m", "sri_kit.cli", "collect", str(cfg), *extra]
    return subprocess.run(cmd, env=env(), capture_output=True, text=True, timeout=120, cwd=cfg.parent)


def assert_same_traces(dir1: Path, dir2: Path, sets=("alpha", "beta")) -> None:
    for s in sets:
        a, b = load_traces(dir1 / "traces" / f"{s}.safetensors"), load_traces(dir2 / "traces" / f"{s}.safetensors")
        assert len(a) == len(b) > 0
        for x, y in zip(a, b):
            assert x.prompt == y.prompt and x.text == y.text and x.refused == y.refused
            assert np.array_equal(x.predicted, y.predicted)
            assert np.array_equal(x.committed, y.committed)
            assert np.array_equal(x.activations, y.activations)     # bit for bit, not allclose
            assert np.array_equal(x.confidence, y.confidence)


@pytest.fixture(scope="module")
def ar_dir(tmp_path_factory):
    return save_tiny(tmp_path_factory.mktemp("tiny_ar") / "model", "ar")


def test_dist_mine_and_env(monkeypatch):
    assert Dist(rank=0, world=2).mine(range(5)) == [0, 2, 4]
    monkeypatch.setenv("RANK", "1")
    monkeypatch.setenv("WORLD_SIZE", "2")
    monkeypatch.setenv("LOCAL_RANK", "1")
    d = from_env()
    assert (d.rank, d.world, d.local_rank) == (1, 2, 1)
    monkeypatch.setenv("RANK", "2")
    with pytest.raises(ValueError, match="rank"):
        from_env()


@pytest.fixture
def one_thread():
    n = torch.get_num_threads()
    torch.set_num_threads(1)          # the workers run with OMP_NUM_THREADS=1: same kernels, same bits
    yield
    torch.set_num_threads(n)


def test_torchrun_equals_single_process_and_resumes(tmp_path, ar_dir, one_thread):
    """One process vs 2 gloo ranks under torchrun; and a run stopped midway, resumed by 2 ranks."""
    cfg = write_config(tmp_path / "run.toml", ar_dir, "single")
    pipeline.collect(cfg, progress=False)                          # the single-process reference

    cfg2 = write_config(tmp_path / "run2.toml", ar_dir, "two")     # same run, another folder
    r = torchrun(cfg2)
    assert r.returncode == 0, r.stderr[-3000:]
    assert "rank 1/2]" in r.stderr and "rank 0/2]" in r.stderr     # per-rank progress lines
    assert_same_traces(tmp_path / "single", tmp_path / "two")
    markers = [json.loads(p.read_text()) for p in (tmp_path / "two" / "shards").glob("*.done.json")]
    assert len(markers) == 4 + 2 and {m["rank"] for m in markers} == {0, 1}

    cfg3 = write_config(tmp_path / "run3.toml", ar_dir, "crash")
    with pytest.raises(pipeline.StopAfterShards):                  # "killed" after 2 of 6 shards
        pipeline.collect(cfg3, stop_after=2, progress=False)
    assert len(list((tmp_path / "crash" / "shards").glob("*.done.json"))) == 2
    assert not (tmp_path / "crash" / "traces").exists()
    r = torchrun(cfg3)                                             # resumed by 2 ranks
    assert r.returncode == 0, r.stderr[-3000:]
    assert "already complete" in r.stderr
    assert_same_traces(tmp_path / "single", tmp_path / "crash")
    # the resumed ranks wrote only the 4 missing shards
    ranks = sorted(json.loads(p.read_text())["rank"] for p in (tmp_path / "crash" / "shards").glob("*.done.json"))
    assert ranks.count(0) >= 2 and ranks.count(1) >= 1


def test_torchrun_stop_after_exits_nonzero(tmp_path, ar_dir):
    """--stop-after under torchrun: both ranks stop, nothing is merged, exit code is non-zero."""
    cfg = write_config(tmp_path / "run.toml", ar_dir, "out", steps=2, shard_size=4, batch_size=4)
    r = torchrun(cfg, "--stop-after", "1")
    assert r.returncode != 0
    assert len(list((tmp_path / "out" / "shards").glob("*.done.json"))) == 2
    assert not (tmp_path / "out" / "traces").exists()


def test_ranks_without_group_then_merge_diffusion(tmp_path):
    """Array-job style: ranks run one after another without a process group, then merge; a diffusion model."""
    model = save_tiny(tmp_path / "bert", "diffusion")
    cfg = write_config(tmp_path / "run.toml", model, "single", steps=4, gen_length=8, shard_size=3, batch_size=3)
    pipeline.collect(cfg, progress=False)
    cfg2 = write_config(tmp_path / "run2.toml", model, "split", steps=4, gen_length=8, shard_size=3, batch_size=3)
    for rank in (1, 0):
        pipeline.collect(cfg2, rank=rank, world=2, do_merge=False, progress=False)
    pipeline.merge(cfg2, progress=False)
    assert_same_traces(tmp_path / "single", tmp_path / "split")


def test_resume_detects_corrupt_shard_and_incomplete_merge(tmp_path, ar_dir):
    cfg = write_config(tmp_path / "run.toml", ar_dir, "out", steps=3, shard_size=4, batch_size=4)
    with pytest.raises(pipeline.StopAfterShards):
        pipeline.collect(cfg, stop_after=1, progress=False)
    with pytest.raises(pipeline.IncompleteRunError, match="collect"):
        pipeline.merge(cfg, progress=False)
    shard = tmp_path / "out" / "shards" / "alpha-00000.safetensors"
    assert shard.exists()
    shard.write_bytes(shard.read_bytes()[:-3] + b"xyz")            # corrupt: the marker's hash no longer matches
    run = pipeline.prepare(cfg)
    assert not pipeline.shard_complete(run, "alpha", 0, 0, 4)
    s = pipeline.collect(cfg, progress=False)
    assert s["skipped"] == 0 and s["written"] == 3
    assert len(load_traces(tmp_path / "out" / "traces" / "alpha.safetensors")) == 7


def test_full_disk_removes_temp_file(tmp_path, ar_dir, monkeypatch):
    cfg = write_config(tmp_path / "run.toml", ar_dir, "out", steps=3, shard_size=4, batch_size=4)
    import safetensors.numpy

    def full(*a, **k):
        Path(a[1]).write_bytes(b"partial")
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(safetensors.numpy, "save_file", full)
    with pytest.raises(pipeline.DiskFullError, match=r"needed about .* MB"):
        pipeline.collect(cfg, progress=False)
    left = [p.name for p in (tmp_path / "out" / "shards").iterdir()] if (tmp_path / "out" / "shards").exists() else []
    assert not [n for n in left if n.endswith(".tmp") or n.startswith(".")], left
