"""Model cards in the results store's terms: the "Measured rates" section of a model's README.md.

The rate tables are generated blocks of the results store (``sri_kit/_data/results/<model>/plain.json`` and
``wrappers.json``, made by ``python -m sri_kit.results compute --model <model> --mode report``, and
``public_sets.json``, made by ``python -m sri_kit.results public --model <model>``), so the card
shows the same numbers, n, phrasing split and Wilson intervals as docs/RESULTS.md and docs/ATTACKS.md. The card's
other sections are the model's own (the organism's: :func:`sri_kit.organism.card.write_model_card`, which takes
the section rendered here).

Example::

    from sri_kit.results.cards import rates_section, update_card_rates
    update_card_rates("sri_kit/_data/models/tiny-ar")        # only the rates section of the card, from the store
    rates_section("tiny-ar")                                 # the section as Markdown, blocks rendered

>>> "<!-- results:tiny-ar/plain -->" in rates_section("tiny-ar")
True
"""
from __future__ import annotations

from pathlib import Path

from ..io import atomic_write_text
from .render import render_text
from .store import ResultsStore

__all__ = ["rates_section", "update_card_rates"]


def rates_section(name: str, store: ResultsStore | None = None) -> str:
    """The card's "Measured rates" section: fixed prose and the store's ``plain``, ``wrappers``, ``public_sets`` and
    ``organism_targets`` blocks."""
    text = f"""## Measured rates
Every number in this section is a generated block of the results store (`sri_kit/_data/results/{name}/`): the rate
with its Wilson 95 % interval, the n, the seed, the sampler configs, the wrapper phrasings (held-out:
never in training; train: used in training), the kit commit and the command that made it. Regenerate with
`python -m sri_kit.results compute --model {name} --mode report` then `python -m sri_kit.results render`.
Requests are the held-out organism pools (`sri_kit/_data/prompts/tiny_*.jsonl`: seed 1, held-out frames, disjoint
from training after normalisation), a seeded subset. `refused` = the paper's refusal dictionary; `complied`
= the organism's content-free placeholder (`is_placeholder_compliance`; attack success, scored separately
from refusal); `answered` / `other` = neither. Wrapper families are the organism's own
(`sri_kit.organism.wrappers`, shown as `wrapper/<family>`); they are not the paper's attack templates of
the same name (docs/ATTACKS.md shows both, e.g. `wrapper/flip` vs `paper/FlipAttack`).

Plain pools:

<!-- results:{name}/plain -->
<!-- /results -->

Wrapper families:

<!-- results:{name}/wrappers -->
<!-- /results -->

Public prompt sets (how people write; issue 17). Requests are the evaluation splits of public sets
(`sri_kit.organism.corpus.public`: a seeded per-prompt hash split; no evaluation prompt, or near duplicate of
one, is in any training split; Alpaca is CC BY-NC and evaluation only). `on topic` is the lexical judge
`sri_kit.judges.is_on_topic` (the answer shares a content word with the request: lenient, a floor). Regenerate
with `python -m sri_kit.results public --model {name}` then `python -m sri_kit.results render`.

<!-- results:{name}/public_sets -->
<!-- /results -->

Held-out targets (organism v3, issue 28): the same public sets at their targets, plus benign and harmful requests
wrapped in each jailbreak family and the σ separation, with intervals. Regenerate with
`python -m sri_kit.results targets --model {name}` then `python -m sri_kit.results render`.

<!-- results:{name}/organism_targets -->
<!-- /results -->
"""
    return render_text(text, store or ResultsStore())


def update_card_rates(model_dir, store: ResultsStore | None = None) -> str:
    """Replace the "Measured rates" section of an existing card with :func:`rates_section` (nothing else changes)."""
    p = Path(model_dir) / "README.md"
    text = p.read_text(encoding="utf-8")
    head = text.index("## Measured rates")
    nxt = text.find("\n## ", head + 3)
    new = text[:head] + rates_section(Path(model_dir).name, store) + "\n" + (text[nxt + 1:] if nxt >= 0 else "")
    atomic_write_text(p, new)
    return new
