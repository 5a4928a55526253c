"""``sri-kit parity record|check``: write the golden fixtures from the upstream code; check the kit against them.

    sri-kit parity record --upstream DIR --out tests/fixtures/parity [--family llada dream fastdllm]
    sri-kit parity check [--fixtures tests/fixtures/parity]
"""
from __future__ import annotations

import argparse
from pathlib import Path

from ..errors import ConfigError

DEFAULT_DIR = "tests/fixtures/parity"
FAMILIES = ("llada", "dream", "fastdllm")


def main(argv) -> int:
    ap = argparse.ArgumentParser(prog="sri-kit parity", description="golden parity fixtures (upstream LLaDA, Dream, "
                                 "Fast-dLLM on tiny seeded models)")
    sub = ap.add_subparsers(dest="pcmd", required=True)
    r = sub.add_parser("record", help="run the upstream code and write the fixtures")
    r.add_argument("--upstream", required=True, help="folder with fastdllm/{llada,dream} and llada_generate.py "
                                                     "(see sri_kit/parity/upstream.py)")
    r.add_argument("--out", default=DEFAULT_DIR, help=f"fixture folder (default {DEFAULT_DIR})")
    r.add_argument("--family", nargs="+", choices=FAMILIES, default=list(FAMILIES))
    c = sub.add_parser("check", help="replay every fixture case on the kit")
    c.add_argument("--fixtures", default=DEFAULT_DIR, help=f"fixture folder (default {DEFAULT_DIR})")
    a = ap.parse_args(argv)
    if a.pcmd == "record":
        from .record import record, write_fixtures

        for p in write_fixtures(record(a.upstream, families=tuple(a.family)), a.out):
            print(f"{p} ({p.stat().st_size / 1024:.0f} KiB)")
        return 0
    from .replay import check_case, fixture_paths, load_fixture

    paths = fixture_paths(a.fixtures)
    if not paths:
        raise ConfigError(f"no fixtures (*.json) in {Path(a.fixtures)}; record them with `sri-kit parity record`")
    n_bad = n = 0
    for p in paths:
        fx = load_fixture(p)
        for case in fx["cases"]:
            n += 1
            bad = check_case(fx, case)
            n_bad += bool(bad)
            print(f"{'FAIL' if bad else 'ok  '} {fx['family']}:{case['name']}")
            for line in bad:
                print(f"     {line}")
    print(f"{n - n_bad}/{n} cases match upstream")
    return 1 if n_bad else 0
