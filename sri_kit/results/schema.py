"""The table schema of the results store: one measured table with everything needed to trust it.

A :class:`Table` is plain JSON (``to_dict`` / ``from_dict``): its columns, its rows, and its provenance
(model, mode, phrasing split, n, seed, configs, kit version and commit, date, the exact command, compute time).
Rates are stored as counts, ``{"k": successes, "n": trials}``, with their 95 % interval. New cells
(:func:`clustered_rate`) carry the interval clustered by request and say so (``method``, ``clusters``,
``deff``; docs/STATISTICS.md); legacy cells (no ``method``) carry the Wilson interval per generation.
Every rate in every document carries its n and its uncertainty.

Example:
    >>> t = Table(model="m", name="demo", title="Demo", split="heldout", n=10, seed=0, mode="quick",
    ...           columns=[Column("attack", "attack"), Column("asr", "attack success", "rate")],
    ...           rows=[{"attack": "wrapper/roleplay", "asr": rate(3, 10)}])
    >>> Table.from_dict(t.to_dict()) == t
    True
    >>> format_rate(rate(3, 10))
    '30 % [11, 60]'
"""
from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from typing import Any

from .. import stats as _stats
from ..errors import ConfigError, CorruptFileError

__all__ = ["SCHEMA", "SPLITS", "COLUMN_KINDS", "Column", "Table", "rate", "clustered_rate", "wilson", "format_rate",
           "format_cell", "interval_methods", "LEGACY_RATE_METHOD"]

#: Format tag written into every stored table.
SCHEMA = "sri_kit.results/1"

#: What ``split`` means (phrasings of the organism's wrapper families; requests are always held-out pools).
SPLITS = {
    "heldout": "held-out phrasings (never in training)",
    "train": "training phrasings",
    "all": "all phrasings (training and held-out)",
    "mixed": "per row (see the phrasings column)",
    "n/a": "no phrasing split (not a wrapper family)",
}

#: Column kinds: how a cell is stored and rendered.
COLUMN_KINDS = ("text", "int", "rate", "float", "pp")


def wilson(k: int, n: int, z: float = 1.96) -> tuple[float, float]:
    """Wilson score interval of ``k`` successes in ``n`` trials (95 % by default); ``(nan, nan)`` for n = 0.

    The interval of legacy cells (no ``method``: one generation treated as one independent draw). New
    cells carry a request-clustered interval (:func:`sri_kit.stats.rate_interval`).

    >>> tuple(round(v, 3) for v in wilson(0, 10))
    (0.0, 0.278)
    """
    return _stats.wilson(k, n, z)


def rate(k: int, n: int) -> dict:
    """A stored rate: counts plus the derived value and Wilson interval (checked again on load)."""
    if isinstance(k, bool) or isinstance(n, bool) or not isinstance(k, int) or not isinstance(n, int):
        raise ConfigError(f"rate needs integer counts, got k={k!r}, n={n!r}")
    if n < 0 or not 0 <= k <= max(n, 0):
        raise ConfigError(f"rate needs 0 <= k <= n, got k={k}, n={n}")
    lo, hi = wilson(k, n)
    return {"k": k, "n": n, "rate": (k / n) if n else None,
            "lo": None if n == 0 else round(lo, 6), "hi": None if n == 0 else round(hi, 6)}


#: How a legacy rate cell (no ``method`` key) was given its interval.
LEGACY_RATE_METHOD = "wilson-per-generation"


def clustered_rate(bits, clusters=None) -> dict:
    """A stored rate cell of 0/1 outcomes clustered by request (:func:`sri_kit.stats.rate_interval`).

    ``clusters``: one request id per outcome (default: each outcome its own request).

    >>> c = clustered_rate([1, 1, 0, 0], clusters=["a", "a", "b", "b"])
    >>> c["k"], c["n"], c["clusters"], c["method"]
    (2, 4, 2, 'wilson-deff-by-request')
    """
    return _stats.rate_interval(bits, clusters)


def _check_clustered(v) -> bool:
    try:
        k, n, lo, hi = v["k"], v["n"], v["lo"], v["hi"]
        if isinstance(k, bool) or not isinstance(k, int) or not isinstance(n, int) or not 0 <= k <= n:
            return False
        if v["method"] not in (_stats.RATE_METHOD,) or not isinstance(v["clusters"], int):
            return False
        if n == 0:
            return v["rate"] is None and lo is None and hi is None
        if not 1 <= v["clusters"] <= n or abs(v["rate"] - k / n) > 1e-12:
            return False
        deff = v["deff"]
        want = _stats.wilson(k / deff, n / deff)
        return abs(lo - round(want[0], 6)) < 1e-9 and abs(hi - round(want[1], 6)) < 1e-9
    except (KeyError, TypeError):
        return False


def interval_methods(t: "Table") -> set[str]:
    """The interval methods of ``t``'s rate cells (:data:`LEGACY_RATE_METHOD` for cells without one)."""
    out = set()
    for c in t.columns:
        if c.kind in ("rate", "pp"):
            for r in t.rows:
                v = r.get(c.key)
                if isinstance(v, dict):
                    out.add(v.get("method", LEGACY_RATE_METHOD if c.kind == "rate" else "paired-bootstrap-by-prompt"))
    return out


def format_rate(c: dict | None) -> str:
    """``"38 % [29, 48]"`` (percent, 95 % interval in brackets); empty for a missing cell, ``n/a`` for n = 0.

    A cell with a ``method`` shows its stored (request-clustered) interval; a legacy cell its Wilson interval."""
    if c is None:
        return ""
    if not c["n"]:
        return "n/a"
    lo, hi = (c["lo"], c["hi"]) if "method" in c else wilson(c["k"], c["n"])
    return f"{100 * c['k'] / c['n']:.0f} % [{100 * lo:.0f}, {100 * hi:.0f}]"


@dataclass(frozen=True)
class Column:
    """``key`` in each row, ``label`` in the header, ``kind`` one of :data:`COLUMN_KINDS`; ``digits`` for floats.

    ``pp`` cells are ``{"value", "lo", "hi"}`` differences of rates in percentage points (signed).
    """

    key: str
    label: str
    kind: str = "text"
    digits: int = 2

    def __post_init__(self):
        if self.kind not in COLUMN_KINDS:
            raise ConfigError(f"column {self.key!r}: kind {self.kind!r} is not one of {COLUMN_KINDS}")


def _signed_points(x: float) -> str:
    """A difference of rates in whole percentage points, signed; one that rounds to zero is ``0`` (never ``-0``).

    >>> _signed_points(0.054), _signed_points(-0.004), _signed_points(-0.12)
    ('+5', '0', '-12')
    """
    r = round(100 * x)
    return "0" if r == 0 else f"{r:+d}"


def format_cell(col: Column, v: Any) -> str:
    """One cell as Markdown text."""
    if v is None:
        return ""
    if col.kind == "rate":
        return format_rate(v)
    if col.kind == "pp":
        return f"{_signed_points(v['value'])} [{_signed_points(v['lo'])}, {_signed_points(v['hi'])}]"
    if col.kind == "float":
        return "" if isinstance(v, float) and math.isnan(v) else f"{v:.{col.digits}f}"
    if col.kind == "int":
        return str(int(v))
    return str(v).replace("|", "\\|").replace("\n", " ")


@dataclass
class Table:
    """One stored table. ``name`` is its file stem in ``<store>/<model>/``; ``split`` a key of :data:`SPLITS`.

    ``n``: prompts per row (an int), or ``"per row"`` when rows differ (then each row has an ``n`` column).
    ``configs``: sampler label -> ``{"key": GenerationConfig.key(), "fields": {...}}``.
    ``commit``/``dirty``: the tree that produced the table (``dirty`` None: unknown, a table from before
    the flag); ``code``: git object hashes of the files, folders and weights that produce it (see
    :func:`sri_kit.results.store.code_hashes`). ``prompts``: where the prompts come from (pool, selection). ``notes``: one line of caveats, rendered
    under the table. ``complete``: False while cells are still being computed (``pending`` lists them).
    """

    model: str
    name: str
    title: str
    split: str
    n: int | str
    seed: int | None
    mode: str
    columns: list[Column]
    rows: list[dict]
    description: str = ""
    prompts: dict = field(default_factory=dict)
    configs: dict = field(default_factory=dict)
    kit_version: str = ""
    commit: str = ""
    dirty: bool | None = None
    code: dict = field(default_factory=dict)
    date: str = ""
    command: str = ""
    compute_seconds: float | None = None
    notes: str = ""
    complete: bool = True
    pending: list = field(default_factory=list)
    extra: dict = field(default_factory=dict)

    def __post_init__(self):
        if self.split not in SPLITS:
            raise ConfigError(f"table {self.name!r}: split {self.split!r} is not one of {sorted(SPLITS)}")
        self.columns = [c if isinstance(c, Column) else Column(**c) for c in self.columns]
        keys = {c.key for c in self.columns}
        for i, r in enumerate(self.rows):
            missing = keys - set(r)
            if missing:
                raise ConfigError(f"table {self.name!r} row {i} lacks {sorted(missing)} (use None for an empty cell)")

    def to_dict(self) -> dict:
        d = asdict(self)
        d["columns"] = [asdict(c) for c in self.columns]
        return {"schema": SCHEMA, **d}

    @classmethod
    def from_dict(cls, d: dict, source: str = "table") -> "Table":
        """Parse and check a stored table (schema tag, fields, every rate's interval against its counts)."""
        if not isinstance(d, dict) or d.get("schema") != SCHEMA:
            raise CorruptFileError(source, f"{source}: not a results table of schema {SCHEMA!r}; recompute it with "
                                   "`python -m sri_kit.results compute`")
        d = {k: v for k, v in d.items() if k != "schema"}
        try:
            t = cls(**d)
        except TypeError as e:
            raise CorruptFileError(source, f"{source}: {e}; recompute it with `python -m sri_kit.results compute`") from e
        for c in t.columns:
            if c.kind != "rate":
                continue
            for r in t.rows:
                v = r[c.key]
                if v is None:
                    continue
                try:
                    ok = isinstance(v, dict) and (_check_clustered(v) if "method" in v
                                                  else rate(v.get("k"), v.get("n")) == v)
                except ConfigError:
                    ok = False
                if not ok:
                    raise CorruptFileError(source, f"{source}: column {c.key!r} has a rate cell {v!r} whose value or "
                                           "interval does not match its counts")
        return t

    def row_n(self) -> str:
        return str(self.n) if isinstance(self.n, int) else "per row"
