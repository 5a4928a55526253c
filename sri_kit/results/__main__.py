"""``python -m sri_kit.results compute|render|check`` (see :mod:`sri_kit.results.cli`)."""
from .cli import main

if __name__ == "__main__":
    raise SystemExit(main())
