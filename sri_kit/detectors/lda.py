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

from dataclasses import dataclass
from typing import Mapping

import numpy as np
import pandas as pd

from ..errors import ConfigError

__all__ = ["lda_summary", "fit_shrinkage_lda", "ShrinkageLDA", "within_class_condition"]

#: Above this condition number the unshrunk within-class covariance is called degenerate.
DEGENERATE_CONDITION = 1e6


def within_class_condition(X: np.ndarray, y: np.ndarray) -> float:
    """Condition number of the pooled within-class covariance of ``X`` [N, T] with labels ``y``."""
    Xc = np.concatenate([X[y == c] - X[y == c].mean(0) for c in np.unique(y)])
    S = Xc.T @ Xc / max(1, len(Xc) - len(np.unique(y)))
    return float(np.linalg.cond(S))


@dataclass
class ShrinkageLDA:
    """A shrinkage LDA fitted on σ vectors by class (:func:`fit_shrinkage_lda`)."""
    classes: list[str]          # the classes fitted (two or more signals each), in input order
    dropped: list[str]          # classes left out (fewer than two signals)
    X: np.ndarray               # [N, T] the signals fitted
    y: np.ndarray               # [N] their class names
    Z: np.ndarray               # [N, k] projection on the discriminant axes, centred on the overall mean
    condition: float            # condition number of the unshrunk pooled within-class covariance
    explained_variance_ratio: list[float]

    @property
    def degenerate(self) -> bool:
        """The unshrunk within-class covariance is near singular (condition above
        :data:`DEGENERATE_CONDITION`): axis distances are then set by σ's noise on saturated steps."""
        return bool(self.condition > DEGENERATE_CONDITION)

    def note(self, dropping: bool) -> str:
        """One sentence for a reader: the condition number, and whether the axes were dropped."""
        return (f"Condition number of the unshrunk within-class covariance: {self.condition:.3g}"
                + (" — degenerate: σ does not vary within a class along some directions (steps where it is "
                   "saturated at 0 or 1, or fewer signals than steps), so the axis statistics are dropped (an "
                   "unregularised LDA prints them as hundreds to millions of standard deviations)"
                   if self.degenerate and dropping
                   else "; Ledoit-Wolf shrinkage; axes in units of the shrunk within-class std") + "."
                + (f" Left out (fewer than 2 signals): {', '.join(self.dropped)}." if self.dropped else ""))


def fit_shrinkage_lda(sigma_by_class: Mapping[str, np.ndarray], *, shrinkage: str | float = "auto",
                      n_components: int = 2, caller: str = "fit_shrinkage_lda") -> ShrinkageLDA:
    """LDA of σ vectors [N, T] by class with Ledoit-Wolf shrinkage (``solver="eigen"``), the shared fit of
    :func:`lda_summary` and :func:`sri_kit.analysis.lda_projection`.

    Classes with fewer than two signals are left out; fewer than two classes left raises ConfigError.
    The projection ``Z`` has ``min(n_components, n_classes - 1, T)`` columns, centred (the eigen solver
    does not centre). Whether to report a degenerate fit is the caller's choice (``.degenerate``).
    """
    from sklearn.discriminant_analysis import LinearDiscriminantAnalysis  # heavy: sklearn loads on first use

    kept = {k: np.atleast_2d(np.asarray(v, float)) for k, v in sigma_by_class.items()
            if np.size(v) and len(np.atleast_2d(v)) >= 2}
    dropped = [k for k in sigma_by_class if k not in kept]
    if len(kept) < 2:
        raise ConfigError(f"{caller} needs at least two classes with two or more signals; got {list(kept)} "
                          f"(too small: {dropped})")
    X = np.concatenate(list(kept.values()))
    y = np.concatenate([[k] * len(v) for k, v in kept.items()])
    k = max(1, min(n_components, len(kept) - 1, X.shape[1]))
    lda = LinearDiscriminantAnalysis(solver="eigen", shrinkage=shrinkage, n_components=k).fit(X, y)
    Z = lda.transform(X)
    return ShrinkageLDA(classes=list(kept), dropped=dropped, X=X, y=y, Z=Z - Z.mean(0),
                        condition=within_class_condition(X, y),
                        explained_variance_ratio=[float(v) for v in getattr(lda, "explained_variance_ratio_", [])])


def lda_summary(sigma_by_class: Mapping[str, np.ndarray], *, shrinkage: str | float = "auto",
                n_components: int = 2, drop_degenerate: bool = True) -> pd.DataFrame:
    """Shrinkage LDA of σ vectors [N, T] by class: per class ``n``, mean and std on each discriminant axis.

    Classes with fewer than two signals are left out (named in ``attrs["note"]``). ``attrs`` also holds
    ``condition`` (unshrunk pooled within-class covariance) and ``degenerate`` (condition above
    :data:`DEGENERATE_CONDITION`). With ``drop_degenerate`` (default) a degenerate fit's axis statistics are
    NaN: the classes then differ along steps where σ does not vary inside a class (saturated at 0 or 1),
    and "how many within-class standard deviations apart" has no finite answer worth printing.
    """
    fit = fit_shrinkage_lda(sigma_by_class, shrinkage=shrinkage, n_components=n_components, caller="lda_summary")
    Z, y, k = fit.Z, fit.y, fit.Z.shape[1]
    rows = {}
    for c in fit.classes:
        z = Z[y == c]
        rows[c] = {"n": int(len(z)), **{f"ld{i + 1} mean": float(z[:, i].mean()) for i in range(k)},
                   **{f"ld{i + 1} std": float(z[:, i].std()) for i in range(k)}}
    df = pd.DataFrame.from_dict(rows, orient="index")
    if drop_degenerate and fit.degenerate:
        df.loc[:, [c for c in df.columns if c.startswith("ld")]] = np.nan
    df.attrs["condition"] = fit.condition
    df.attrs["degenerate"] = fit.degenerate
    df.attrs["note"] = fit.note(drop_degenerate)
    return df
