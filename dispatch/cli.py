"""`python main.py [global options] [COMMAND ...]`: the console by default, headless
sub-commands otherwise. User mistakes exit 2 with one clear line on stderr."""
from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Callable, Sequence
from typing import NoReturn

from dispatch.domain.errors import DispatchError

COMMAND_MODULES = (
    "dispatch.commands.incidents",
    "dispatch.commands.geocode",
    "dispatch.commands.roads",
    "dispatch.commands.replay",
    "dispatch.commands.log",
    "dispatch.commands.act",
    "dispatch.commands.cti",
    "dispatch.commands.setup",
    "dispatch.commands.avl",
    "dispatch.commands.where",
    "dispatch.commands.users",
    "dispatch.commands.seats_bench",
    "dispatch.commands.data_import",
)


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:  # one line, no usage dump
        sys.stderr.write(f"{self.prog}: 参数错误: {message}\n")
        raise SystemExit(2)


def build_parser(extra_modules: Sequence[str] = ()) -> argparse.ArgumentParser:
    """The parser of every sub-command: the core's (COMMAND_MODULES) and those a front end
    adds (`extra_modules`, e.g. the console itself from ui.commands: the core never imports ui)."""
    parser = _Parser(prog="main.py", description="110 接处警调度台")
    parser.add_argument("--db", metavar="URL", help="database URL (default: SQLite file in the user data dir)")
    parser.add_argument("--data-dir", metavar="DIR", help="user data directory (database, caches)")
    parser.add_argument("--no-demo", action="store_true", help="start an empty database without the demo")
    parser.add_argument("--seat", help="seat name recorded in events")
    parser.add_argument("--operator", help="operator name recorded in events")
    parser.add_argument("--user", metavar="NAME", help="log in as this account (password from DISPATCH_PASSWORD)")
    parser.add_argument("--training", action="store_true",
                        help="training exercise: run on a fresh copy of the database, never the live one")
    commands = parser.add_subparsers(dest="command", parser_class=_Parser)
    bench_parser = commands.add_parser("bench", help="benchmarks; each prints one JSON line")
    bench = bench_parser.add_subparsers(dest="bench", parser_class=_Parser, required=True)
    for name in (*COMMAND_MODULES, *extra_modules):
        importlib.import_module(name).register(commands, bench)
    return parser


def main(argv: list[str] | None = None, extra_modules: Sequence[str] = (),
         default: Callable[[argparse.Namespace], int] | None = None) -> int:
    """Run one sub-command; with none given, `default` (the console) or the help."""
    parser = build_parser(extra_modules)
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # a usage error (one line, already written) or --help
        return int(exc.code or 0)
    handler = getattr(args, "handler", None) or default
    if handler is None:
        parser.print_help()
        return 2
    try:
        return int(handler(args) or 0)
    except DispatchError as exc:
        sys.stderr.write(f"错误: {exc}\n")
        return 2
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        return 0
    except UnicodeDecodeError as exc:  # a binary or wrongly encoded input file
        sys.stderr.write(f"错误: 输入文件不是 UTF-8 文本（第 {exc.start} 字节附近无法解码）\n")
        return 2
    except OSError as exc:  # a path the user gave cannot be read or written
        where = f" {exc.filename}" if getattr(exc, "filename", None) else ""
        sys.stderr.write(f"错误: 无法访问文件或目录{where}: {exc.strerror or exc}\n")
        return 2
