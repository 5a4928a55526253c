"""The Step-wise Refusal Internal dynamics (SRI) signal: centers, σ_t, states, IRR.

Example:
    >>> centers = Centers.fit(harmless_traces, harmful_traces)        # doctest: +SKIP
    >>> sigma = sri_signal(jailbreak_traces, centers)                  # [N, T], 1 = compliant
    >>> internal_recovery_rate(sigma, lambda_r=0.3)                    # doctest: +SKIP
"""
from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Sequence

import numpy as np
import safetensors.numpy as safetensors_numpy    # by module: tests patch save_file there

from .config import EPS, LAMBDA_C, TAU
from .io import atomic_write

COMPLIANT, TRANSITIONING, REFUSAL_ALIGNED = 1, 0, -1
_CHUNK_VALUES = 1 << 16          # float64 values per chunk in sri_signal (512 KB: stays in a core's L2)


def _np(x) -> np.ndarray:
    if hasattr(x, "detach"):
        x = x.detach().cpu().numpy()
    return np.asarray(x)


@dataclass
class Centers:
    """Per-step anchors μ_t: ``harmless`` and ``harmful`` [T, D] with the data that made them.

    ``fit`` keeps harmless prompts the model did not refuse and harmful prompts it did refuse (the
    keyword judge on the final response), and averages φ_t per step in float64.
    """

    harmless: np.ndarray
    harmful: np.ndarray
    n_harmless: int = 0
    n_harmful: int = 0
    model_name: str = ""
    config_key: str = ""
    pooling: str = ""
    meta: dict = field(default_factory=dict)

    def __post_init__(self):
        self.harmless = _np(self.harmless).astype(np.float32)
        self.harmful = _np(self.harmful).astype(np.float32)
        if self.harmless.ndim != 2 or self.harmless.shape != self.harmful.shape:
            raise ValueError(f"centers must be two [T, D] arrays of one shape, got {self.harmless.shape} "
                             f"and {self.harmful.shape}")

    @property
    def shape(self) -> tuple[int, int]:
        return tuple(self.harmless.shape)

    @classmethod
    def fit(cls, harmless_traces: Sequence, harmful_traces: Sequence) -> "Centers":
        harmless_traces, harmful_traces = list(harmless_traces), list(harmful_traces)
        if not harmless_traces or not harmful_traces:
            raise ValueError("Centers.fit needs harmless and harmful traces (both lists are required, non-empty)")
        ref = harmless_traces[0]
        T, D = np.shape(ref.activations)
        for tr in harmless_traces + harmful_traces:
            _check_trace(tr, ref.model_name, ref.config_key, T, D, what="Centers.fit")
        keep_h = [tr for tr in harmless_traces if not tr.refused]
        keep_b = [tr for tr in harmful_traces if tr.refused]
        if not keep_h:
            raise ValueError(f"no harmless prompt was answered without refusal (0 of {len(harmless_traces)}): "
                             "the harmless center would be empty; use more or easier harmless prompts")
        if not keep_b:
            raise ValueError(f"no harmful prompt was refused (0 of {len(harmful_traces)}): the harmful "
                             "center would be empty; use more plain harmful prompts")

        def mean(trs):
            acc = np.zeros((T, D), dtype=np.float64)
            for tr in trs:
                acc += np.asarray(tr.activations, dtype=np.float64)
            return acc / len(trs)

        return cls(mean(keep_h), mean(keep_b), n_harmless=len(keep_h), n_harmful=len(keep_b),
                   model_name=ref.model_name, config_key=ref.config_key,
                   pooling=(ref.meta or {}).get("pooling", ""),
                   meta={"harmless_total": len(harmless_traces), "harmful_total": len(harmful_traces)})

    def check(self, traces: Sequence) -> None:
        """Raise a clear error if ``traces`` come from another model, config, T or D."""
        T, D = self.shape
        for tr in traces:
            _check_trace(tr, self.model_name, self.config_key, T, D, what="these centers")

    def save(self, path: str | os.PathLike) -> Path:
        path = Path(path)
        if path.suffix != ".safetensors":
            path = path.with_suffix(".safetensors")
        meta = {"format": "sri_kit.centers/1", "n_harmless": self.n_harmless, "n_harmful": self.n_harmful,
                "model_name": self.model_name, "config_key": self.config_key, "pooling": self.pooling,
                "meta": self.meta}
        atomic_write(path, lambda tmp: safetensors_numpy.save_file({"harmless": self.harmless, "harmful": self.harmful}, tmp))
        atomic_write(path.with_suffix(".json"), lambda tmp: Path(tmp).write_text(json.dumps(meta, indent=1)))
        return path

    @classmethod
    def load(cls, path: str | os.PathLike) -> "Centers":
        path = Path(path)
        if path.suffix != ".safetensors":
            path = path.with_suffix(".safetensors")
        meta = json.loads(path.with_suffix(".json").read_text())
        if meta.pop("format", None) != "sri_kit.centers/1":
            raise ValueError(f"{path} is not a sri_kit centers file")
        arr = safetensors_numpy.load_file(str(path))
        return cls(arr["harmless"], arr["harmful"], **meta)


def _check_trace(tr, model_name: str, config_key: str, T: int, D: int, what: str) -> None:
    shape = np.shape(tr.activations)
    if model_name and tr.model_name != model_name:
        raise ValueError(f"{what} belong to model {model_name!r} but a trace comes from {tr.model_name!r}: "
                         "fit centers on traces of the same model")
    if config_key and tr.config_key != config_key:
        raise ValueError(f"{what} were made with config {config_key} but a trace has config {tr.config_key}: "
                         "generate with the same GenerationConfig (steps, pooling, layer, sampler ...) or refit")
    if shape != (T, D):
        raise ValueError(f"a trace has activations {shape} but {what} expect ({T}, {D}) (T steps, D dims)")


def sri_signal(activations, centers, tau: float = TAU, eps: float = EPS) -> np.ndarray:
    """σ_t = sigmoid((log(d_t^harmful + ε) − log(d_t^harmless + ε)) / τ), d = 1 − cos (PAPER.md §1.4).

    ``activations``: [N, T, D] (array or tensor), one [T, D], or a list of GenerationTraces (checked
    against the centers' model and config). ``centers``: a Centers or a (harmless, harmful) pair of
    [T, D]. Returns float64 [N, T] ([T] for one [T, D] input). σ → 1 compliant, σ → 0 refusal-aligned.
    """
    if isinstance(centers, Centers):
        mh, mb = centers.harmless, centers.harmful
    else:
        try:
            mh, mb = centers
        except (TypeError, ValueError):
            raise TypeError("centers must be a Centers or a (harmless, harmful) pair of [T, D] arrays") from None
    mh, mb = _np(mh).astype(np.float64), _np(mb).astype(np.float64)
    if mh.ndim != 2 or mh.shape != mb.shape:
        raise ValueError(f"centers must be two [T, D] arrays of one shape, got {mh.shape} and {mb.shape}")
    T, D = mh.shape
    if isinstance(activations, (list, tuple)) and activations and hasattr(activations[0], "activations"):
        if isinstance(centers, Centers):
            centers.check(activations)
        arrays = [np.asarray(tr.activations) for tr in activations]
        bad = next((x.shape for x in arrays if x.shape != (T, D)), None)
        if bad is not None:
            raise ValueError(f"a trace has activations {bad} but the centers are {(T, D)} (T steps, D dims): "
                             "use centers fitted with the same steps and model")
        N, single = len(arrays), False

        def fill(buf, i, n):                      # [T, n, D] float64 from n traces, one pass
            np.stack(arrays[i:i + n], axis=1, out=buf)
    else:
        a = _np(activations)
        single = a.ndim == 2
        if single:
            a = a[None]
        if a.ndim != 3:
            raise ValueError(f"activations must be [N, T, D] or [T, D], got shape {a.shape}")
        if a.shape[1:] != (T, D):
            raise ValueError(f"activations {a.shape[1:]} do not match centers {(T, D)} (T steps, D dims): "
                             "use centers fitted with the same steps and model")
        N = a.shape[0]

        def fill(buf, i, n):
            np.copyto(buf, a[i:i + n].transpose(1, 0, 2))

    def unit(v):
        return v / (np.linalg.norm(v, axis=-1, keepdims=True) + eps)

    # cos(a, μ) = (a · μ/‖μ‖) / (‖a‖ + ε), all in float64. Traces are upcast in chunks of about 512 KB, laid out
    # [T, n, D] so that per step one matmul gives both centers' dot products; the chunk stays in cache.
    m = np.stack([unit(mh), unit(mb)], axis=-1)                          # [T, D, 2]
    dots = np.empty((T, N, 2))
    sq = np.empty((T, N))
    chunk = max(1, _CHUNK_VALUES // max(1, T * D))
    buf = np.empty((T, min(chunk, max(N, 1)), D))
    for i in range(0, N, chunk):
        n = min(chunk, N - i)
        x = buf[:, :n]
        fill(x, i, n)
        np.matmul(x, m, out=dots[:, i:i + n])
        sq[:, i:i + n] = np.linalg.vecdot(x, x)
    if not np.isfinite(sq).all():      # a NaN or inf anywhere in a trace makes its squared norm non-finite
        raise ValueError("activations contain NaN or inf")
    d = 1.0 - dots / (np.sqrt(sq)[..., None] + eps)
    logit = (np.log(d[..., 1] + eps) - np.log(d[..., 0] + eps)) / tau
    sigma = (0.5 * (1.0 + np.tanh(0.5 * logit))).T                       # a sigmoid that cannot overflow; [N, T]
    return sigma[0] if single else sigma


def _sigma2d(sigma) -> np.ndarray:
    s = _np(sigma).astype(np.float64)
    if s.ndim == 1:
        s = s[None]
    if s.ndim != 2 or s.shape[1] == 0:
        raise ValueError(f"sigma must be [N, T], got shape {s.shape}")
    if np.isnan(s).any():
        raise ValueError("sigma contains NaN")
    return s


def sri_states(sigma, lambda_c: float = LAMBDA_C, lambda_r: float = 0.3) -> np.ndarray:
    """Per step: 1 compliant (σ > λ_c), −1 refusal-aligned (σ < λ_r), 0 transitioning."""
    if not 0 <= lambda_r <= lambda_c <= 1:
        raise ValueError(f"need 0 <= lambda_r <= lambda_c <= 1, got lambda_r={lambda_r}, lambda_c={lambda_c}")
    s = _sigma2d(sigma)
    return np.where(s > lambda_c, COMPLIANT, np.where(s < lambda_r, REFUSAL_ALIGNED, TRANSITIONING))


def internal_recoveries(sigma, lambda_c: float = LAMBDA_C, lambda_r: float = 0.3) -> np.ndarray:
    """Bool [N]: compliant at some step and refusal-aligned at the last step (Definition 1)."""
    st = sri_states(sigma, lambda_c, lambda_r)
    return (st == COMPLIANT).any(axis=1) & (st[:, -1] == REFUSAL_ALIGNED)


def internal_recovery_rate(sigma, lambda_c: float = LAMBDA_C, lambda_r: float = 0.3) -> float:
    """IRR: the share of generations that were internally compliant at some step and end
    refusal-aligned (σ_T < λ_r). The denominator is every row of ``sigma`` (PAPER.md §1.5 leaves it
    open: pass the subset you mean, e.g. the jailbreak prompts)."""
    return float(internal_recoveries(sigma, lambda_c, lambda_r).mean())
