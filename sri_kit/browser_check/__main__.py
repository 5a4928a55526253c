"""``python -m sri_kit.browser_check``: the same as ``sri-kit browser-check``."""
import sys

from .check import main

sys.exit(main())
