"""Strip outputs from the notebooks, except cells marked ``# NBVAL_CHECK_OUTPUT`` (nbval compares those).

Run after executing the notebooks to refresh the checked outputs:
    jupyter nbconvert --to notebook --execute --inplace notebooks/0*.ipynb && python scripts/strip_notebooks.py
"""
from __future__ import annotations

import sys
from pathlib import Path

import nbformat

MARK = "# NBVAL_CHECK_OUTPUT"


def strip(path: Path) -> None:
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


if __name__ == "__main__":
    paths = [Path(p) for p in sys.argv[1:]] or sorted(Path(__file__).resolve().parent.parent.glob("notebooks/*.ipynb"))
    for p in paths:
        strip(p)
        print("stripped", p)
