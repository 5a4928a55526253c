"""LDA of σ vectors by class with shrinkage, and a check for the degenerate fit (Fig. 13 analogue).

σ saturates at 0 or 1 on many steps, so the within-class covariance of σ vectors is close to singular.
An unregularised LDA (scikit-learn's default ``svd`` solver) then divides by near-zero variances and puts
class means at hundreds or thousands of within-class standard deviations: a numerical artefact, not a
separation. :func:`lda_summary` fits LDA with Ledoit-Wolf shrinkage (``solver="eigen"``,
``shrinkage="auto"``), reports each class's mean and spread on the discriminant axes (in units of the
shrunk within-class standard deviation), and records the condition number of the unshrunk pooled
within-class covariance so a reader can see how degenerate the plain fit would be.

>>> import numpy as np
>>> rng = np.random.default_rng(0)
>>> a, b = rng.normal(0, 1, (50, 4)), rng.normal(3, 1, (50, 4))
>>> t = lda_summary({"a": a, "b": b})
>>> list(t.index), bool(t.loc["b", "ld1 mean"] * t.loc["a", "ld1 mean"] < 0)
(['a', 'b'], True)
"""
from __future__ import annotations

from typing import Mapping

import numpy as np
import pandas as pd

from ..errors import ConfigError

__all__ = ["lda_summary", "within_class_condition"]

#: Above this condition number the unshrunk within-class covariance is called degenerate.
DEGENERATE_CONDITION = 1e6


def within_class_condition(X: np.ndarray, y: np.ndarray) -> float:
    """Condition number of the pooled within-class covariance of ``X`` [N, T] with labels ``y``."""
    Xc = np.concatenate([X[y == c] - X[y == c].mean(0) for c in np.unique(y)])
    S = Xc.T @ Xc / max(1, len(Xc) - len(np.unique(y)))
    return float(np.linalg.cond(S))


def lda_summary(sigma_by_class: Mapping[str, np.ndarray], *, shrinkage: str | float = "auto",
                n_components: int = 2, drop_degenerate: bool = True) -> pd.DataFrame:
    """Shrinkage LDA of σ vectors [N, T] by class: per class ``n``, mean and std on each discriminant axis.

    Classes with fewer than two signals are left out (named in ``attrs["note"]``). ``attrs`` also holds
    ``condition`` (unshrunk pooled within-class covariance) and ``degenerate`` (condition above
    :data:`DEGENERATE_CONDITION`). With ``drop_degenerate`` (default) a degenerate fit's axis statistics are
    NaN: the classes then differ along steps where σ does not vary inside a class (saturated at 0 or 1),
    and "how many within-class standard deviations apart" has no finite answer worth printing.
    """
    from sklearn.discriminant_analysis import LinearDiscriminantAnalysis  # heavy: sklearn loads on first use

    kept = {k: np.atleast_2d(np.asarray(v, float)) for k, v in sigma_by_class.items() if np.size(v) and len(np.atleast_2d(v)) >= 2}
    dropped = [k for k in sigma_by_class if k not in kept]
    if len(kept) < 2:
        raise ConfigError(f"lda_summary needs at least two classes with two or more signals; got {list(kept)} "
                          f"(too small: {dropped})")
    X = np.concatenate(list(kept.values()))
    y = np.concatenate([[k] * len(v) for k, v in kept.items()])
    k = max(1, min(n_components, len(kept) - 1, X.shape[1]))
    lda = LinearDiscriminantAnalysis(solver="eigen", shrinkage=shrinkage, n_components=k).fit(X, y)
    Z = lda.transform(X)
    Z = Z - Z.mean(0)                    # the eigen solver does not centre its projection
    rows = {}
    for c in kept:
        z = Z[y == c]
        rows[c] = {"n": int(len(z)), **{f"ld{i + 1} mean": float(z[:, i].mean()) for i in range(k)},
                   **{f"ld{i + 1} std": float(z[:, i].std()) for i in range(k)}}
    df = pd.DataFrame.from_dict(rows, orient="index")
    cond = within_class_condition(X, y)
    if drop_degenerate and cond > DEGENERATE_CONDITION:
        df.loc[:, [c for c in df.columns if c.startswith("ld")]] = np.nan
    df.attrs["condition"] = cond
    df.attrs["degenerate"] = bool(cond > DEGENERATE_CONDITION)
    df.attrs["note"] = (f"Condition number of the unshrunk within-class covariance: {cond:.3g}"
                        + (" — degenerate: the classes differ along steps where σ does not vary within a class, so "
                           "the axis statistics are dropped (an unregularised LDA prints them as hundreds to "
                           "thousands of standard deviations)" if cond > DEGENERATE_CONDITION and drop_degenerate
                           else "; Ledoit-Wolf shrinkage; axes in units of the shrunk within-class std") + "."
                        + (f" Left out (fewer than 2 signals): {', '.join(dropped)}." if dropped else ""))
    return df
