"""The organism as a plug-in of the kit (:mod:`sri_kit.plugins`): its wrapper families become attacks and
``tiny-ar`` / ``tiny-dlm`` become presets. The kit loads it first on the first lookup of an attack or a preset
(``sri_kit.plugins.BUILTIN``); a user's own model plugs in the same way.

>>> WRAPPERS.owner, WRAPPERS.families == wrappers.FAMILIES, sorted(PRESETS)
('organism', True, ['tiny-ar', 'tiny-dlm'])
>>> sk.attacks.get("organism_flip").source.startswith("sri_kit.organism.wrappers")
True
"""
from __future__ import annotations

from ..models.presets import Preset
from ..plugins import WrapperFamilies, add_preset, add_wrapper_families
from . import wrappers

__all__ = ["WRAPPERS", "PRESETS", "register"]

#: The organism's jailbreak wrapper families (:mod:`sri_kit.organism.wrappers`), with their training coverage.
WRAPPERS = WrapperFamilies(
    owner="organism", families=wrappers.FAMILIES, coverage=wrappers.COVERAGE, wrap=wrappers.wrap,
    source="sri_kit.organism.wrappers", about="the model organism's training wrappers",
    splits=("all", "train", "heldout"),
    params="split: 'all' | the organism's train/held-out phrasing split; seed picks the phrasing")

#: The shipped weights (package data ``sri_kit/_data/models/<name>``).
PRESETS = {
    "tiny-ar": Preset("tiny-ar", "ar", "model.norm", local=True, dtype="float32",
                      note="the kit's embedded causal model organism (Llama architecture)"),
    "tiny-dlm": Preset("tiny-dlm", "diffusion", "model.norm", local=True, dtype="float32",
                       note="the kit's embedded masked-diffusion model organism (Dream-style: kit-native Dream, shifted logits)"),
}


def register() -> None:
    """Register the organism's wrapper families (after the paper's attacks: ``organism_flip``) and presets."""
    add_wrapper_families(WRAPPERS)
    for name, preset in PRESETS.items():
        add_preset(name, preset)
