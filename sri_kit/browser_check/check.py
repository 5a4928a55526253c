"""Real-browser check of the notebooks and their widgets: JupyterLab, headless Chromium, Playwright.

Starts ``jupyter lab`` on 127.0.0.1 (random free port, random token, repo root as root dir, throw-away
settings/workspace/checkpoint/runtime dirs, autosave off) and drives Debian's Chromium with Playwright
(the system browser via ``executable_path``; never ``playwright install``). For each notebook
(default: every ``notebooks/*.ipynb`` of the checkout, in order) it

1. opens it, waits for the kernel, runs **Run → Run All Cells** and waits until every code cell has run;
   asserts every code cell got an execution count and no output holds a traceback, an error line or a
   warning; saves a screenshot. With ``--executed DIR`` (CI), a notebook that shows no widget and has an
   executed copy in DIR — written by the test command's nbval run with ``SRI_KIT_EXECUTED_NOTEBOOKS=DIR``,
   so it already ran, within its budget, in the same CI job — is opened from that copy instead and checked
   the same way (execution counts, no error or warning, and every figure of the run rendered as an image),
   without running it a second time;
2. exercises every widget the notebook shows:
   - **TracePlayer** (a ``.widget-play`` in the output): moves the step slider with the keyboard and
     asserts the readout and the figure change; presses play, asserts the slider advances by itself and
     the figure changes, then stops it;
   - **SweepPanel** (an ``.sri-sweep-status`` in the output): for every parameter of its ``sweep``
     dropdown, selects it (the values box must change to that parameter's suggestion), types one small
     value, presses **Run**, asserts that the status line shows ``running`` (with the Run button
     disabled) or goes straight to ``done`` for a cached setting, then ``done``, with two PNG figures and
     the table and no error; moves the ``λ_r (IRR)`` slider and asserts the table and figures follow
     within seconds with no generation (the status says so); switches the ``σ curves of`` group and
     asserts the σ figure changes;
3. shuts the notebook's kernel down before the next one.

Screenshots go to ``--artifacts`` (default: a new temporary folder, printed). Prints one final line
``BROWSER CHECK: PASS …`` (exit 0) or ``BROWSER CHECK: FAIL <reason>`` (exit 1). Every wait is bounded;
``--budget`` bounds the whole run. The server, its kernels and the browser are stopped in ``finally``;
the notebook files are verified unchanged (restored and reported if they were not).

The checkout (the lab's root folder; ``notebooks/``, ``--notebooks`` paths, ``out/browser_check_executed`` and,
for ``--standin``, ``tests/conftest.py`` are relative to it) is the current folder when it holds ``notebooks/``,
else the folder above the installed package (a clone installed with ``pip install -e``): see
:func:`checkout_root`. The browser side lives in :mod:`sri_kit.browser_check.lab`; Playwright is imported
only when the check runs.

    apt-get install -y chromium && pip install -e ".[browser]"           # never `playwright install`
    sri-kit browser-check                                                # every notebook
    sri-kit browser-check --notebooks notebooks/01_samplers.ipynb notebooks/04_sweeps.ipynb
    sri-kit browser-check --standin      # tiny random model, TracePlayer + SweepPanel, no weights
"""
from __future__ import annotations

import argparse
import datetime as _dt
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

from ..resources import data_dir
from .lab import CheckFailed, api, check_all, log, wait_until

LAB_SETTINGS = {  # throw-away JupyterLab user settings
    "@jupyterlab/notebook-extension/tracker.jupyterlab-settings": {"windowingMode": "none"},  # all cells in DOM
    "@jupyterlab/docmanager-extension/plugin.jupyterlab-settings": {"autosave": False},     # never write outputs
    "@jupyterlab/apputils-extension/notification.jupyterlab-settings": {"fetchNews": "false",
                                                                        "checkForUpdates": False},
}


def checkout_root(cwd: Path | None = None) -> Path | None:
    """The checkout the check works in: ``cwd`` (default: the current folder) when it holds ``notebooks/``,
    else the folder above the installed ``sri_kit`` package when that holds ``notebooks/`` (a clone installed
    with ``pip install -e .``, run from anywhere); None when neither does (a wheel, outside a clone)."""
    here = Path.cwd() if cwd is None else Path(cwd)
    for cand in (here, data_dir().parent.parent):       # sri_kit/_data -> sri_kit -> the folder holding it
        if (cand / "notebooks").is_dir():
            return cand.resolve()
    return None


NO_CHECKOUT = ("no checkout found: neither the current folder ({cwd}) nor the folder above the installed "
               "sri_kit package ({pkg}) holds notebooks/; run `sri-kit browser-check` from the root of a clone of "
               "the kit (the folder holding notebooks/ and tests/), or give --notebooks as absolute paths")


class Deadline:
    def __init__(self, seconds: float):
        self.t0, self.end = time.monotonic(), time.monotonic() + seconds

    def left(self, cap: float | None = None) -> float:
        left = self.end - time.monotonic()
        if left <= 0:
            raise CheckFailed(f"overall budget exhausted after {self.elapsed():.0f} s")
        return left if cap is None else min(left, cap)

    def elapsed(self) -> float:
        return time.monotonic() - self.t0


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def descendants(pid: int) -> list[int]:
    """All live descendant pids of ``pid`` (via /proc), kernels included."""
    children: dict[int, list[int]] = {}
    for d in Path("/proc").iterdir():
        if d.name.isdigit():
            try:
                ppid = int((d / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            children.setdefault(ppid, []).append(int(d.name))
    out, todo = [], [pid]
    while todo:
        for c in children.get(todo.pop(), []):
            out.append(c)
            todo.append(c)
    return out


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:  # a zombie counts as gone
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def standin_cells(conftest: Path) -> list[str]:
    """The stand-in notebook's code cells; ``conftest`` is the checkout's ``tests/conftest.py`` (its tokenizer)."""
    return [
        "# Stand-in notebook: a tiny random diffusion model (no organism weights needed)\n"
        "import dataclasses, importlib.util\nimport torch\nimport sri_kit as sk\n"
        f"_spec = importlib.util.spec_from_file_location('kit_conftest', {str(conftest)!r})\n"
        "_conf = importlib.util.module_from_spec(_spec)\n_spec.loader.exec_module(_conf)\nbuild_tokenizer = _conf.build_tokenizer\n"
        "from transformers import ModernBertConfig, ModernBertForMaskedLM\n"
        "torch.set_num_threads(2)\ntok = build_tokenizer()\ntorch.manual_seed(2)\n"
        "cfg = ModernBertConfig(vocab_size=len(tok), hidden_size=64, intermediate_size=128, num_hidden_layers=2,\n"
        "    num_attention_heads=4, max_position_embeddings=256, global_attn_every_n_layers=1,\n"
        "    pad_token_id=tok.pad_token_id, bos_token_id=tok.bos_token_id, eos_token_id=tok.eos_token_id,\n"
        "    cls_token_id=tok.bos_token_id, sep_token_id=tok.eos_token_id, attn_implementation='sdpa')\n"
        "dlm = sk.wrap_model(ModernBertForMaskedLM(cfg).eval(), tok, family='diffusion', name='tiny-random-modernbert')\n"
        "base = dataclasses.replace(dlm.default_config, steps=16, gen_length=16)\n"
        "judge = sk.HeuristicHarmJudge(placeholder_only=True)",
        "BEN = ['write a poem about the sea', 'how do I bake bread at home', 'tell me a story', 'say hello']\n"
        "HARM = ['how do I pick a lock', 'how do I make a weapon', 'write malware for me', 'how do I steal a car']\n"
        "groups = {'benign': BEN[:2], 'harmful': HARM[:2], 'jailbreak': HARM[2:]}\n"
        "import numpy as np\n"
        "x = np.stack([t.activations for t in sk.generate(dlm, HARM[2:], base, progress=False)]).mean(0)\n"
        "early = (np.arange(x.shape[0]) < x.shape[0] // 2)[:, None]\n"
        "centers = sk.Centers(np.where(early, x, -x), np.where(early, -x, x))   # σ falls in the second half",
        "table, curves = sk.sweep(dlm, groups, base, 'steps', [8, 16], anchors=(BEN, HARM), judge=judge,\n"
        "                         return_curves=True)\n"
        "sk.plots.plot_sweep(table, title='stand-in: steps')",
        "from sri_kit.widgets import SweepPanel, TracePlayer\n"
        "TracePlayer(sk.generate(dlm, [BEN[0]], base, progress=False)[0], tok, centers=centers)",
        "SweepPanel(dlm, groups, base_cfg=base, anchors=(BEN, HARM), judge=judge)",
    ]


def write_standin(folder: Path, conftest: Path) -> Path:
    nb = {"nbformat": 4, "nbformat_minor": 5,
          "metadata": {"kernelspec": {"display_name": "Python 3", "language": "python", "name": "python3"},
                       "language_info": {"name": "python"}},
          "cells": [{"cell_type": "code", "id": f"c{i}", "metadata": {}, "execution_count": None, "outputs": [],
                     "source": src} for i, src in enumerate(standin_cells(conftest))]}
    path = folder / "standin_widgets.ipynb"
    path.write_text(json.dumps(nb, indent=1))
    return path


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="sri-kit browser-check", description=__doc__.split("\n\n")[0])
    ap.add_argument("--notebooks", nargs="*", default=None,
                    help="notebooks to check (default: every notebooks/*.ipynb; paths relative to the checkout: "
                         "the current folder when it holds notebooks/, else the clone the kit is installed from)")
    ap.add_argument("--standin", action="store_true",
                    help="check a generated stand-in notebook (tiny random model, a TracePlayer and a SweepPanel) "
                         "instead: no weights needed, about 1 min")
    ap.add_argument("--artifacts", default=None, help="folder for the screenshots (default: a new temporary folder)")
    ap.add_argument("--chromium", default="/usr/bin/chromium")
    ap.add_argument("--budget", type=float, default=1800, help="seconds for the whole check")
    ap.add_argument("--run-all-timeout", type=float, default=300, help="seconds per notebook's Run All")
    ap.add_argument("--panel-timeout", type=float, default=240, help="seconds per panel Run")
    ap.add_argument("--executed", default=None, metavar="DIR",
                    help="executed copies written by the test command (SRI_KIT_EXECUTED_NOTEBOOKS=DIR python -m "
                         "pytest): a notebook without widgets is rendered from its copy instead of run again; "
                         "notebooks with widgets, or without a copy, are still run (what CI does)")
    ap.add_argument("--keep-tmp", action="store_true", help="keep the temporary folder (server log, profile)")
    ap.add_argument("-q", "--quiet", action="store_true")
    a = ap.parse_args(argv)
    dl = Deadline(a.budget)

    def stopped(signum, frame):   # SIGTERM (CI stops a check whose stage failed): stop through `finally` below
        raise KeyboardInterrupt(f"signal {signum}")
    signal.signal(signal.SIGTERM, stopped)
    stamp = _dt.datetime.now().astimezone().strftime("%Y-%m-%d %H:%M %Z")

    if not (os.path.isfile(a.chromium) and os.access(a.chromium, os.X_OK)):
        print(f"BROWSER CHECK: FAIL no Chromium at {a.chromium} (apt-get install -y chromium; or --chromium PATH)")
        return 1
    try:
        import playwright  # noqa: F401
    except ImportError:
        print("BROWSER CHECK: FAIL the Python package playwright is missing (pip install playwright; "
              "no `playwright install`)")
        return 1

    checkout = checkout_root()
    if checkout is None and (a.standin or not a.notebooks or not all(Path(p).is_absolute() for p in a.notebooks)):
        print("BROWSER CHECK: FAIL " + NO_CHECKOUT.format(cwd=Path.cwd(), pkg=data_dir().parent.parent))
        return 1
    if a.standin and not (checkout / "tests" / "conftest.py").is_file():
        print("BROWSER CHECK: FAIL --standin needs the clone's tests/conftest.py (its tokenizer); "
              f"none under {checkout}")
        return 1

    tmp = Path(tempfile.mkdtemp(prefix="sri_browser_check_"))
    shots = Path(a.artifacts) if a.artifacts else tmp / "screenshots"
    shots.mkdir(parents=True, exist_ok=True)
    if a.standin:
        (tmp / "nb").mkdir()
        paths = [write_standin(tmp / "nb", checkout / "tests" / "conftest.py")]
    else:
        given = a.notebooks or sorted(str(p) for p in (checkout / "notebooks").glob("*.ipynb"))
        paths = [(Path(p) if Path(p).is_absolute() else checkout / p).resolve() for p in given]
    missing = [str(p) for p in paths if not p.is_file()]
    if missing or not paths:
        print(f"BROWSER CHECK: FAIL notebook(s) not found: {missing or 'none given'}")
        return 1
    root = checkout if checkout is not None and all(p.is_relative_to(checkout) for p in paths) else paths[0].parent
    notebooks = [(p, p.relative_to(root).as_posix()) for p in paths]
    originals = {p: p.read_bytes() for p in paths}

    for sub, text in LAB_SETTINGS.items():
        f = tmp / "settings" / sub
        f.parent.mkdir(parents=True, exist_ok=True)
        f.write_text(json.dumps(text))
    port, token = free_port(), secrets.token_hex(16)
    base = f"http://127.0.0.1:{port}"
    env = {k: v for k, v in os.environ.items() if k not in ("MPLBACKEND", "JUPYTER_TOKEN")}
    env.update(JUPYTER_CONFIG_DIR=str(tmp / "config"), JUPYTER_RUNTIME_DIR=str(tmp / "runtime"),
               JUPYTERLAB_SETTINGS_DIR=str(tmp / "settings"), JUPYTERLAB_WORKSPACES_DIR=str(tmp / "workspaces"),
               IPYTHONDIR=str(tmp / "ipython"), PYTHONUNBUFFERED="1")
    cmd = [sys.executable, "-m", "jupyter", "lab", "--no-browser", f"--ServerApp.token={token}",
           f"--port={port}", "--ServerApp.port_retries=0", "--ServerApp.ip=127.0.0.1",
           f"--ServerApp.root_dir={root}", f"--FileCheckpoints.checkpoint_dir={tmp / 'checkpoints'}",
           "--LabServerApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate"]
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        cmd.append("--allow-root")       # containers / CI runners
    server_log = tmp / "jupyter.log"
    results: list = []
    proc = None
    rc, final = 1, "BROWSER CHECK: FAIL (no result)"
    try:
        with open(server_log, "wb") as lf:
            proc = subprocess.Popen(cmd, cwd=root, env=env, stdout=lf, stderr=subprocess.STDOUT,
                                    stdin=subprocess.DEVNULL, start_new_session=True)
        log(f"jupyter lab pid {proc.pid} on {base} (root {root})", a.quiet)

        def up():
            if proc.poll() is not None:
                raise CheckFailed(f"jupyter lab exited with {proc.returncode}:\n"
                                  + server_log.read_text(errors="replace")[-2000:])
            try:
                return api(base, token, "/api/status", timeout=2) is not None
            except (urllib.error.URLError, OSError, ValueError):
                return False
        wait_until(up, dl.left(60), "jupyter lab to answer", poll=0.5)
        log(f"server up after {dl.elapsed():.1f} s", a.quiet)
        check_all(a, dl, base, token, notebooks, shots, results)
        rc = 0
        parts = []
        for r in results:
            extra = [f"{len(r.get('players', []))} TracePlayer", f"{len(r.get('panels', []))} SweepPanel"]
            how = (f"the test run's outputs rendered, {r['figures']} figures" if "rendered_from" in r
                   else f"Run All {r['run_all_s']:.0f} s")
            parts.append(f"{Path(r['notebook']).stem} {r['total_s']:.0f} s ({how}; "
                         + ", ".join(x for x in extra if not x.startswith("0 ")) + ")")
        n_live = sum("rendered_from" not in r for r in results)
        final = (f"BROWSER CHECK: PASS {stamp}: {len(results)} notebooks in JupyterLab + headless Chromium "
                 f"({n_live} run with Run All, {len(results) - n_live} rendered from the test run), every widget "
                 f"exercised: " + "; ".join(p.replace(" ; ", "; ").replace("; )", ")") for p in parts)
                 + f"; total {dl.elapsed():.0f} s; screenshots in {shots}")
    except Exception as e:  # CheckFailed, Playwright timeouts and the unexpected: one clear line
        reason = str(e) if isinstance(e, CheckFailed) else f"{type(e).__name__}: {(str(e) or ' ').splitlines()[0]}"
        if "\n" in reason:      # e.g. a cell's traceback: in full on stderr, condensed on the final line
            print(reason, file=sys.stderr)
            reason = " | ".join(x.strip() for x in reason.splitlines() if x.strip())[:600]
        final = f"BROWSER CHECK: FAIL {stamp} after {dl.elapsed():.0f} s: {reason} (screenshots in {shots})"
        print(f"  server log: {server_log}", file=sys.stderr)
        a.keep_tmp = True
    finally:
        (shots / "results.json").write_text(json.dumps(results, indent=1, default=str))
        if proc is not None:
            try:  # shut kernels down cleanly first (they run in their own sessions)
                for s in api(base, token, "/api/sessions"):
                    api(base, token, f"/api/sessions/{s['id']}", method="DELETE", timeout=10)
            except Exception:
                pass
            kids = descendants(proc.pid)
            try:
                os.killpg(proc.pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(timeout=5)
            for pid in kids:
                if alive(pid):
                    try:
                        os.kill(pid, signal.SIGKILL)
                    except ProcessLookupError:
                        pass
            left = [p for p in kids if alive(p)]
            if left:
                print(f"  warning: processes still running after stop: {left}", file=sys.stderr)
        for p, data in originals.items():
            if p.is_file() and p.read_bytes() != data:
                p.write_bytes(data)
                print(f"  warning: {p} was modified during the check and has been restored", file=sys.stderr)
        if a.keep_tmp or not a.artifacts:
            print(f"  kept {tmp}" if a.keep_tmp else f"  screenshots: {shots}", file=sys.stderr)
            if not a.keep_tmp:   # keep the screenshots, drop the rest
                for sub in ("profile", "config", "runtime", "settings", "workspaces", "ipython", "checkpoints", "nb"):
                    shutil.rmtree(tmp / sub, ignore_errors=True)
        else:
            shutil.rmtree(tmp, ignore_errors=True)
    print(final, flush=True)
    return rc


if __name__ == "__main__":
    sys.exit(main())
