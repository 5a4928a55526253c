"""Thin wrapper: the logic lives in :mod:`sri_kit.results.attack_success` (``sri-kit attack-success``)."""
from sri_kit.results.attack_success import main

if __name__ == "__main__":
    raise SystemExit(main())
