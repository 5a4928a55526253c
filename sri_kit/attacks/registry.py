"""The attack registry: named, seeded prompt transforms, and the input checks every attack shares.

An attack is a function ``fn(prompt, seed=0, **kw) -> str`` registered under a snake_case name with
:func:`register`; :func:`apply` looks it up and runs it. Plug-ins (:mod:`sri_kit.plugins`: the organism's
wrapper families, a user's model's) register theirs on the first lookup or registration after the kit's own
attacks are in, so a plug-in family whose name an attack already has is registered as ``<owner>_<family>``.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Callable, Sequence

from ..models import LoadedModel

__all__ = ["AttackSpec", "register", "unregister", "names", "get", "apply", "apply_many", "describe",
           "check_prompt", "require_lm"]

KINDS = ("text", "model", "dataset", "prefill")


@dataclass(frozen=True)
class AttackSpec:
    """One registered transform.

    ``fn(prompt, seed=0, **kw) -> str``; ``kind`` is ``"text"`` (pure string transform),
    ``"model"`` (needs ``lm=``), ``"dataset"`` (looks the prompt up in a file) or ``"prefill"``
    (prompt unchanged, a sampler prefill does the work).
    """

    name: str
    fn: Callable[..., str]
    source: str
    params: str = ""
    kind: str = "text"


_REGISTRY: dict[str, AttackSpec] = {}
_NAME_RE = re.compile(r"^[a-z][a-z0-9_]*$")
_state = {"builtins_done": False}


def builtins_registered() -> None:
    """Called by :mod:`sri_kit.attacks` once the kit's own attacks are registered: from then on the first lookup or
    registration loads the plug-ins (before it, lookups see the kit's attacks only)."""
    _state["builtins_done"] = True


def _plugins() -> None:
    if _state["builtins_done"]:
        from .. import plugins
        plugins.load()


def register(
    name: str,
    fn: Callable[..., str] | None = None,
    *,
    source: str,
    params: str = "",
    kind: str = "text",
    overwrite: bool = False,
):
    """Register ``fn`` as the transform ``name`` (usable as a decorator).

    >>> @register("shout", source="example", params="none")
    ... def _shout(prompt, seed=0):
    ...     return prompt.upper()
    >>> apply("shout", "hi")
    'HI'
    >>> _ = unregister("shout")
    """
    if not isinstance(name, str) or not _NAME_RE.match(name):
        raise ValueError(f"attack names are snake_case identifiers, got {name!r}")
    if kind not in KINDS:
        raise ValueError(f"kind must be text|model|dataset|prefill, got {kind!r}")
    _plugins()

    def deco(f: Callable[..., str]) -> Callable[..., str]:
        if name in _REGISTRY and not overwrite:
            raise ValueError(f"attack {name!r} is already registered; pass overwrite=True to replace it")
        _REGISTRY[name] = AttackSpec(name, f, source, params, kind)
        return f

    return deco(fn) if fn is not None else deco


def unregister(name: str) -> AttackSpec:
    """Remove a transform (mainly for tests); returns its spec."""
    _plugins()
    return _REGISTRY.pop(name)


def names() -> list[str]:
    """Sorted names of all registered transforms (the plug-ins' wrapper families included: the organism's).

    >>> "flip" in names() and "roleplay" in names()
    True
    """
    _plugins()
    return sorted(_REGISTRY)


def get(name: str) -> AttackSpec:
    """The :class:`AttackSpec` for ``name``, with a clear error for unknown names.

    >>> get("flip").kind
    'text'
    """
    _plugins()
    if not isinstance(name, str) or name not in _REGISTRY:
        raise KeyError(
            f"unknown attack {name!r}; known attacks: {', '.join(sorted(_REGISTRY))} "
            "(add your own with sri_kit.attacks.register)"
        )
    return _REGISTRY[name]


def check_prompt(prompt: Any) -> str:
    """``prompt`` if it is a non-empty string, else a TypeError / ValueError saying what to pass."""
    if not isinstance(prompt, str):
        raise TypeError(f"prompt must be a str, got {type(prompt).__name__}")
    if not prompt.strip():
        raise ValueError("prompt is empty; pass the request text to attack")
    return prompt


def require_lm(lm: Any, what: str) -> LoadedModel:
    """``lm`` if it is the kit's :class:`~sri_kit.models.LoadedModel`, else a TypeError naming how to get one."""
    if not isinstance(lm, LoadedModel):
        raise TypeError(
            f"{what} needs a LoadedModel, got {type(lm).__name__}: load one with sri_kit.load_model(...) "
            "or wrap an already-loaded model with sri_kit.wrap_model(model, tokenizer, family=...)"
        )
    return lm


def apply(name: str, prompt: str, /, seed: int = 0, **kw: Any) -> str:
    """Apply the transform ``name`` to ``prompt``; deterministic for a given ``seed`` and ``kw``.

    >>> apply("none", "Tell me a joke")
    'Tell me a joke'
    """
    spec = get(name)
    check_prompt(prompt)
    out = spec.fn(prompt, seed=seed, **kw)
    if not isinstance(out, str):
        raise TypeError(f"attack {name!r} returned {type(out).__name__}, expected str")
    return out


def apply_many(name: str, prompts: Sequence[str], /, seed: int = 0, **kw: Any) -> list[str]:
    """``apply`` over a list; prompt ``i`` uses seed ``seed + i`` so seeded choices vary per prompt.

    >>> apply_many("template", ["Tell me a joke", "Tell me a joke"], seed=0)[0] == apply("template", "Tell me a joke", seed=0)
    True
    """
    if isinstance(prompts, str):
        raise TypeError("apply_many takes a list of prompts; use apply() for one prompt")
    return [apply(name, p, seed=seed + i, **kw) for i, p in enumerate(prompts)]


def describe(name: str) -> str:
    """One paragraph: name, source and parameters.

    >>> print(describe("none"))
    none: identity (the paper's 'raw' harmful prompts)
      kind: text
      params: none
    """
    s = get(name)
    return f"{s.name}: {s.source}\n  kind: {s.kind}\n  params: {s.params or '(none)'}"
