"""Command line: ``python -m sklearn_biodiff demo [--quick] [--out DIR]``."""

from __future__ import annotations

import argparse
import sys


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="sklearn_biodiff")
    sub = parser.add_subparsers(dest="command", required=True)
    demo = sub.add_parser("demo", help="DACL pipeline on the bundled CinC 2017 sample")
    demo.add_argument("--quick", action="store_true", help="few epochs (for CI)")
    demo.add_argument("--out", default="demo_output", help="output folder")
    demo.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    if args.command == "demo":
        from ._demo import run_demo

        run_demo(args.out, quick=args.quick, random_state=args.seed)
    return 0


if __name__ == "__main__":
    sys.exit(main())
