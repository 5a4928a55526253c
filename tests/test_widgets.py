"""Canvas views and widget shells (no browser: the callbacks are called directly)."""
from __future__ import annotations

import numpy as np
import pytest

import sri_kit as sk
from sri_kit.canvas import canvas_table, plot_canvas, plot_confidence_heatmap, trace_view
from sri_kit.widgets import SweepPanel, TracePlayer


@pytest.fixture(scope="module")
def dtrace(bert_lm):
    return sk.generate(bert_lm, ["write a poem about the sea"], sk.GenerationConfig(steps=4, gen_length=8),
                       progress=False)[0]


def test_canvas_table(dtrace, tok):
    tab = canvas_table(dtrace, 1, tok)
    assert len(tab) == 8 and tab.committed.sum() == 4 and tab.new.sum() == 2
    with pytest.raises(ValueError, match="step"):
        canvas_table(dtrace, 9, tok)


def test_figures(dtrace, tok):
    from matplotlib.figure import Figure

    assert isinstance(plot_canvas(dtrace, 2, tok), Figure)
    hm = plot_confidence_heatmap(dtrace)
    assert hm.axes[0].get_xlabel() == "Response position"
    fig = trace_view(dtrace, 3, tok, sigma=np.linspace(1, 0, 4))
    labels = [ax.get_xlabel() for ax in fig.axes]
    assert "Generation Step" in labels


def test_trace_player(dtrace, tok, monkeypatch):
    import sri_kit.widgets as w

    seen = []
    real = w.trace_view
    monkeypatch.setattr(w, "trace_view", lambda tr, step, *a: seen.append(step) or real(tr, step, *a))
    p = TracePlayer(dtrace, tok, sigma=np.full(4, 0.9))
    assert p.slider.max == 3 and p.play.max == 3
    p.slider.value = 2            # the slider's observer re-renders the pure view at that step
    assert seen == [0, 2]


def test_sweep_panel_values_and_run(bert_lm):
    assert SweepPanel.parse_values("steps", "8, 16") == [8, 16]
    assert SweepPanel.parse_values("block_length", "None, 4") == [None, 4]
    assert SweepPanel.parse_values("remasking", "random, margin") == ["random", "margin"]
    with pytest.raises(ValueError, match="no values"):
        SweepPanel.parse_values("steps", " , ")
    cfg = sk.GenerationConfig(steps=4, gen_length=8)
    panel = SweepPanel(bert_lm, {"a": ["hello"], "b": ["write a poem"]}, cfg,
                       anchors=(["hello", "write a poem"], ["tell me a story"]), cache=False)
    panel.param.value = "steps"
    panel.values.value = "2, 4"
    table = panel.run()
    # the tiny random model refuses nothing, so centers cannot be fitted: the panel shows the error
    if table is None:
        assert any("error" in str(o) for o in panel.out.outputs)
    else:
        assert len(table) == 4


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


def test_sweep_panel_slider_run_button_and_cache(bert_lm, monkeypatch):
    """Move the λ_r slider, press Run: the pure sweep gets the new λ_r, the figure changes, and every
    (setting, λ_r) is its own cache entry, so pressing Run again at a seen position generates nothing."""
    import io

    import sri_kit.sweeps as sw

    calls = []
    real = sw.generate
    monkeypatch.setattr(sw, "generate", lambda *a, **k: calls.append(1) or real(*a, **k))

    def png(fig):
        buf = io.BytesIO()
        fig.savefig(buf, format="png")
        return buf.getvalue()

    cache = sw.SweepCache()
    cfg = sk.GenerationConfig(steps=4, gen_length=8)
    panel = SweepPanel(bert_lm, {"a": ["hello"]}, cfg, anchors=(["hello"], ["tell me a story"]), cache=cache)
    slider = panel.lambda_r
    assert slider.continuous_update is False and slider.value == pytest.approx(0.3)
    assert slider.max == pytest.approx(sk.config.LAMBDA_C) and slider in panel.widget.children[1].children
    panel.param.value, panel.values.value = "steps", "4"

    panel.run_button.click()                     # the button's on_click handler, as in the browser
    t1, fig1 = panel.table, png(panel.figures[0])
    assert t1 is not None and list(t1.lambda_r) == [pytest.approx(0.3)]
    assert "λ_r = 0.30" in panel.figures[0].axes[2].get_ylabel()
    n1 = len(calls)
    assert n1 > 0 and len(cache) == 1 and cache.misses == 1

    slider.value = 0.1                           # moving the slider alone runs nothing
    assert len(calls) == n1 and panel.table is t1
    panel.run_button.click()
    t2, fig2 = panel.table, png(panel.figures[0])
    assert list(t2.lambda_r) == [pytest.approx(0.1)] and "λ_r = 0.10" in panel.figures[0].axes[2].get_ylabel()
    assert fig2 != fig1                          # the redrawn figure differs
    assert len(cache) == 2 and cache.misses == 2 and len(calls) == 2 * n1   # a new key: λ_r is part of it
    keys = list(cache._mem)
    assert [cache._mem[k][0]["lambda_r"] for k in keys] == [0.3, 0.1]
    assert {cache._mem[k][0]["config_key"] for k in keys} == {cfg.key()}

    slider.value = 0.3                           # back to a seen position: a cache hit, no generation
    panel.run_button.click()
    assert len(calls) == 2 * n1 and cache.hits == 1
    assert panel.table.drop(columns="seconds").equals(t1.drop(columns="seconds")) and png(panel.figures[0]) == fig1


def test_sweep_panel_slider_takes_lambda_r_from_kwargs(bert_lm):
    panel = SweepPanel(bert_lm, {"a": ["hello"]}, lambda_r=0.1, cache=False)
    assert panel.lambda_r.value == pytest.approx(0.1) and "lambda_r" not in panel.kw
