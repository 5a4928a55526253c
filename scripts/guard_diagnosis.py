"""Thin wrapper: the logic lives in :mod:`sri_kit.guard.diagnosis` (``sri-kit guard-diagnosis``)."""
from sri_kit.guard.diagnosis import main

if __name__ == "__main__":
    raise SystemExit(main())
