"""Show the kit's Figures inline in Jupyter.

The kit builds ``matplotlib.figure.Figure`` objects without pyplot (no global state), so the inline
backend is never loaded and IPython would print ``<Figure size … with N Axes>`` instead of a picture.
On import inside IPython we register a PNG formatter for Figure, unless one already exists.
"""
from __future__ import annotations


def register_png_formatter(shell=None) -> bool:
    """Register a PNG printer for matplotlib Figures in ``shell`` (the running IPython by default).

    Returns True when a printer is now registered, False outside IPython.
    """
    if shell is None:
        try:
            from IPython import get_ipython
        except ImportError:
            return False
        shell = get_ipython()
    formatters = getattr(getattr(shell, "display_formatter", None), "formatters", None)
    if not formatters or "image/png" not in formatters:
        return False
    from matplotlib.figure import Figure

    png = formatters["image/png"]
    try:
        png.lookup_by_type(Figure)          # keep an existing (inline backend or user) printer
        return True
    except KeyError:
        pass

    def _png(fig):
        from IPython.core.pylabtools import print_figure

        return print_figure(fig, "png", bbox_inches="tight")

    png.for_type(Figure, _png)
    return True


def figure_png(fig, dpi: int = 100) -> bytes:
    """PNG bytes of a Figure, cropped to its content (what the notebook shows)."""
    import io

    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=dpi, bbox_inches="tight")
    return buf.getvalue()


def readable(df, digits: int = 3, skip=()):
    """A copy of ``df`` for people: floats rounded to ``digits`` decimals and printed plainly (0.000 rather
    than 1.2e-05; NaN as an empty cell); columns in ``skip`` and non-float columns unchanged."""
    out = df.copy()
    for c in out.columns:
        if out[c].dtype.kind == "f" and c not in skip:
            out[c] = out[c].map(lambda v: "" if v != v else f"{v:.{digits}f}")
    return out


def mime_bundle(obj) -> dict:
    """An ``Output`` display-data entry for a Figure (PNG, independent of IPython's formatters), a
    DataFrame (HTML + text) or anything else (its ``str``)."""
    import base64

    if hasattr(obj, "savefig"):
        data = {"image/png": base64.b64encode(figure_png(obj)).decode("ascii"),
                "text/plain": f"<Figure of {len(obj.axes)} axes>"}
    elif hasattr(obj, "to_html"):
        data = {"text/html": obj.to_html(index=False), "text/plain": obj.to_string(index=False)}
    else:
        data = {"text/plain": str(obj)}
    return {"output_type": "display_data", "data": data, "metadata": {}}
