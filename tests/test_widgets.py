"""Canvas views, figures a reader can use, and the widget shells (no browser: the callbacks are called
directly, as the browser's clicks call them; ``sri-kit browser-check`` covers the frontend)."""
from __future__ import annotations

import dataclasses
import re

import numpy as np
import pandas as pd
import pytest

import sri_kit as sk
import sri_kit.sweeps as sw
from sri_kit.canvas import (canvas_cells, canvas_table, collapse_padding, padding_tokens, plot_canvas,
                            plot_confidence_heatmap, trace_view)
from sri_kit.plots.canvas import CANVAS_FONTSIZE, canvas_figure
from sri_kit.widgets import SweepPanel, TracePlayer

CFG = sk.GenerationConfig(steps=4, gen_length=8)


@pytest.fixture(scope="module")
def dtrace(bert_lm):
    return sk.generate(bert_lm, ["write a poem about the sea"], CFG, progress=False)[0]


@pytest.fixture()
def count_generate(monkeypatch):
    calls = []
    real = sw.generate
    monkeypatch.setattr(sw, "generate", lambda lm, prompts, *a, **k: calls.append(len(prompts)) or real(lm, prompts, *a, **k))
    return calls


def _renderer(fig):
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    FigureCanvasAgg(fig).draw()
    return fig.canvas.get_renderer()


def assert_legend_clear(fig, ax=None):
    """The legend lies outside the plotting area (so it cannot hide data) and inside the figure."""
    ax = ax or fig.axes[0]
    r = _renderer(fig)
    leg = ax.get_legend()
    assert leg is not None, "no legend"
    lb, ab, fb = leg.get_window_extent(r), ax.get_window_extent(r), fig.bbox
    assert not lb.overlaps(ab), f"legend {lb} overlaps the data area {ab}"
    assert lb.x0 >= fb.x0 - 1 and lb.x1 <= fb.x1 + 1, "legend cut off by the figure edge"


# ---- canvas -------------------------------------------------------------------------------------

def test_canvas_table(dtrace, tok):
    tab = canvas_table(dtrace, 1, tok)
    assert len(tab) == 8 and tab.committed.sum() == 4 and tab.new.sum() == 2
    with pytest.raises(ValueError, match="step"):
        canvas_table(dtrace, 9, tok)


def test_padding_runs_collapse_with_their_count(tok):
    pad = padding_tokens(tok)
    assert {"<|end|>", "<|pad|>"} <= pad and "<|mask|>" not in pad
    tab = pd.DataFrame({"position": range(9), "token": ["Hi", " draining", "<|end|>", "<|end|>", "<|end|>", "<|end|>",
                                                        "<|end|>", "<|end|>", "<|pad|>"],
                        "committed": [True, True, True, True, True, False, False, False, False],
                        "new": [False, True, False, True, False, False, False, False, False],
                        "confidence": [1, 1, 1, 1, 1, 0.2, 0.4, 0.6, 0.5]})
    cells = collapse_padding(tab, pad)
    # one cell per (token, state) run: committed <|end|> ×3, predicted <|end|> ×3, a lone <|pad|>
    assert cells[["token", "count", "committed"]].values.tolist() == [
        ["Hi", 1, True], [" draining", 1, True], ["<|end|>", 3, True], ["<|end|>", 3, False], ["<|pad|>", 1, False]]
    assert cells["count"].sum() == len(tab) and cells["new"].tolist() == [False, True, True, False, False]
    assert cells["confidence"].iloc[3] == pytest.approx(0.4)
    fig = canvas_figure(cells, step=3)
    texts = [t.get_text() for t in fig.axes[0].texts]
    assert texts == ["Hi", "draining", "<|end|> ×3", "<|end|> ×3", "<|pad|>"]     # full words, counts shown
    assert "5/9 positions committed" in fig.axes[0].get_title(loc="left")


def test_canvas_is_legible_at_laptop_width(dtrace, tok):
    """Shown at most 1,000 px wide (a laptop notebook column), canvas text stays >= 13 px and never clipped."""
    fig = plot_canvas(dtrace, 2, tok)
    w_px = fig.get_figwidth() * fig.dpi
    scale = min(1.0, 1000 / w_px)
    r = _renderer(fig)
    ax = fig.axes[0]
    for t in ax.texts:
        assert t.get_fontsize() * fig.dpi / 72 * scale >= 13
        assert ax.get_window_extent(r).contains(*t.get_window_extent(r).p0)      # inside the axes: not clipped
    assert len(ax.texts) == len(canvas_cells(dtrace, 2, tok)) and CANVAS_FONTSIZE >= 10
    committed_alpha = [t.get_alpha() for t in ax.texts]
    assert min(a for a in committed_alpha if a is not None) >= 0.55                # predictions not faint


def test_figures_keep_legends_off_the_data(dtrace, tok):
    hm = plot_confidence_heatmap(dtrace)
    assert hm.axes[0].get_xlabel() == "Response position"
    assert_legend_clear(hm)
    T = 12
    bimodal = np.stack([np.zeros(T), np.ones(T)])
    traj = sk.plots.plot_sri_trajectories({"harmless": np.full((10, T), 0.9), "harmful": bimodal,
                                           "jailbreak": np.linspace(0.9, 0.1, T)}, text_signal=np.ones(T))
    assert_legend_clear(traj)
    curves = sk.analysis.refusal_curves({"a": [dtrace], "b": [dtrace]})
    assert_legend_clear(sk.analysis.refusal_curves_figure(curves))
    irr = sk.irr_table({"AR": np.full((3, 4), 0.2), "diffusion": np.full((3, 4), 0.8)})
    assert_legend_clear(sk.analysis.irr_figure(irr))
    table = pd.DataFrame({"param": "steps", "value": [8, 8, 16, 16], "group": ["a", "b"] * 2, "refusal_rate": 0.1,
                          "attack_success": 0.5, "irr": 0.1, "mean_sigma": 0.6})
    sweep_fig = sk.plots.plot_sweep(table)
    for ax in sweep_fig.axes:                      # the one legend clears every panel
        r = _renderer(sweep_fig)
        assert not sweep_fig.axes[-1].get_legend().get_window_extent(r).overlaps(ax.get_window_extent(r))
    cur = pd.DataFrame({"param": "steps", "value": [8] * 3 + [16] * 3, "group": "a", "step": [0, 1, 2] * 2, "n": 5,
                        "sigma_mean": 0.5, "sigma_std": 0.1, "sigma_median": 0.4, "sigma_q25": 0.3, "sigma_q75": 0.6,
                        "text_refusing": 0.0})
    sc = sk.plots.plot_sweep_curves(cur)
    assert_legend_clear(sc)
    assert [t.get_text() for t in sc.axes[0].get_legend().get_texts()][-2:] == ["steps = 8, n=5", "steps = 16, n=5"]
    assert sc.axes[0].lines[1].get_ydata().tolist() == [0.4] * 3          # the median, not the mean


def test_trajectories_show_median_iqr_individual_traces_and_n():
    T = 6
    bimodal = np.stack([np.zeros(T), np.ones(T)])            # tiny-dlm harmful, n = 2: one at 0, one at 1
    many = np.linspace(0.2, 0.8, 10)[:, None].repeat(T, 1)
    fig = sk.plots.plot_sri_trajectories({"harmful": bimodal, "harmless": many})
    ax = fig.axes[0]
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    assert "harmful (SRI, each of n=2)" in labels and "harmless (SRI, median + IQR, n=10)" in labels
    ys = [tuple(line.get_ydata()) for line in ax.lines]
    assert tuple(np.zeros(T)) in ys and tuple(np.ones(T)) in ys               # n < 8: each trace drawn
    assert tuple(np.full(T, 0.5)) not in ys                                    # ... and no average of the two
    assert tuple(np.median(many, 0)) in ys
    assert not any(y == tuple(r) for r in many for y in ys)                    # n >= 8: no individual lines
    bands = [c for c in ax.collections if c.get_paths()]
    assert len(bands) == 1                                                     # one IQR band: the n >= 8 class
    verts = bands[0].get_paths()[0].vertices
    q25, q75 = np.percentile(many[:, 0], [25, 75])
    assert np.isclose(verts[:, 1], q25).any() and np.isclose(verts[:, 1], q75).any()


def test_roc_shows_the_low_fpr_region():
    fpr = np.array([0.0, 0.002, 0.01, 0.05, 0.3, 1.0])
    tpr = np.array([0.0, 0.5, 0.8, 0.95, 0.99, 1.0])
    fig = sk.plots.plot_roc_curves({"guard": (fpr, tpr, 0.98)})
    ax = fig.axes[0]
    assert ax.get_xscale() == "log"
    x05 = ax.transAxes.inverted().transform(ax.transData.transform((0.05, 0.5)))[0]
    assert x05 > 0.4                                  # FPR < 5 % gets at least 40 % of the width
    assert ax.get_legend().texts[0].get_text() == "guard (AUROC 0.980)"
    assert_legend_clear(fig)


def test_readable_numbers_have_no_scientific_notation():
    from sri_kit._display import readable

    df = pd.DataFrame({"group": ["a"], "mean_sigma": [1.2e-05], "irr": [np.nan], "n": [3]})
    out = readable(df)
    assert out["mean_sigma"].tolist() == ["0.000"] and out["irr"].tolist() == [""] and out["n"].tolist() == [3]
    assert "e-" not in out.to_html()


# ---- TracePlayer --------------------------------------------------------------------------------

def test_trace_player(dtrace, tok, monkeypatch):
    import sri_kit.widgets as w

    seen = []
    real = w.trace_view
    monkeypatch.setattr(w, "trace_view", lambda tr, step, *a: seen.append(step) or real(tr, step, *a))
    p = TracePlayer(dtrace, tok, sigma=np.full(4, 0.9))
    assert p.slider.max == 3 and p.play.max == 3
    first = p.out.outputs[0]["data"]["image/png"]
    p.slider.value = 2            # the slider's observer re-renders the pure view at that step
    assert seen == [0, 2] and p.out.outputs[0]["data"]["image/png"] != first and p.error is None


def test_trace_view_puts_sigma_beside_the_text_signal(dtrace, tok, bert_lm):
    T, D = dtrace.activations.shape
    acts = dtrace.activations
    centers = sk.Centers(acts, -acts)                   # the trace itself is the harmless center: σ ≈ 1
    p = TracePlayer(dtrace, tok, centers=centers)
    assert p.sigma is not None and p.sigma.shape == (T,) and (p.sigma > 0.99).all()
    fig = trace_view(dtrace, 1, tok, p.sigma)
    side = fig.axes[-1]
    assert "SRI σ_t" in [line.get_label() for line in side.lines]
    assert re.search(r"σ = 1\.00, text = \d\.\d\d", side.get_title())
    bare = trace_view(dtrace, 1, tok)
    assert any("centers=" in t.get_text() for t in bare.axes[-1].texts)      # says how to get σ


def test_trace_player_shows_errors(dtrace, tok, monkeypatch):
    import sri_kit.widgets as w

    p = TracePlayer(dtrace, tok)
    monkeypatch.setattr(w, "trace_view", lambda *a: (_ for _ in ()).throw(RuntimeError("bad step")))
    p.slider.value = 1
    assert isinstance(p.error, RuntimeError) and "bad step" in p.out.outputs[0]["text"]


# ---- SweepPanel ---------------------------------------------------------------------------------

class Watch:
    """Records what the user sees change: status states and the Run button's disabled flag."""

    def __init__(self, panel):
        self.states, self.disabled = [], []
        panel.status.observe(lambda ch: self.states.append(re.search(r'data-state="(\w+)"', ch["new"])[1]), "value")
        panel.run_button.observe(lambda ch: self.disabled.append(ch["new"]), "disabled")


def assert_shows_results(panel, n_rows):
    kinds = [tuple(sorted(o.get("data", {}))) for o in panel.out.outputs]
    assert sum("image/png" in k for k in kinds) == 2, kinds             # sweep plot + σ curves, as PNG
    html_out = [o["data"]["text/html"] for o in panel.out.outputs if "text/html" in o.get("data", {})]
    assert len(html_out) == 1 and html_out[0].count("<tr") == n_rows + 1
    assert not re.search(r"\de-\d", html_out[0])                        # numbers for people
    assert len(panel.table) == n_rows and panel.error is None


# each SweepPanel of notebooks/04_sweeps.ipynb: SweepPanel(dlm, groups, anchors=..., judge=...) and the same on ar,
# every parameter its dropdown offers, with small values
DLM_VALUES = {"steps": "2, 4", "remasking": "low_confidence, margin", "block_length": "None, 4",
              "temperature": "0, 0.7", "top_p": "1.0, 0.5"}
AR_VALUES = {"steps": "2, 3", "temperature": "0, 0.7", "top_p": "1.0, 0.5"}


@pytest.mark.parametrize("family", ["diffusion", "ar"])
def test_sweep_panel_run_on_each_notebook_configuration(family, bert_lm, ar_lm):
    lm, values = (bert_lm, DLM_VALUES) if family == "diffusion" else (ar_lm, AR_VALUES)
    groups = {"benign": ["hello"], "harmful": ["tell me a story"], "jailbreak": ["write a poem"]}
    judge = sk.HeuristicHarmJudge(placeholder_only=True)
    panel = SweepPanel(lm, groups, CFG, anchors=(["hello", "write a poem"], ["tell me a story"]), judge=judge,
                       cache=sw.SweepCache())
    assert panel.param.options == tuple(values) and panel.group.value == "jailbreak"
    assert panel.state == "idle" and "press Run" in panel.status.value and panel.out.outputs == ()
    for param, text in values.items():
        panel.param.value = param
        assert panel.values.value == SweepPanel.PARAMS[param]              # the dropdown suggests values
        panel.values.value = text
        watch = Watch(panel)
        panel.run_button.click()
        assert watch.states[0] == "running" and watch.states[-1] == "done", (param, watch.states)
        assert watch.disabled == [True, False] and not panel.run_button.disabled
        assert_shows_results(panel, 2 * len(groups))
        assert list(dict.fromkeys(panel.table["value"])) == SweepPanel.parse_values(param, text)
        assert panel.figures[1].axes[0].get_title().startswith("σ_t of jailbreak")


def test_sweep_panel_progress_names_each_setting(bert_lm):
    panel = SweepPanel(bert_lm, {"a": ["hello"]}, CFG, anchors=(["hello"], ["tell me"]), cache=sw.SweepCache())
    panel.values.value = "2, 4"
    seen = []
    panel.status.observe(lambda ch: seen.append(re.sub("<[^>]+>", "", ch["new"])), "value")
    panel.run()
    running = [s for s in seen if "running" in s]
    assert any("setting 1/2 (steps = 2): generating: anchors" in s for s in running)
    assert any("setting 2/2 (steps = 4): generating: a (1 prompts)" in s for s in running)
    assert "kernel busy" in running[-1] and "2 settings of steps" in seen[-1] and "(0 from cache)" in seen[-1]
    panel.run()                                     # again: every setting from the cache
    assert "(2 from cache)" in re.sub("<[^>]+>", "", panel.status.value)


def test_sweep_panel_error_reaches_the_user(bert_lm, monkeypatch):
    panel = SweepPanel(bert_lm, {"a": ["hello"]}, CFG, anchors=(["hello"], ["tell me"]), cache=False)
    panel.values.value = "2"

    def boom(*a, **k):
        raise RuntimeError("the model fell over")
    monkeypatch.setattr(sw, "generate", boom)
    watch = Watch(panel)
    panel.run_button.click()                       # a click: shown, kept, not raised into the kernel's log
    assert watch.states[0] == "running" and set(watch.states) == {"running", "error"} and panel.state == "error"
    assert "RuntimeError: the model fell over" in panel.status.value
    shown = panel.out.outputs[0]
    assert shown["name"] == "stderr" and "the model fell over" in shown["text"]
    assert isinstance(panel.error, RuntimeError) and not panel.run_button.disabled and watch.disabled == [True, False]
    with pytest.raises(RuntimeError, match="fell over"):
        panel.run()                                # called directly (a notebook cell, a test): re-raised
    panel.values.value = "two"                     # bad input is an error too, named in the panel
    panel.run_button.click()
    assert panel.state == "error" and "ValueError" in panel.status.value and "two" in panel.out.outputs[0]["text"]


def test_sweep_panel_stop_between_settings(bert_lm, monkeypatch):
    cache = sw.SweepCache()
    panel = SweepPanel(bert_lm, {"a": ["hello"]}, CFG, anchors=(["hello"], ["tell me"]), cache=cache)
    panel.values.value = "2, 4"
    real = sw.generate
    monkeypatch.setattr(sw, "generate", lambda *a, **k: panel.stop() or real(*a, **k))
    panel.run_button.click()
    assert panel.state == "stopped" and "1 of 2 settings done" in panel.status.value
    assert panel.table["value"].tolist() == [2] and len(cache) == 1 and not panel.run_button.disabled


def _recovering_centers(lm, prompts):
    """Centers under which each prompt's own trajectory is compliant in the first half and refusal-aligned in
    the second: its φ_t is the harmless center early and the harmful center late (the other center is −φ_t)."""
    acts = np.stack([t.activations for t in sk.generate(lm, prompts, CFG, progress=False)]).mean(0)
    T = acts.shape[0]
    early = (np.arange(T) < T // 2)[:, None]
    return sk.Centers(np.where(early, acts, -acts), np.where(early, -acts, acts))


def test_sweep_panel_irr_is_right_and_lambda_r_never_generates(bert_lm, count_generate):
    """Replaces the old either-branch test: IRR must equal the paper's formula on the σ the sweep computed
    (and be 1.0 for a trajectory built to recover), and moving λ_r recomputes it with no generation."""
    prompts = ["hello"]
    centers = _recovering_centers(bert_lm, prompts)
    traces = sk.generate(bert_lm, prompts, CFG, progress=False)
    sigma = sk.sri_signal(traces, centers)
    assert sigma[0, 0] > 0.99 and sigma[0, -1] < 0.01
    count_generate.clear()
    cache = sw.SweepCache()
    panel = SweepPanel(bert_lm, {"jailbreak": prompts, "other": ["write a poem"]}, CFG, centers=centers, cache=cache)
    panel.param.value, panel.values.value = "temperature", "0"
    panel.run_button.click()
    t1 = panel.table.set_index("group")
    assert t1.loc["jailbreak", "irr"] == 1.0 and panel.state == "done"
    other = sk.sri_signal(sk.generate(bert_lm, ["write a poem"], CFG, progress=False), centers)
    for lam in (0.3,):
        assert t1.loc["other", "irr"] == sk.internal_recovery_rate(other, lambda_r=lam)
    n_gen = len(count_generate)
    assert n_gen == 2 and len(cache) == 1
    fig1 = panel.figures[0].axes[2].get_ylabel()

    panel.lambda_r.value = 0.05                     # moving the slider redraws at once from the cache
    t2 = panel.table.set_index("group")
    assert len(count_generate) == n_gen and len(cache) == 1 and cache.hits >= 1
    assert (t2["lambda_r"] == 0.05).all() and "λ_r = 0.05" in panel.figures[0].axes[2].get_ylabel() != fig1
    assert t2.loc["other", "irr"] == sk.internal_recovery_rate(other, lambda_r=0.05)
    assert t2.loc["jailbreak", "irr"] == sk.internal_recovery_rate(sigma, lambda_r=0.05)
    assert "no generation" in panel.status.value
    f0 = panel.figures[0]
    panel.group.value = "other"                     # another group's σ curves: only that figure is redrawn
    assert panel.figures[0] is f0 and panel.figures[1].axes[0].get_title() == "σ_t of other for each temperature"
    assert len(panel.out.outputs) == 3 and len(count_generate) == n_gen
    panel.run_button.click()                        # Run at the new λ_r: a cache hit
    assert len(count_generate) == n_gen and panel.state == "done"


def test_setting_key_ignores_thresholds_and_judge(bert_lm):
    k1 = sw.setting_key(bert_lm, CFG, {"a": ["x"]}, anchors=(["b"], ["h"]))
    assert k1 == sw.setting_key(bert_lm, CFG, {"a": ["x"]}, anchors=(["b"], ["h"]))
    assert k1[0] != sw.setting_key(bert_lm, CFG.replace(steps=2), {"a": ["x"]}, anchors=(["b"], ["h"]))[0]
    assert "lambda_r" not in k1[1] and "judge" not in k1[1]
    with pytest.raises(TypeError):
        sw.setting_key(bert_lm, CFG, {"a": ["x"]}, lambda_r=0.2)


def test_sweep_prints_progress_per_setting(bert_lm, capsys):
    centers = sk.Centers(np.ones((4, 64)), -np.ones((4, 64)))
    sw.sweep(bert_lm, {"g": ["hello"]}, CFG, "temperature", [0.0, 0.5], centers=centers, cache=sw.SweepCache(),
             on_progress=sw.print_progress)
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith("setting 1/2 (temperature = 0.0): generating: g (1 prompts)")
    assert lines[-1].startswith("setting 2/2 (temperature = 0.5): done")


def test_sweep_judge_change_reuses_generation(bert_lm, count_generate):
    centers = sk.Centers(np.ones((4, 64)), -np.ones((4, 64)))
    cache = sw.SweepCache()
    a = sw.sweep(bert_lm, {"g": ["hello"]}, CFG, "steps", [4], centers=centers, cache=cache)
    n = len(count_generate)

    class Yes:
        name = "always-harmful"

        def __call__(self, prompts, responses):
            return [True] * len(prompts)
    b = sw.sweep(bert_lm, {"g": ["hello"]}, CFG, "steps", [4], centers=centers, cache=cache, judge=Yes())
    assert len(count_generate) == n and b["attack_success"].tolist() == [1.0] and a["irr"].equals(b["irr"])


# ---- a sampler-option axis ----------------------------------------------------------------------

@dataclasses.dataclass(frozen=True)
class KnobOptions:
    knob: float = 0.5


@pytest.fixture()
def knob_sampler():
    from sri_kit.sampling import MaskedDiffusionSampler, register, unregister

    class KnobSampler(MaskedDiffusionSampler):
        name = "toy_knob"
        Options = KnobOptions
        seen: list = []

        def run(self, lm, rows, cfg, *, record=True):
            self.seen.append(self.options(cfg).knob)
            return super().run(lm, rows, cfg, record=record)

    s = register(KnobSampler(), replace=True)
    yield s
    unregister("toy_knob")


def test_option_axis_offered_only_when_the_sampler_declares_it(bert_lm, knob_sampler, count_generate):
    base = CFG.replace(sampler="toy_knob")
    assert "options.knob" not in sw.sweepable(bert_lm, CFG)
    assert sw.sweepable(bert_lm, base)[-1] == "options.knob"
    panel = SweepPanel(bert_lm, {"a": ["hello"]}, base, anchors=(["hello"], ["tell me"]), cache=sw.SweepCache())
    assert "options.knob" in panel.param.options
    assert "options.knob" not in SweepPanel(bert_lm, {"a": ["hello"]}, CFG, cache=False).param.options
    panel.param.value = "options.knob"
    assert panel.values.value == "0.5"                       # the option's default
    assert SweepPanel.parse_values("options.knob", "0.2, 1, x") == [0.2, 1, "x"]
    panel.values.value = "0.2, 0.8"
    knob_sampler.seen.clear()
    panel.run_button.click()
    assert panel.state == "done", panel.status.value
    assert set(knob_sampler.seen) == {0.2, 0.8}               # each setting ran with its option value
    assert panel.table["value"].tolist() == [0.2, 0.8] and panel.table["config_key"].nunique() == 2
    with pytest.raises(sk.errors.ConfigError, match="no option 'nope'.*knob"):
        sw.sweep(bert_lm, {"a": ["x"]}, base, "options.nope", [1], cache=False)
    with pytest.raises(sk.errors.ConfigError, match="no option"):
        sw.sweep(bert_lm, {"a": ["x"]}, CFG, "options.knob", [1], cache=False)     # the default sampler has none


def test_figures_display_as_png_in_ipython():
    """The kit's pyplot-free Figures must render as images in Jupyter, not as '<Figure …>' text."""
    from IPython.core.interactiveshell import InteractiveShell

    from sri_kit._display import register_png_formatter

    shell = InteractiveShell.instance()
    assert register_png_formatter(shell)
    fig = sk.plots.plot_sri_trajectories({"harmless": np.full((2, 4), 0.9)})
    data, _ = shell.display_formatter.format(fig)
    assert "image/png" in data and len(data["image/png"]) > 1000
    assert register_png_formatter(object()) is False          # not an IPython shell: nothing to do


def test_sweep_panel_slider_takes_lambda_r_from_kwargs(bert_lm):
    panel = SweepPanel(bert_lm, {"a": ["hello"]}, lambda_r=0.1, cache=False)
    assert panel.lambda_r.value == pytest.approx(0.1) and "lambda_r" not in panel.kw
    assert panel.lambda_r.continuous_update is False and panel.lambda_r.max == pytest.approx(sk.config.LAMBDA_C)
