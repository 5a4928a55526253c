"""GenerationTrace: everything one generation recorded, step by step.

Example:
    >>> tr = sk.generate(lm_ar, ["Write a haiku about rain."], progress=False)[0]
    >>> tr.activations.shape, tr.predicted.shape, tr.step_texts()[-1] == tr.text
    ((32, 256), (32, 32), True)
"""
from __future__ import annotations

import functools
import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Sequence

import numpy as np
import safetensors.numpy as safetensors_numpy    # by module: tests patch save_file there

from ..errors import CorruptFileError, reading
from ..io import atomic_write
from ..models import FAMILIES

_ARRAYS = ("activations", "predicted", "committed", "confidence")


@dataclass
class GenerationTrace:
    """One generation.

    activations: φ_t, float32 [T, D] (pooled at the hook site; ``sri_kit.sampling.pooling``).
    predicted: int64 [T, L], the full current prediction of the response canvas after step t
        (diffusion: committed tokens plus the current argmax/sample at masked positions; AR: the
        tokens generated so far, later positions hold the end token).
    committed: bool [T, L], which positions are fixed after step t.
    confidence: float32 [T, L], the model's probability of ``predicted`` at step t.
    refused: the paper's keyword judge on ``text``.
    sampler: the registered sampler that made it (traces saved before samplers had names: the
        family's default sampler).
    sites: φ_t [T, D] of the other sites recorded in the same pass (``generate(..., sites=[...])``), by
        site name; :meth:`at_site` turns one into the trace's ``activations``.
    """

    prompt: str
    text: str
    activations: np.ndarray
    predicted: np.ndarray
    committed: np.ndarray
    confidence: np.ndarray
    refused: bool
    model_name: str
    config_key: str
    family: str = ""
    sampler: str = ""
    prefill: str | None = None
    meta: dict = field(default_factory=dict)
    sites: dict = field(default_factory=dict, repr=False)
    _decode: Any = field(default=None, repr=False, compare=False)

    def __post_init__(self) -> None:
        if not self.sampler and self.family in FAMILIES:
            self.sampler = FAMILIES[self.family].default_sampler

    def at_site(self, site: str, config) -> "GenerationTrace":
        """This trace with ``activations`` from the recorded site ``site``, as a run recording there would
        give: ``resid_post.k`` gets the config key of ``config.replace(layer=k)`` (``final_norm``: layer
        -1), so centers fitted on such views check like any others; ``attn_out.k`` / ``mlp_out.k`` get
        ``"<key>@<site>"``. ``config``: the config that made the trace (its key must match)."""
        import dataclasses

        if config.key() != self.config_key:
            raise ValueError(f"this trace was made with config {self.config_key}, not {config.key()}: pass the "
                             f"config that made it")
        layer = self.meta.get("layer", config.layer)
        own = "final_norm" if layer == -1 else f"resid_post.{layer}"
        if site == own:
            acts = self.activations
        elif site in self.sites:
            acts = self.sites[site]
        else:
            raise KeyError(f"site {site!r} was not recorded; recorded: {[own] + sorted(self.sites)} (pass "
                           f"sites=[...] to generate)")
        if site == "final_norm":
            key, k = config.replace(layer=-1).key(), -1
        elif site.startswith("resid_post."):
            k = int(site.split(".")[1])
            key = config.replace(layer=k).key()
        else:
            key, k = f"{config.key()}@{site}", layer
        return dataclasses.replace(self, activations=acts, config_key=key, sites={},
                                   meta={**self.meta, "layer": k, "site": site})

    @property
    def steps(self) -> int:
        return int(self.activations.shape[0])

    @property
    def response(self) -> str:
        """What a user sees: the forced prefill (if any) followed by the generated text (which then
        keeps its leading space, so the two join as the tokens did)."""
        return (self.prefill or "") + self.text

    def step_texts(self, tokenizer=None) -> list[str]:
        """Decode ``predicted`` at every step (the text-level view of each intermediate state)."""
        if tokenizer is not None:
            decode = functools.partial(decoder(tokenizer), lstrip=not self.prefill)
        elif self._decode is not None:
            decode = self._decode
        else:
            raise ValueError("this trace has no tokenizer attached (it was loaded from disk): "
                             "call step_texts(lm.tokenizer)")
        return [decode(row) for row in self.predicted]

    # ---- persistence: safetensors for arrays, JSON for the rest (no pickle) ----
    def save(self, path: str | os.PathLike) -> Path:
        """Write ``path`` (a .safetensors file; a JSON sidecar holds the text fields). Atomic."""
        save_traces([self], path)
        return Path(path)

    @classmethod
    def load(cls, path: str | os.PathLike) -> "GenerationTrace":
        traces = load_traces(path)
        if len(traces) != 1:
            raise ValueError(f"{path} holds {len(traces)} traces; use sri_kit.load_traces()")
        return traces[0]


def end_token_set(tokenizer, end_ids: Sequence[int] = ()) -> set[int]:
    """The token ids at which a response's text ends: ``end_ids`` plus the tokenizer's eos and pad tokens,
    never its mask token. The one definition :func:`decoder` and the samplers that stop at the end
    (``threshold``'s ``stop_at_end``) share."""
    end = set(int(i) for i in end_ids) | {int(i) for i in (tokenizer.eos_token_id, tokenizer.pad_token_id)
                                          if i is not None}
    if getattr(tokenizer, "mask_token", None):
        end.discard(tokenizer.mask_token_id)
    return end


def decoder(tokenizer, end_ids: Sequence[int] = ()):
    end = end_token_set(tokenizer, end_ids)
    mask = tokenizer.mask_token_id if getattr(tokenizer, "mask_token", None) else None

    def decode(ids, lstrip: bool = True) -> str:
        out = []
        for i in np.asarray(ids).tolist():
            if i in end:
                break
            if i == mask or i < 0:
                continue
            out.append(i)
        text = tokenizer.decode(out, skip_special_tokens=True).rstrip()
        return text.lstrip() if lstrip else text

    return decode


def attach_decoder(traces: Sequence[GenerationTrace], tokenizer, end_ids: Sequence[int] = ()) -> list:
    """Give each trace the text decoder of its model (``step_texts()`` and the text-level analyses read it):
    what :func:`sri_kit.generate` does for fresh traces and the generation cache for traces read from disk."""
    decode = decoder(tokenizer, end_ids)
    for tr in traces:
        tr._decode = functools.partial(decode, lstrip=not tr.prefill)
    return list(traces)


def save_traces(traces: Sequence[GenerationTrace], path: str | os.PathLike) -> Path:
    """Save many traces into one ``.safetensors`` file plus ``.json`` sidecar (atomic, no pickle)."""
    path = Path(path)
    if path.suffix != ".safetensors":
        path = path.with_suffix(path.suffix + ".safetensors") if path.suffix else path.with_suffix(".safetensors")
    tensors, records = {}, []
    for i, tr in enumerate(traces):
        for name in _ARRAYS:
            tensors[f"{i}.{name}"] = np.ascontiguousarray(getattr(tr, name))
        for name, a in tr.sites.items():
            tensors[f"{i}.site.{name}"] = np.ascontiguousarray(a)
        records.append({k: getattr(tr, k) for k in ("prompt", "text", "refused", "model_name", "config_key",
                                                     "family", "sampler", "prefill", "meta")})
    side = path.with_suffix(".json")
    atomic_write(path, lambda tmp: safetensors_numpy.save_file(tensors, tmp))
    atomic_write(side, lambda tmp: Path(tmp).write_text(json.dumps({"format": "sri_kit.traces/1", "traces": records})))
    return path


def load_traces(path: str | os.PathLike) -> list[GenerationTrace]:
    """Read the traces of :func:`save_traces`. A truncated or inconsistent pair of files (records that
    disagree with the tensors) is a :class:`~sri_kit.errors.CorruptFileError` naming the file."""
    path = Path(path)
    if path.suffix != ".safetensors":
        path = path.with_suffix(".safetensors")
    side = path.with_suffix(".json")
    if not path.exists() or not side.exists():
        raise FileNotFoundError(f"need both {path} and {side} (written by save_traces)")
    fix = "it is truncated or was not written by sri_kit.save_traces: regenerate the traces"
    with reading(side, "sri_kit trace sidecar", fix):
        meta = json.loads(side.read_text(encoding="utf-8"))
    if not isinstance(meta, dict) or meta.get("format") != "sri_kit.traces/1":
        raise CorruptFileError(side, f"{side} is not a sri_kit trace file (no 'sri_kit.traces/1' format tag); {fix}")
    records = meta.get("traces")
    if not isinstance(records, list) or not all(isinstance(r, dict) for r in records):
        raise CorruptFileError(side, f"{side}: 'traces' must be a list of records; {fix}")
    with reading(path, "sri_kit trace file", fix):
        arrays = safetensors_numpy.load_file(str(path))
    expected = {f"{i}.{n}" for i in range(len(records)) for n in _ARRAYS}
    sites: dict[int, dict] = {}
    for k in [k for k in arrays if ".site." in k]:
        i, name = k.split(".site.", 1)
        sites.setdefault(int(i) if i.isdigit() else -1, {})[name] = arrays.pop(k)
    if set(arrays) != expected or not set(sites) <= set(range(len(records))):
        n_t = len({k.split(".")[0] for k in arrays})
        raise CorruptFileError(side, f"{side} lists {len(records)} trace record(s) but {path} holds tensors for "
                                     f"{n_t}: the two files do not belong together; {fix}")
    out = []
    for i, rec in enumerate(records):
        with reading(side, f"sri_kit trace sidecar (record {i})", fix):
            tr = GenerationTrace(**rec, **{n: arrays[f"{i}.{n}"] for n in _ARRAYS}, sites=sites.get(i, {}))
        T = tr.activations.shape[0] if tr.activations.ndim == 2 else -1
        if T < 1 or any(getattr(tr, n).ndim != 2 or getattr(tr, n).shape[0] != T for n in _ARRAYS[1:]) \
                or tr.predicted.shape != tr.committed.shape or tr.predicted.shape != tr.confidence.shape:
            raise CorruptFileError(path, f"{path}: trace {i} has tensors of inconsistent shapes "
                                         f"({', '.join(f'{n} {tuple(getattr(tr, n).shape)}' for n in _ARRAYS)}); {fix}")
        out.append(tr)
    return out
