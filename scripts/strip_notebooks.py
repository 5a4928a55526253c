"""Thin wrapper: the logic lives in :mod:`sri_kit.strip_notebooks` (``sri-kit strip-notebooks``)."""
from sri_kit.strip_notebooks import main

if __name__ == "__main__":
    raise SystemExit(main())
