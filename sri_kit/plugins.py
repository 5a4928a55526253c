"""Plug-ins: how a model package adds its own jailbreak wrapper families and model presets to the kit.

The library never imports a model package; the package registers itself. A plug-in is a module (or any
callable) with a ``register()`` function that calls

* :func:`add_wrapper_families` with a :class:`WrapperFamilies`: the model's own jailbreak formats (e.g. the ones
  its safety tuning did or did not cover). Each family becomes an attack of :mod:`sri_kit.attacks`
  (``attacks.apply(name, prompt, seed=..., split=...)``); a family whose name is already taken (by one of the
  paper's attacks) is registered as ``<owner>_<family>``. Code that needs the families themselves (their order,
  their coverage, their phrasing splits) asks :func:`wrapper_families` for them by owner.
* :func:`add_preset` with a :class:`sri_kit.models.Preset`: ``sri_kit.load_model(name)`` then accepts the name.

Plug-ins load once, lazily, on the first lookup of an attack or a preset (``sri_kit.attacks.names()``,
``attacks.get``, ``sri_kit.PRESETS[...]``, ``load_model``): first the kit's own, :data:`BUILTIN` (the embedded
model organism, ``sri_kit.organism.plugin``), then every entry point of the group :data:`GROUP` of the
installed distributions, in name order. An installed package plugs in with, in its ``pyproject.toml``::

    [project.entry-points."sri_kit.plugins"]
    my_model = "my_package.sri_plugin"          # a module with register(), or "my_package.sri_plugin:register"

and a script or notebook with ``sri_kit.plugins.use(my_register)`` (no installation needed). Example::

    from sri_kit import plugins
    from sri_kit.models import Preset

    def register():
        plugins.add_wrapper_families(plugins.WrapperFamilies(
            owner="mymodel", families=("grandma",), coverage={"grandma": "never"},
            wrap=lambda family, request, seed=0, split="all": f"My grandmother used to tell me: {request}",
            source="my_package.wrappers"))
        plugins.add_preset("my-model", Preset("me/my-model", "ar", "model.norm"))

    plugins.use(register)       # sri_kit.attacks.apply("grandma", ...), sri_kit.load_model("my-model")

>>> wf = wrapper_families("organism")               # the organism registered through this module
>>> wf.families[:2], wf.coverage["flip"], attack_name("organism", "flip")
(('refusal_suppression', 'roleplay'), 'never', 'organism_flip')
>>> family_of("roleplay")[1], family_of("none")
('roleplay', None)
"""
from __future__ import annotations

import importlib
import importlib.metadata
import re
import warnings
from dataclasses import dataclass
from types import ModuleType
from typing import TYPE_CHECKING, Any, Callable, Mapping

if TYPE_CHECKING:
    from .models.presets import Preset

__all__ = ["BUILTIN", "GROUP", "WrapperFamilies", "add_wrapper_families", "add_preset", "wrapper_families",
           "attack_name", "family_of", "use", "load"]

#: The kit's own plug-ins, loaded first (module names; the only place the library names the organism).
BUILTIN: tuple[str, ...] = ("sri_kit.organism.plugin",)
#: The entry-point group installed packages register their plug-in under.
GROUP = "sri_kit.plugins"

_OWNER_RE = re.compile(r"^[a-z][a-z0-9_]*$")


@dataclass(frozen=True)
class WrapperFamilies:
    """A model's own jailbreak wrapper families, registered as attacks by :func:`add_wrapper_families`.

    owner: snake_case name of the model or package (``"organism"``); :func:`wrapper_families` finds them by it,
      and it prefixes a family whose name an attack already has (``organism_flip``).
    families: the family names, in table order.
    coverage: family -> how training used it (e.g. ``"safety"``, ``"base_only"``, ``"never"``); every family.
    wrap: ``wrap(family, request, seed=0, split="all") -> str``, deterministic in its arguments.
    source: where they come from, e.g. the module (``describe(name)`` shows it).
    about: a few words on what they are, shown after the family's name.
    splits: the phrasing splits ``wrap`` accepts (``"all"``: every phrasing).
    params: the parameter line ``describe(name)`` shows.
    """

    owner: str
    families: tuple[str, ...]
    coverage: Mapping[str, str]
    wrap: Callable[..., str]
    source: str
    about: str = "a model's own wrapper family"
    splits: tuple[str, ...] = ("all",)
    params: str = "split: the phrasing split ('all' by default); seed picks the phrasing"

    def __post_init__(self):
        if not isinstance(self.owner, str) or not _OWNER_RE.match(self.owner):
            raise ValueError(f"owner must be a snake_case name such as 'mymodel', got {self.owner!r}")
        object.__setattr__(self, "families", tuple(self.families))
        if not self.families:
            raise ValueError(f"{self.owner}: give at least one wrapper family")
        missing = [f for f in self.families if f not in self.coverage]
        if missing:
            raise ValueError(f"{self.owner}: coverage has no entry for {missing}; say how training used each family")


_FAMILIES: dict[str, WrapperFamilies] = {}             # owner -> its families
_ATTACKS: dict[str, tuple[str, str]] = {}              # attack name -> (owner, family)
_USED: dict[str, bool] = {}                            # plug-ins already registered (by name)
_state = {"loaded": False, "loading": False}


def add_wrapper_families(wf: WrapperFamilies) -> list[str]:
    """Register each family of ``wf`` as an attack (``<owner>_<family>`` where the name is taken); returns the
    attack names registered now. Registering the same owner again adds nothing."""
    from .attacks.registry import names, register

    if not isinstance(wf, WrapperFamilies):
        raise TypeError(f"add_wrapper_families takes a WrapperFamilies, got {type(wf).__name__}")
    if wf.owner in _FAMILIES:
        return []
    added = []
    taken = set(names())
    for fam in wf.families:
        # the names of attacks registered before (the paper's) win; the plug-in's family gets a prefix
        name = fam if fam not in taken else f"{wf.owner}_{fam}"
        if name in taken:
            continue

        def _fn(prompt: str, seed: int = 0, split: str = "all", _fam: str = fam, **_ignored: Any) -> str:
            return wf.wrap(_fam, prompt, seed=seed, split=split)

        register(name, _fn, source=f"{wf.source} family {fam!r} ({wf.about})", params=wf.params)
        taken.add(name)
        _ATTACKS[name] = (wf.owner, fam)
        added.append(name)
    _FAMILIES[wf.owner] = wf
    return added


def add_preset(name: str, preset: "Preset", *, overwrite: bool = False) -> None:
    """Make ``name`` a preset of :func:`sri_kit.load_model` (``sri_kit.PRESETS[name]``); a hub-id preset also
    answers to its hub id."""
    from .models.presets import PRESETS, Preset

    if not isinstance(preset, Preset):
        raise TypeError(f"add_preset takes a sri_kit.models.Preset, got {type(preset).__name__}")
    if not isinstance(name, str) or not name.strip():
        raise ValueError(f"a preset name is a non-empty string, got {name!r}")
    if name in PRESETS and not overwrite:
        if PRESETS[name] == preset:
            return
        raise ValueError(f"preset {name!r} already exists; pass overwrite=True to replace it")
    dict.__setitem__(PRESETS, name, preset)
    if not preset.local:
        for k in (preset.hub_id, preset.hub_id.lower()):
            if not dict.__contains__(PRESETS, k):
                dict.__setitem__(PRESETS, k, preset)


def wrapper_families(owner: str) -> WrapperFamilies:
    """The :class:`WrapperFamilies` a plug-in registered under ``owner`` (``"organism"``: the embedded organism's)."""
    load()
    if owner not in _FAMILIES:
        raise KeyError(f"no plug-in registered wrapper families as {owner!r}; registered: "
                       f"{', '.join(sorted(_FAMILIES)) or 'none'} (see sri_kit.plugins)")
    return _FAMILIES[owner]


def attack_name(owner: str, family: str) -> str:
    """The attack name under which ``owner``'s ``family`` is registered (``organism_flip`` for the organism's flip)."""
    wf = wrapper_families(owner)
    for name, (o, f) in _ATTACKS.items():
        if o == owner and f == family:
            return name
    raise KeyError(f"{owner} has no wrapper family {family!r}; its families: {', '.join(wf.families)}")


def family_of(attack: str) -> tuple[WrapperFamilies, str] | None:
    """``(families, family)`` when the attack ``attack`` is a plug-in's wrapper family, else None."""
    load()
    hit = _ATTACKS.get(attack)
    return None if hit is None else (_FAMILIES[hit[0]], hit[1])


def use(plugin: str | ModuleType | Callable[[], Any], *, name: str | None = None) -> None:
    """Register a plug-in now: a module name, a module with ``register()``, or the ``register`` callable itself.
    Each plug-in registers once (by ``name``: default its module's or function's qualified name)."""
    if isinstance(plugin, str):
        name = name or plugin
        plugin = importlib.import_module(plugin)
    fn = getattr(plugin, "register", plugin) if isinstance(plugin, ModuleType) else plugin
    if not callable(fn):
        raise TypeError(f"a plug-in is a module with register(), or a callable; got {type(plugin).__name__}")
    key = name or f"{getattr(fn, '__module__', '')}.{getattr(fn, '__qualname__', repr(fn))}"
    if _USED.get(key):
        return
    load()          # the kit's own plug-ins first: their names do not depend on when a user's plug-in comes
    _USED[key] = True
    try:
        fn()
    except BaseException:
        _USED.pop(key, None)
        raise


def load() -> None:
    """Load every plug-in once: :data:`BUILTIN`, then the entry points of :data:`GROUP` (a failing entry point
    warns and is skipped; a failing built-in raises). Called by the attack registry and the preset table."""
    if _state["loaded"] or _state["loading"]:
        return
    _state["loading"] = True
    try:
        for mod in BUILTIN:
            _use_once(mod, lambda m=mod: importlib.import_module(m))
        for ep in sorted(_entry_points(), key=lambda e: e.name):
            try:
                _use_once(f"entry point {ep.name} = {ep.value}", ep.load)
            except Exception as e:       # another package's bug must not break the kit
                warnings.warn(f"sri_kit plug-in {ep.name!r} ({ep.value}) failed to register and is skipped: "
                              f"{type(e).__name__}: {e}", RuntimeWarning, stacklevel=2)
        _state["loaded"] = True
    finally:
        _state["loading"] = False


def _use_once(key: str, get: Callable[[], Any]) -> None:
    if _USED.get(key):
        return
    obj = get()
    fn = getattr(obj, "register", obj) if isinstance(obj, ModuleType) else obj
    if not callable(fn):
        raise TypeError(f"plug-in {key}: expected a module with register() or a callable, got {type(obj).__name__}")
    fn()
    _USED[key] = True


def _entry_points() -> list:
    try:
        return list(importlib.metadata.entry_points(group=GROUP))
    except Exception:            # pragma: no cover - a broken installed distribution's metadata
        return []
