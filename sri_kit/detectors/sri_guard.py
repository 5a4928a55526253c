"""SRI Guard: an MLP autoencoder over σ vectors, trained on benign signals only (PAPER.md §5).

The autoencoder maps a σ vector of length T through ``hidden`` (default T→32→8→32→T, ReLU,
sigmoid output because σ ∈ (0, 1); 2,664 parameters at T = 32, the paper's "≈3k") and is trained
with an L2 (mean squared) reconstruction loss on benign signals. The anomaly score of a signal is
its reconstruction error ``mean_t (σ_t − σ̂_t)²``; the threshold is the ``percentile`` (99) of the
errors on held-out benign calibration signals, exactly ``np.percentile(calib_errors, percentile)``.
A generation is flagged (blocked) when its error is strictly above the threshold, so about 1 % of
benign calibration signals are flagged.

Input range. σ comes out of a sigmoid, so values outside ``[0, 1]`` (beyond a 1e-6 tolerance) mean
the wrong feature was passed (raw distances, logits, …). With the default sigmoid output layer
SRI Guard raises a ``ValueError`` for them at fit *and* predict time rather than warn: a sigmoid
cannot reconstruct them, so every such signal would be flagged for a meaningless reason. Use
``output="linear"`` to model other features; the range check is then off.

Determinism. Initialisation, mini-batch order and the calibration split all derive from ``seed``
(a private torch generator; the global RNG is not touched), so the same seed and data give the same
scores on the same machine.

Example
-------
>>> import numpy as np
>>> from sri_kit.detectors import SRIGuard
>>> rng = np.random.default_rng(0)
>>> X = np.clip(0.95 + 0.01 * rng.standard_normal((200, 32)), 0, 1)
>>> guard = SRIGuard(epochs=20, calib_fraction=0.5).fit(X)   # 100 train / 100 calibration
>>> guard.n_params_
2664
>>> dip = np.full((1, 32), 0.95); dip[0, 8:20] = 0.2
>>> guard.predict(dip).tolist()
[-1]
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any, Sequence

import numpy as np
import torch
from safetensors.torch import load_file, save_file
from torch import nn

from ..errors import ConfigError, CorruptFileError, InputTypeError, check_float, check_int, reading
from ..io import atomic_write, atomic_write_text

from .one_class import DEFAULT_CALIB_FRACTION, MIN_CALIB, PercentileNoveltyDetector

__all__ = ["SRIGuard"]

_FORMAT = "sri_kit.SRIGuard/1"
_WEIGHTS = "sri_guard.safetensors"
_CONFIG = "sri_guard.json"
_RANGE_TOL = 1e-6
_ACTIVATIONS = {"relu": nn.ReLU, "tanh": nn.Tanh, "gelu": nn.GELU, "sigmoid": nn.Sigmoid}
#: What the autoencoder sees: σ itself (the paper), σ standardised per step with the benign training
#: mean and standard deviation, or the standardised logit of σ (= the log-ratio ℓ_t/τ before the sigmoid).
INPUTS = ("sigma", "standardized", "logit")
_STD_FLOOR = 1e-3
_LOGIT_CLIP = 1e-6


def _build_autoencoder(n_in: int, hidden: Sequence[int], activation: str, output: str) -> nn.Sequential:
    acts = _ACTIVATIONS
    sizes = [n_in, *[int(h) for h in hidden], n_in]
    layers: list[nn.Module] = []
    for i, (a, b) in enumerate(zip(sizes[:-1], sizes[1:])):
        layers.append(nn.Linear(a, b))
        if i < len(sizes) - 2:
            layers.append(acts[activation]())
    if output == "sigmoid":
        layers.append(nn.Sigmoid())
    return nn.Sequential(*layers)


class SRIGuard(PercentileNoveltyDetector):
    """Benign-only autoencoder detector over SRI signals (scikit-learn novelty API).

    Parameters
    ----------
    percentile : threshold percentile of calibration reconstruction errors (paper: 99).
    hidden : hidden layer sizes, encoder then decoder (default ``(32, 8)`` → T→32→8→32→T).
        Give a symmetric tuple such as ``(32, 8, 32)`` to spell out every layer; a tuple that does
        not end at its bottleneck is mirrored (``(32, 8)`` becomes ``(32, 8, 32)``).
    epochs, lr, batch_size, weight_decay : Adam training (``batch_size=None`` = full batch).
    seed : seeds initialisation, batch order and the calibration split.
    device : torch device for training and scoring ("cpu" is plenty: ≈3k parameters).
    calib_fraction : share of ``X_benign`` held out for calibration when ``X_calib`` is None
        (default 200/1400, the paper's 1,200 train + 200 calibration).
    min_calib : fewest calibration signals accepted (a clear error below; a warning below
        ``100 / (100 - percentile)``).
    activation : hidden activation ("relu"). output : "sigmoid" (σ ∈ [0, 1], range-checked) or "linear".
    inputs : what the autoencoder sees. ``"sigma"`` (default, the paper): σ itself. ``"standardized"``:
        σ standardised per step with the benign training mean and standard deviation (floored at 1e-3), so
        the reconstruction error weighs a step by how much benign σ varies there. ``"logit"``: the
        standardised logit of σ (σ clipped to [1e-6, 1 − 1e-6]), which undoes the saturation at 0 and 1.
        Both standardised inputs use a linear output layer (``output_``); σ must still lie in [0, 1].
        On tiny-dlm neither input fixes the guard: the fix there is the φ pooling (docs/GUARD_tiny-dlm.md).

    Attributes after ``fit``: ``threshold_``, ``calib_scores_`` (calibration errors), ``n_params_``,
    ``n_features_in_``, ``n_train_``, ``n_calib_``, ``loss_history_`` (mean train loss per epoch).
    """

    def __init__(
        self,
        percentile: float = 99.0,
        hidden: Sequence[int] = (32, 8),
        epochs: int = 300,
        lr: float = 3e-3,
        batch_size: int | None = 128,
        seed: int = 0,
        device: str | torch.device = "cpu",
        calib_fraction: float = DEFAULT_CALIB_FRACTION,
        *,
        weight_decay: float = 0.0,
        min_calib: int = MIN_CALIB,
        activation: str = "relu",
        output: str = "sigmoid",
        inputs: str = "sigma",
    ) -> None:
        super().__init__(percentile, calib_fraction=calib_fraction, min_calib=min_calib, seed=seed)
        if isinstance(hidden, (str, bytes)) or not hasattr(hidden, "__iter__"):
            raise InputTypeError(f"SRIGuard: hidden must be a tuple of layer sizes, got {hidden!r}")
        hidden = tuple(check_int("hidden size", h, where="SRIGuard") for h in hidden)
        if not hidden or min(hidden) < 1:
            raise ConfigError(f"hidden must be a non-empty tuple of positive sizes; got {hidden}.")
        if check_int("epochs", epochs, where="SRIGuard") < 1:
            raise ConfigError(f"epochs must be ≥ 1; got {epochs}.")
        if batch_size is not None and check_int("batch_size", batch_size, where="SRIGuard") < 1:
            raise ConfigError(f"batch_size must be ≥ 1 or None (full batch); got {batch_size}.")
        check_float("lr", lr, lo=0, lo_open=True, where="SRIGuard")
        check_float("weight_decay", weight_decay, lo=0, where="SRIGuard")
        self.hidden = hidden
        self.epochs = int(epochs)
        self.lr = float(lr)
        self.batch_size = None if batch_size is None else int(batch_size)
        self.weight_decay = float(weight_decay)
        self.device = str(device)
        self.activation = activation
        self.output = output
        # Validate names now rather than at fit time (without building modules: no RNG use).
        if activation not in _ACTIVATIONS:
            raise ConfigError(f"activation must be one of {sorted(_ACTIVATIONS)}; got {activation!r}.")
        if output not in ("sigmoid", "linear"):
            raise ConfigError(f"output must be 'sigmoid' or 'linear'; got {output!r}.")
        if inputs not in INPUTS:
            raise ConfigError(f"inputs must be one of {INPUTS}; got {inputs!r}.")
        self.inputs = inputs

    # -- architecture ------------------------------------------------------------------------------
    def layer_sizes(self, n_in: int) -> list[int]:
        """All layer widths for input length ``n_in``, e.g. ``[32, 32, 8, 32, 32]``."""
        h = list(self.hidden)
        if not (len(h) >= 3 and h == h[::-1]):
            h = h + h[-2::-1]  # mirror an encoder-only spec: (32, 8) -> 32, 8, 32
        return [n_in, *h, n_in]

    @property
    def output_(self) -> str:
        """The output layer actually built: ``output`` for σ inputs, linear for standardised ones."""
        return self.output if self.inputs == "sigma" else "linear"

    def _check_values(self, X: np.ndarray, name: str) -> np.ndarray:
        if self.output_ == "sigmoid" or self.inputs != "sigma":
            lo, hi = float(X.min()), float(X.max())
            if lo < -_RANGE_TOL or hi > 1 + _RANGE_TOL:
                raise ConfigError(
                    f"{name} has values in [{lo:.4g}, {hi:.4g}] but σ vectors lie in [0, 1] "
                    "(sri_kit.sri_signal output). Pass σ, not raw distances or logits — or build "
                    "SRIGuard(output='linear') to model other features."
                )
            X = np.clip(X, 0.0, 1.0)
        return X

    # -- inputs --------------------------------------------------------------------------------------
    def _raw(self, X: np.ndarray) -> np.ndarray:
        if self.inputs == "logit":
            Xc = np.clip(X, _LOGIT_CLIP, 1.0 - _LOGIT_CLIP)
            return np.log(Xc) - np.log1p(-Xc)
        return X

    def _transform(self, X: np.ndarray) -> np.ndarray:
        """What the autoencoder sees (see ``inputs``)."""
        if self.inputs == "sigma":
            return X
        return (self._raw(X) - self.input_mean_) / self.input_scale_

    def _untransform(self, Z: np.ndarray) -> np.ndarray:
        if self.inputs == "sigma":
            return Z
        R = Z * self.input_scale_ + self.input_mean_
        return 1.0 / (1.0 + np.exp(-R)) if self.inputs == "logit" else R

    # -- training ------------------------------------------------------------------------------------
    def _new_module(self, n_in: int) -> nn.Sequential:
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(self.seed)
            net = _build_autoencoder(n_in, self.layer_sizes(n_in)[1:-1], self.activation, self.output_)
        return net.to(device=self.device, dtype=torch.float32)

    def _fit_scorer(self, X: np.ndarray) -> None:
        if self.inputs != "sigma":
            R = self._raw(X)
            self.input_mean_ = R.mean(0)
            self.input_scale_ = np.maximum(R.std(0), _STD_FLOOR)
        X = self._transform(X)
        n, t = X.shape
        net = self._new_module(t)
        opt = torch.optim.Adam(net.parameters(), lr=self.lr, weight_decay=self.weight_decay)
        xt = torch.as_tensor(X, dtype=torch.float32, device=self.device)
        gen = torch.Generator(device="cpu").manual_seed(self.seed)
        bs = n if self.batch_size is None else min(self.batch_size, n)
        history: list[float] = []
        net.train()
        for _ in range(self.epochs):
            perm = torch.randperm(n, generator=gen).to(self.device)
            total = 0.0
            for start in range(0, n, bs):
                xb = xt[perm[start:start + bs]]
                loss = ((net(xb) - xb) ** 2).mean()
                opt.zero_grad(set_to_none=True)
                loss.backward()
                opt.step()
                total += float(loss.detach()) * xb.shape[0]
            history.append(total / n)
        net.eval()
        self.net_ = net
        self.loss_history_ = np.asarray(history)
        self.n_params_ = int(sum(p.numel() for p in net.parameters()))

    @torch.no_grad()
    def _anomaly(self, X: np.ndarray) -> np.ndarray:
        xt = torch.as_tensor(self._transform(X), dtype=torch.float32, device=self.device)
        err = ((self.net_(xt) - xt) ** 2).mean(dim=1)
        return err.double().cpu().numpy()

    def reconstruct(self, X: Any) -> np.ndarray:
        """Reconstructed σ vectors ``[N, T]`` (for plots of what the guard expects), mapped back to σ
        when the autoencoder works on standardised inputs."""
        Xv = self._transform(self._validated(X))
        with torch.no_grad():
            out = self.net_(torch.as_tensor(Xv, dtype=torch.float32, device=self.device))
        return self._untransform(out.double().cpu().numpy())

    # -- persistence (safetensors + JSON, no pickle) ----------------------------------------------------
    def _config_dict(self) -> dict[str, Any]:
        return {
            "format": _FORMAT,
            "percentile": self.percentile,
            "hidden": list(self.hidden),
            "epochs": self.epochs,
            "lr": self.lr,
            "batch_size": self.batch_size,
            "weight_decay": self.weight_decay,
            "seed": self.seed,
            "calib_fraction": self.calib_fraction,
            "min_calib": self.min_calib,
            "activation": self.activation,
            "output": self.output,
            "inputs": self.inputs,
        }

    def save(self, path: str | os.PathLike) -> Path:
        """Write ``path/`` with ``sri_guard.safetensors`` (weights, calibration errors) and
        ``sri_guard.json`` (hyper-parameters, threshold, sizes). Returns the directory."""
        self._check_fitted()
        out = Path(path)
        out.mkdir(parents=True, exist_ok=True)
        tensors = {f"net.{k}": v.detach().cpu().contiguous() for k, v in self.net_.state_dict().items()}
        tensors["calib_scores"] = torch.as_tensor(self.calib_scores_, dtype=torch.float64)
        if self.inputs != "sigma":
            tensors["input_mean"] = torch.as_tensor(self.input_mean_, dtype=torch.float64)
            tensors["input_scale"] = torch.as_tensor(self.input_scale_, dtype=torch.float64)
        meta = {
            **self._config_dict(),
            "threshold": self.threshold_,
            "n_features_in": self.n_features_in_,
            "n_train": self.n_train_,
            "n_calib": self.n_calib_,
            "n_params": self.n_params_,
            "final_train_loss": float(self.loss_history_[-1]) if len(self.loss_history_) else None,
        }
        atomic_write(out / _WEIGHTS, lambda p: save_file(tensors, p, metadata={"format": _FORMAT}))
        atomic_write_text(out / _CONFIG, json.dumps(meta, indent=2, sort_keys=True))
        return out

    @classmethod
    def load(cls, path: str | os.PathLike, device: str | torch.device = "cpu") -> "SRIGuard":
        """Load a guard written by :meth:`save`; scores are identical to the saved one's."""
        d = Path(path)
        if not (d / _CONFIG).is_file() or not (d / _WEIGHTS).is_file():
            raise FileNotFoundError(
                f"{d} is not a saved SRIGuard (expected {_CONFIG} and {_WEIGHTS}); "
                "write one with SRIGuard.save(path)."
            )
        fix = "it is truncated or was not written by SRIGuard.save: fit the guard again and save it"
        with reading(d / _CONFIG, "SRIGuard config", fix):
            meta = json.loads((d / _CONFIG).read_text(encoding="utf-8"))
        if not isinstance(meta, dict) or meta.get("format") != _FORMAT:
            raise CorruptFileError(d / _CONFIG, f"{d / _CONFIG} has format "
                                   f"{meta.get('format') if isinstance(meta, dict) else None!r}, expected {_FORMAT!r}.")
        with reading(d / _CONFIG, "SRIGuard config", fix):
            guard = cls(
                percentile=meta["percentile"], hidden=tuple(meta["hidden"]), epochs=meta["epochs"],
                lr=meta["lr"], batch_size=meta["batch_size"], seed=meta["seed"], device=device,
                calib_fraction=meta["calib_fraction"], weight_decay=meta["weight_decay"],
                min_calib=meta["min_calib"], activation=meta["activation"], output=meta["output"],
                inputs=meta.get("inputs", "sigma"),      # files saved before `inputs` existed: σ inputs
            )
            n_features = int(meta["n_features_in"])
        with reading(d / _WEIGHTS, "SRIGuard weights file", fix):
            tensors = load_file(str(d / _WEIGHTS))
            net = guard._new_module(n_features)
            net.load_state_dict({k[4:]: v for k, v in tensors.items() if k.startswith("net.")})
            calib = tensors["calib_scores"].double().numpy()
            if guard.inputs != "sigma":
                guard.input_mean_ = tensors["input_mean"].double().numpy()
                guard.input_scale_ = tensors["input_scale"].double().numpy()
        net.eval()
        guard.net_ = net
        with reading(d / _CONFIG, "SRIGuard config", fix):
            guard.n_features_in_ = n_features
            guard.threshold_ = float(meta["threshold"])
            guard.calib_scores_ = calib
            guard.n_train_ = int(meta["n_train"])
            guard.n_calib_ = int(meta["n_calib"])
            guard.n_params_ = int(meta["n_params"])
            guard.loss_history_ = np.asarray(
                [] if meta.get("final_train_loss") is None else [meta["final_train_loss"]]
            )
        return guard
