#!/usr/bin/env python
"""Fast DLM decoding against exact decoding: ``sri-kit fast-decoding`` (:mod:`sri_kit.results.fast_decoding`,
whose docstring has the method) that also writes its JSON here, ``benchmarks/results/fast_decoding*.json``.

    python benchmarks/fast_decoding.py --threads 1 --no-native     # results/fast_decoding.json + store table
    python benchmarks/fast_decoding.py --native-only --threads 1   # results/fast_decoding_native.json + store table
    python benchmarks/fast_decoding.py --quick --threads 1         # results/fast_decoding_quick.json, stores nothing
"""
from __future__ import annotations

import sys
from pathlib import Path

from sri_kit.results.fast_decoding import run

RESULTS = Path(__file__).resolve().parent / "results"


def default_json(argv) -> Path:
    return RESULTS / ("fast_decoding_quick.json" if "--quick" in argv else "fast_decoding_native.json"
                      if "--native-only" in argv else "fast_decoding.json")


def main(argv=None) -> dict:
    argv = list(sys.argv[1:] if argv is None else argv)
    if "--quick" in argv and "--no-store" not in argv:
        argv.append("--no-store")                  # a quick run is a trial: it never replaces a stored table
    return run(argv, default_json=default_json(argv))


if __name__ == "__main__":
    main()
