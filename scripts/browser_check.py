"""Thin wrapper: the check lives in :mod:`sri_kit.browser_check` (``sri-kit browser-check``)."""
from sri_kit.browser_check.check import main

if __name__ == "__main__":
    raise SystemExit(main())
