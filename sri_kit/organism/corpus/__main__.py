"""``python -m sri_kit.organism.corpus [OUT_DIR]``: write the held-out pools ``tiny_*.jsonl`` (default data/prompts)."""
import sys

from ..train import write_heldout_pools

print(write_heldout_pools(sys.argv[1] if len(sys.argv) > 1 else "data/prompts"))
