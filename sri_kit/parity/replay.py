"""The kit's side of the golden parity fixtures: run each recorded case on the kit, compare.

Nothing here imports upstream code: the models are rebuilt from the fixture's config and weight seed
(:func:`sri_kit.parity.models.build_kit_model`, digest checked) and the kit's samplers run the recorded
configs. :func:`check_case` returns the differences as readable lines (empty: parity holds).

Example:
    >>> fx = load_fixture(FIXTURE_DIR / "llada.json")          # doctest: +SKIP
    >>> [check_case(fx, c) for c in fx["cases"]]               # doctest: +SKIP
    [[], [], ...]
"""
from __future__ import annotations

from pathlib import Path

import torch

from ..config import GenerationConfig
from ..sampling import sampler_for
from .models import MASK_ID, build_kit_model, kit_lm
from .record import load_fixture

__all__ = ["check_case", "run_case", "kit_model", "load_fixture", "LOGIT_TOL"]

#: logits are compared to this absolute and relative tolerance (float32; recorded on another machine)
LOGIT_TOL = 1e-5

_MODELS: dict[tuple, object] = {}


def kit_model(fx: dict, name: str):
    """The kit-native model ``name`` of fixture ``fx`` (cached per config, seed and digest)."""
    m = fx["models"][name]
    key = (m["kind"], repr(sorted(m["config"].items())), m["seed"], m["digest"])
    if key not in _MODELS:
        _MODELS[key] = build_kit_model(m["kind"], m["config"], m["seed"], digest=m["digest"])
    return _MODELS[key]


def _canvases(out, i: int, n: int | None = None) -> list[list[int]]:
    c = torch.where(out.committed[i], out.predicted[i], MASK_ID)       # [T, L]
    if n is not None:
        c = c[:n]
    return c.tolist()


def run_case(fx: dict, case: dict) -> dict:
    """The kit's results for ``case``, in the fixture's fields (``tokens``, ``canvases``, ``n_forward``, ``logits``)."""
    if case["type"] == "logits":
        x = torch.tensor(case["input_ids"])
        with torch.no_grad():
            return {"logits": {n: kit_model(fx, n)(x).logits[:, case["positions"]] for n in case["logits"]}}
    kind = fx["models"][case["model"]]["kind"]
    lm = kit_lm(kind, kit_model(fx, case["model"]))
    cfg = GenerationConfig.from_dict(case["config"])
    sampler = sampler_for(lm, cfg)
    rows = case["rows"]
    outs = [sampler.run(lm, rows, cfg)] if case["batched"] else [sampler.run(lm, [r], cfg) for r in rows]
    tokens, canvases, nfe, filled = [], [], [], []
    for out in outs:
        filled += out.filled_prompt_ids or []
    for j in range(len(rows)):
        out, i = (outs[0], j) if case["batched"] else (outs[j], 0)
        n = None if out.n_steps is None else int(out.n_steps[i])
        tokens.append(out.response_ids[i].tolist())
        canvases.append(_canvases(out, i, n))
        nfe.append(out.n_forward)
    return {"tokens": tokens, "canvases": canvases, "n_forward": nfe, "filled_prompt": filled}


def check_case(fx: dict, case: dict, got: dict | None = None) -> list[str]:
    """Where the kit (``got``, or a fresh :func:`run_case`) differs from the recorded ``case``."""
    got = run_case(fx, case) if got is None else got
    where = f"{fx['family']}:{case['name']}"
    if case["type"] == "logits":
        bad = []
        for name, want in case["logits"].items():
            want = torch.tensor(want)
            have = got["logits"][name]
            if have.shape != want.shape:
                bad.append(f"{where} {name}: logits shape {tuple(have.shape)} != recorded {tuple(want.shape)}")
                continue
            diff = (have - want).abs().max().item()
            if not torch.allclose(have, want, rtol=LOGIT_TOL, atol=LOGIT_TOL):
                bad.append(f"{where} {name}: max |Δlogit| = {diff:.3g} > {LOGIT_TOL}")
        return bad
    bad = []
    for j, row in enumerate(case["rows"]):
        if got["tokens"][j] != case["tokens"][j]:
            bad.append(f"{where} row {j}: tokens {got['tokens'][j]} != upstream {case['tokens'][j]}")
        want, have = case["canvases"][j], got["canvases"][j]
        if have != want:
            t = next((t for t, (a, b) in enumerate(zip(have, want)) if a != b), min(len(have), len(want)))
            bad.append(f"{where} row {j}: canvas differs first after step {t} ({len(have)} steps, upstream "
                       f"{len(want)}): kit {have[t] if t < len(have) else None} upstream {want[t] if t < len(want) else None}")
        if "filled_prompt" in case and got["filled_prompt"][j:j + 1] != case["filled_prompt"][j:j + 1]:
            bad.append(f"{where} row {j}: filled prompt {got['filled_prompt'][j:j + 1]} != upstream "
                       f"{case['filled_prompt'][j]}")
        if "n_forward" in case and got["n_forward"][j] != case["n_forward"][j]:
            bad.append(f"{where} row {j}: {got['n_forward'][j]} forward passes, upstream {case['n_forward'][j]}")
    return bad


def fixture_paths(folder) -> list[Path]:
    return sorted(Path(folder).glob("*.json"))
