"""The organism is a plug-in (sri_kit.plugins): the library never imports it, it registers its wrapper families
with the attack registry and its presets with the preset table, and a user's own model plugs in the same way.
The organism never imports the results package (the results package renders its cards)."""
from __future__ import annotations

import ast
import os
import subprocess
import sys
from pathlib import Path

import pytest

import sri_kit as sk
from sri_kit import plugins
from sri_kit.attacks import registry
from sri_kit.models import PRESETS, Preset

PKG = Path(sk.__file__).resolve().parent
ORGANISM, RESULTS = "sri_kit.organism", "sri_kit.results"
#: The only places outside sri_kit/organism that may name the organism as a module: the application's
#: subcommand handlers (imports inside functions of sri_kit/cli.py) and the built-in plug-in list.
CLI = "sri_kit/cli.py"
PLUGIN_LIST = ("sri_kit/plugins.py", "BUILTIN", ("sri_kit.organism.plugin",))


def _module(rel: str) -> str:
    parts = rel[:-3].split("/")
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _targets(node: ast.AST, module: str, is_pkg: bool) -> list[str]:
    """The absolute module names an import statement (or an import_module / __import__ call) names."""
    if isinstance(node, ast.Import):
        return [a.name for a in node.names]
    if isinstance(node, ast.ImportFrom):
        if node.level:
            base = module.split(".")
            base = base[:len(base) - node.level + (1 if is_pkg else 0)]
            mod = ".".join(base + ([node.module] if node.module else []))
        else:
            mod = node.module or ""
        return [mod] + [f"{mod}.{a.name}" for a in node.names]
    if isinstance(node, ast.Call):
        f = node.func
        name = f.attr if isinstance(f, ast.Attribute) else f.id if isinstance(f, ast.Name) else ""
        if name in ("import_module", "__import__") and node.args and isinstance(node.args[0], ast.Constant):
            return [str(node.args[0].value)]
    return []


def _hits(path: str, source: str, forbidden: str) -> list[tuple[str, int, bool]]:
    """``(module named, line, at module level)`` for every import of ``forbidden`` (or below it) in ``source``."""
    tree = ast.parse(source)
    module, is_pkg = _module(path), path.endswith("__init__.py")
    in_function = set()
    for fn in ast.walk(tree):
        if isinstance(fn, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)):
            in_function.update(id(n) for n in ast.walk(fn) if n is not fn)
    out = []
    for node in ast.walk(tree):
        for t in _targets(node, module, is_pkg):
            if t == forbidden or t.startswith(forbidden + "."):
                out.append((t, node.lineno, id(node) not in in_function))
                break
    return out


def _module_strings(source: str, forbidden: str) -> list[tuple[str, int]]:
    """String constants that are exactly a module path under ``forbidden`` (what a plug-in list would hold)."""
    return [(n.value, n.lineno) for n in ast.walk(ast.parse(source)) if isinstance(n, ast.Constant)
            and isinstance(n.value, str) and (n.value == forbidden or n.value.startswith(forbidden + "."))
            and n.value.replace(".", "").replace("_", "").isalnum()]


def _library_violations(path: str, source: str) -> list[str]:
    bad = []
    for t, line, top in _hits(path, source, ORGANISM):
        if path == CLI and not top:
            continue                     # the application's subcommand handlers may run the organism's mains
        bad.append(f"{path}:{line} imports {t}")
    for s, line in _module_strings(source, ORGANISM):
        if path != PLUGIN_LIST[0]:
            bad.append(f"{path}:{line} names the module {s!r} (list plug-ins in sri_kit.plugins.BUILTIN only)")
    return bad


def _organism_violations(path: str, source: str) -> list[str]:
    return ([f"{path}:{line} imports {t}" for t, line, _ in _hits(path, source, RESULTS)]
            + [f"{path}:{line} names the module {s!r}" for s, line in _module_strings(source, RESULTS)])


def _sources():
    for p in sorted(PKG.rglob("*.py")):
        rel = p.relative_to(PKG.parent).as_posix()
        if "/_data/" not in rel:
            yield rel, p.read_text(encoding="utf-8")


def test_the_library_never_imports_the_organism():
    bad = [v for rel, src in _sources() if not rel.startswith("sri_kit/organism/") for v in _library_violations(rel, src)]
    assert not bad, "library code imports sri_kit.organism; register through sri_kit.plugins instead:\n" + "\n".join(bad)
    # the plug-in list is the one named exception, and it names the organism's plug-in module only
    assert plugins.BUILTIN == PLUGIN_LIST[2]
    src = (PKG / "plugins.py").read_text(encoding="utf-8")
    assert [s for s, _ in _module_strings(src, ORGANISM)] == list(PLUGIN_LIST[2])


def test_the_organism_never_imports_the_results_package():
    bad = [v for rel, src in _sources() if rel.startswith("sri_kit/organism/") for v in _organism_violations(rel, src)]
    assert not bad, "the organism imports sri_kit.results (the results package renders cards):\n" + "\n".join(bad)


@pytest.mark.parametrize("path,source", [
    ("sri_kit/attacks/__init__.py", "from . import datasets\nfrom ..organism import wrappers\n"),
    ("sri_kit/attacks/wrapper_families.py", "from ..organism import wrappers\n"),
    ("sri_kit/results/compute.py", "def f():\n    from ..organism.wrappers import FAMILIES\n"),
    ("sri_kit/results/public_sets.py", "def f():\n    from ..organism.corpus.public import eval_prompts\n"),
    ("sri_kit/results/compute.py", "from .. import organism\n"),
    ("sri_kit/demo.py", "import sri_kit.organism.wrappers as w\n"),
    ("sri_kit/demo.py", "from sri_kit import organism\n"),
    ("sri_kit/demo.py", "import importlib\nw = importlib.import_module('sri_kit.organism.wrappers')\n"),
    ("sri_kit/demo.py", "PLUGINS = ('sri_kit.organism.plugin',)\n"),
    (CLI, "from .organism.train import main as train_main\n"),        # the old module-level import
])
def test_the_library_check_catches_the_old_imports(path, source):
    assert _library_violations(path, source)


@pytest.mark.parametrize("path,source", [
    ("sri_kit/organism/card.py", "from ..results import ResultsStore, render_text\n"),
    ("sri_kit/organism/train/run.py", "def f():\n    from ...results.cards import rates_section\n"),
    ("sri_kit/organism/__init__.py", "from .. import results\n"),
])
def test_the_organism_check_catches_a_results_import(path, source):
    assert _organism_violations(path, source)


def test_allowed_forms_pass_the_check():
    assert not _library_violations(CLI, "def h():\n    from .organism.train import main\n")
    assert not _library_violations("sri_kit/results/compute.py", "x = 'see sri_kit.organism.wrappers for them'\n")
    assert not _organism_violations("sri_kit/organism/card.py", "from ..results_like import x\nfrom ..io import y\n")


# --- behaviour: the organism and a user's model register through the same calls -------------------------------


@pytest.fixture
def restore_registries():
    """Put the attack registry, the plug-in state and the preset table back as they were."""
    plugins.load()
    saved = (dict(registry._REGISTRY), dict(plugins._FAMILIES), dict(plugins._ATTACKS), dict(plugins._USED),
             dict(plugins._state), dict(dict.items(PRESETS)))
    yield
    for live, old in zip((registry._REGISTRY, plugins._FAMILIES, plugins._ATTACKS, plugins._USED, plugins._state),
                         saved):
        live.clear()
        live.update(old)
    dict.clear(PRESETS)
    dict.update(PRESETS, saved[-1])


def _grandma(family: str, request: str, seed: int = 0, split: str = "all") -> str:
    frames = {"all": ["Grandma used to tell me: {r}", "Grandma, {r}"], "heldout": ["Grandma, {r}"]}[split]
    return frames[seed % len(frames)].format(r=request) + ("" if family == "grandma" else f" ({family})")


def _register_my_model():
    plugins.add_wrapper_families(plugins.WrapperFamilies(
        owner="mymodel", families=("grandma", "fiction"), coverage={"grandma": "never", "fiction": "safety"},
        wrap=_grandma, source="tests.test_plugins", about="a user's wrappers", splits=("all", "heldout")))
    plugins.add_preset("my-tiny", Preset("tiny-ar", "ar", "model.norm", local=True, dtype="float32",
                                         note="a user's model (here: the shipped tiny-ar weights)"))


def test_a_users_plugin_is_found_like_the_organism(restore_registries):
    from sri_kit.experiments import organism_phrasings
    from sri_kit.organism import plugin as organism_plugin

    before = set(sk.attacks.names())
    plugins.use(_register_my_model)
    plugins.use(_register_my_model)                    # registers once
    # "fiction" is the organism's (registered first): the user's family gets the owner prefix, as organism_flip does
    assert set(sk.attacks.names()) - before == {"grandma", "mymodel_fiction"}
    assert sk.attacks.apply("grandma", "bake bread", seed=1, split="heldout") == "Grandma, bake bread"
    assert sk.attacks.apply("mymodel_fiction", "bake bread") == "Grandma used to tell me: bake bread (fiction)"
    assert sk.attacks.get("grandma").source == "tests.test_plugins family 'grandma' (a user's wrappers)"
    wf = plugins.wrapper_families("mymodel")
    assert (wf.families, wf.coverage["grandma"]) == (("grandma", "fiction"), "never")
    assert plugins.attack_name("mymodel", "fiction") == "mymodel_fiction"
    assert plugins.family_of("mymodel_fiction") == (wf, "fiction")
    assert organism_phrasings("grandma", "heldout") == {"split": "heldout"}     # split passed as to the organism's
    # the organism went through the very same calls
    assert plugins.wrapper_families("organism") is organism_plugin.WRAPPERS
    assert plugins.attack_name("organism", "flip") == "organism_flip"
    assert plugins.family_of("organism_flip") == (organism_plugin.WRAPPERS, "flip")
    assert PRESETS["tiny-ar"] is organism_plugin.PRESETS["tiny-ar"]
    # the preset: in the table, and load_model resolves it
    assert "my-tiny" in PRESETS and PRESETS["my-tiny"].note.startswith("a user's model")
    lm = sk.load_model("my-tiny")
    assert lm.family == "ar" and lm.hook_site == "model.norm"
    with pytest.raises(ValueError, match="already exists"):
        plugins.add_preset("my-tiny", Preset("x/y", "ar", "model.norm"))


def test_entry_point_plugins_load_and_a_broken_one_only_warns(restore_registries, monkeypatch):
    class EP:
        def __init__(self, name, fn):
            self.name, self.value, self._fn = name, f"tests:{name}", fn

        def load(self):
            return self._fn

    def broken():
        raise RuntimeError("boom")

    monkeypatch.setattr(plugins, "_entry_points", lambda: [EP("mine", _register_my_model), EP("zbroken", broken)])
    plugins._state["loaded"] = False
    with pytest.warns(RuntimeWarning, match="zbroken.*boom"):
        plugins.load()
    assert "grandma" in sk.attacks.names() and "my-tiny" in PRESETS
    assert sk.attacks.get("organism_flip")             # the built-in plug-in stays registered once


def test_bad_plugin_input_names_the_fix():
    with pytest.raises(ValueError, match="coverage"):
        plugins.WrapperFamilies(owner="m", families=("a",), coverage={}, wrap=_grandma, source="x")
    with pytest.raises(ValueError, match="snake_case"):
        plugins.WrapperFamilies(owner="My Model", families=("a",), coverage={"a": "never"}, wrap=_grandma, source="x")
    with pytest.raises(TypeError, match="Preset"):
        plugins.add_preset("x", {"hub_id": "x/y"})
    with pytest.raises(KeyError, match="nobody"):
        plugins.wrapper_families("nobody")


def test_plugins_load_on_first_lookup_not_on_import():
    code = ("import sys, sri_kit\n"
            "assert not [m for m in sys.modules if m.startswith('sri_kit.organism')], 'imported on import'\n"
            "assert sri_kit.PRESETS['tiny-ar'].local\n"             # a preset lookup loads the plug-ins
            "assert 'sri_kit.organism.plugin' in sys.modules\n"
            "assert 'roleplay' in sri_kit.attacks.names() and sri_kit.attacks.get('organism_flip')\n")
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": str(PKG.parent)}
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=300)
    assert r.returncode == 0, r.stderr[-2000:]
