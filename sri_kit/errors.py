"""The kit's error types: every bad input ends in one of these, with a message naming the problem and the fix.

Each type also subclasses the builtin a caller would expect, so ``except ValueError`` (or
``TypeError``, ``FileNotFoundError``, ``KeyError``, ``RuntimeError``) keeps working:

=========================  ==========================  ==============================================
type                       also a                      raised for
=========================  ==========================  ==============================================
``SriKitError``            ``Exception``               the base: catch it to catch every kit error
``ConfigError``            ``ValueError``              a value out of range or an impossible setting
                                                       (GenerationConfig, run configs, τ, σ, NaNs ...)
``InputTypeError``         ``TypeError``               a value of the wrong type (a bool or str where a
                                                       number goes, a non-string prompt ...)
``UnknownNameError``       ``KeyError``, ``ValueError``  an unknown attack, sampler, prompt set ...
``CorruptFileError``       ``ValueError``              a file that exists but cannot be read (truncated,
                                                       not JSON, records that disagree with tensors);
                                                       ``.path`` names it
``ChecksumError``          ``CorruptFileError``        a download whose sha256 / size / format is wrong
``ModelNotFoundError``     ``FileNotFoundError``       a model folder or preset weights that are missing
``DeviceError``            ``RuntimeError``            a device that this machine does not have
=========================  ==========================  ==============================================

``sri_kit.data.DataNotFoundError``, ``sri_kit.pipeline.DiskFullError`` and
``sri_kit.pipeline.IncompleteRunError`` are ``SriKitError`` subclasses as well.

The CLI prints ``SriKitError`` messages as one line with exit code 2 (``--debug`` shows the traceback).

Example:
    >>> from sri_kit import GenerationConfig
    >>> from sri_kit.errors import ConfigError, SriKitError
    >>> try:
    ...     GenerationConfig(steps=0)
    ... except ConfigError as e:
    ...     isinstance(e, ValueError), isinstance(e, SriKitError)
    (True, True)
"""
from __future__ import annotations

import math
import numbers
import os
from contextlib import contextmanager
from pathlib import Path

__all__ = ["SriKitError", "ConfigError", "InputTypeError", "UnknownNameError", "CorruptFileError", "ChecksumError",
           "ModelNotFoundError", "DeviceError", "UnsupportedModelError", "reading", "check_int", "check_float"]


class SriKitError(Exception):
    """Base class of every error the kit raises on purpose (bad input, broken file, missing model ...)."""


class ConfigError(SriKitError, ValueError):
    """A value out of range or a setting that cannot be used (bad field, mismatched run folder ...)."""


class UnsupportedModelError(ConfigError):
    """A checkpoint the kit recognises but cannot run itself; ``model_type``, ``supported`` (what the kit runs
    instead) and the message's fix say what to do."""

    def __init__(self, message: str, *, model_type: str, supported: tuple[str, ...] = ()):
        super().__init__(message)
        self.model_type = model_type
        self.supported = tuple(supported)


class InputTypeError(SriKitError, TypeError):
    """A value of the wrong type (a bool or string where a number goes, a non-string prompt ...)."""


class UnknownNameError(SriKitError, KeyError, ValueError):
    """An unknown name (attack, sampler, prompt set ...). Also a ``KeyError`` and a ``ValueError``."""

    def __str__(self) -> str:          # KeyError would quote the message
        return str(self.args[0]) if self.args else ""


class CorruptFileError(SriKitError, ValueError):
    """A file exists but cannot be read as what it should be. ``path`` names it."""

    def __init__(self, path, message: str):
        self.path = Path(path) if path is not None else None
        super().__init__(message)


class ChecksumError(CorruptFileError):
    """A downloaded file whose checksum, size or format is not the expected one."""


class ModelNotFoundError(SriKitError, FileNotFoundError):
    """A model folder (or the embedded weights) that does not exist."""


class DeviceError(SriKitError, RuntimeError):
    """A device this machine does not have (``device="cuda"`` without a GPU ...)."""


@contextmanager
def reading(path: str | os.PathLike, what: str, fix: str):
    """Turn any parse error while reading ``path`` into one :class:`CorruptFileError` naming it.

    ``what``: what the file should be ("a sri_kit trace file"); ``fix``: what to do about it.
    ``FileNotFoundError`` and the kit's own errors pass through unchanged.

    >>> import tempfile, pathlib, json
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "x.json"
    >>> _ = p.write_text("{trunc")
    >>> with reading(p, "run record", "delete it"):                  # doctest: +ELLIPSIS
    ...     json.loads(p.read_text())
    Traceback (most recent call last):
    sri_kit.errors.CorruptFileError: .../x.json is not a readable run record (JSONDecodeError: ...); delete it
    """
    try:
        yield
    except (SriKitError, FileNotFoundError, MemoryError, KeyboardInterrupt):
        raise
    except Exception as e:  # SafetensorError, JSONDecodeError, KeyError, UnicodeDecodeError, OSError ...
        detail = str(e).strip().splitlines()[0][:200] if str(e).strip() else ""
        raise CorruptFileError(path, f"{path} is not a readable {what} ({type(e).__name__}: {detail}); "
                                     f"{fix}") from e


def _is_bool(v) -> bool:
    return isinstance(v, bool) or type(v).__name__ == "bool_"


def check_int(name: str, value, *, minimum: int | None = None, where: str = "", allow_none: bool = False):
    """``value`` as an int (numpy ints accepted); bools, floats and strings raise :class:`InputTypeError`.

    >>> check_int("steps", 4, minimum=1)
    4
    >>> check_int("steps", True)
    Traceback (most recent call last):
    sri_kit.errors.InputTypeError: steps must be an int, got True (bool)
    """
    pre = f"{where}: " if where else ""
    if value is None and allow_none:
        return None
    if _is_bool(value) or not isinstance(value, numbers.Integral):
        raise InputTypeError(f"{pre}{name} must be an int, got {value!r} ({type(value).__name__})")
    value = int(value)
    if minimum is not None and value < minimum:
        raise ConfigError(f"{pre}{name} must be >= {minimum}, got {value}")
    return value


def check_float(name: str, value, *, where: str = "", lo: float | None = None, hi: float | None = None,
                lo_open: bool = False, hi_open: bool = False) -> float:
    """``value`` as a finite float in [lo, hi] (open ends on request); bools, strings and NaN are refused.

    >>> check_float("tau", 0.1, lo=0, lo_open=True)
    0.1
    >>> check_float("tau", float("nan"))
    Traceback (most recent call last):
    sri_kit.errors.ConfigError: tau must be a finite number, got nan
    """
    pre = f"{where}: " if where else ""
    if _is_bool(value) or not isinstance(value, numbers.Real):
        raise InputTypeError(f"{pre}{name} must be a number, got {value!r} ({type(value).__name__})")
    value = float(value)
    if not math.isfinite(value):
        raise ConfigError(f"{pre}{name} must be a finite number, got {value}")
    if lo is not None and (value <= lo if lo_open else value < lo):
        raise ConfigError(f"{pre}{name} must be {'>' if lo_open else '>='} {lo}, got {value}")
    if hi is not None and (value >= hi if hi_open else value > hi):
        raise ConfigError(f"{pre}{name} must be {'<' if hi_open else '<='} {hi}, got {value}")
    return value
