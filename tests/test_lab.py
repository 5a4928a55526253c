"""``sri-kit lab``: the copy step (never overwriting a changed copy without --force) and the JupyterLab command."""
from __future__ import annotations

import json
import sys

import pytest

from sri_kit import cli, lab
from sri_kit.errors import ConfigError, CorruptFileError


def _shipped() -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in lab.shipped_notebooks()}


def test_shipped_notebooks_are_the_ordered_tutorials():
    names = list(_shipped())
    assert names[0] == "00_quickstart.ipynb" and names == sorted(names) and len(names) >= 8
    for raw in _shipped().values():
        assert json.loads(raw)["cells"], "a shipped notebook must be a notebook"


def test_first_copy_then_nothing_to_do(tmp_path):
    d = tmp_path / "work" / "nb"                         # created, parents too
    r = lab.copy_notebooks(d)
    assert r.copied == list(_shipped()) and not (r.kept or r.replaced or r.updated or r.current)
    for name, raw in _shipped().items():
        assert (d / name).read_bytes() == raw
    assert not list(d.glob("*.tmp")) and not list(d.glob(".*.tmp"))
    stamp = {p.name: p.stat().st_mtime_ns for p in d.glob("*.ipynb")}
    r2 = lab.copy_notebooks(d)
    assert r2.current == list(_shipped()) and not (r2.copied or r2.kept)
    assert {p.name: p.stat().st_mtime_ns for p in d.glob("*.ipynb")} == stamp     # nothing rewritten


def test_changed_copy_is_kept_without_force_and_replaced_with_it(tmp_path):
    d = tmp_path / "nb"
    lab.copy_notebooks(d)
    mine = d / "03_sri_signal.ipynb"
    mine.write_text('{"my": "edits"}')
    (d / "01_samplers.ipynb").unlink()                   # a deleted copy comes back
    r = lab.copy_notebooks(d)
    assert r.kept == ["03_sri_signal.ipynb"] and r.copied == ["01_samplers.ipynb"]
    assert mine.read_text() == '{"my": "edits"}'
    text = r.summary()
    assert "--force" in text and "03_sri_signal.ipynb" in text
    r = lab.copy_notebooks(d)                            # still kept on every later run
    assert r.kept == ["03_sri_signal.ipynb"] and mine.read_text() == '{"my": "edits"}'
    r = lab.copy_notebooks(d, force=True)
    assert r.replaced == ["03_sri_signal.ipynb"] and mine.read_bytes() == _shipped()["03_sri_signal.ipynb"]


def test_existing_copy_without_a_manifest_counts_as_the_users(tmp_path):
    (tmp_path / "00_quickstart.ipynb").write_text("{}")
    r = lab.copy_notebooks(tmp_path)
    assert r.kept == ["00_quickstart.ipynb"] and (tmp_path / "00_quickstart.ipynb").read_text() == "{}"


def test_untouched_copy_of_an_older_kit_is_updated(tmp_path):
    """A copy the kit wrote (its hash in the manifest) that nobody changed follows the installed kit's version."""
    lab.copy_notebooks(tmp_path)
    old = b'{"cells": [], "old": "kit version"}'
    (tmp_path / "00_quickstart.ipynb").write_bytes(old)
    man = json.loads((tmp_path / lab.MANIFEST).read_text())
    man["sha256"]["00_quickstart.ipynb"] = __import__("hashlib").sha256(old).hexdigest()
    (tmp_path / lab.MANIFEST).write_text(json.dumps(man))
    r = lab.copy_notebooks(tmp_path)
    assert r.updated == ["00_quickstart.ipynb"] and not r.kept
    assert (tmp_path / "00_quickstart.ipynb").read_bytes() == _shipped()["00_quickstart.ipynb"]


def test_bad_folders_and_a_damaged_manifest_are_named(tmp_path):
    f = tmp_path / "file"
    f.write_text("x")
    with pytest.raises(ConfigError, match="is a file, not a folder"):
        lab.copy_notebooks(f)
    (tmp_path / "d" / "00_quickstart.ipynb").mkdir(parents=True)
    with pytest.raises(ConfigError, match="is a folder, not a notebook"):
        lab.copy_notebooks(tmp_path / "d")
    (tmp_path / "m").mkdir()
    (tmp_path / "m" / lab.MANIFEST).write_text("{not json")
    with pytest.raises(CorruptFileError, match="--force"):
        lab.copy_notebooks(tmp_path / "m")


def test_cli_copy_only_and_the_jupyterlab_command(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert cli.main(["lab", "--copy-only"]) == 0                      # default folder ./sri_kit_notebooks
    assert (tmp_path / lab.DEFAULT_DIR / "00_quickstart.ipynb").is_file()
    assert "copied" in capsys.readouterr().out
    cmd = lab.lab_command(tmp_path, browser=False, extra=["--port", "8899"])
    assert cmd[:3] == [sys.executable, "-m", "jupyterlab"] and "--no-browser" in cmd
    assert f"--ServerApp.root_dir={tmp_path.resolve()}" in cmd and cmd[-1] == "00_quickstart.ipynb"
    assert cmd[-3:-1] == ["--port", "8899"]
    assert "--no-browser" not in lab.lab_command(tmp_path)


def test_cli_starts_jupyterlab_in_the_folder(tmp_path, monkeypatch, capsys):
    seen = {}

    class FakeProc:
        def __init__(self, cmd, cwd):
            seen.update(cmd=cmd, cwd=cwd)

        def wait(self):
            import signal
            signal.raise_signal(signal.SIGTERM)      # as if CI stopped `sri-kit lab`: forwarded, not fatal
            return 0

        def send_signal(self, signum):
            seen["signal"] = signum

    monkeypatch.setitem(sys.modules, "jupyterlab", type(sys)("jupyterlab"))   # present, whatever the venv has
    monkeypatch.setattr(lab.subprocess, "Popen", FakeProc)
    assert cli.main(["lab", str(tmp_path / "w"), "--no-browser", "--", "--ServerApp.token=t"]) == 0
    assert seen["cwd"] == tmp_path / "w" and "--no-browser" in seen["cmd"] and "--ServerApp.token=t" in seen["cmd"]
    import signal
    assert seen["signal"] == signal.SIGTERM                                   # forwarded to JupyterLab
    (tmp_path / "w" / "00_quickstart.ipynb").write_text("{}")
    capsys.readouterr()
    assert cli.main(["lab", str(tmp_path / "w"), "--no-browser"]) == 0
    assert "--force" in capsys.readouterr().out                              # it says how to replace the copy


def test_cli_without_jupyterlab_says_what_to_install(tmp_path, monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, "jupyterlab", None)                     # import fails
    assert cli.main(["lab", str(tmp_path), "--no-browser"]) == 2
    assert "pip install jupyterlab" in capsys.readouterr().err
