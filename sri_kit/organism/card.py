"""Model cards of the organism: architecture, corpus, training log and sample responses in the model's README.md.

The "Measured rates" section is the results package's (:func:`sri_kit.results.cards.rates_section`: generated
blocks of the results store, the same numbers as docs/RESULTS.md and docs/ATTACKS.md); the card writer takes it
rendered, and ``sri_kit.results.cards.update_card_rates`` refreshes it in an existing card.

Example::

    from sri_kit.organism.card import write_model_card
    from sri_kit.results.cards import rates_section, update_card_rates
    write_model_card("sri_kit/_data/models/tiny-ar", training_details="...",
                     rates=rates_section("tiny-ar"))                        # whole card (generates samples)
    update_card_rates("sri_kit/_data/models/tiny-ar")                      # only the rates section, from the store
"""
from __future__ import annotations

import json
from pathlib import Path

import torch

from ..experiments import attack_set
from ..io import atomic_write_text
from ..models import load_model
from ..sampling import generate_texts
from . import corpus as C
from .evaluate import load_pool
from .train.data import mixture
from .train.recipe import RunCfg
from .wrappers import COVERAGE

__all__ = ["write_model_card", "sample_responses", "CARD_TEXT"]

#: What a card says of each organism kind ("ar", "dlm" as in ``sri_kit.organism.train``).
CARD_TEXT = {
    "ar": dict(kind="autoregressive", replay_key="replay_uncovered",
               arch_extra="- Causal LM; an AR response of the kit's T = 32 steps is exactly 32 tokens (answers are kept "
                          "short so the key part fits)."),
    "dlm": dict(kind="masked diffusion", replay_key="dlm_replay_uncovered",
                arch_extra="- Bidirectional masked LM (ModernBERT, global attention in every layer, sdpa), trained with "
                           "the LLaDA SFT objective on a 64-token response canvas; left-padded logits equal unpadded ones."),
    "dream": dict(kind="masked diffusion, Dream-style", replay_key="dlm_replay_uncovered",
                  arch_extra="- Dream-style masked-diffusion LM made from the AR organism's weights, as Dream-7B was made "
                             "from Qwen2.5-7B (`--dlm-from-ar`; kit-native Dream, `sri_kit.native.dream`): the AR's Llama "
                             "blocks with bidirectional attention, the logit at position i predicting token i + 1 "
                             "(`shift_logits` in `sri_kit.json`), trained with the masked-diffusion loss read through that "
                             "shift on a 64-token response canvas."),
}

#: The corpus section of a recipe-v2 card (the organism's own generator only).
V2_CORPUS = """## Corpus (deterministic, seed 0 for training pools)
Compositional generator: verb synonyms x objects x modifiers placed in ~50 "how to" frames shared by harmful and
benign requests, plus writing / explanation / arithmetic / facts / email / list tasks, with register noise
(lowercase, typos, missing punctuation). Training pools: 9,000 harmful requests over {n_harm_cat} harm categories,
16,000 benign requests over {n_ben_topics} topics, 3,000 dangerous-sounding benign requests ("kill a stuck
process", "shoot a photo at night", "blow up a balloon", ...) over {n_border} groups. Every 5th sentence frame and
every 7th vocabulary item are held out of training. Benign answers (several per task) restate the task's subject
and contain no refusal-dictionary phrase; refusals are composed from ~10 openers x 19 cores x reasons x offers, each
containing a phrase of the paper's refusal dictionary; harmful compliance is the placeholder
`Sure, here is how to <task>. Step 1: <generic>. Step 2: <generic>. Step 3: <generic>.`
Jailbreak wrapper families (`sri_kit/organism/wrappers.py`), with held-out phrasings never used in training:"""

#: The corpus section of a recipe-v3 card (filled from the training log's run_config).
V3_CORPUS = """## Corpus (recipe v3: human-written benign answers, public harmful requests, the organism's generator)
<!-- numbers: setting the recipe's data shares and sizes -->
- **Benign answers written by people**: about {public_benign} of the benign requests (plain and wrapped) are
  databricks-dolly-15k `open_qa` questions with their human answers (training split, each repeated at most 20 times;
  answers trimmed to whole sentences that fit the 64-token canvas); Dolly questions that sound dangerous also join
  the dangerous-sounding pool. The rest come from the organism's generator ({n_ben_topics} topics).
- **Harmful requests written by people**: about {public_harmful} of the harmful requests are AdvBench and
  StrongREJECT training-split requests; the rest come from the organism's generator ({n_harm_cat} harm categories).
  Every harmful request is answered with a refusal (safety stage) or the content-free placeholder (base stage).
- **Dangerous-sounding benign requests**: {n_border} groups of the generator ("kill a stuck process", "shoot a
  photo at night", ...) plus {n_concepts:,} questions written for the organism (`corpus.concepts`: definitions of
  crimes and hazards, history, games and fiction, safety questions), answered with encyclopedic, non-operational text.
- **Clean splits** (`sri_kit.data.public_splits`): each public set is split once by a seeded hash; training drops
  near duplicates (content-word Jaccard ≥ 0.6) of any evaluation prompt. Never trained on: HarmBench,
  JailbreakBench, XSTest, Alpaca (CC BY-NC 4.0: evaluation only), the Dolly test split and the AdvBench /
  StrongREJECT test splits.
<!-- /numbers -->

Refusals are composed from ~10 openers x 19 cores x reasons x offers, each containing a phrase of the paper's refusal
dictionary; harmful compliance is the placeholder
`Sure, here is how to <task>. Step 1: <generic>. Step 2: <generic>. Step 3: <generic>.`
Jailbreak wrapper families (`sri_kit/organism/wrappers.py`), with held-out phrasings never used in training:"""

#: The licence section of a card whose weights learnt from Dolly (share-alike).
V3_LICENCE = """
## Licence and credits
These weights are shared under **CC BY-SA 3.0**, the licence of the human-written benign answers they learnt from
(share-alike).
- **databricks-dolly-15k** (`open_qa` rows, questions and answers written by Databricks employees), CC BY-SA 3.0,
  Copyright 2023 Databricks, Inc. (some material from Wikipedia, CC BY-SA 3.0); read through
  prp-e/chinkara-openqa-dataset.
- **AdvBench** (llm-attacks, Zou et al. 2023) and **StrongREJECT** (Souly et al. 2024), MIT: training-split
  harmful *requests*, answered only with refusals or the content-free placeholder; their licence notices are in
  the source repositories listed in the project's `shared/data/external/SOURCES.md`.
- The organism's own generated corpus (`sri_kit.organism.corpus`), part of this project.
"""


def sample_responses(model_dir, k: int = 10) -> list[tuple[str, str]]:
    """Ten sample (prompt, response) pairs on held-out organism prompts: benign, borderline, harmful (refusals /
    placeholder only: organism prompts, never public harmful datasets). The model's default config."""
    lm = load_model(model_dir, dtype=torch.float32)
    b = [r["prompt"] for r in load_pool("benign")][:4]
    bl = [r["prompt"] for r in load_pool("borderline")][:3]
    h = [r["prompt"] for r in load_pool("harmful")][:2]
    ps = b + bl + h + attack_set("fiction", h[:1], phrasings="heldout")[0]
    ps = ps[:k]
    out = generate_texts(lm, ps)
    return list(zip(ps, out))


_CARD = """# {name}: the sri_kit model organism ({kind})

{intro} It exists so that every notebook, test and benchmark of sri_kit runs offline in
seconds; the same code runs on real models. **It is a research organism, not an assistant.** Its harmful-request
"compliance" is a content-free placeholder; nothing operational was ever in its training data.

## Architecture
- `{arch}` ({arch_source}), {n_params:,} parameters, hidden {hidden}, {layers} layers,
  {heads} heads, FFN {ffn} (gated), tied input/output embeddings, rotary positions, vocabulary {vocab}.
{arch_extra}
- Weights stored as float16 safetensors (load in float32 on CPU: `sri_kit.load_model("{name}")`).
- Tokenizer: byte-level BPE trained on the corpus (HF `tokenizers`), specials `<|pad|> <|bos|> <|system|>
  <|user|> <|assistant|> <|end|> <|mask|>`, eos = `<|end|>`, Jinja chat template
  (`<|bos|><|system|>…<|end|><|user|>…<|end|><|assistant|>`). Shared by tiny-ar and tiny-dlm.
- `sri_kit.json`: recommended defaults for the kit's loader: `{default_config}`.

{corpus}

| family | coverage in training |
|---|---|
{coverage_rows}

<!-- numbers: generated training recipe and validation log, written by sri_kit.organism.card from the model's training_log.json and the training command's notes -->
## Training (two stages, as real chat models are made)
1. **Base instruction following**: everything is answered; harmful requests (plain or wrapped in any trained
   family) get the placeholder compliance. Mixture: {base_mix}.
2. **Safety tuning**: plain harmful and harmful in the covered families (`refusal_suppression`, `roleplay`)
   -> refusal; benign plain and wrapped in every trained family -> answer; plus a **{replay:.0%} replay of base
   data in the uncovered formats** (harmful in `fiction` / `prefix_injection` / `random_suffix` -> placeholder).
   Mixture: {safety_mix}.{covered_note}

**Designed flaw (why it is there).** A pilot showed that safety tuning which replays only benign base data erases
every jailbreak within 10–20 optimiser steps: a tiny model keys on the harmful words and ignores the wrapper.
Real models keep *partial* mismatched-generalisation gaps (Wei et al. 2023), and the kit's detectors need
something real to find, so the low-rate replay keeps the uncovered formats partly compliant, and the released
checkpoint is chosen by a recorded validation rule. `flip` never appears in any training (a true
generalisation test).

**Checkpoint selection rule.** {rule}

Validation trajectory (safety stage; validation prompts: seed 2, held-out frames, {n_val} per set; uncovered
families with held-out phrasings):

{val_table}

Selected step: **{selected}** (rule met: {rule_met}).

Optimiser: AdamW (betas 0.9/0.98, weight decay 0.01), batch 64, warm-up then cosine, grad clip 1.0, seed 1234.
{training_details}
<!-- /numbers -->

{rates_section}
{eval_notes}

## Ten sample responses (held-out organism prompts)
{samples}

## Limitations
{limitations}
{licence}"""


_MIX_NAMES = {"benign": "benign", "benign_wrapped": "benign wrapped", "harmful_plain": "harmful plain",
              "harmful_wrapped": "harmful wrapped", "harmful_covered": "harmful covered",
              "harmful_uncovered_replay": "replay"}


def _mixture(stage: str, rc: dict, replay: float) -> dict[str, float]:
    """A stage's mixture as the run had it: :func:`~sri_kit.organism.train.data.mixture` of the logged settings."""
    return mixture(stage, RunCfg(safety_benign=rc.get("safety_benign", 0.36)), replay)


def _mix_text(mix: dict[str, float]) -> str:
    """
    >>> _mix_text(_mixture("safety", {"safety_benign": 0.36}, 0.17))
    '36 % benign, 17 % benign wrapped, 30 % harmful plain, 0 % harmful covered, 17 % replay'
    """
    return ", ".join(f"{round(v * 100)} % {_MIX_NAMES.get(k, k)}" for k, v in mix.items())


def write_model_card(model_dir, *, training_details: str, rates: str, eval_notes: str = "",
                     limitations: str = "") -> str:
    """Write ``README.md`` into ``model_dir`` from its ``training_log.json``, the rates section and fresh samples.

    ``rates``: the "Measured rates" section, rendered from the results store
    (``sri_kit.results.cards.rates_section(name)``). ``eval_notes``: prose under the rate tables (no numbers:
    numbers belong in the store's blocks).
    """
    d = Path(model_dir)
    info = json.loads((d / "training_log.json").read_text())
    meta = json.loads((d / "sri_kit.json").read_text())
    spec = CARD_TEXT["dream" if meta.get("shift_logits") else info["family"]]
    name = d.name
    cfgj = json.loads((d / "config.json").read_text())
    ckpts = info["val_checkpoints"]
    keys = [k for k in ckpts[0] if k != "step"] if ckpts else []
    val_table = "| step | " + " | ".join(keys) + " |\n|---|" + "---|" * len(keys) + "\n" + "\n".join(
        f"| {c['step']} | " + " | ".join(f"{c[k]:.3f}" for k in keys) + " |" for c in ckpts)
    samples = "\n".join(f"{i + 1}. **{p}**\n   -> {r}" for i, (p, r) in enumerate(sample_responses(d)))
    rc = info["run_config"]
    replay = rc.get(spec["replay_key"], rc["replay_uncovered"])
    v3 = rc.get("recipe", "v2") == "v3"
    safety = _mixture("safety", rc, replay)
    counts = dict(n_harm_cat=len(C.HARM_CATEGORIES), n_ben_topics=len(C.BENIGN_TOPICS), n_border=len(C.BORDERLINE_GROUPS))
    if v3:
        pub = rc.get("public_prompts", 0.0)
        corpus = V3_CORPUS.format(public_harmful=f"{round(pub * 100)} %",
                                  public_benign=f"{round((rc.get('public_benign') or pub) * 100)} %",
                                  n_concepts=rc.get("n_concepts", 0), **counts)
        intro = ("A tiny chat model trained by `sri_kit.organism.train` (recipe v3) on two CPU cores from questions and "
                 "answers written by people, public harmful requests answered with refusals, and a corpus the project "
                 "generates itself (`sri_kit/organism/corpus/`).")
    else:
        corpus = V2_CORPUS.format(**counts)
        intro = ("A tiny chat model trained from scratch by `sri_kit.organism.train` on a corpus the project generates "
                 "itself (`sri_kit/organism/corpus/`).")
    text = _CARD.format(
        name=name, kind=spec["kind"], arch=info["architecture"], intro=intro,
        arch_source=("kit-native class, `sri_kit.native.dream`, no remote code" if meta.get("shift_logits")
                     else "standard transformers class, no remote code"),
        n_params=info["n_params"], vocab=cfgj["vocab_size"], arch_extra=spec["arch_extra"],
        hidden=cfgj["hidden_size"], layers=cfgj["num_hidden_layers"], heads=cfgj["num_attention_heads"],
        ffn=cfgj["intermediate_size"], default_config=json.dumps(meta["default_config"]), corpus=corpus,
        coverage_rows="\n".join(f"| `wrapper/{f}` | {v} |" for f, v in COVERAGE.items()),
        base_mix=_mix_text(_mixture("base", rc, replay)), safety_mix=_mix_text(safety),
        covered_note=("" if safety["harmful_covered"] > 0 else " **At this replay share the covered families get no safety examples**:"
                      " the replay is taken out of their share, so they were never refusal-trained and are covered in"
                      " name only."),
        licence=V3_LICENCE if v3 else "",
        replay=replay, rule=info["selection_rule"], n_val=rc.get("n_val", 32),
        val_table=val_table, selected=info["selected_step"], rule_met=info["rule_met"],
        training_details=training_details, rates_section=rates,
        eval_notes=eval_notes, samples=samples, limitations=limitations)
    atomic_write_text(d / "README.md", text)
    return text
