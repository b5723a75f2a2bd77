"""python -m zkml.native build [--force]: compile the native kernels fr.c and g1.c (see zkml/native/__init__.py)."""
from __future__ import annotations

import argparse
import sys

from zkml.native import build, load, load_error


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m zkml.native")
    sub = ap.add_subparsers(dest="cmd", required=True)
    b = sub.add_parser("build", help="compile fr.c and g1.c (if missing or out of date) and load it")
    b.add_argument("--force", action="store_true", help="recompile even if up to date")
    args = ap.parse_args(argv)
    if args.cmd == "build":
        try:
            path = build(force=args.force)
        except Exception as exc:  # noqa: BLE001 -- reported, non-zero exit
            print(f"zkml.native: build failed: {exc}", file=sys.stderr)
            return 1
        if load() is None:
            print(f"zkml.native: built {path} but cannot load it: {load_error()}", file=sys.stderr)
            return 1
        print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
