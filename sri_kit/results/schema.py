"""The table schema of the results store: one measured table with everything needed to trust it.

A :class:`Table` is plain JSON (``to_dict`` / ``from_dict``): its columns, its rows, and its provenance
(model, mode, phrasing split, n, seed, configs, kit version and commit, date, the exact command, compute time).
Rates are stored as counts, ``{"k": successes, "n": trials}``, and rendered with their Wilson 95 % interval,
so every rate in every document carries its n and its uncertainty.

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

from ..errors import ConfigError, CorruptFileError

__all__ = ["SCHEMA", "SPLITS", "COLUMN_KINDS", "Column", "Table", "rate", "wilson", "format_rate", "format_cell"]

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

    >>> tuple(round(v, 3) for v in wilson(0, 10))
    (0.0, 0.278)
    """
    if n <= 0:
        return float("nan"), float("nan")
    p = k / n
    den = 1 + z * z / n
    mid = (p + z * z / (2 * n)) / den
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / den
    return max(0.0, mid - half), min(1.0, mid + half)


def rate(k: int, n: int) -> dict:
    """A stored rate: counts plus the derived value and Wilson interval (checked again on load)."""
    if isinstance(k, bool) or isinstance(n, bool) or not isinstance(k, int) or not isinstance(n, int):
        raise ConfigError(f"rate needs integer counts, got k={k!r}, n={n!r}")
    if n < 0 or not 0 <= k <= max(n, 0):
        raise ConfigError(f"rate needs 0 <= k <= n, got k={k}, n={n}")
    lo, hi = wilson(k, n)
    return {"k": k, "n": n, "rate": (k / n) if n else None,
            "lo": None if n == 0 else round(lo, 6), "hi": None if n == 0 else round(hi, 6)}


def format_rate(c: dict | None) -> str:
    """``"38 % [29, 48]"`` (percent, Wilson 95 % in brackets); empty for a missing cell, ``n/a`` for n = 0."""
    if c is None:
        return ""
    if not c["n"]:
        return "n/a"
    lo, hi = wilson(c["k"], c["n"])
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


def format_cell(col: Column, v: Any) -> str:
    """One cell as Markdown text."""
    if v is None:
        return ""
    if col.kind == "rate":
        return format_rate(v)
    if col.kind == "pp":
        return f"{100 * v['value']:+.0f} [{100 * v['lo']:+.0f}, {100 * v['hi']:+.0f}]"
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
    ``prompts``: where the prompts come from (pool, selection). ``notes``: one line of caveats, rendered
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
                    ok = isinstance(v, dict) and rate(v.get("k"), v.get("n")) == v
                except ConfigError:
                    ok = False
                if not ok:
                    raise CorruptFileError(source, f"{source}: column {c.key!r} has a rate cell {v!r} whose value or "
                                           "interval does not match its counts")
        return t

    def row_n(self) -> str:
        return str(self.n) if isinstance(self.n, int) else "per row"
