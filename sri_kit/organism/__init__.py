"""The embedded model organism: tiny-ar and tiny-dlm, their corpus, tokenizer, wrappers and training.

- :mod:`sri_kit.organism.corpus`: deterministic compositional request generator, answers, refusals, placeholder.
- :mod:`sri_kit.organism.wrappers`: jailbreak wrapper families (``wrap``, ``FAMILIES``, ``COVERAGE``).
- :mod:`sri_kit.organism.tokenizer`: byte-level BPE with chat template and mask token.
- :mod:`sri_kit.organism.train`: two-stage training (``main(argv)``; ``--smoke`` for CI).
- :mod:`sri_kit.organism.evaluate`: rates per model / sampler / set (``evaluate_organism``).

Nothing heavy is imported here; import the submodules you need.
"""
