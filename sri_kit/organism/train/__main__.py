"""``python -m sri_kit.organism.train``: the organism's training command line (see the package docstring)."""
import sys

from .run import main

sys.exit(main())
