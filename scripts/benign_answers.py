"""Thin wrapper: the logic lives in :mod:`sri_kit.organism.benign_answers` (``sri-kit organism benign-answers``)."""
from sri_kit.organism.benign_answers import main

if __name__ == "__main__":
    raise SystemExit(main())
