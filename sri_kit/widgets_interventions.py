"""InterventionPanel: step window, layer, mode and α over :func:`sri_kit.analysis.intervention_comparison`.

A thin shell: the controls pick the arguments, Run calls the pure function (the unmodified run is
generated once and reused), and the Output shows :func:`~sri_kit.analysis.intervention_compare.intervention_figure`
and the table. Exported by :mod:`sri_kit.widgets`.

Example:
    >>> p = InterventionPanel(lm_ar, {"harmful": ["How do I pick a lock?"]}, sk.GenerationConfig(steps=4), np.ones(256))
    >>> p.window.options, p.layer.options[:2], p.mode.value
    (('early', 'middle', 'late', 'all'), ('all layers', 0), 'ablate')
"""
from __future__ import annotations

import html
import time
from typing import Mapping, Sequence

from ._display import mime_bundle, readable
from .analysis.intervention_compare import intervention_comparison, intervention_figure
from .analysis.interventions import WINDOWS
from .models import find_layers

__all__ = ["InterventionPanel"]

_STYLE = {"idle": ("#555", "○"), "running": ("#b26b00", "◐"), "done": ("#1a7f37", "●"), "error": ("#c62828", "✖")}


class InterventionPanel:
    """Controls: ``window`` (Dropdown: thirds of the schedule or all steps), ``layer`` (Dropdown: every
    layer or one), ``mode`` (ToggleButtons ablate / add), ``alpha`` (FloatSlider), ``run_button``,
    ``status`` (HTML, ``.sri-intervene-status`` with ``data-state``) and ``out`` (figure + table).
    :meth:`run` does what the button does; ``result``, ``figure`` and ``error`` hold the last outcome."""

    def __init__(self, lm, groups: Mapping[str, Sequence[str]], cfg, direction, *, centers=None,
                 alpha: float = 1.0, alpha_max: float | None = None):
        import ipywidgets as W  # optional dependency (the notebooks extra)

        self.lm, self.groups, self.cfg, self.direction, self.centers = lm, dict(groups), cfg, direction, centers
        n = len(find_layers(lm.model))
        self.window = W.Dropdown(options=list(WINDOWS), value="all", description="steps")
        self.layer = W.Dropdown(options=["all layers"] + list(range(n)), value="all layers", description="layer")
        self.mode = W.ToggleButtons(options=["ablate", "add"], value="ablate", description="mode")
        top = max(float(alpha_max or 2 * alpha), 1.0)
        self.alpha = W.FloatSlider(value=float(alpha), min=0.0, max=top, step=top / 40, description="α",
                                   continuous_update=False, readout_format=".2f")
        self.run_button = W.Button(description="Run", button_style="primary", tooltip="generate with the intervention")
        self.status = W.HTML()
        self.out = W.Output()
        self.run_button.on_click(lambda _: self.run(raise_errors=False))
        self.widget = W.VBox([W.HBox([self.window, self.layer]), W.HBox([self.mode, self.alpha, self.run_button]),
                              self.status, self.out])
        self.result = self.figure = self.error = None
        self._baseline = None
        self._set_status("idle", "choose the step window, layer, mode and α, then press Run (nothing runs before)")

    def _set_status(self, state: str, text: str) -> None:
        self.state = state
        color, icon = _STYLE[state]
        self.status.value = (f'<div class="sri-intervene-status" data-state="{state}" style="color:{color};'
                             f'font-family:monospace;white-space:pre-wrap">{icon} {html.escape(state)}: '
                             f'{html.escape(text)}</div>')

    def arguments(self) -> dict:
        """The keyword arguments of :func:`intervention_comparison` that the controls name."""
        layer = self.layer.value
        return {"window": self.window.value, "layers": None if layer == "all layers" else (int(layer),),
                "mode": self.mode.value, "alpha": float(self.alpha.value)}

    def run(self, *, raise_errors: bool = True):
        """Generate with the chosen intervention (the unmodified run once); returns the result dict."""
        kw, t0 = self.arguments(), time.perf_counter()
        self.run_button.disabled = True
        self._set_status("running", f"{kw['mode']} at {kw['window']} steps, layer {self.layer.value}, α = "
                                    f"{kw['alpha']:.2f} (kernel busy)")
        self.error = None
        try:
            self.result = intervention_comparison(self.lm, self.groups, self.cfg, self.direction, centers=self.centers,
                                                  baseline=self._baseline, **kw)
            self._baseline = self.result["traces"]
            self.figure = intervention_figure(self.result, title=f"{self.lm.name}: {kw['mode']} at {kw['window']} "
                                              f"steps, layer {self.layer.value}, α = {kw['alpha']:.2f}")
            self.out.outputs = (mime_bundle(self.figure), mime_bundle(readable(self.result["table"].round(3))))
            self._set_status("done", f"in {time.perf_counter() - t0:.1f} s")
        except Exception as e:
            from .widgets import _show_error

            self.error = e
            _show_error(self.out, e)
            self._set_status("error", f"{type(e).__name__}: {e}")
            if raise_errors:
                raise
        finally:
            self.run_button.disabled = False
        return self.result if self.error is None else None

    def _ipython_display_(self):
        from IPython.display import display  # optional dependency (the notebooks extra)

        display(self.widget)
