"""No tracked file holds an absolute path of one machine: a checkout (/work/...), a temporary folder (/tmp/...), a
home folder (/root/..., /home/<user>/..., /Users/<user>/...). Scripts take paths as arguments or environment
variables; caches default to the user's cache folder (sri_kit.resources.user_cache_dir)."""
from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
MACHINE_PATH = re.compile(
    r"(?<![\w.~/$])/(?:work|tmp|root)(?:/|(?=[\s;,'\"`)\]]|$))"      # /work/..., /tmp/..., /root/..., "/tmp"
    r"|(?<![\w.~/$])/(?:home|Users)/[^/\s]+/"                          # /home/<user>/..., /Users/<user>/...
    r"|\b[A-Za-z]:\\\\?Users\\\\?",                                       # C:\Users\...
    re.M)
BINARY = {".safetensors", ".png", ".jpg", ".gif", ".whl", ".pt", ".bin", ".parquet"}


def offenders(files) -> list[str]:
    bad = []
    for p in files:
        if p.suffix in BINARY or not p.is_file():
            continue
        try:
            text = p.read_text(encoding="utf-8")
        except UnicodeDecodeError:
            continue
        for i, line in enumerate(text.splitlines(), 1):
            m = MACHINE_PATH.search(line)
            if m:
                bad.append(f"{p.relative_to(ROOT)}:{i}: {m.group(0)!r} in {line.strip()[:120]!r}")
    return bad


def test_the_pattern_catches_machine_paths_and_spares_the_rest(tmp_path):
    hits = ["see /work/main/docs", "--out /tmp/x.csv", 'OUT=${OUT:-/tmp/out}', "in /tmp; only", "/root/.cache/x",
            "/home/alice/repo", r"C:\Users\bob\repo", '"/tmp/w"', "cd /tmp"]
    misses = ["https://github.com/org/work/tmp/x", "~/.cache/sri_kit", "sri_kit/_data/models", "../shared/data",
              "$TMPDIR/x", "a/tmp/b", "the root / of", "/usr/bin/env bash", "/proc/<pid>/stat", "/sys/fs/cgroup",
              "/dev/null", ".../w/A", "/home/ alone"]
    assert [h for h in hits if not MACHINE_PATH.search(h)] == []
    assert [m for m in misses if MACHINE_PATH.search(m)] == []


def test_no_tracked_file_holds_a_machine_path():
    if shutil.which("git") is None or not (ROOT / ".git").exists():
        pytest.skip("not a git checkout: the tracked files are unknown")
    out = subprocess.run(["git", "-C", str(ROOT), "ls-files", "-z"], capture_output=True, check=True).stdout
    this = Path(__file__).resolve()          # this file holds examples of what the pattern must catch
    files = [ROOT / f for f in out.decode().split("\0") if f and (ROOT / f).resolve() != this]
    assert len(files) > 50
    bad = offenders(files)
    assert not bad, ("absolute machine paths in tracked files (take them as arguments or environment variables; "
                     "caches go to the user's cache folder):\n" + "\n".join(bad))
