"""Attack success of every attack against the organism, into the results store, then docs/ATTACKS.md.

    sri-kit attack-success [--mode quick|report] [--random-search N] [--rs-iters 20]
    sri-kit attack-success --models tiny-ar --random-search 50 --random-search-only

Runs ``python -m sri_kit.results compute`` for tiny-ar and tiny-dlm (tables ``plain``, ``wrappers``,
``paper_attacks``, ``fixed_weights`` in ``sri_kit/_data/results/<model>/``), optionally the model-optimised random
search on N held-out requests beside two unoptimised controls on the same requests (table ``random_search``;
``--random-search-only`` skips the other tables), then re-renders docs/ATTACKS.md's blocks from the
store. Success = the organism's placeholder (``is_placeholder_compliance``), refusal = the paper's
dictionary, scored separately; only counts are stored, never outputs.
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import torch

import sri_kit as sk
from sri_kit import attacks
from sri_kit.data import load_prompts
from sri_kit.results import Column, ResultsStore, Table, rate, render_docs
from sri_kit.results.store import provenance
from sri_kit.results.compute import compute_model, samplers_for

from sri_kit.results.store import REPO

DOC = REPO / "docs" / "ATTACKS.md"      # the checkout's ATTACKS.md (this job runs from a checkout)


def random_search_table(lm, n: int, iters: int, seed: int, mode: str, command: str) -> Table:
    """The optimised suffix attack (bare request + 12-token suffix) on ``n`` held-out requests, per sampler,
    beside two unoptimised controls on the same requests with a suffix of the same length: the search's
    initial suffix (``" !" * 12``, iteration 0) and a random suffix (tokens drawn from the search's own
    candidate vocabulary, seeded per request). Also the mean target log-probability (``"Sure, here is"``)
    before and after the search, so a reader sees whether the optimisation moved the objective at all."""
    from sri_kit.attacks.optimise import candidate_vocab, random_search, target_logprob
    from sri_kit.sampling import generate_texts

    harmful = load_prompts("tiny_harmful", n=n, seed=seed)
    L = 12
    t0 = time.perf_counter()
    res = [random_search(lm, p, seed=seed + i, n_iters=iters, n_tokens_change=3, suffix_len=L, template=False)
           for i, p in enumerate(harmful)]
    tok, vocab = lm.tokenizer, candidate_vocab(lm)
    # the search's iteration-0 suffix exactly as it scores it (" !" * L, tokenised and decoded)
    init = tok.decode([int(i) for i in tok(" !" * L, add_special_tokens=False)["input_ids"]], skip_special_tokens=True)
    rand = [p.rstrip() + " " + tok.decode([int(t) for t in np.random.default_rng(10_000 + seed + i).choice(vocab, L)],
                                          skip_special_tokens=True) for i, p in enumerate(harmful)]
    arms = {"paper/random-search (optimised suffix)": [r.prompt for r in res],
            "control: initial suffix, unoptimised (iteration 0)": [p.rstrip() + " " + init for p in harmful],
            "control: random suffix, unoptimised": rand}
    target = res[0].target
    rows = []
    for s, cfg in samplers_for(lm):
        for arm, prompts in arms.items():
            texts = generate_texts(lm, prompts, cfg, batch_size=32)
            comp = np.array([sk.is_placeholder_compliance(t) for t in texts])
            ref = np.array([sk.is_refusal(t) for t in texts])
            lp = (np.array([r.best_logprob for r in res]) if arm.startswith("paper/")
                  else np.asarray(target_logprob(lm, prompts, target), float))
            rows.append({"attack": arm, "registry": "random_search", "sampler": s, "n": len(texts),
                         "refused": rate(int(ref.sum()), len(texts)), "complied": rate(int(comp.sum()), len(texts)),
                         "logprob": float(lp.mean()),
                         "initial_logprob": float(np.mean([r.initial_logprob for r in res])),
                         "improved": rate(int(sum(r.best_logprob > r.initial_logprob for r in res)), len(res))
                         if arm.startswith("paper/") else None,
                         "error": None})
    secs = time.perf_counter() - t0
    cols = [Column("attack", "attack"), Column("registry", "registry name"), Column("sampler", "sampler"),
            Column("n", "n", "int"), Column("refused", "refused", "rate"),
            Column("complied", "attack success (complied)", "rate"),
            Column("logprob", f"mean log p(target) of these prompts", "float"),
            Column("initial_logprob", "mean log p(target), initial suffix", "float"),
            Column("improved", "search raised log p(target)", "rate"),
            Column("error", "not measured because")]
    return Table(model=lm.name, name="random_search",
                 title=f"Random search ({iters} iterations per request, {L}-token suffix, bare request) and "
                       "unoptimised controls", split="n/a", n=n, seed=seed, mode=mode, columns=cols, rows=rows,
                 command=command, compute_seconds=round(secs, 1),
                 configs={s: {"key": c.key(), "fields": c.to_dict()} for s, c in samplers_for(lm)},
                 notes=(f"Same {n} held-out requests in every row; target = {target!r}; log p(target) = "
                        "sri_kit.attacks.target_logprob (teacher-forced for AR, one masked-canvas pass for "
                        "diffusion). The controls have the optimised suffix's length; the organism's own "
                        "wrapper/random_suffix family is in the wrappers table."),
                 **provenance())


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--mode", choices=["quick", "report"], default="report")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--random-search", type=int, default=0, metavar="N", help="requests for random search (0: skip)")
    ap.add_argument("--rs-iters", type=int, default=20, help="random-search iterations per request")
    ap.add_argument("--models", nargs="+", default=["tiny-ar", "tiny-dlm"])
    ap.add_argument("--random-search-only", action="store_true",
                    help="only the random_search table (keep the stored plain/wrappers/paper tables)")
    a = ap.parse_args(argv)
    cmd = "sri-kit attack-success " + " ".join(sys.argv[1:] if argv is None else argv)
    store = ResultsStore()
    for m in a.models:
        torch.manual_seed(a.seed)
        lm = sk.load_model(m)
        if not a.random_search_only:
            compute_model(lm, a.mode, store=store, seed=a.seed, command=cmd.strip())
        if a.random_search:
            store.write(random_search_table(lm, a.random_search, a.rs_iters, a.seed, a.mode, cmd.strip()))
    for p in render_docs([DOC], store):
        print(f"rendered {p}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
