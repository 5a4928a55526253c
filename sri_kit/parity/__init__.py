"""Golden parity fixtures: the upstream LLaDA / Dream / Fast-dLLM code, recorded once on tiny seeded models,
replayed on the kit in every CI run without the upstream code.

    sri-kit parity record --upstream DIR --out tests/fixtures/parity   # needs the upstream files (see upstream.py)
    sri-kit parity check [--fixtures tests/fixtures/parity]            # the kit against the fixtures

Each fixture (one JSON per family: ``llada``, ``dream``, ``fastdllm``) names the upstream repositories and
commits it came from, the tiny models (a released-style config.json, a weight seed and the weights'
digest) and, per case, the inputs and what upstream produced: logits at chosen positions, final tokens,
the response canvas after every step (the commit order) and, for Fast-dLLM, the forward passes. The
tests are ``tests/test_parity_fixtures.py``; docs/REAL_MODELS.md lists what they verify.
"""
from .models import (DREAM_SPEC, LLADA_SPEC, MASK_ID, PROMPTS, build_kit_model, kit_lm, parity_tokenizer,
                     seeded_weights, weights_digest)
from .replay import check_case, fixture_paths, kit_model, load_fixture, run_case

__all__ = ["DREAM_SPEC", "LLADA_SPEC", "MASK_ID", "PROMPTS", "build_kit_model", "kit_lm", "parity_tokenizer",
           "seeded_weights", "weights_digest", "check_case", "fixture_paths", "kit_model", "load_fixture", "run_case"]
