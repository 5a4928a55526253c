"""The embedded model organism: tiny-ar and tiny-dlm, their corpus, tokenizer, wrappers and training.

- :mod:`sri_kit.organism.corpus`: deterministic compositional request generator, answers, refusals, placeholder.
- :mod:`sri_kit.organism.wrappers`: jailbreak wrapper families (``wrap``, ``FAMILIES``, ``COVERAGE``).
- :mod:`sri_kit.organism.tokenizer`: byte-level BPE with chat template and mask token; ``encode_prompt``.
- :mod:`sri_kit.organism.train`: the two-stage recipe (``main(argv)``; ``--smoke`` for CI); ``ORGANISMS``
  holds what differs between the two models.
- :mod:`sri_kit.organism.evaluate`: rates per model / sampler / set (``evaluate_organism``).
- :mod:`sri_kit.organism.card`: the model cards (the rates section comes from :mod:`sri_kit.results.cards`).
- :mod:`sri_kit.organism.benign_answers`: answers for the benign public training prompts from a small GGUF
  model, written once at corpus-build time (``sri-kit organism benign-answers``).
- :mod:`sri_kit.organism.plugin`: how the kit finds the organism. The library never imports this package; the
  organism registers its wrapper families (as attacks) and the ``tiny-ar`` / ``tiny-dlm`` presets through
  :mod:`sri_kit.plugins`, which loads it on the first attack or preset lookup.

Refusal and compliance are judged by :mod:`sri_kit.judges` everywhere (corpus, training-time validation,
evaluation). Nothing heavy is imported here; import the submodules you need. The shipped weights load by
name:

    >>> lm_ar.name, lm_ar.family, lm_dlm.name, lm_dlm.family      # sk.load_model("tiny-ar"), ("tiny-dlm")
    ('tiny-ar', 'ar', 'tiny-dlm', 'diffusion')
"""
