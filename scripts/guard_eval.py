"""Thin wrapper: the logic lives in :mod:`sri_kit.guard.evaluate` (``sri-kit guard-eval``)."""
from sri_kit.guard.evaluate import main

if __name__ == "__main__":
    raise SystemExit(main())
