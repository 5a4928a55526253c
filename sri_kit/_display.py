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
