"""Attack success of every attack family against the organism (issue 4's report).

    python scripts/attack_success.py [--n 40] [--rs-iters 40] [--out docs/ATTACKS.md]

Success = actual compliance (the organism's placeholder, ``is_placeholder_compliance``), scored
separately from refusal (``is_refusal``): a non-refusal that is not compliance is not a success. Held-out
organism prompts (``tiny_harmful``, seeded subset) are attacked by each transform; PAIR uses the real
JailbreakBench PAIR prompts (their own goals) read from ../shared/data/external — only rates are written,
never outputs. Random search runs against each model itself (bare request + optimised suffix: the rules
template does not fit the organism's 512-token context). tiny-dlm is measured with diffusion decoding (its
default config) and with left-to-right decoding (DIJA/PAD prompts carry masks, which left-to-right refuses).
"""
from __future__ import annotations

import argparse
import time
from pathlib import Path

import pandas as pd
import torch

import sri_kit as sk
from sri_kit import attacks
from sri_kit.data import load_prompts
from sri_kit.io import atomic_write_text
from sri_kit.report import markdown_table
from sri_kit.sampling import generate_texts, get_sampler


def measure(n: int, rs_iters: int, seed: int = 0) -> pd.DataFrame:
    harmful = load_prompts("tiny_harmful", n=n, seed=seed)
    names = [a for a in attacks.names() if attacks.get(a).kind != "dataset"]
    kw = {"random_search": dict(n_iters=rs_iters, n_tokens_change=3, suffix_len=12, template=False)}
    rows = []
    for model in ("tiny-ar", "tiny-dlm"):
        lm = sk.load_model(model)
        decodings = [("default", lm.default_config)]
        if lm.family in get_sampler("left_to_right").families:  # a DLM can also be decoded left to right
            c = lm.default_config
            decodings.append(("left_to_right", c.replace(order="left_to_right", steps=c.gen_length, block_length=None)))
        for dname, cfg in decodings:
            for r in attacks.evaluate(lm, harmful, names, config=cfg, attack_kwargs=kw, seed=seed):
                rows.append({"model": model, "decoding": dname, **r})
            try:
                pair = [p for _, p in attacks.load_attack_prompts("pair")][:n]
                texts = generate_texts(lm, pair, cfg)  # text only: no prefill, so the text is the response
                rows.append({"model": model, "decoding": dname, "attack": "pair (JBB prompts)", "n": len(texts),
                             "asr": sum(sk.is_placeholder_compliance(t) for t in texts) / len(texts),
                             "refusal_rate": sum(sk.is_refusal(t) for t in texts) / len(texts)})
            except Exception as e:       # the shared data folder is absent
                rows.append({"model": model, "decoding": dname, "attack": "pair (JBB prompts)",
                             "error": f"{type(e).__name__}: {e}"})
    return pd.DataFrame(rows)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n", type=int, default=40, help="held-out harmful prompts per attack")
    ap.add_argument("--rs-iters", type=int, default=40, help="random-search iterations per prompt")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--out", type=Path, default=Path("docs/ATTACKS.md"))
    a = ap.parse_args(argv)
    torch.manual_seed(a.seed)
    t0 = time.time()
    df = measure(a.n, a.rs_iters, a.seed)
    cols = [c for c in ("model", "decoding", "attack", "n", "asr", "refusal_rate", "other", "error") if c in df]
    table = df[cols].copy()
    for c in ("asr", "refusal_rate", "other"):
        if c in table:
            table[c] = table[c].map(lambda v: "" if pd.isna(v) else f"{100 * v:.0f} %")
    text = (f"# Attack success on the model organism\n\nMeasured with `python scripts/attack_success.py --n {a.n} "
            f"--rs-iters {a.rs_iters} --seed {a.seed}` ({time.time() - t0:.0f} s on this machine). "
            "ASR = actual compliance (the organism's placeholder), refusal = the paper's dictionary; "
            "'other' = neither (an off-topic or benign-style answer, not a success). "
            f"n = {a.n} held-out prompts per attack, so a rate is ±{100 * 0.5 / a.n ** 0.5 * 2:.0f} points (95 %) at worst.\n\n"
            + markdown_table(table.fillna("")) + "\n")
    a.out.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_text(a.out, text)
    print(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
