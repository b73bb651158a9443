"""The `warden` command line."""

from __future__ import annotations

import argparse
import sys


def _local(_: argparse.Namespace) -> int:
    from warden_local.stack import run

    return run()


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="warden", description="Warden: a trust-and-safety gateway in front of Claude")
    commands = parser.add_subparsers(dest="command", required=True)
    local = commands.add_parser("local", help="run the whole stack on this machine (what `make run` starts)")
    local.set_defaults(func=_local)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    result: int = args.func(args)
    return result


if __name__ == "__main__":
    sys.exit(main())
