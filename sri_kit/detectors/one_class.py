"""Percentile-calibrated novelty detectors over SRI signal vectors.

Every detector here (and :class:`sri_kit.detectors.SRIGuard`) follows one contract, the
scikit-learn novelty-detection API plus a percentile threshold:

* ``fit(X_benign, X_calib=None)`` — benign σ vectors ``[N, T]`` only. Without ``X_calib`` a seeded
  calibration split (``calib_fraction``, default 200/1400 ≈ 14 %, the paper's 1,200 + 200) is held
  out of ``X_benign``; the scorer is fitted on the rest.
* an *anomaly score* per sample (higher = more anomalous; reconstruction error for SRI Guard),
* ``threshold_ = np.percentile(anomaly(X_calib), percentile)`` exactly (numpy's default linear
  interpolation), and ``calib_scores_`` keeps those calibration anomaly scores,
* ``score_samples(X) = -anomaly(X)`` (higher = more normal, as in scikit-learn),
* ``decision_function(X) = threshold_ - anomaly(X)`` (``< 0`` → flagged),
* ``predict(X)`` → ``+1`` benign, ``-1`` flagged (strictly above the threshold), so about
  ``100 - percentile`` % of benign calibration signals are flagged.

Detectors here: :class:`IsolationForestDetector`, :class:`OneClassSVMDetector`,
:class:`MahalanobisDetector` (Gaussian with Ledoit-Wolf shrinkage), :class:`KNNDetector` (distance to the
k nearest benign signals) — all benign-only — and
:class:`SupervisedUpperBound` (logistic regression on *labelled attacks*; ``benign_only = False``:
it is an optimistic reference, not a defense against unseen attacks).

Example
-------
>>> import numpy as np
>>> from sri_kit.detectors import MahalanobisDetector
>>> rng = np.random.default_rng(0)
>>> X = np.clip(0.95 + 0.01 * rng.standard_normal((700, 32)), 0, 1)
>>> det = MahalanobisDetector().fit(X)
>>> dip = np.full((1, 32), 0.95); dip[0, 10:20] = 0.2
>>> int(det.predict(dip)[0])
-1
"""

from __future__ import annotations

import math
import warnings
from typing import Any

import numpy as np

from ..errors import ConfigError, check_float, check_int


__all__ = [
    "PercentileNoveltyDetector",
    "IsolationForestDetector",
    "OneClassSVMDetector",
    "MahalanobisDetector",
    "KNNDetector",
    "SupervisedUpperBound",
    "as_signal_array",
]

#: Below this many calibration signals a percentile threshold is refused outright.
MIN_CALIB = 20
#: The paper's split: 1,200 benign signals for training, 200 for calibration.
DEFAULT_CALIB_FRACTION = 200 / 1400


def as_signal_array(X: Any, name: str = "X", *, n_features: int | None = None) -> np.ndarray:
    """Validate and convert σ vectors to a float64 array ``[N, T]``.

    Accepts numpy arrays, torch tensors (any device/dtype) and nested lists. Raises a
    ``ValueError`` naming the fix for: wrong rank, empty input, NaN/inf, and a feature count
    different from ``n_features`` (the T seen at fit time).

    >>> as_signal_array([[0.9, 0.8]]).shape
    (1, 2)
    """
    if X is None:
        raise ConfigError(f"{name} is None; pass σ vectors as an array [N, T].")
    if hasattr(X, "detach") and hasattr(X, "cpu"):  # torch tensor, without importing torch
        X = X.detach().cpu().double().numpy()
    try:
        arr = np.asarray(X, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise ConfigError(
            f"{name} could not be converted to a float array [N, T] ({exc}); pass σ vectors as a "
            "numpy array or torch tensor, e.g. sri_kit.sri_signal(traces, centers)."
        ) from None
    if arr.ndim == 1:
        raise ConfigError(
            f"{name} is 1-D with shape {arr.shape}; expected σ vectors [N, T]. "
            f"For a single signal use {name}[None, :]."
        )
    if arr.ndim != 2:
        raise ConfigError(f"{name} must be 2-D [N, T]; got shape {arr.shape}.")
    if arr.shape[0] == 0:
        raise ConfigError(f"{name} is empty (0 signals); pass at least one σ vector.")
    if arr.shape[1] == 0:
        raise ConfigError(f"{name} has 0 features per signal; expected T ≥ 1 steps.")
    bad = ~np.isfinite(arr)
    if bad.any():
        rows = np.flatnonzero(bad.any(axis=1))
        raise ConfigError(
            f"{name} contains {int(bad.sum())} NaN/inf values in {rows.size} signal(s) "
            f"(first rows: {rows[:5].tolist()}); drop or recompute those signals before fitting/scoring."
        )
    if n_features is not None and arr.shape[1] != n_features:
        raise ConfigError(
            f"{name} has T={arr.shape[1]} values per signal but the detector was fitted on "
            f"T={n_features}; use signals from the same generation config (steps) as at fit time."
        )
    return arr


def _calib_split(n: int, fraction: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Seeded (train_idx, calib_idx) split of ``n`` rows."""
    if not 0.0 < fraction < 1.0:
        raise ConfigError(f"calib_fraction must be in (0, 1); got {fraction}.")
    n_calib = int(round(n * fraction))
    perm = np.random.default_rng(seed).permutation(n)
    return np.sort(perm[n_calib:]), np.sort(perm[:n_calib])


class PercentileNoveltyDetector:
    """Base class: calibration split, percentile threshold and the scikit-learn surface.

    Subclasses implement ``_fit_scorer(X_train)`` and ``_anomaly(X) -> ndarray [N]`` (higher =
    more anomalous); both receive validated float64 arrays.

    Parameters
    ----------
    percentile : percentile of calibration anomaly scores used as threshold (paper: 99).
    calib_fraction : share of ``X_benign`` held out for calibration when ``X_calib`` is None.
    min_calib : fewest calibration signals accepted (clear error below it).
    seed : seeds the calibration split and any randomness of the scorer.
    """

    #: True when the detector is fitted on benign signals only (every attack is unseen).
    benign_only: bool = True

    def __init__(
        self,
        percentile: float = 99.0,
        *,
        calib_fraction: float = DEFAULT_CALIB_FRACTION,
        min_calib: int = MIN_CALIB,
        seed: int = 0,
    ) -> None:
        where = type(self).__name__
        check_float("percentile", percentile, where=where)
        if not 0.0 < float(percentile) < 100.0:
            raise ConfigError(f"percentile must be in (0, 100); got {percentile}.")
        self.percentile = float(percentile)
        self.calib_fraction = check_float("calib_fraction", calib_fraction, lo=0, lo_open=True, hi=1, hi_open=True,
                                          where=where)
        self.min_calib = check_int("min_calib", min_calib, minimum=1, where=where)
        self.seed = check_int("seed", seed, where=where)

    # -- to implement -------------------------------------------------------------------------
    def _fit_scorer(self, X: np.ndarray) -> None:  # pragma: no cover - abstract
        raise NotImplementedError

    def _anomaly(self, X: np.ndarray) -> np.ndarray:  # pragma: no cover - abstract
        raise NotImplementedError

    def _check_values(self, X: np.ndarray, name: str) -> np.ndarray:
        """Hook for subclasses to add value checks (SRI Guard checks σ ∈ [0, 1])."""
        return X

    # -- calibration -----------------------------------------------------------------------------
    def _needed_for_percentile(self) -> int:
        """Calibration size for which the percentile is more than an interpolation of the max."""
        return int(math.ceil(100.0 / (100.0 - self.percentile) - 1e-9))

    def _check_calib_size(self, n_calib: int, origin: str) -> None:
        need = self._needed_for_percentile()
        if n_calib < self.min_calib:
            raise ConfigError(
                f"Too few calibration signals: {n_calib} ({origin}); at least {self.min_calib} are "
                f"required, and a {self.percentile:g}th-percentile threshold only means something with "
                f"≥ {need} (the paper uses 200). Pass more benign signals or an explicit X_calib."
            )
        if n_calib < need:
            warnings.warn(
                f"Only {n_calib} calibration signals ({origin}): the {self.percentile:g}th percentile "
                f"needs ≥ {need} to be more than an interpolation of the largest calibration scores; "
                "the false-positive rate on new benign signals will be noisy.",
                UserWarning,
                stacklevel=3,
            )

    def _split(self, X_benign: np.ndarray, X_calib: Any) -> tuple[np.ndarray, np.ndarray]:
        if X_calib is None:
            n = X_benign.shape[0]
            n_cal = int(round(n * self.calib_fraction))
            self._check_calib_size(
                n_cal, f"{self.calib_fraction:.1%} of {n} benign signals held out; X_calib=None"
            )
            if n - n_cal < 2:
                raise ConfigError(f"Too few benign signals to train on ({n - n_cal}); pass more.")
            tr, ca = _calib_split(n, self.calib_fraction, self.seed)
            return X_benign[tr], X_benign[ca]
        Xc = self._check_values(
            as_signal_array(X_calib, "X_calib", n_features=X_benign.shape[1]), "X_calib"
        )
        self._check_calib_size(Xc.shape[0], "X_calib")
        return X_benign, Xc

    def _calibrate(self, X_calib: np.ndarray) -> None:
        self.calib_scores_ = np.asarray(self._anomaly(X_calib), dtype=np.float64)
        self.threshold_ = float(np.percentile(self.calib_scores_, self.percentile))
        self.n_calib_ = int(X_calib.shape[0])

    def fit(self, X_benign: Any, X_calib: Any = None, y: Any = None):
        """Fit on benign σ vectors only, then set ``threshold_`` on the calibration split.

        ``y`` is ignored (scikit-learn pipeline compatibility).
        """
        X = self._check_values(as_signal_array(X_benign, "X_benign"), "X_benign")
        X_train, X_cal = self._split(X, X_calib)
        self.n_features_in_ = int(X.shape[1])
        self._fit_scorer(X_train)
        self.n_train_ = int(X_train.shape[0])
        self._calibrate(X_cal)
        return self

    # -- scoring ---------------------------------------------------------------------------------
    def _check_fitted(self) -> None:
        if getattr(self, "threshold_", None) is None or not hasattr(self, "n_features_in_"):
            raise RuntimeError(
                f"This {type(self).__name__} is not fitted yet; call .fit(X_benign) first "
                "(or load a saved detector)."
            )

    def _validated(self, X: Any) -> np.ndarray:
        self._check_fitted()
        return self._check_values(as_signal_array(X, "X", n_features=self.n_features_in_), "X")

    def anomaly_score(self, X: Any) -> np.ndarray:
        """Anomaly score per signal (higher = more anomalous), float64 ``[N]``."""
        return np.asarray(self._anomaly(self._validated(X)), dtype=np.float64)

    def score_samples(self, X: Any) -> np.ndarray:
        """Normality score (higher = more normal) = ``-anomaly_score(X)``."""
        return -self.anomaly_score(X)

    def decision_function(self, X: Any) -> np.ndarray:
        """``threshold_ - anomaly_score(X)``: negative values are flagged."""
        anomaly = self.anomaly_score(X)  # checks fitted state first
        return self.threshold_ - anomaly

    def predict(self, X: Any) -> np.ndarray:
        """``+1`` benign, ``-1`` flagged (anomaly strictly above ``threshold_``)."""
        return np.where(self.decision_function(X) < 0, -1, 1).astype(np.int64)

    def flag(self, X: Any) -> np.ndarray:
        """Boolean flags (True = blocked), the same rule as ``predict(X) == -1``."""
        return self.decision_function(X) < 0

    def __repr__(self) -> str:
        fitted = "fitted" if getattr(self, "threshold_", None) is not None else "unfitted"
        return f"{type(self).__name__}(percentile={self.percentile:g}, {fitted})"


class IsolationForestDetector(PercentileNoveltyDetector):
    """Isolation forest (scikit-learn) with a percentile-calibrated threshold.

    Anomaly = ``-IsolationForest.score_samples``. Extra keyword arguments go to
    :class:`sklearn.ensemble.IsolationForest`.

    Caveat: splits are axis-aligned and drawn inside the benign range, so a signal that leaves
    that range on a few steps (a refusal dip) is isolated no faster than the most extreme benign
    signal on those steps; on synthetic dips it misses what SRI Guard, the one-class SVM and the
    Mahalanobis model catch. It is kept as the standard reference, not as a recommendation.
    """

    def __init__(self, percentile: float = 99.0, *, n_estimators: int = 200, seed: int = 0,
                 calib_fraction: float = DEFAULT_CALIB_FRACTION, min_calib: int = MIN_CALIB,
                 **kwargs: Any) -> None:
        super().__init__(percentile, calib_fraction=calib_fraction, min_calib=min_calib, seed=seed)
        self.n_estimators = int(n_estimators)
        self.kwargs = kwargs

    def _fit_scorer(self, X: np.ndarray) -> None:
        from sklearn.ensemble import IsolationForest  # heavy: sklearn loads on first use

        self.estimator_ = IsolationForest(
            n_estimators=self.n_estimators, random_state=self.seed, **self.kwargs
        ).fit(X)

    def _anomaly(self, X: np.ndarray) -> np.ndarray:
        return -self.estimator_.score_samples(X)


class OneClassSVMDetector(PercentileNoveltyDetector):
    """One-class SVM (RBF kernel by default) with a percentile-calibrated threshold.

    Anomaly = ``-OneClassSVM.score_samples``. ``nu`` only shapes the boundary used to fit the
    SVM; the flag threshold comes from the calibration percentile as for every detector here.
    """

    def __init__(self, percentile: float = 99.0, *, kernel: str = "rbf", nu: float = 0.05,
                 gamma: str | float = "scale", seed: int = 0,
                 calib_fraction: float = DEFAULT_CALIB_FRACTION, min_calib: int = MIN_CALIB,
                 **kwargs: Any) -> None:
        super().__init__(percentile, calib_fraction=calib_fraction, min_calib=min_calib, seed=seed)
        self.kernel, self.nu, self.gamma, self.kwargs = kernel, nu, gamma, kwargs

    def _fit_scorer(self, X: np.ndarray) -> None:
        from sklearn.svm import OneClassSVM  # heavy: sklearn loads on first use

        self.estimator_ = OneClassSVM(
            kernel=self.kernel, nu=self.nu, gamma=self.gamma, **self.kwargs
        ).fit(X)

    def _anomaly(self, X: np.ndarray) -> np.ndarray:
        return -self.estimator_.score_samples(X)


class MahalanobisDetector(PercentileNoveltyDetector):
    """Gaussian model of benign σ vectors; anomaly = squared Mahalanobis distance.

    The covariance uses Ledoit-Wolf shrinkage (:class:`sklearn.covariance.LedoitWolf`), which
    stays well conditioned when σ is nearly constant across benign prompts.
    """

    def _fit_scorer(self, X: np.ndarray) -> None:
        from sklearn.covariance import LedoitWolf  # heavy: sklearn loads on first use

        self.estimator_ = LedoitWolf().fit(X)

    def _anomaly(self, X: np.ndarray) -> np.ndarray:
        return self.estimator_.mahalanobis(X)


class KNNDetector(PercentileNoveltyDetector):
    """k-nearest-neighbour distance to the benign training signals (per-step standardised).

    Anomaly = mean Euclidean distance to the ``k`` nearest benign training signals after each step is
    standardised with the training mean and standard deviation (floored at ``std_floor`` so that a step
    on which benign σ never varies does not blow up). Unlike a reconstruction error it grows for *any*
    signal far from benign data, including smooth or constant ones an autoencoder reconstructs well.

    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> X = np.clip(0.95 + 0.01 * rng.standard_normal((300, 8)), 0, 1)
    >>> det = KNNDetector(95, k=5, calib_fraction=0.3).fit(X)
    >>> det.predict(np.full((1, 8), 0.5)).tolist(), det.n_train_
    ([-1], 210)
    """

    def __init__(self, percentile: float = 99.0, *, k: int = 5, std_floor: float = 1e-3, seed: int = 0,
                 calib_fraction: float = DEFAULT_CALIB_FRACTION, min_calib: int = MIN_CALIB) -> None:
        super().__init__(percentile, calib_fraction=calib_fraction, min_calib=min_calib, seed=seed)
        self.k = check_int("k", k, minimum=1, where="KNNDetector")
        self.std_floor = check_float("std_floor", std_floor, lo=0, lo_open=True, where="KNNDetector")

    def _fit_scorer(self, X: np.ndarray) -> None:
        from sklearn.neighbors import NearestNeighbors  # heavy: sklearn loads on first use

        if X.shape[0] <= self.k:
            raise ConfigError(f"KNNDetector(k={self.k}) needs more than {self.k} training signals; got {X.shape[0]}.")
        self.mean_ = X.mean(0)
        self.scale_ = np.maximum(X.std(0), self.std_floor)
        self.estimator_ = NearestNeighbors(n_neighbors=self.k).fit((X - self.mean_) / self.scale_)

    def _anomaly(self, X: np.ndarray) -> np.ndarray:
        d, _ = self.estimator_.kneighbors((X - self.mean_) / self.scale_, n_neighbors=self.k)
        return d.mean(1)


class SupervisedUpperBound(PercentileNoveltyDetector):
    """Logistic regression on labelled benign vs attack σ vectors — NOT benign-only.

    ``benign_only = False``: it sees attack signals at training time, so it is an optimistic
    upper bound for what the features allow (for attacks like the training ones), not a defense
    against unseen attacks. Use it only as a reference row next to the benign-only detectors.

    ``fit(X_benign, X_calib=None, X_attack=...)``; anomaly = the log-odds of "attack". The threshold
    follows the same rule as every detector here (percentile of benign calibration scores), so its
    false-positive rate is comparable.
    """

    benign_only = False

    def __init__(self, percentile: float = 99.0, *, C: float = 1.0, seed: int = 0,
                 calib_fraction: float = DEFAULT_CALIB_FRACTION, min_calib: int = MIN_CALIB,
                 **kwargs: Any) -> None:
        super().__init__(percentile, calib_fraction=calib_fraction, min_calib=min_calib, seed=seed)
        self.C, self.kwargs = C, kwargs

    def fit(self, X_benign: Any, X_calib: Any = None, y: Any = None, *, X_attack: Any = None):
        """Fit on benign (label 0) and ``X_attack`` (label 1) signals; calibrate on benign."""
        if X_attack is None:
            raise ValueError(
                "SupervisedUpperBound needs labelled attack signals: fit(X_benign, X_attack=...). "
                "For a benign-only detector use SRIGuard or a one-class detector."
            )
        X = as_signal_array(X_benign, "X_benign")
        self._X_attack = as_signal_array(X_attack, "X_attack", n_features=X.shape[1])
        try:
            return super().fit(X, X_calib)
        finally:
            del self._X_attack

    def _fit_scorer(self, X: np.ndarray) -> None:
        from sklearn.linear_model import LogisticRegression  # heavy: sklearn loads on first use

        Xa = self._X_attack
        Xall = np.concatenate([X, Xa])
        yall = np.concatenate([np.zeros(len(X)), np.ones(len(Xa))])
        self.estimator_ = LogisticRegression(
            C=self.C, max_iter=1000, random_state=self.seed, **self.kwargs
        ).fit(Xall, yall)
        self.n_attack_ = int(len(Xa))

    def _anomaly(self, X: np.ndarray) -> np.ndarray:
        return self.estimator_.decision_function(X)
