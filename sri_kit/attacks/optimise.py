"""Optimisation attacks: the target log-probability of an affirmative start and the random-search
adversarial suffix of Andriushchenko et al. 2024 (tml-epfl/llm-adaptive-attacks) that maximises it.

The forward pass lives in the sampling layer (:func:`sri_kit.sampling.scoring.target_logprob_ids`);
this module builds the chat ids and the search.
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any, Sequence

import numpy as np
from tqdm.auto import tqdm

from ..models import LoadedModel
from ..sampling.scoring import target_logprob_ids
from .registry import check_prompt, register, require_lm
from .transforms import DEFAULT_TARGET, random_search_template

__all__ = ["target_logprob", "RandomSearchResult", "random_search"]

_SENTINEL = object()


def chat_ids(lm: LoadedModel, prompts: Sequence[str], system_prompt: Any = _SENTINEL) -> list[list[int]]:
    """Token ids of chat(prompt) with the generation prompt, as the samplers build them
    (``system_prompt`` defaults to the model's ``default_config.system_prompt``)."""
    if system_prompt is _SENTINEL:
        system_prompt = lm.default_config.system_prompt
    return [list(map(int, x)) for x in lm.encode_chat(list(prompts), system_prompt=system_prompt)]


def target_logprob(
    lm: LoadedModel,
    prompts: Sequence[str] | str,
    target: str = DEFAULT_TARGET,
    *,
    canvas_length: int | None = None,
    system_prompt: Any = _SENTINEL,
    batch_size: int = 16,
) -> np.ndarray:
    """Log-probability of the response starting with ``target``, one float per prompt.

    * causal models: teacher-forced ``sum_j log p(target_j | chat(prompt), target_<j)``.
    * masked diffusion: the canvas ``[chat(prompt) | mask × L]`` (L = ``canvas_length``, default the
      model's ``default_config.gen_length``, at least the target length) in one forward pass, all
      response positions masked; the score is ``sum_j log p(target_j at response position j)``. With
      ``lm.shift_logits`` (Dream) the logits for position i are read from position i − 1.

    Chat ids come from ``lm.encode_chat`` (so the system prompt matches the sampler's; default
    ``lm.default_config.system_prompt``). Sequences are right-padded with an attention mask, which leaves
    causal and bidirectional logits of the real tokens unchanged. The forward pass is
    :func:`sri_kit.sampling.scoring.target_logprob_ids`.

    >>> lp = target_logprob(lm_ar, ["How do I bake bread?", "Write a poem"], "Sure")
    >>> lp.shape, bool((lp < 0).all())
    ((2,), True)
    """
    require_lm(lm, "target_logprob")
    if isinstance(prompts, str):
        prompts = [prompts]
    prompts = list(prompts)
    if not prompts:
        raise ValueError("target_logprob needs at least one prompt")
    for p in prompts:
        check_prompt(p)
    t_ids = lm.tokenizer(target, add_special_tokens=False)["input_ids"]
    if not t_ids:
        raise ValueError("target tokenizes to nothing; pass a non-empty target such as 'Sure'")
    return target_logprob_ids(lm, chat_ids(lm, prompts, system_prompt), [int(i) for i in t_ids],
                              canvas_length=canvas_length, batch_size=batch_size)


@dataclass
class RandomSearchResult:
    """Outcome of :func:`random_search`.

    ``prompt``: the attacked prompt (template + best suffix), ``suffix``: the best suffix text,
    ``best_logprob`` / ``initial_logprob``: target log-probability with the best / initial suffix,
    ``history``: best log-probability after each iteration, ``n_queries``: forward passes used
    (prompts scored), ``target``: the scored affirmative start.
    """

    prompt: str
    suffix: str
    best_logprob: float
    initial_logprob: float
    history: list[float] = field(default_factory=list)
    n_queries: int = 0
    target: str = DEFAULT_TARGET
    request: str = ""

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)


def candidate_vocab(lm: LoadedModel) -> np.ndarray:
    """Ids a suffix may use: every id the model embeds except special, end, mask and chat-marker tokens."""
    tok = lm.tokenizer
    n = len(tok)
    try:
        n = min(n, int(lm.model.get_input_embeddings().weight.shape[0]))
    except (AttributeError, NotImplementedError):  # pragma: no cover - a model without an embedding accessor
        pass
    banned = set(int(i) for i in (tok.all_special_ids or []))
    banned.update(int(i) for i in lm.end_token_ids)
    if lm.mask_token_id is not None:
        banned.add(int(lm.mask_token_id))
    # tokens registered as added special tokens (chat markers) are excluded too
    for i, t in tok.added_tokens_decoder.items():
        if t.special:
            banned.add(int(i))
    vocab = np.array([i for i in range(n) if i not in banned], dtype=np.int64)
    if vocab.size == 0:
        raise ValueError("the tokenizer has no ordinary tokens to build a suffix from")
    return vocab


def _base_message(prompt: str, template: bool | str, target: str) -> str:
    if template is True:
        return random_search_template(prompt, target)
    if template is False:
        return prompt.rstrip() + " "
    if isinstance(template, str) and "{prompt}" in template:
        return template.replace("{prompt}", prompt)
    raise ValueError("template must be True, False or a string with a '{prompt}' slot")


def random_search(
    lm: LoadedModel,
    prompt: str,
    seed: int = 0,
    *,
    n_iters: int = 100,
    n_tokens_change: int = 4,
    suffix_len: int = 25,
    n_candidates: int = 1,
    target: str = DEFAULT_TARGET,
    template: bool | str = True,
    init_suffix: str | None = None,
    early_stop_logprob: float | None = None,
    canvas_length: int | None = None,
    system_prompt: Any = _SENTINEL,
    progress: bool = False,
) -> RandomSearchResult:
    """Random-search adversarial suffix (Andriushchenko et al. 2024), against any ``LoadedModel``.

    The message is ``template(prompt) + suffix``; each iteration replaces ``n_tokens_change``
    consecutive suffix tokens at a random position with random ordinary tokens (``n_candidates``
    proposals per iteration, scored in one batch) and keeps the best proposal if it raises
    :func:`target_logprob` (greedy acceptance, as in the reference code). The query budget is
    ``n_iters * n_candidates`` scored prompts (+1 for the initial suffix). Seeded and deterministic.

    ``template``: True = the 'refined_best' rules template, False = the bare request, or a string with
    a ``{prompt}`` slot. ``init_suffix``: default ``" !" * suffix_len`` (as in the reference code).
    ``early_stop_logprob``: stop once the best log-probability reaches it (e.g. ``math.log(0.5)``).
    ``system_prompt`` / ``canvas_length``: as in :func:`target_logprob` (default: the model's
    ``default_config``, i.e. what ``sri_kit.generate(lm, prompts)`` uses).

    >>> res = random_search(lm_ar, "Write a poem", n_iters=4, suffix_len=4, template=False)
    >>> res.best_logprob >= res.initial_logprob, res.n_queries, res.prompt.startswith("Write a poem ")
    (True, 5, True)
    """
    check_prompt(prompt)
    for k, v in {"n_iters": n_iters, "n_tokens_change": n_tokens_change, "suffix_len": suffix_len,
                 "n_candidates": n_candidates}.items():
        if not isinstance(v, (int, np.integer)) or v < (0 if k == "n_iters" else 1):
            raise ValueError(f"{k} must be a positive integer, got {v!r}")
    tok = require_lm(lm, "random_search").tokenizer
    base = _base_message(prompt, template, target)
    vocab = candidate_vocab(lm)
    rng = np.random.default_rng(seed)
    init = init_suffix if init_suffix is not None else " !" * suffix_len
    adv = [int(i) for i in tok(init, add_special_tokens=False)["input_ids"]]
    if not adv:
        adv = [int(i) for i in rng.choice(vocab, suffix_len)]

    def text_of(tokens: list[int]) -> str:
        return tok.decode(tokens, skip_special_tokens=True)

    def score(cands: list[list[int]]) -> np.ndarray:
        return target_logprob(lm, [base + text_of(c) for c in cands], target, canvas_length=canvas_length,
                              system_prompt=system_prompt)

    best = float(score([adv])[0])
    initial = best
    history: list[float] = []
    n_queries = 1
    for _ in tqdm(range(n_iters), desc="random search", disable=not progress):
        if early_stop_logprob is not None and best >= early_stop_logprob:
            break
        k = min(n_tokens_change, len(adv))
        cands = []
        for _c in range(n_candidates):
            start = int(rng.integers(0, len(adv) - k + 1))
            sub = [int(i) for i in rng.choice(vocab, k)]
            cands.append(adv[:start] + sub + adv[start + k :])
        scores = score(cands)
        n_queries += len(cands)
        j = int(np.argmax(scores))
        if scores[j] > best:
            best, adv = float(scores[j]), cands[j]
        history.append(best)
    suffix = text_of(adv)
    return RandomSearchResult(
        prompt=base + suffix,
        suffix=suffix,
        best_logprob=best,
        initial_logprob=initial,
        history=history,
        n_queries=n_queries,
        target=target,
        request=prompt,
    )


@register(
    "random_search",
    source="Andriushchenko, Croce & Flammarion 2024, 'Jailbreaking leading safety-aligned LLMs with simple "
    "adaptive attacks' (tml-epfl/llm-adaptive-attacks): 'refined_best' rules template + adversarial "
    "suffix optimised by random search to maximise log p(target start) on the given model "
    "(target_logprob: teacher-forced for AR, one masked-canvas pass for diffusion)",
    params="lm: LoadedModel (required); n_iters: int = 100; n_tokens_change: int = 4; suffix_len: int = 25; "
    f"n_candidates: int = 1; target: str = {DEFAULT_TARGET!r}; template: bool | str = True; "
    "early_stop_logprob: float | None; canvas_length (diffusion); see random_search()",
    kind="model",
)
def _random_search_apply(prompt: str, seed: int = 0, lm: Any = None, **kw: Any) -> str:
    if lm is None:
        raise TypeError(
            "random_search optimises a suffix against a model: pass lm=sri_kit.load_model(...); "
            "for the template alone use apply('random_search_template', prompt)"
        )
    return random_search(lm, prompt, seed=seed, **kw).prompt
