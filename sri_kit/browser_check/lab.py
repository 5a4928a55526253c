"""The browser side of the real-browser check (:mod:`sri_kit.browser_check.check`, ``sri-kit browser-check``):
run a notebook in JupyterLab and exercise its widgets (TracePlayer, SweepPanel) through Playwright.

Only the standard library is imported here; Playwright (the ``[browser]`` extra) is imported inside
:func:`check_all`, so the kit and ``sri-kit --help`` work without it."""
from __future__ import annotations

import hashlib
import json
import re
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

CHROMIUM_FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync",
                  "--disable-dev-shm-usage"]
#: One value per SweepPanel parameter. ``steps`` 8 is cached by 04's own sweep; ``remasking`` low_confidence is
#: the DLM's default config, not yet generated: a fresh run (about 25 s), so the running state is seen on a
#: real generation; ``block_length`` 32 and ``temperature`` 0 are that same config again (tiny-dlm's defaults),
#: so they redraw from the cache (each fresh tiny-dlm setting would cost another 25 s of CI). Others: the
#: first suggested value.
PANEL_VALUES = {"steps": "8", "remasking": "low_confidence", "block_length": "32", "temperature": "0", "top_p": "1.0"}


class CheckFailed(Exception):
    pass


def log(msg: str, quiet: bool) -> None:
    if not quiet:
        print(f"[browser_check {time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def api(base: str, token: str, path: str, method: str = "GET", timeout: float = 5.0):
    req = urllib.request.Request(f"{base}{path}", method=method, headers={"Authorization": f"token {token}"})
    with urllib.request.urlopen(req, timeout=timeout) as r:
        body = r.read()
    return json.loads(body) if body else None


def wait_until(fn, timeout: float, what: str, poll: float = 0.5):
    end = time.monotonic() + timeout
    while True:
        v = fn()
        if v:
            return v
        if time.monotonic() > end:
            raise CheckFailed(f"timed out after {timeout:.0f} s waiting for {what}")
        time.sleep(poll)


def kernel_state(base: str, token: str, nb_rel: str) -> str | None:
    try:
        for s in api(base, token, "/api/sessions"):
            if s.get("path") == nb_rel and s.get("kernel"):
                return s["kernel"].get("execution_state")
    except (urllib.error.URLError, OSError, ValueError):
        return None
    return None




JS_CELL_STATE = """(nb) => {
  const cells = [...nb.querySelectorAll('.jp-Cell.jp-CodeCell')];
  const bad = /Traceback \\(most recent call last\\)|^\\w*(Error|Exception)\\b|^error: |\\b\\w+Warning\\b:/m;
  return cells.map(c => {
    const p = c.querySelector('.jp-InputArea-prompt');
    const errs = [...c.querySelectorAll('.jp-OutputArea-output')].map(o => o.innerText).filter(t => bad.test(t));
    return {prompt: p ? p.innerText.trim() : '', error: errs.length ? errs[0].slice(0, 1500) : null,
            player: !!c.querySelector('.jp-OutputArea-output .widget-play'),
            panel: !!c.querySelector('.jp-OutputArea-output .sri-sweep-status')};
  });
}"""

JS_OUTPUT_STATE = """(out) => ({
  imgs: [...out.querySelectorAll('img')].map(i => i.getAttribute('src') || ''),
  tables: out.querySelectorAll('table').length,
  text: out.innerText.slice(0, 3000),
  table: (() => {
    const t = out.querySelector('table');
    if (!t) return null;
    return {head: [...t.querySelectorAll('thead th')].map(th => th.innerText.trim()),
            rows: [...t.querySelectorAll('tbody tr')].map(tr => [...tr.querySelectorAll('th, td')]
                                                               .map(c => c.innerText.trim()))};
  })(),
})"""


JS_PANEL_SNAP = """(w) => {
  const st = w.querySelector('.sri-sweep-status');
  const b = [...w.querySelectorAll('button')].find(b => /^(Run|Running…)$/.test(b.innerText.trim()));
  return {state: st ? st.dataset.state : null, disabled: b ? b.disabled : null,
          stale: !!(st && st.hasAttribute('data-bc-stale'))};
}"""


def column(state: dict, name: str) -> list[str]:
    """The cells of column ``name`` in the Output's (pandas HTML) table."""
    tab = state.get("table") or {}
    head = tab.get("head") or []
    if name not in head:
        raise CheckFailed(f"the panel's table has no column {name!r} (columns: {head})")
    i = head.index(name)
    return [r[i] for r in tab.get("rows", []) if len(r) > i]


def sha(x) -> str:
    return hashlib.sha256((x if isinstance(x, bytes) else "\n".join(x).encode())).hexdigest()[:10]


class Notebook:
    """One open notebook in the page: run it, find its widgets, exercise them."""

    def __init__(self, a, dl, page, base, token, nb_rel, shots: Path, idx: int, report: dict):
        self.a, self.dl, self.page, self.base, self.token, self.nb_rel = a, dl, page, base, token, nb_rel
        self.shots, self.idx, self.report, self.q = shots, idx, report, a.quiet
        self.nb = page.locator(".jp-NotebookPanel:not(.lm-mod-hidden) .jp-Notebook").first

    def kernel(self) -> str | None:
        return kernel_state(self.base, self.token, self.nb_rel)

    def lab_indicator(self) -> str | None:
        """What JupyterLab's toolbar kernel indicator shows (busy / idle), if it shows one."""
        loc = self.page.locator(".jp-NotebookPanel:not(.lm-mod-hidden) .jp-Notebook-ExecutionIndicator")
        try:
            return loc.first.get_attribute("data-status", timeout=500) if loc.count() else None
        except Exception:
            return None

    def shot(self, what: str, target=None) -> None:
        path = self.shots / f"{self.idx:02d}_{Path(self.nb_rel).stem}_{what}.png"
        try:
            if target is not None:
                target.evaluate("e => e.scrollIntoView({block: 'start'})")
            self.page.screenshot(path=str(path), full_page=False, timeout=15_000)
            self.report.setdefault("screenshots", []).append(str(path))
        except Exception as e:  # a screenshot is evidence, not a check
            log(f"screenshot {what} failed: {e}", self.q)

    # ---- Run All ----
    def open_and_run_all(self) -> list[dict]:
        a, dl, page = self.a, self.dl, self.page
        self.open()
        wait_until(lambda: self.kernel() == "idle", dl.left(90), f"the kernel of {self.nb_rel} to start")
        n_code = self.nb.locator(".jp-CodeCell").count()
        if not n_code:
            raise CheckFailed(f"{self.nb_rel} shows no code cells")
        t = time.monotonic()
        page.locator(".lm-MenuBar-itemLabel", has_text=re.compile(r"^Run$")).click()
        page.locator(".lm-Menu-itemLabel", has_text=re.compile(r"^Run All Cells$")).click()
        log(f"{self.nb_rel}: Run All Cells ({n_code} code cells)", self.q)

        def all_done():
            st = self.nb.evaluate(JS_CELL_STATE)
            if any("*" in c["prompt"] for c in st) or self.kernel() != "idle":
                return None
            return st
        time.sleep(1.0)
        wait_until(all_done, dl.left(a.run_all_timeout), f"Run All Cells of {self.nb_rel} to finish", poll=1.0)
        time.sleep(1.5)       # 'idle' can show between two queued cells: look again
        st = wait_until(all_done, dl.left(60), f"Run All Cells of {self.nb_rel} to finish")
        self.report["run_all_s"] = round(time.monotonic() - t, 1)
        self.check_cells(st, "after Run All")
        log(f"{self.nb_rel}: all {n_code} code cells ran in {self.report['run_all_s']} s", self.q)
        self.shot("run_all")
        return st

    def open(self) -> None:
        """Open the notebook in the lab and wait for its first cell."""
        dl, page = self.dl, self.page
        page.goto(f"{self.base}/lab/tree/{self.nb_rel}?token={self.token}", wait_until="domcontentloaded",
                  timeout=dl.left(60) * 1000)
        self.nb.locator(".jp-Cell").first.wait_for(timeout=dl.left(90) * 1000)
        dlg = page.locator(".jp-Dialog")      # 'Select Kernel' only when the kernelspec is unknown
        if dlg.count():
            dlg.locator("button.jp-mod-accept").first.click(timeout=5000)

    def check_cells(self, st: list[dict], when: str) -> None:
        """No output holds an error or a warning, and every code cell shows an execution count."""
        errs = [(i, c["error"]) for i, c in enumerate(st) if c["error"]]
        if errs:
            i, e = errs[0]
            raise CheckFailed(f"{self.nb_rel}: code cell {i + 1} shows an error or warning {when}:\n{e}")
        unrun = [i + 1 for i, c in enumerate(st) if not re.search(r"\[\d+\]", c["prompt"])]
        if unrun:
            raise CheckFailed(f"{self.nb_rel}: code cells {unrun} have no execution count {when}")

    # ---- an executed copy (nbval's run), rendered without executing it again ----
    def open_rendered(self, n_images: int) -> list[dict]:
        """Open an executed copy: every code cell must show its execution count, no output may hold an error
        or a warning, and at least ``n_images`` figures (the copy's image/png outputs) must render as images."""
        dl = self.dl
        t = time.monotonic()
        self.open()

        def rendered():       # the DOM fills in over a moment: every execution count and every figure
            st = self.nb.evaluate(JS_CELL_STATE)
            imgs = self.nb.locator(".jp-OutputArea-output img").count()
            numbered = all(re.search(r"\[\d+\]", c["prompt"]) for c in st)
            return (st, imgs) if st and numbered and imgs >= n_images else None
        st, imgs = wait_until(rendered, dl.left(60), f"every execution count and the {n_images} figures of "
                                                     f"{self.nb_rel} to render")
        self.report["rendered_s"] = round(time.monotonic() - t, 1)
        self.report["figures"] = imgs
        self.check_cells(st, "in the executed copy")
        log(f"{self.nb_rel}: {len(st)} executed code cells and {imgs} figures rendered", self.q)
        self.shot("rendered", self.nb.locator(".jp-OutputArea-output img").first if imgs else None)   # the first figure
        return st

    def cell(self, i: int):
        return self.nb.locator(".jp-CodeCell").nth(i)

    def widget_error(self, widget) -> str | None:
        txt = widget.inner_text(timeout=10_000)
        m = re.search(r"^error: .*$|Traceback \(most recent call last\)", txt, re.M)
        return m.group(0) if m else None

    # ---- TracePlayer ----
    def check_player(self, i: int) -> dict:
        dl = self.dl
        w = self.cell(i).locator(".jp-OutputArea-output .widget-vbox").first
        w.scroll_into_view_if_needed()
        img = w.locator(".widget-output img").first
        handle = w.locator(".widget-slider .noUi-handle").first
        readout = w.locator(".widget-slider .widget-readout").first
        img.wait_for(timeout=dl.left(30) * 1000)

        def src():
            return img.get_attribute("src") or ""
        if not src().startswith("data:image/png;base64,"):
            raise CheckFailed(f"{self.nb_rel}: the TracePlayer shows no PNG figure")
        r0, s0 = readout.inner_text().strip(), src()
        handle.focus()
        for _ in range(3):
            handle.press("ArrowRight")
        wait_until(lambda: readout.inner_text().strip() != r0 and src() != s0 and self.kernel() == "idle",
                   dl.left(60), "the TracePlayer's figure to follow its slider")
        r1, s1 = readout.inner_text().strip(), src()
        t = time.monotonic()
        play = w.locator(".widget-play button").first
        play.click()
        wait_until(lambda: readout.inner_text().strip() not in (r1,) and src() != s1, dl.left(60),
                   "the TracePlayer's play button to advance the step")
        r2 = readout.inner_text().strip()
        stop = w.locator(".widget-play button:has(.fa-stop)")      # ipywidgets 8: play/pause, stop, repeat
        (stop.first if stop.count() else w.locator(".widget-play button").nth(1)).click()
        r3 = readout.inner_text().strip()
        time.sleep(1.5)
        if readout.inner_text().strip() not in (r3, "0"):
            raise CheckFailed(f"{self.nb_rel}: the TracePlayer kept playing after stop")
        err = self.widget_error(w)
        if err:
            raise CheckFailed(f"{self.nb_rel}: the TracePlayer shows an error: {err}")
        self.shot(f"player{i + 1}", w)
        return {"slider": f"{r0} -> {r1}", "play": f"{r1} -> {r2} in {time.monotonic() - t:.1f} s"}

    # ---- SweepPanel ----
    def check_panel(self, i: int) -> dict:
        dl, page, a = self.dl, self.page, self.a
        w = self.cell(i).locator(".jp-OutputArea-output .widget-vbox").first
        w.scroll_into_view_if_needed()
        sweep_dd = w.locator(".widget-dropdown").filter(has=page.locator("label", has_text=re.compile("^sweep$"))).locator("select")
        group_dd = w.locator(".widget-dropdown").filter(has=page.locator("label", has_text="σ curves of")).locator("select")
        values = w.locator(".widget-text input").first
        slider = w.locator(".widget-slider").filter(has=page.locator("label", has_text=re.compile(re.escape("λ_r (IRR)"))))
        handle, readout = slider.locator(".noUi-handle"), slider.locator(".widget-readout")
        run_btn = w.locator("button", has_text=re.compile(r"^(Run|Running…)$"))
        status = w.locator(".sri-sweep-status")
        out = w.locator(".widget-output").first
        for loc, name in ((sweep_dd, "the sweep dropdown"), (group_dd, "the σ-curves dropdown"), (values, "the values box"),
                          (handle, "the λ_r slider"), (run_btn, "the Run button"), (status, "the status line"),
                          (out, "the Output")):
            if loc.count() != 1:
                raise CheckFailed(f"{self.nb_rel}: {name} not found in the SweepPanel (found {loc.count()})")

        def state():
            return status.get_attribute("data-state")

        def outputs():
            return out.evaluate(JS_OUTPUT_STATE)

        def press_run(label: str) -> dict:
            t, seen = time.monotonic(), set()
            w.evaluate("w => w.querySelector('.sri-sweep-status').setAttribute('data-bc-stale', '1')")
            run_btn.click()

            def finished():
                snap = w.evaluate(JS_PANEL_SNAP)         # status and button read together: no race
                if snap["stale"]:                         # the status line has not changed since the click
                    return None
                s = snap["state"]
                seen.add(s)
                if s == "running":
                    seen.add("disabled" if snap["disabled"] else "enabled")
                    seen.add(f"kernel:{self.kernel()}")
                    seen.add(f"lab:{self.lab_indicator()}")
                return s if s in ("done", "error", "stopped") and self.kernel() == "idle" else None
            s = wait_until(finished, dl.left(a.panel_timeout), f"the panel to finish {label}", poll=0.25)
            if s != "done":
                raise CheckFailed(f"{self.nb_rel}: the panel ended in state {s!r} after {label}: "
                                  f"{status.inner_text()[:300]} | {out.inner_text()[:600]}")
            if "enabled" in seen:
                raise CheckFailed(f"{self.nb_rel}: Run stayed enabled while the panel was running ({label})")
            o = outputs()
            o["seconds"], o["seen"] = round(time.monotonic() - t, 1), sorted(x for x in seen if x)
            if len(o["imgs"]) != 2 or not all(x.startswith("data:image/png;base64,") for x in o["imgs"]):
                raise CheckFailed(f"{self.nb_rel}: expected 2 PNG figures after {label}, got {len(o['imgs'])}")
            if not o["tables"]:
                raise CheckFailed(f"{self.nb_rel}: no table after {label}")
            err = self.widget_error(w)
            if err:
                raise CheckFailed(f"{self.nb_rel}: the panel shows an error after {label}: {err}")
            return o

        runs = {}
        params = [o for o in sweep_dd.locator("option").all_inner_texts()]
        for p in params:
            before = values.input_value()
            sweep_dd.select_option(label=p)
            wait_until(lambda: values.input_value() != before or p == params[0], dl.left(90),
                       f"the values box to follow {p}")
            v = PANEL_VALUES.get(p) or values.input_value().split(",")[0].strip()
            values.fill(v)
            values.press("Enter")
            time.sleep(0.3)
            o = press_run(f"Run with {p} = {v}")
            lam = readout.inner_text().strip()
            if set(column(o, "lambda_r")) != {f"{float(lam):.3f}"}:
                raise CheckFailed(f"{self.nb_rel}: table lambda_r {sorted(set(column(o, 'lambda_r')))} != slider {lam}")
            runs[f"{p}={v}"] = {"s": o["seconds"], "seen": o["seen"]}
            log(f"{self.nb_rel}: panel {p} = {v}: done in {o['seconds']} s (seen {o['seen']})", self.q)
        self.shot(f"panel{i + 1}_run", w)

        # λ_r: redrawn from the cached generations, without pressing Run
        o1, lam0 = outputs(), readout.inner_text().strip()
        t = time.monotonic()
        handle.focus()
        for _ in range(4):
            handle.press("ArrowLeft")
        lam1 = readout.inner_text().strip()
        if lam1 == lam0:
            raise CheckFailed(f"{self.nb_rel}: the λ_r slider did not move (readout {lam0})")
        want = f"{float(lam1):.3f}"
        wait_until(lambda: (set(column(outputs(), "lambda_r")) == {want} and self.kernel() == "idle"
                            and "no generation" in status.inner_text()), dl.left(a.panel_timeout),
                   f"the table to follow λ_r {lam0} -> {lam1}")
        lam_s = round(time.monotonic() - t, 1)
        o2 = outputs()
        if o2["imgs"][0] == o1["imgs"][0]:
            raise CheckFailed(f"{self.nb_rel}: the sweep figure did not change with λ_r")
        # σ curves of another group
        groups = group_dd.locator("option").all_inner_texts()
        g0 = group_dd.input_value()
        other = next((g for g in groups if g != group_dd.locator("option:checked").inner_text()), None)
        if other is not None:
            group_dd.select_option(label=other)
            wait_until(lambda: outputs()["imgs"][1] != o2["imgs"][1] and self.kernel() == "idle", dl.left(30),
                       "the σ curves to follow the group")
        self.shot(f"panel{i + 1}_lambda", w)
        return {"params": params, "runs": runs, "lambda_r": f"{lam0} -> {lam1} redrawn in {lam_s} s",
                "irr": f"{sha(column(o1, 'irr'))} -> {sha(column(o2, 'irr'))}", "group": f"{g0} -> {other}"}


WIDGET_MIME = "application/vnd.jupyter.widget-view+json"
#: where executed copies are opened (under the lab's root dir; out/ is ignored by git), one at a time
RENDER_DIR = "out/browser_check_executed"


#: tqdm's notebook progress bar, as its text/plain fallback shows it ("desc:  40%|####  | 2/5 [00:01<00:02, ...]")
PROGRESS_RE = re.compile(r"\d+%\|.*\| *[\d.?]+[kMG]?/[\d.?]+[kMG]? \[")


def is_progress_bar(output: dict) -> bool:
    """A widget output that is only a tqdm progress bar (``sk.generate(..., progress=True)``), not a widget
    the notebook shows: it needs no live kernel to check."""
    text = output.get("data", {}).get("text/plain", "")
    return bool(PROGRESS_RE.search("".join(text) if isinstance(text, list) else text))


def executed_copy(a, path: Path, rel: str):
    """``(rel path to open, source, n images, file)`` when ``--executed DIR`` holds an executed copy of the
    notebook without widget outputs (a notebook with widgets is always run live), else None. The copy is
    placed under the lab's root (``RENDER_DIR``); the caller removes it."""
    src_dir = getattr(a, "executed", None)
    if not src_dir:
        return None
    src = Path(src_dir) / path.name
    if not src.is_file():
        log(f"{rel}: no executed copy in {src_dir}: Run All", a.quiet)
        return None
    nb = json.loads(src.read_text(encoding="utf-8"))
    outs = [o for c in nb.get("cells", []) if c.get("cell_type") == "code" for o in c.get("outputs", [])]
    if any(WIDGET_MIME in o.get("data", {}) and not is_progress_bar(o) for o in outs):
        return None
    root = path.parents[len(Path(rel).parts) - 1]
    dest = root / RENDER_DIR / path.name
    dest.parent.mkdir(parents=True, exist_ok=True)
    dest.write_bytes(src.read_bytes())
    n_img = sum("image/png" in o.get("data", {}) for o in outs)
    return f"{RENDER_DIR}/{path.name}", src, n_img, dest


def check_all(a, dl, base: str, token: str, notebooks: list[tuple[Path, str]], shots: Path,
              results: list) -> None:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        ctx = pw.chromium.launch_persistent_context(
            str(shots.parent / "profile"), executable_path=a.chromium, headless=True, args=CHROMIUM_FLAGS,
            viewport={"width": 1400, "height": 1000}, timeout=dl.left(60) * 1000)
        try:
            page = ctx.pages[0] if ctx.pages else ctx.new_page()
            page.set_default_timeout(30_000)
            for idx, (path, rel) in enumerate(notebooks):
                rep = {"notebook": rel}
                results.append(rep)
                t = time.monotonic()
                copy = executed_copy(a, path, rel)
                nb = Notebook(a, dl, page, base, token, copy[0] if copy else rel, shots, idx, rep)
                try:
                    if copy:               # no widget: render the test command's run instead of running it again
                        rep["rendered_from"] = str(copy[1])
                        st = nb.open_rendered(copy[2])
                    else:
                        st = nb.open_and_run_all()
                    for i, c in enumerate(st):
                        if c["player"]:
                            rep.setdefault("players", []).append(nb.check_player(i))
                        if c["panel"]:
                            rep.setdefault("panels", []).append(nb.check_panel(i))
                except Exception:
                    nb.shot("FAIL")
                    raise
                finally:
                    rep["total_s"] = round(time.monotonic() - t, 1)
                    try:   # free the kernel (CPU, memory) before the next notebook
                        for s in api(base, token, "/api/sessions"):
                            if s.get("path") == nb.nb_rel:
                                api(base, token, f"/api/sessions/{s['id']}", method="DELETE", timeout=10)
                    except Exception:
                        pass
                    if copy:
                        copy[3].unlink(missing_ok=True)
                log(f"{rel}: checked in {rep['total_s']} s", a.quiet)
        finally:
            ctx.close()
