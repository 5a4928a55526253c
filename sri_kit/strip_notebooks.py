"""Strip outputs from the notebooks, except cells marked ``# NBVAL_CHECK_OUTPUT`` (nbval compares those).

Run after executing the notebooks to refresh the checked outputs::

    jupyter nbconvert --to notebook --execute --inplace notebooks/0*.ipynb && sri-kit strip-notebooks

Without paths it strips every ``*.ipynb`` of the shipped notebooks folder (``sri_kit/_data/notebooks``; in a
clone, ``notebooks/`` is a link to it). ``python scripts/strip_notebooks.py`` runs the same.
"""
from __future__ import annotations

import argparse
from pathlib import Path

from .resources import NOTEBOOKS, data_dir

MARK = "# NBVAL_CHECK_OUTPUT"


def strip(path: Path) -> None:
    """Drop the outputs and execution counts of every code cell without :data:`MARK` (marked cells keep their
    stream and execute_result outputs) and the saved widget state, in place."""
    import nbformat

    nb = nbformat.read(path, as_version=4)
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        if MARK not in cell.source:
            cell.outputs = []
            cell.execution_count = None
        else:
            cell.outputs = [o for o in cell.outputs if o.get("output_type") in ("stream", "execute_result")]
    nb.metadata.pop("widgets", None)
    nbformat.write(nb, path)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="sri-kit strip-notebooks", description=__doc__.split("\n\n")[0])
    ap.add_argument("paths", nargs="*", help="notebooks to strip (default: every shipped notebook)")
    a = ap.parse_args(argv)
    paths = [Path(p) for p in a.paths] or sorted(data_dir(NOTEBOOKS).glob("*.ipynb"))
    for p in paths:
        strip(p)
        print("stripped", p)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
