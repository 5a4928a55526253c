"""Data parallelism on torch.distributed: who am I, a barrier, shard assignment.

Launch any ``sri-kit`` step under ``torchrun`` (or ``accelerate launch``, or Slurm ``srun`` with
``MASTER_ADDR``/``MASTER_PORT`` set): each process reads ``RANK``, ``WORLD_SIZE`` and ``LOCAL_RANK``
(falling back to ``SLURM_PROCID``/``SLURM_NTASKS``/``SLURM_LOCALID``), uses ``cuda:LOCAL_RANK`` when
CUDA is available, and joins a process group (``nccl`` on GPU, ``gloo`` on CPU) used only for
barriers and tiny metadata exchanges. Work is split into fixed shards (by prompt index, independent
of the world size); shard ``j`` of the global shard list is done by rank ``j % world``.

>>> Dist(rank=1, world=3, local_rank=1).mine(range(7))
[1, 4]
"""
from __future__ import annotations

import datetime
import os
import sys
import time
from dataclasses import dataclass
from typing import Any, Iterable, Sequence

import torch
import torch.distributed as dist

__all__ = ["Dist", "from_env", "init", "shutdown"]


@dataclass
class Dist:
    """This process's place in a (possibly single-process) run."""

    rank: int = 0
    world: int = 1
    local_rank: int = 0
    group: bool = False          # a torch.distributed process group is initialised
    backend: str | None = None

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    def mine(self, items: Iterable[Any]) -> list:
        """The items assigned to this rank: item j goes to rank j % world."""
        return [x for j, x in enumerate(items) if j % self.world == self.rank]

    def device(self, requested: str | None = None) -> str | None:
        """``cuda:LOCAL_RANK`` on a CUDA machine (unless a non-CUDA device is requested), else ``requested``."""
        if requested and not str(requested).startswith("cuda"):
            return requested
        if torch.cuda.is_available():
            return f"cuda:{self.local_rank % max(torch.cuda.device_count(), 1)}"
        if requested and str(requested).startswith("cuda"):
            raise RuntimeError(f"the config asks for device {requested!r} but CUDA is not available here")
        return requested

    def barrier(self) -> None:
        if self.group:
            if self.backend == "nccl":
                dist.barrier(device_ids=[self.local_rank])
            else:
                dist.barrier()

    def all_gather(self, obj: Any) -> list:
        """Every rank's ``obj`` (a small picklable value), in rank order."""
        if not self.group:
            return [obj]
        out: list = [None] * self.world
        dist.all_gather_object(out, obj)
        return out

    def log(self, msg: str) -> None:
        """One progress line, prefixed with this rank, flushed (stderr)."""
        stamp = time.strftime("%H:%M:%S")
        print(f"[{stamp} rank {self.rank}/{self.world}] {msg}", file=sys.stderr, flush=True)


def _env_int(names: Sequence[str], default: int | None = None) -> int | None:
    for n in names:
        v = os.environ.get(n)
        if v not in (None, ""):
            try:
                return int(v)
            except ValueError:
                raise ValueError(f"environment variable {n}={v!r} is not an integer") from None
    return default


def from_env(rank: int | None = None, world: int | None = None) -> Dist:
    """This process's rank/world from arguments or the launcher's environment (no process group)."""
    r = rank if rank is not None else _env_int(("RANK", "SLURM_PROCID"), 0)
    w = world if world is not None else _env_int(("WORLD_SIZE", "SLURM_NTASKS"), 1)
    lr = _env_int(("LOCAL_RANK", "SLURM_LOCALID"), None)
    if lr is None:
        lr = r
    if w < 1 or not 0 <= r < w:
        raise ValueError(f"bad rank/world: rank {r}, world size {w} (need 0 <= rank < world)")
    return Dist(rank=r, world=w, local_rank=lr)


def init(rank: int | None = None, world: int | None = None, *, use_group: bool | None = None,
         timeout_s: float | None = None) -> Dist:
    """Join the process group when launched with several processes (torchrun sets MASTER_ADDR/PORT).

    ``use_group=False`` (the CLI's ``--no-group``) runs this rank alone: useful for array jobs that
    share a folder; a later ``sri-kit merge`` joins the shards. ``timeout_s`` bounds how long a rank
    waits at a barrier for the others (default ``$SRI_KIT_DIST_TIMEOUT_S`` or 4 hours).
    """
    if timeout_s is None:
        timeout_s = float(os.environ.get("SRI_KIT_DIST_TIMEOUT_S", 4 * 3600))
    d = from_env(rank, world)
    if d.world == 1:
        return d
    if use_group is None:
        use_group = bool(os.environ.get("MASTER_ADDR")) or bool(os.environ.get("TORCHELASTIC_RUN_ID"))
    if not use_group:
        return d
    if not dist.is_initialized():
        backend = "nccl" if torch.cuda.is_available() else "gloo"
        if backend == "nccl":
            torch.cuda.set_device(d.local_rank % torch.cuda.device_count())
        os.environ.setdefault("RANK", str(d.rank))
        os.environ.setdefault("WORLD_SIZE", str(d.world))
        dist.init_process_group(backend=backend, rank=d.rank, world_size=d.world,
                                timeout=datetime.timedelta(seconds=timeout_s))
    d.group, d.backend = True, dist.get_backend()
    return d


def shutdown(d: Dist) -> None:
    if d.group:
        if dist.is_initialized():
            dist.destroy_process_group()
        d.group = False
