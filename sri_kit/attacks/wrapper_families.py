"""The model organism's jailbreak wrapper families (``sri_kit.organism.wrappers``) as registered attacks.

Imported last by the package, after every paper attack is registered: a family whose name collides with
a paper attack implemented here is registered as ``organism_<name>``.

>>> sk.attacks.get("organism_flip").source.startswith("sri_kit.organism.wrappers")
True
"""
from __future__ import annotations

from typing import Any

from ..organism import wrappers
from .registry import names, register

__all__ = ["register_wrapper_families"]


def register_wrapper_families() -> list[str]:
    """Register each organism family not registered yet; returns the names registered now."""
    added = []
    taken = set(names())
    for fam in wrappers.FAMILIES:
        # names of the paper attacks implemented here win; the organism's version gets a prefix
        name = fam if fam not in taken else f"organism_{fam}"
        if name in taken:
            continue

        def _fn(prompt: str, seed: int = 0, split: str = "all", _fam: str = fam, **_ignored: Any) -> str:
            return wrappers.wrap(_fam, prompt, seed=seed, split=split)

        register(
            name,
            _fn,
            source=f"sri_kit.organism.wrappers family {fam!r} (the model organism's training wrappers)",
            params="split: 'all' | the organism's train/held-out phrasing split; seed picks the phrasing",
        )
        taken.add(name)
        added.append(name)
    return added


register_wrapper_families()
