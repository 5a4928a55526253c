"""``python -m sri_kit.report``: regenerate the results report (see :func:`sri_kit.report.main`)."""
from .build import main

if __name__ == "__main__":
    raise SystemExit(main())
