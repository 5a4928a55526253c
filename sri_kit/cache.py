"""Generate once: a crash-safe cache of generations, keyed by model fingerprint, config key and prompt hash.

Every analysis of one run reads the same generations: the results store's rate tables (texts and judge
labels) and the report (traces: φ_t per step, predictions, σ computed from them) ask
:class:`GenerationCache` first and generate only what is missing.

Keys: :func:`model_fingerprint` (a digest of the weights and the config, so retrained weights never
reuse old generations), :func:`generation_code_digest` (a digest of the package code that decides a
generation, so a change to a sampler, a model adapter or the hooks regenerates instead of serving what the
old code made), ``GenerationConfig.key()``, a hash of the prompts and the prefill, and the kind of entry. Entries are single files: a magic line, a JSON header, binary blobs and a trailing SHA-256 of
everything before it. They are written to a unique temporary file and moved into place (``os.replace``),
so a reader never sees half an entry, two runs sharing the cache cannot corrupt it (the last identical
entry wins), and a run killed at any point leaves either nothing or a complete entry. A truncated or
damaged entry fails its checksum on read: it is removed and regenerated, never used.

Location: ``$SRI_KIT_CACHE``, else ``$XDG_CACHE_HOME/sri_kit``, else ``~/.cache/sri_kit``.

>>> import tempfile
>>> c = GenerationCache(tempfile.mkdtemp())
>>> _ = c.put("k1", {"texts": ["a", "b"]})
>>> c.get("k1")["meta"]
{'texts': ['a', 'b']}
>>> c.get("missing") is None
True
"""
from __future__ import annotations

import hashlib
import json
import os
import struct
import tempfile
from pathlib import Path

from .io import atomic_write

__all__ = ["cache_root", "model_fingerprint", "generation_code_digest", "code_digest", "GENERATION_CODE",
           "entry_key", "GenerationCache", "pack", "unpack", "MAGIC"]

MAGIC = b"SRIKIT-CACHE/1\n"


def cache_root() -> Path:
    """``$SRI_KIT_CACHE``, else ``$XDG_CACHE_HOME/sri_kit``, else ``~/.cache/sri_kit``."""
    if os.environ.get("SRI_KIT_CACHE"):
        return Path(os.environ["SRI_KIT_CACHE"])
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "sri_kit"


#: The package code a generation (texts, traces, φ) depends on, relative to the package: a change to any of it
#: changes every cache key, so cached generations are never served for code that would generate differently.
GENERATION_CODE = ("config.py", "hooks.py", "sampling", "models", "native")

_CODE: list[str] = []


def code_digest(root, names) -> str:
    """sha256 (16 hex) of every ``.py`` file under ``root / name`` for each of ``names`` (by relative name and
    bytes; ``__pycache__`` skipped). ``root``: a folder or an ``importlib.resources`` traversable."""
    h = hashlib.sha256()

    def walk(node, rel):
        if node.is_file():
            if rel.endswith(".py"):
                h.update(rel.encode() + b"\0" + node.read_bytes() + b"\0")
            return
        if node.is_dir():
            for child in sorted(node.iterdir(), key=lambda c: c.name):
                if child.name != "__pycache__":
                    walk(child, f"{rel}/{child.name}")
    for name in names:
        walk(root / name, name)
    return h.hexdigest()[:16]


def generation_code_digest() -> str:
    """:func:`code_digest` of :data:`GENERATION_CODE` in the installed package (so it works from a wheel): part of
    every generation cache key."""
    if not _CODE:
        from importlib.resources import files
        _CODE.append(code_digest(files("sri_kit"), GENERATION_CODE))
    return _CODE[0]


_FP: dict = {}


def model_fingerprint(lm) -> str:
    """A digest of the model's weights (every tensor's name, dtype, shape and bytes) and config (20 hex).

    The config's ``_name_or_path`` (the folder it was loaded from) is left out: the same weights loaded from another
    checkout, worktree or copy are the same model and share cached generations. Computed once per loaded model
    object."""
    model = getattr(lm, "model", lm)
    key = id(model)
    if key in _FP and _FP[key][0] is model:
        return _FP[key][1]
    import torch
    h = hashlib.sha256()
    cfg = getattr(model, "config", None)
    if cfg is not None and hasattr(cfg, "to_dict"):
        d = {k: v for k, v in cfg.to_dict().items() if k not in ("_name_or_path", "name_or_path")}
        h.update(json.dumps(d, sort_keys=True, default=str).encode())
    with torch.no_grad():
        for name, t in sorted(model.state_dict().items()):
            t = t.detach().to("cpu").contiguous()
            h.update(f"{name}|{t.dtype}|{tuple(t.shape)}".encode())
            h.update(t.view(torch.uint8).numpy().tobytes() if t.numel() else b"")
    fp = h.hexdigest()[:20]
    _FP[key] = (model, fp)
    return fp


def entry_key(*parts) -> str:
    """A file-safe key from JSON-serialisable parts (sha256, 32 hex)."""
    return hashlib.sha256(json.dumps(parts, ensure_ascii=False, sort_keys=True, default=str).encode()).hexdigest()[:32]


def pack(meta: dict, blobs: dict[str, bytes] | None = None) -> bytes:
    """One entry as bytes: magic, header length, JSON header (meta and blob sizes), blobs, SHA-256."""
    blobs = blobs or {}
    header = json.dumps({"meta": meta, "blobs": [[k, len(v)] for k, v in blobs.items()]},
                        ensure_ascii=False).encode()
    body = MAGIC + struct.pack(">Q", len(header)) + header + b"".join(blobs.values())
    return body + hashlib.sha256(body).digest()


def unpack(data: bytes) -> dict | None:
    """``{"meta", "blobs"}`` of a packed entry; None when it is truncated, damaged or not an entry."""
    if len(data) < len(MAGIC) + 8 + 32 or not data.startswith(MAGIC):
        return None
    body, digest = data[:-32], data[-32:]
    if hashlib.sha256(body).digest() != digest:
        return None
    n = struct.unpack(">Q", body[len(MAGIC):len(MAGIC) + 8])[0]
    start = len(MAGIC) + 8
    try:
        header = json.loads(body[start:start + n].decode())
    except (UnicodeDecodeError, json.JSONDecodeError):
        return None
    pos, blobs = start + n, {}
    for k, size in header["blobs"]:
        blobs[k] = body[pos:pos + size]
        pos += size
    if pos != len(body):
        return None
    return {"meta": header["meta"], "blobs": blobs}


class GenerationCache:
    """Entries under ``<root>/generations/<key[:2]>/<key>.bin`` (see the module docstring)."""

    def __init__(self, root: str | os.PathLike | None = None):
        self.root = Path(root) if root is not None else cache_root()
        self.hits = self.misses = self.corrupt = 0

    def path(self, key: str) -> Path:
        return self.root / "generations" / key[:2] / f"{key}.bin"

    def get(self, key: str) -> dict | None:
        """The entry, or None when absent; a damaged entry is removed (and counted) and reads as absent."""
        p = self.path(key)
        try:
            data = p.read_bytes()
        except FileNotFoundError:
            self.misses += 1
            return None
        e = unpack(data)
        if e is None:
            self.corrupt += 1
            self.misses += 1
            try:
                p.unlink()
            except FileNotFoundError:
                pass
            return None
        self.hits += 1
        return e

    def put(self, key: str, meta: dict, blobs: dict[str, bytes] | None = None) -> Path:
        """Write an entry atomically (:func:`sri_kit.io.atomic_write`: a unique temporary file beside it, flushed
        to disk with fsync, then ``os.replace``), so a reader sees the whole entry or none."""
        data = pack(meta, blobs)

        def write(tmp: str) -> None:
            with open(tmp, "wb") as f:
                f.write(data)
                f.flush()
                os.fsync(f.fileno())

        return atomic_write(self.path(key), write)

    # ---- what the kit caches -------------------------------------------------------------------------

    def texts(self, lm, prompts: list[str], cfg, *, prefill: str | None = None, generate=None) -> tuple[list[str], float, bool]:
        """``(texts, seconds, hit)``: the generated texts of ``prompts`` (in order), from the cache or from
        ``generate(lm, prompts, cfg, prefill)`` (default: :func:`sri_kit.sampling.generate_texts`)."""
        key = entry_key("texts", model_fingerprint(lm), generation_code_digest(), cfg.key(), list(prompts),
                        prefill)
        e = self.get(key)
        if e is not None:
            return list(e["meta"]["texts"]), float(e["meta"]["seconds"]), True
        import time
        if generate is None:
            from .sampling import generate_texts

            def generate(lm_, ps, c, pf):
                return generate_texts(lm_, ps, c, batch_size=32, prefill=pf)
        t0 = time.perf_counter()
        texts = list(generate(lm, list(prompts), cfg, prefill))
        secs = time.perf_counter() - t0
        self.put(key, {"kind": "texts", "model": getattr(lm, "name", ""), "config": cfg.key(), "n": len(texts),
                       "texts": texts, "seconds": secs})
        return texts, secs, False

    def traces(self, lm, prompts: list[str], cfg, *, prefill: str | None = None, generate=None,
               sites=None) -> list:
        """The traces of ``prompts`` (φ_t per step, predictions, committed, confidence, text), from the cache or
        from ``generate(lm, prompts, cfg, prefill)``; stored as the two files of
        :func:`~sri_kit.sampling.save_traces` inside one checksummed entry. ``sites``: the extra recording sites
        that ``generate`` records (``sampling.generate(..., sites=...)``); they are part of the key, so traces
        with other sites are never served for them."""
        from .sampling import load_traces, save_traces
        extra = ["sites", list(sites)] if sites else []
        key = entry_key("traces", model_fingerprint(lm), generation_code_digest(), cfg.key(), list(prompts),
                        prefill, *extra)
        e = self.get(key)
        with tempfile.TemporaryDirectory() as d:
            f = Path(d) / "t.safetensors"
            if e is not None:
                f.write_bytes(e["blobs"]["safetensors"])
                f.with_suffix(".json").write_bytes(e["blobs"]["json"])
                return _with_decoder(load_traces(f), lm)
            trs = generate(lm, list(prompts), cfg, prefill)
            if not trs:
                return trs
            save_traces(trs, f)
            self.put(key, {"kind": "traces", "model": getattr(lm, "name", ""), "config": cfg.key(), "n": len(trs)},
                     {"safetensors": f.read_bytes(), "json": f.with_suffix(".json").read_bytes()})
            # the same round trip as a later read: a first run equals a resumed one
            return _with_decoder(load_traces(f), lm)


def _with_decoder(traces: list, lm) -> list:
    """``lm``'s text decoder on traces read from disk, as on fresh ones (:func:`sri_kit.sampling.trace.attach_decoder`)."""
    from .sampling.trace import attach_decoder
    tok = getattr(lm, "tokenizer", None)
    return traces if tok is None else attach_decoder(traces, tok, getattr(lm, "end_token_ids", ()))
