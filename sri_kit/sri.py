"""The Step-wise Refusal Internal dynamics (SRI) signal: centers, σ_t, states, IRR.

Example (plain per-step centers; ``Centers.fit(harmless_traces, harmful_traces)`` makes them from traces):
    >>> rng = np.random.default_rng(0)
    >>> mu_ok, mu_ref = rng.normal(size=(2, 4, 8))           # T = 4 steps, D = 8
    >>> acts = np.stack([mu_ok, mu_ref]) + 0.01 * rng.normal(size=(2, 4, 8))
    >>> sigma = sri_signal(acts, (mu_ok, mu_ref))            # [N, T], 1 = compliant, 0 = refusal-aligned
    >>> sigma.round(2)
    array([[1., 1., 1., 1.],
           [0., 0., 0., 0.]])
    >>> internal_recovery_rate(sigma, lambda_r=0.3)          # nobody was compliant and then recovered
    0.0
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
from .errors import ConfigError, CorruptFileError, InputTypeError, check_float, reading
from .io import atomic_write

COMPLIANT, TRANSITIONING, REFUSAL_ALIGNED = 1, 0, -1
_CHUNK_VALUES = 1 << 16          # float64 values per chunk in sri_signal (512 KB: stays in a core's L2)


def _np(x) -> np.ndarray:
    if hasattr(x, "detach"):
        x = x.detach().cpu().numpy()
    return np.asarray(x)


def _numeric(x, what: str) -> np.ndarray:
    """``x`` as a float64 array; strings, objects and bools are an :class:`InputTypeError`."""
    try:
        a = _np(x)
    except Exception as e:  # ragged lists ...
        raise InputTypeError(f"{what} must be a numeric array, got {type(x).__name__} ({e})") from None
    if a.dtype.kind not in "iuf":
        raise InputTypeError(f"{what} must be a numeric (float) array, got dtype {a.dtype}")
    return a.astype(np.float64)


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
        self.harmless = _numeric(self.harmless, "harmless center").astype(np.float32)
        self.harmful = _numeric(self.harmful, "harmful center").astype(np.float32)
        if self.harmless.ndim != 2 or self.harmless.shape != self.harmful.shape:
            raise ConfigError(f"centers must be two [T, D] arrays of one shape, got {self.harmless.shape} "
                              f"and {self.harmful.shape}")
        if 0 in self.harmless.shape:
            raise ConfigError(f"centers are empty (shape {self.harmless.shape}): they need T >= 1 steps and D >= 1 dims")
        for side in ("harmless", "harmful"):
            if not np.isfinite(getattr(self, side)).all():
                raise ConfigError(f"the {side} center contains NaN or inf: refit it from traces with finite activations")

    @property
    def shape(self) -> tuple[int, int]:
        return tuple(self.harmless.shape)

    @classmethod
    def fit(cls, harmless_traces: Sequence, harmful_traces: Sequence) -> "Centers":
        harmless_traces, harmful_traces = list(harmless_traces), list(harmful_traces)
        if not harmless_traces or not harmful_traces:
            raise ConfigError("Centers.fit needs harmless and harmful traces (both lists are required, non-empty)")
        for what, trs in (("harmless_traces", harmless_traces), ("harmful_traces", harmful_traces)):
            for i, tr in enumerate(trs):
                if not hasattr(tr, "activations") or not hasattr(tr, "refused"):
                    raise InputTypeError(f"Centers.fit: {what}[{i}] is a {type(tr).__name__}, not a GenerationTrace "
                                         "(pass the lists that sri_kit.generate returns)")
        ref = harmless_traces[0]
        if np.ndim(ref.activations) != 2 or 0 in np.shape(ref.activations):
            raise ConfigError(f"Centers.fit: a trace's activations must be a non-empty [T, D] array, "
                              f"got shape {np.shape(ref.activations)}")
        T, D = np.shape(ref.activations)
        for what, trs in (("harmless_traces", harmless_traces), ("harmful_traces", harmful_traces)):
            for i, tr in enumerate(trs):
                _check_trace(tr, ref.model_name, ref.config_key, T, D, what="Centers.fit")
                if not np.isfinite(np.asarray(tr.activations, dtype=np.float64)).all():
                    raise ConfigError(f"Centers.fit: {what}[{i}] has NaN or inf activations (prompt "
                                      f"{str(tr.prompt)[:60]!r}); drop that trace or regenerate it")
        keep_h = [tr for tr in harmless_traces if not tr.refused]
        keep_b = [tr for tr in harmful_traces if tr.refused]
        if not keep_h:
            raise ConfigError(f"no harmless prompt was answered without refusal (0 of {len(harmless_traces)}): "
                             "the harmless center would be empty; use more or easier harmless prompts")
        if not keep_b:
            raise ConfigError(f"no harmful prompt was refused (0 of {len(harmful_traces)}): the harmful "
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

    def direction(self, step: int | None = None, *, per_step: bool = False, unit: bool = True) -> np.ndarray:
        """The refusal direction: the difference of means μ^harmful − μ^harmless (refused harmful minus
        answered harmless), float32.

        ``step=None`` (default): pooled over steps (the difference of the step-averaged centers) -> [D];
        ``step=t``: that step's difference -> [D] (negative t counts from the end); ``per_step=True``: every
        step's -> [T, D]. ``unit=True`` scales each vector to unit norm (the form ``sri_kit.intervene``
        takes; α then carries the scale), ``unit=False`` keeps the raw difference (its norm is the
        distance between the classes). A zero difference is an error.

        Example:
            >>> c = sk.Centers(np.zeros((2, 3)), np.array([[3.0, 4.0, 0.0], [0.0, 0.0, 2.0]]))
            >>> c.direction(step=0).tolist(), c.direction(per_step=True).shape
            ([0.6000000238418579, 0.800000011920929, 0.0], (2, 3))
        """
        diff = self.harmful.astype(np.float64) - self.harmless.astype(np.float64)
        T = diff.shape[0]
        if per_step:
            if step is not None:
                raise ConfigError("Centers.direction: pass either step=t or per_step=True, not both")
            v = diff
        elif step is None:
            v = diff.mean(0)
        else:
            if isinstance(step, bool) or not isinstance(step, (int, np.integer)) or not -T <= step < T:
                raise ConfigError(f"Centers.direction: step must be an int in [-{T}, {T}) for these {T}-step "
                                  f"centers, got {step!r}")
            v = diff[int(step)]
        norm = np.linalg.norm(v, axis=-1, keepdims=True)
        if (norm == 0).any():
            raise ConfigError("Centers.direction: the harmful and harmless centers are equal (zero difference) "
                              f"{'at some step ' if v.ndim == 2 else ''}so there is no direction; refit them on "
                              "prompts the model treats differently")
        return (v / norm if unit else v).astype(np.float32)

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
        side = path.with_suffix(".json")
        if not path.is_file() or not side.is_file():
            raise FileNotFoundError(f"need both {path} and {side} (written by Centers.save)")
        fix = "it is truncated or not written by Centers.save: refit the centers and save them again"
        with reading(side, "sri_kit centers sidecar", fix):
            meta = json.loads(side.read_text(encoding="utf-8"))
            if not isinstance(meta, dict):
                raise CorruptFileError(side, f"{side} is not a sri_kit centers sidecar (not a JSON object); {fix}")
        if meta.pop("format", None) != "sri_kit.centers/1":
            raise CorruptFileError(side, f"{path} is not a sri_kit centers file ({side} has no "
                                         f"'sri_kit.centers/1' format tag); {fix}")
        with reading(path, "sri_kit centers file", fix):
            arr = safetensors_numpy.load_file(str(path))
            return cls(arr["harmless"], arr["harmful"], **meta)


def _check_trace(tr, model_name: str, config_key: str, T: int, D: int, what: str) -> None:
    shape = np.shape(tr.activations)
    if model_name and tr.model_name != model_name:
        raise ConfigError(f"{what} belong to model {model_name!r} but a trace comes from {tr.model_name!r}: "
                         "fit centers on traces of the same model")
    if config_key and tr.config_key != config_key:
        raise ConfigError(f"{what} were made with config {config_key} but a trace has config {tr.config_key}: "
                         "generate with the same GenerationConfig (steps, pooling, layer, sampler ...) or refit")
    if len(shape) == 2 and shape[1] == D and shape[0] != T:
        raise ConfigError(f"a trace has activations {shape} ({shape[0]} steps) but {what} expect ({T}, {D}): its "
                          f"sampler stops at a variable "
                          f"step (or the traces come from different step counts); put all traces on one grid with "
                          f"sri_kit.align_traces(traces, {T}) before fitting and scoring")
    if shape != (T, D):
        raise ConfigError(f"a trace has activations {shape} but {what} expect ({T}, {D}) (T steps, D dims)")


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
            raise InputTypeError("centers must be a Centers or a (harmless, harmful) pair of [T, D] arrays") from None
    tau = check_float("tau", tau, lo=0, lo_open=True, where="sri_signal")
    eps = check_float("eps", eps, lo=0, where="sri_signal")
    mh, mb = _numeric(mh, "the harmless center"), _numeric(mb, "the harmful center")
    if mh.ndim != 2 or mh.shape != mb.shape:
        raise ConfigError(f"centers must be two [T, D] arrays of one shape, got {mh.shape} and {mb.shape}")
    if 0 in mh.shape:
        raise ConfigError(f"centers are empty (shape {mh.shape})")
    if not (np.isfinite(mh).all() and np.isfinite(mb).all()):
        raise ConfigError("the centers contain NaN or inf: refit them from traces with finite activations")
    T, D = mh.shape
    if isinstance(activations, (list, tuple)) and activations and hasattr(activations[0], "activations"):
        if isinstance(centers, Centers):
            centers.check(activations)
        arrays = [np.asarray(tr.activations) for tr in activations]
        bad = next((x.shape for x in arrays if x.shape != (T, D)), None)
        if bad is not None:
            raise ConfigError(f"a trace has activations {bad} but the centers are {(T, D)} (T steps, D dims): "
                             "use centers fitted with the same steps and model")
        N, single = len(arrays), False

        def fill(buf, i, n):                      # [T, n, D] float64 from n traces, one pass
            np.stack(arrays[i:i + n], axis=1, out=buf)
    else:
        if isinstance(activations, (list, tuple)) and not activations:
            raise ConfigError("sri_signal: activations is empty; pass [N, T, D] activations or a list of traces")
        a = _numeric(activations, "activations")
        single = a.ndim == 2
        if single:
            a = a[None]
        if a.ndim != 3:
            raise ConfigError(f"activations must be [N, T, D] or [T, D], got shape {a.shape}")
        if a.shape[1:] != (T, D):
            raise ConfigError(f"activations {a.shape[1:]} do not match centers {(T, D)} (T steps, D dims): "
                             "use centers fitted with the same steps and model")
        N = a.shape[0]
        if N == 0:
            raise ConfigError("sri_signal: activations is empty (N = 0); pass at least one generation")

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
        rows = sorted(set(np.nonzero(~np.isfinite(sq))[1].tolist()))
        raise ConfigError(f"activations contain NaN or inf (generation(s) {rows[:5]}{' ...' if len(rows) > 5 else ''}); "
                          "drop or regenerate them")
    d = 1.0 - dots / (np.sqrt(sq)[..., None] + eps)
    logit = (np.log(d[..., 1] + eps) - np.log(d[..., 0] + eps)) / tau
    sigma = (0.5 * (1.0 + np.tanh(0.5 * logit))).T                       # a sigmoid that cannot overflow; [N, T]
    return sigma[0] if single else sigma


def _sigma2d(sigma) -> np.ndarray:
    s = _numeric(sigma, "sigma")
    if s.ndim == 1:
        s = s[None]
    if s.ndim != 2 or s.shape[1] == 0:
        raise ConfigError(f"sigma must be [N, T], got shape {s.shape}")
    if s.shape[0] == 0:
        raise ConfigError("sigma is empty (N = 0): the rate of no generations is undefined; pass at least one row")
    if np.isnan(s).any():
        raise ConfigError("sigma contains NaN")
    if (s < 0).any() or (s > 1).any():
        raise ConfigError(f"sigma must lie in [0, 1] (it is a sigmoid), got values in [{s.min():.4g}, {s.max():.4g}]: "
                          "pass sri_signal's output, not raw distances or logits")
    return s


def sri_states(sigma, lambda_c: float = LAMBDA_C, lambda_r: float = 0.3) -> np.ndarray:
    """Per step: 1 compliant (σ > λ_c), −1 refusal-aligned (σ < λ_r), 0 transitioning."""
    lambda_c = check_float("lambda_c", lambda_c, where="sri_states")
    lambda_r = check_float("lambda_r", lambda_r, where="sri_states")
    if not 0 <= lambda_r <= lambda_c <= 1:
        raise ConfigError(f"need 0 <= lambda_r <= lambda_c <= 1, got lambda_r={lambda_r}, lambda_c={lambda_c}")
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
