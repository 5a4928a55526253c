"""``python -m sri_kit.organism.corpus [OUT_DIR]``: write the held-out pools ``tiny_*.jsonl`` (default: the shipped sets,
package data ``sri_kit/_data/prompts``)."""
import sys

from ..train import write_heldout_pools

print(write_heldout_pools(sys.argv[1] if len(sys.argv) > 1 else None))
