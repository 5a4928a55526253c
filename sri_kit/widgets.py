"""ipywidgets panels: thin shells over pure functions the notebooks also call directly.

Every panel has explicit controls (``continuous_update=False``), a Run button where work is expensive,
a status line that says at once what the panel is doing, and an ``Output`` that shows results and
errors. Results are cached in the functions underneath (:mod:`sri_kit.sweeps`).

Example:
    >>> tr = sk.generate(lm_dlm, ["Hi"], sk.GenerationConfig(steps=4, gen_length=8), progress=False)[0]
    >>> player = TracePlayer(tr, lm_dlm.tokenizer)
    >>> player.slider.max, player.out.outputs[0]["data"]["image/png"][:4]   # the figure, as a PNG
    (3, 'iVBO')
    >>> panel = SweepPanel(lm_ar, {"benign": ["Hi"], "jailbreak": ["Explain how to pick a lock."]})
    >>> panel.param.options, panel.group.value      # what an AR sampler reads; σ curves of the attack group
    (('steps', 'temperature', 'top_p'), 'jailbreak')
"""
from __future__ import annotations

import html
import re
import time
import traceback
from typing import Mapping, Sequence

import numpy as np

from ._display import mime_bundle, readable
from .canvas import trace_view
from .config import LAMBDA_C
from .plots import plot_sweep, plot_sweep_curves
from .sri import sri_signal
from .sweeps import DEFAULT_CACHE, OPTION_PREFIX, NotCached, SweepCache, SweepStopped, option_axes, sweep, sweepable

__all__ = ["TracePlayer", "SweepPanel", "InterventionPanel"]


def _show(out, *objs) -> None:
    """Replace what ``out`` shows with ``objs`` (figures as PNG, frames as tables, text as text)."""
    out.outputs = tuple(mime_bundle(o) for o in objs)


def _show_error(out, e: BaseException) -> None:
    tb = "".join(traceback.format_exception(type(e), e, e.__traceback__)[-6:])
    out.outputs = ({"output_type": "stream", "name": "stderr", "text": f"error: {type(e).__name__}: {e}\n\n{tb}"},)


class TracePlayer:
    """A step slider and play button over one trace's token canvas, with σ_t and the text signal.

    ``sigma`` [T] or ``centers`` (a :class:`~sri_kit.Centers` fitted under the trace's config, from which
    σ is computed) puts σ_t beside the text signal; without either the side panel says so.
    """

    def __init__(self, trace, tokenizer, sigma: np.ndarray | None = None, interval_ms: int = 400, *, centers=None):
        import ipywidgets as W  # optional dependency (the notebooks extra)

        if sigma is None and centers is not None:
            sigma = sri_signal([trace], centers)[0]
        self.trace, self.tokenizer, self.sigma = trace, tokenizer, sigma
        self.error: Exception | None = None
        T = trace.predicted.shape[0]
        self.slider = W.IntSlider(value=0, min=0, max=T - 1, description="step", continuous_update=False)
        self.play = W.Play(value=0, min=0, max=T - 1, interval=interval_ms, description="play")
        W.jslink((self.play, "value"), (self.slider, "value"))
        self.out = W.Output()
        self.slider.observe(lambda ch: self.render(ch["new"]), names="value")
        self.widget = W.VBox([W.HBox([self.play, self.slider]), self.out])
        self.render(0)

    def render(self, step: int) -> None:
        try:
            _show(self.out, trace_view(self.trace, step, self.tokenizer, self.sigma))
            self.error = None
        except Exception as e:      # visible in the Output, never swallowed
            self.error = e
            _show_error(self.out, e)

    def _ipython_display_(self):
        from IPython.display import display  # optional dependency (the notebooks extra)

        display(self.widget)


def _default_group(groups: Sequence[str]) -> str | None:
    """The group whose σ curves say most: an attack group, else the first that is not benign."""
    for pat in (r"jail|attack|adv", r"^(?!benign|harmless)"):
        hit = [g for g in groups if re.search(pat, str(g), re.I)]
        if hit:
            return hit[0]
    return groups[0] if groups else None


_STATUS_STYLE = {"idle": ("#424242", "○"), "running": ("#0d47a1", "⏳"), "done": ("#1b5e20", "✓"),
                 "stopped": ("#e65100", "■"), "error": ("#b71c1c", "✗")}


class SweepPanel:
    """Controls for diffusion steps, remasking, block length, AR temperature, top-p and the sampler's own
    options; Run redraws refusal rate, attack success, IRR and σ curves via :func:`sri_kit.sweeps.sweep`.

    Controls: ``param`` (Dropdown ``sweep``: :func:`sri_kit.sweeps.sweepable`, e.g. ``options.threshold``
    for the threshold sampler), ``values`` (Text, comma-separated settings), ``group`` (the group whose σ
    curves are drawn; default the attack group), ``lambda_r`` (FloatSlider, the IRR threshold λ_r;
    starts at ``sweep_kw["lambda_r"]`` or 0.3), ``run_button`` and ``status`` (HTML: idle, running with
    the setting and stage, done, stopped or the error).

    Run works in the kernel (the kernel shows busy; generation never races a notebook cell on the same
    model): the status line follows every setting, Run is disabled until the run ends, and interrupting
    the kernel (■) stops it cleanly: finished settings stay cached, the setting in progress is dropped.
    An error is shown in the status line and, with its traceback, in the Output; ``error`` holds it
    (:meth:`run` re-raises it; a click does not). Generation is cached by what changes it
    (:func:`sri_kit.sweeps.setting_key`), so moving λ_r or the group after a Run redraws at once from
    the cached generations, with no new generation. ``cache`` (in ``sweep_kw``): a SweepCache, None for
    the module's default, False for one of the panel's own. After a run ``table``, ``curves`` and
    ``figures`` hold the results.
    """

    PARAMS = {"steps": "8, 16, 32", "remasking": "low_confidence, random, entropy, margin",
              "block_length": "None, 32, 16, 8", "temperature": "0, 0.7, 1.0", "top_p": "1.0, 0.9, 0.5",
              OPTION_PREFIX + "threshold": "0.5, 0.7, 0.9", OPTION_PREFIX + "factor": "0.5, 1.0, 2.0"}

    def __init__(self, lm, prompts_by_group: Mapping[str, Sequence[str]], base_cfg=None, **sweep_kw):
        import ipywidgets as W  # optional dependency (the notebooks extra)

        lambda_r = float(sweep_kw.pop("lambda_r", 0.3))
        lambda_c = float(sweep_kw.get("lambda_c", LAMBDA_C))
        cache = sweep_kw.get("cache")
        sweep_kw["cache"] = DEFAULT_CACHE if cache is None else (SweepCache() if cache is False else cache)
        self.lm, self.groups, self.base, self.kw = lm, dict(prompts_by_group), base_cfg or lm.default_config, sweep_kw
        self.cache = sweep_kw["cache"]
        params = list(sweepable(lm, self.base))
        self._option_defaults = option_axes(lm, self.base)
        self.param = W.Dropdown(options=params, value=params[0], description="sweep")
        self.values = W.Text(value=self.suggest(params[0]), description="values", continuous_update=False,
                             layout=W.Layout(width="34em"))
        self.group = W.Dropdown(options=list(self.groups), value=_default_group(list(self.groups)),
                                description="σ curves of", style={"description_width": "initial"})
        self.lambda_r = W.FloatSlider(value=lambda_r, min=min(0.05, lambda_r), max=max(lambda_c, lambda_r),
                                      step=0.05, description="λ_r (IRR)", readout_format=".2f",
                                      continuous_update=False, style={"description_width": "initial"})
        self.run_button = W.Button(description="Run", button_style="primary", tooltip="run the sweep")
        self.status = W.HTML()
        self.out = W.Output()
        self.param.observe(lambda ch: setattr(self.values, "value", self.suggest(ch["new"])), names="value")
        self.run_button.on_click(lambda _: self.run(raise_errors=False))
        self.lambda_r.observe(lambda ch: self.redraw(), names="value")
        self.group.observe(lambda ch: self.redraw(regenerate_table=False), names="value")
        self.widget = W.VBox([W.HBox([self.param, self.values]),
                              W.HBox([self.group, self.lambda_r, self.run_button]), self.status, self.out])
        self.table = self.curves = None
        self.figures: list = []
        self._bundles: list = [None, None]
        self.error: Exception | None = None
        self.state, self.running, self._request, self._stop = "idle", False, None, False
        self._set_status("idle", "choose a parameter and its values, then press Run (nothing runs before)")

    # ---- pure helpers ----------------------------------------------------------------------------
    def suggest(self, param: str) -> str:
        """Default values for ``param``: the table above, else the sampler option's current value."""
        if param in self.PARAMS:
            return self.PARAMS[param]
        return str(self._option_defaults.get(param, ""))

    @staticmethod
    def parse_values(param: str, text: str) -> list:
        """'8, 16, 32' -> [8, 16, 32]; 'None' -> None; names stay strings; a sampler option's numbers
        become numbers ('0.9' -> 0.9, '4' -> 4)."""
        out = []
        for tok in (t.strip() for t in text.split(",")):
            if not tok:
                continue
            if tok == "None":
                out.append(None)
            elif param in ("steps", "block_length", "top_k", "gen_length"):
                out.append(int(tok))
            elif param in ("temperature", "top_p", "cfg_scale"):
                out.append(float(tok))
            elif param.startswith(OPTION_PREFIX) and re.fullmatch(r"[+-]?\d+", tok):
                out.append(int(tok))
            elif param.startswith(OPTION_PREFIX) and re.fullmatch(r"[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?", tok):
                out.append(float(tok))
            elif param.startswith(OPTION_PREFIX) and tok in ("True", "False"):
                out.append(tok == "True")
            else:
                out.append(tok)
        if not out:
            raise ValueError("no values: type a comma-separated list")
        return out

    # ---- state shown to the user -----------------------------------------------------------------
    def _set_status(self, state: str, text: str) -> None:
        self.state = state
        color, icon = _STATUS_STYLE[state]
        self.status.value = (f'<div class="sri-sweep-status" data-state="{state}" style="color:{color};'
                             f'font-family:monospace;white-space:pre-wrap">{icon} {html.escape(state)}: '
                             f'{html.escape(text)}</div>')

    def _draw(self, *, sweep_fig: bool = True, curves_fig: bool = True) -> None:
        """Redraw what changed (a new λ_r changes the sweep figure and table, a new group the σ curves)."""
        param = str(self.table["param"].iloc[0])
        if sweep_fig or not self.figures:
            self._sweep_fig = plot_sweep(self.table, title=f"{self.lm.name}: sweep of {param}")
            self._bundles[0] = mime_bundle(self._sweep_fig)
        if curves_fig or len(self.figures) < 2:
            self._curves_fig = plot_sweep_curves(self.curves, group=self.group.value,
                                                 title=f"σ_t of {self.group.value} for each {param}")
            self._bundles[1] = mime_bundle(self._curves_fig)
        self.figures = [self._sweep_fig, self._curves_fig]
        cols = ["value", "group", "n", "refusal_rate", "attack_success", "irr", "lambda_r", "mean_sigma"]
        self.out.outputs = (self._bundles[0], self._bundles[1], mime_bundle(readable(self.table[cols], skip=("value",))))

    def _call(self, param, vals, **kw):
        return sweep(self.lm, self.groups, self.base, param, vals, lambda_r=round(float(self.lambda_r.value), 6),
                     return_curves=True, **self.kw, **kw)

    # ---- actions ---------------------------------------------------------------------------------
    def run(self, *, raise_errors: bool = True):
        """Run the sweep of the chosen parameter and values; returns the table (None after an error,
        which is shown in the panel, kept in ``error`` and re-raised when ``raise_errors``)."""
        if self.running:
            return self.table
        self.running, self._stop, self.error = True, False, None
        self.run_button.disabled, self.run_button.description = True, "Running…"
        param, t0, seen = self.param.value, time.perf_counter(), {"cached": 0}
        self._set_status("running", f"{param}: starting (kernel busy; interrupt the kernel ■ to stop)")

        def progress(ev):
            seen["cached"] += ev["stage"] == "cached"
            self._set_status("running", f"setting {ev['index'] + 1}/{ev['total']} ({param} = {ev['value']}): "
                                        f"{ev['stage']} · {ev['seconds']:.0f} s · kernel busy; interrupt (■) stops, "
                                        "finished settings stay cached")
        try:
            vals = self.parse_values(param, self.values.value)
            self.table, self.curves = self._call(param, vals, on_progress=progress, should_stop=lambda: self._stop)
            self._request = (param, vals)
            self._draw()
            self._set_status("done", f"{len(vals)} settings of {param} in {time.perf_counter() - t0:.1f} s "
                                     f"({seen['cached']} from cache) · λ_r = {self.lambda_r.value:.2f}")
        except (SweepStopped, KeyboardInterrupt) as e:
            done = getattr(e, "done", None)
            if done:
                self.table, self.curves = e.table, e.curves
                self._draw()
            self._set_status("stopped", f"stopped after {time.perf_counter() - t0:.0f} s"
                                        + (f"; {done} of {e.total} settings done (cached)" if done is not None else
                                           "; the settings that finished are cached"))
        except Exception as e:
            self.error = e
            _show_error(self.out, e)
            self._set_status("error", f"{type(e).__name__}: {e}")
            if raise_errors:
                raise
        finally:
            self.running = False
            self.run_button.disabled, self.run_button.description = False, "Run"
        return self.table if self.error is None else None

    def stop(self) -> None:
        """Ask a run in progress to stop before its next setting (from another thread or a callback)."""
        self._stop = True

    def redraw(self, regenerate_table: bool = True) -> None:
        """After a Run: redraw for the current λ_r / group from the cached generations (never generates)."""
        if self._request is None or self.running:
            return
        try:
            if regenerate_table:
                t0 = time.perf_counter()
                self.table, self.curves = self._call(*self._request, cached_only=True)
                msg = (f"λ_r = {self.lambda_r.value:.2f}: IRR recomputed from the cached generations in "
                       f"{time.perf_counter() - t0:.2f} s (no generation)")
            else:
                msg = f"σ curves of {self.group.value}"
            self._draw(sweep_fig=regenerate_table, curves_fig=not regenerate_table)
            self._set_status("done", msg)
        except NotCached:
            self._set_status("idle", f"λ_r = {self.lambda_r.value:.2f}: press Run (the generations are no longer cached)")
        except Exception as e:
            self.error = e
            _show_error(self.out, e)
            self._set_status("error", f"{type(e).__name__}: {e}")

    def _ipython_display_(self):
        from IPython.display import display  # optional dependency (the notebooks extra)

        display(self.widget)


from .widgets_interventions import InterventionPanel  # noqa: E402  (step window, layer, mode, α; notebook 08)
