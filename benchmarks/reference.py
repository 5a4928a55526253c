"""A reference-style implementation of trace collection, for the speed comparison in ``run.py``.

It follows the *structure* of the paper's official code as PAPER.md §1 describes it (written here from
that description, not copied):

* one prompt at a time;
* AR: no KV cache — every step calls the model on the whole sequence so far with
  ``output_hidden_states=True`` and takes the last position of the last hidden state (after the
  final norm in HF Llama); greedy; stops at an end token and pads the remaining steps by repeating
  the last state; φ_t is the running mean over steps (``cumsum / (t + 1)``);
* diffusion: LLaDA's loop for one prompt (blocks, uniform ``get_num_transfer_tokens`` schedule,
  argmax x̂0, float64 softmax confidence over the whole canvas, top-k commit per row in a Python
  loop), with a forward hook on the final norm that *appends* every output to a list; φ_t is the
  mean of the last recorded output over all response positions (masked ones included);
* the SRI computed step by step in a Python loop (cosine distances, log-ratio, sigmoid per step).

It computes the same quantities as the kit's ``pooling="reference"`` samplers, so ``run.py`` also
checks that the two agree (tokens and φ) as a sanity check — but it is deliberately not optimised.

Example:
    >>> out = reference_ar(lm, "How do I bake bread?", steps=32, centers=(mu_h, mu_b))  # doctest: +SKIP
    >>> out["sigma"].shape                                                             # doctest: +SKIP
    (32,)
"""
from __future__ import annotations

import math

import numpy as np
import torch

from sri_kit import is_refusal


def _chat_ids(tok, prompt: str, system_prompt: str | None = None) -> list[int]:
    msgs = ([{"role": "system", "content": system_prompt}] if system_prompt else []) + [
        {"role": "user", "content": prompt}]
    ids = tok.apply_chat_template(msgs, add_generation_prompt=True, tokenize=True)
    if hasattr(ids, "keys"):
        ids = ids["input_ids"]
    return [int(i) for i in ids]


def sri_loop(phi: torch.Tensor, centers, tau: float = 0.1, eps: float = 1e-8) -> np.ndarray:
    """σ_t for one trace, one step at a time (the official code's per-step style). phi: [T, D]."""
    mu_h, mu_b = (torch.as_tensor(np.asarray(c), dtype=torch.float32) for c in centers)
    sig = []
    for t in range(phi.shape[0]):
        x = phi[t].float()
        xn = x / (x.norm() + eps)
        d_h = 1.0 - torch.dot(xn, mu_h[t] / (mu_h[t].norm() + eps))
        d_b = 1.0 - torch.dot(xn, mu_b[t] / (mu_b[t].norm() + eps))
        logit = (torch.log(d_b + eps) - torch.log(d_h + eps)) / tau
        sig.append(float(torch.sigmoid(logit)))
    return np.array(sig)


@torch.no_grad()
def reference_ar(lm, prompt: str, steps: int = 32, centers=None, system_prompt: str | None = None) -> dict:
    """Greedy AR generation of ``steps`` tokens for one prompt without a KV cache."""
    model, tok, dev = lm.model, lm.tokenizer, lm.device
    end_ids = set(lm.end_token_ids or [tok.eos_token_id])
    ids = torch.tensor([_chat_ids(tok, prompt, system_prompt)], device=dev)
    states, new = [], []
    for _ in range(steps):
        out = model(input_ids=ids, output_hidden_states=True, use_cache=False)
        states.append(out.hidden_states[-1][0, -1].float().cpu())     # last layer, last position
        nxt = int(out.logits[0, -1].argmax())
        new.append(nxt)
        ids = torch.cat([ids, torch.tensor([[nxt]], device=dev)], dim=1)
        if nxt in end_ids:
            break
    while len(states) < steps:                                         # pad by repeating the last state
        states.append(states[-1])
    h = torch.stack(states)
    phi = h.cumsum(0) / torch.arange(1, steps + 1)[:, None]            # running mean over steps
    text = tok.decode([i for i in new if i not in end_ids], skip_special_tokens=True)
    out = {"tokens": new, "text": text, "refused": is_refusal(text), "activations": phi}
    if centers is not None:
        out["sigma"] = sri_loop(phi, centers)
    return out


def _transfer_counts(n_masked: int, steps: int) -> list[int]:
    base, rem = divmod(n_masked, steps)
    return [base + (1 if i < rem else 0) for i in range(steps)]


@torch.no_grad()
def reference_diffusion(lm, prompt: str, steps: int = 32, gen_length: int = 64, block_length: int | None = None,
                        centers=None, system_prompt: str | None = None) -> dict:
    """LLaDA-style low-confidence remasking for one prompt, temperature 0, with a hook on the final norm."""
    model, tok, dev, mask_id = lm.model, lm.tokenizer, lm.device, lm.mask_token_id
    prompt_ids = _chat_ids(tok, prompt, system_prompt)
    P = len(prompt_ids)
    x = torch.full((1, P + gen_length), mask_id, dtype=torch.long, device=dev)
    x[0, :P] = torch.tensor(prompt_ids, device=dev)
    block_length = block_length or gen_length
    n_blocks = gen_length // block_length
    spb = steps // n_blocks
    recorded: list[torch.Tensor] = []                                  # every output, as the official hook keeps
    site = model.get_submodule(lm.hook_site)
    handle = site.register_forward_hook(lambda m, a, o: recorded.append(o[0] if isinstance(o, tuple) else o))
    phis = []
    try:
        for b in range(n_blocks):
            lo, hi = P + b * block_length, P + (b + 1) * block_length
            counts = _transfer_counts(int((x[0, lo:hi] == mask_id).sum()), spb)
            for s in range(spb):
                mask_index = x == mask_id
                logits = model(input_ids=x).logits
                phis.append(recorded[-1][0, P:, :].float().mean(0).cpu())
                x0 = logits.argmax(-1)
                p = torch.softmax(logits.to(torch.float64), dim=-1)
                x0_p = torch.gather(p, -1, x0[..., None])[..., 0]
                x0_p[:, hi:] = -math.inf
                x0 = torch.where(mask_index, x0, x)
                confidence = torch.where(mask_index, x0_p, torch.tensor(-math.inf, dtype=x0_p.dtype, device=dev))
                transfer = torch.zeros_like(x0, dtype=torch.bool)
                for j in range(confidence.shape[0]):
                    _, sel = torch.topk(confidence[j], k=counts[s])
                    transfer[j, sel] = True
                x[transfer] = x0[transfer]
    finally:
        handle.remove()
    phi = torch.stack(phis)
    resp = x[0, P:].tolist()
    end_ids = set(lm.end_token_ids or [tok.eos_token_id])
    cut = next((i for i, t in enumerate(resp) if t in end_ids), len(resp))
    text = tok.decode(resp[:cut], skip_special_tokens=True)
    out = {"tokens": resp, "text": text, "refused": is_refusal(text), "activations": phi}
    if centers is not None:
        out["sigma"] = sri_loop(phi, centers)
    return out
