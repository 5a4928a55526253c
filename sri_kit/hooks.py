"""Forward hooks on one module, in a context manager that always removes them.

The recorder keeps only the last call's output of the hooked site (restricted to the rows and
columns the sampler asks for): nothing else is kept, so memory does not grow with the number of
steps. Turning that output into φ_t is the pooler's job (``sri_kit.sampling.pooling``).

Example:
    >>> ids = torch.tensor(lm_ar.encode_chat(["Hello there"]))
    >>> with record_steps(lm_ar.model, lm_ar.hook_site) as rec:
    ...     _ = lm_ar.model(ids)
    ...     rec.last.shape[0], rec.last.shape[-1], rec.calls
    (1, 256, 1)
"""
from __future__ import annotations

from contextlib import contextmanager

import torch

from .errors import ConfigError
from .models import find_hook_site, find_layers


def _hidden(out) -> torch.Tensor:
    """The hidden-state tensor inside whatever a module returned."""
    if isinstance(out, torch.Tensor):
        return out
    if hasattr(out, "last_hidden_state"):
        return out.last_hidden_state
    if isinstance(out, (tuple, list)) and out and isinstance(out[0], torch.Tensor):
        return out[0]
    raise TypeError(f"cannot find a hidden-state tensor in the hooked module's output ({type(out).__name__})")


def resolve_module(model: torch.nn.Module, site: str | None, layer: int = -1) -> tuple[str, torch.nn.Module]:
    """The module to hook: ``site`` (a dotted path) when layer == -1, else decoder layer ``layer`` (k >= 0;
    other negative values are refused, see ``GenerationConfig.layer``)."""
    if layer == -1:
        site = site or find_hook_site(model)
        try:
            return site, model.get_submodule(site)
        except AttributeError:
            raise ConfigError(f"the model has no module {site!r}; pick one of its named_modules()") from None
    layers = find_layers(model)
    if not 0 <= layer < len(layers):
        raise ConfigError(f"layer {layer} out of range: this model has {len(layers)} layers (0 .. {len(layers) - 1}; "
                          "use -1 for the final norm)")
    return f"layers[{layer}]", layers[layer]


class Recorder:
    """Holds the last output of the hooked site (``.last``, [B, S, D]) and how often it ran (``.calls``)."""

    def __init__(self, rows: int | None = None, cols: slice | None = None):
        self.rows = rows          # keep only the first `rows` rows (the conditional half under CFG)
        self.cols = cols          # keep only these sequence positions
        self.last: torch.Tensor | None = None
        self.calls = 0

    def _hook(self, module, args, out) -> None:
        h = _hidden(out)
        if self.rows is not None:
            h = h[: self.rows]
        if self.cols is not None:
            h = h[:, self.cols]
        self.last = h.detach()
        self.calls += 1


@contextmanager
def record_steps(model: torch.nn.Module, site: str | None = None, *, layer: int = -1,
                 rows: int | None = None, cols: slice | None = None):
    """Hook one module of ``model`` for the duration of the block; the hook is removed in ``finally``."""
    _, module = resolve_module(model, site, layer)
    rec = Recorder(rows=rows, cols=cols)
    handle = module.register_forward_hook(rec._hook)
    try:
        yield rec
    finally:
        handle.remove()
        rec.last = None


@contextmanager
def head_from(model: torch.nn.Module, start: int):
    """Run the model's output projection only on sequence positions ``start:`` for the block.

    A forward pre-hook on ``model.get_output_embeddings()`` slices its input when it is an
    ``nn.Linear`` fed a [B, S, D] tensor; every other case (tied weights applied as a function, an
    unpadded 2-D input, a model without output embeddings) is left untouched. Callers must therefore
    accept logits of either length: ``S - start`` (sliced) or ``S`` (not). Nothing before the head
    changes, so hooked hidden states are those of the full forward pass.
    """
    head = model.get_output_embeddings() if hasattr(model, "get_output_embeddings") else None
    if start <= 0 or not isinstance(head, torch.nn.Linear):
        yield
        return

    def pre(module, args):
        if args and isinstance(args[0], torch.Tensor) and args[0].dim() == 3 and args[0].shape[1] > start:
            return (args[0][:, start:],) + tuple(args[1:])
        return None

    handle = head.register_forward_pre_hook(pre)
    try:
        yield
    finally:
        handle.remove()
