"""How many CPU threads torch should use: the cores this process actually gets, not the machine's count.

A container, a CI runner, ``taskset`` or a batch scheduler often grants a process fewer cores than
``os.cpu_count()`` reports; more torch threads than granted cores only oversubscribe them (every thread
waits for the others at each parallel region, and wall time grows with the machine's load).

Example:
    >>> n = available_cores()
    >>> n >= 1
    True
    >>> set_torch_threads(limit=1)
    1
"""
from __future__ import annotations

import os
from pathlib import Path

__all__ = ["available_cores", "set_torch_threads"]


def _cgroup_quota() -> int | None:
    """Whole cores allowed by a cgroup v2 CPU quota (``cpu.max``), or None when unlimited or unknown."""
    try:
        quota, period = Path("/sys/fs/cgroup/cpu.max").read_text().split()[:2]
        if quota == "max":
            return None
        return max(1, int(int(quota) // int(period)))
    except (OSError, ValueError):
        return None


def available_cores() -> int:
    """The cores this process may run on: its CPU affinity (``os.sched_getaffinity``; ``os.cpu_count()`` where
    that does not exist), capped by a cgroup CPU quota."""
    try:
        n = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        n = os.cpu_count() or 1
    quota = _cgroup_quota()
    return max(1, min(n, quota) if quota else n)


def set_torch_threads(limit: int | None = None) -> int:
    """Set torch's intra-op threads to the cores this process gets (:func:`available_cores`), at most ``limit``
    and at most ``$OMP_NUM_THREADS`` when that is set; returns the number set."""
    import torch

    n = available_cores()
    env = os.environ.get("OMP_NUM_THREADS", "")
    if env.isdigit() and int(env) > 0:
        n = min(n, int(env))
    if limit is not None:
        n = min(n, max(1, int(limit)))
    torch.set_num_threads(n)
    return n
