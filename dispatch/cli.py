"""`python main.py [global options] [COMMAND ...]`: the console by default, headless
sub-commands otherwise. User mistakes exit 2 with one clear line on stderr."""
from __future__ import annotations

import argparse
import ast
import importlib
import re
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

# Which module registers which command ("bench NAME" for a benchmark): a command line that
# names one of these loads only its module (`--help`, the console and `incidents` do not pay
# for asyncio, statistics or subprocess). Any other word loads every module, and a word a
# module no longer registers too: a stale entry costs time, never a command.
COMMANDS_OF = {
    "dispatch.commands.incidents": ("units", "incidents", "events"),
    "dispatch.commands.geocode": ("geocode", "gazetteer", "bench geocode"),
    "dispatch.commands.roads": ("roads", "recommend", "bench recommend"),
    "dispatch.commands.replay": ("simulate", "state", "checkpoints", "stats", "import-calls", "bench replay"),
    "dispatch.commands.log": ("verify-log", "backup", "restore", "db-console-role", "bench follow"),
    "dispatch.commands.act": ("act",),
    "dispatch.commands.cti": ("cti",),
    "dispatch.commands.setup": ("setup",),
    "dispatch.commands.avl": ("avl", "bench avl"),
    "dispatch.commands.where": ("where",),
    "dispatch.commands.users": ("user",),
    "dispatch.commands.seats_bench": ("bench seats",),
    "dispatch.commands.data_import": ("import-grids", "import-stations", "import-roster", "import-city"),
}
_MODULE_OF = {command: module for module, commands in COMMANDS_OF.items() for command in commands}


class _Parser(argparse.ArgumentParser):
    """Every (sub)parser of the command line: a usage error is one Chinese line on stderr
    (argparse's English texts translated by usage_error), exit 2, no usage dump."""

    def error(self, message: str) -> NoReturn:
        _refuse(self.prog, usage_error(self, message))

    def parse_known_args(self, args: Sequence[str] | None = None,  # type: ignore[override]
                         namespace: argparse.Namespace | None = None) -> tuple[argparse.Namespace, list[str]]:
        parsed, extras = super().parse_known_args(args, namespace)
        if extras and not hasattr(parsed, _EXTRAS_OF):  # the innermost (sub)command left them over
            setattr(parsed, _EXTRAS_OF, self.prog)
        return parsed, extras

    def parse_args(self, args: Sequence[str] | None = None,  # type: ignore[override]
                   namespace: argparse.Namespace | None = None) -> argparse.Namespace:
        parsed, extras = self.parse_known_args(args, namespace)
        prog = vars(parsed).pop(_EXTRAS_OF, self.prog)
        if extras:
            _refuse(prog, f"不支持的参数 {' '.join(extras)}（用法见 {prog} --help）")
        return parsed


_EXTRAS_OF = "_unrecognized_by"  # the namespace attribute naming the command that did not know them


def _refuse(prog: str, text: str) -> NoReturn:
    sys.stderr.write(f"{prog}: 参数错误: {text}\n")
    raise SystemExit(2)


def usage_error(parser: argparse.ArgumentParser, message: str) -> str:
    """argparse's error `message` (English) in Chinese, naming the option, argument or
    (sub)command in question; a message it does not know (a type's own, already Chinese)
    keeps its words. Left-over arguments are _Parser.parse_args's to name."""
    found = re.fullmatch(r"argument (.+?): (.*)", message, re.S)
    if found:
        return _about_argument(parser, found[1], found[2])
    found = re.fullmatch(r"the following arguments are required: (.*)", message, re.S)
    if found:
        return "缺少" + "、".join(_required(parser, name) for name in found[1].split(", "))
    found = re.fullmatch(r"one of the arguments (.*) is required", message, re.S)
    if found:
        return f"须给出其中之一: {'、'.join(found[1].split())}"
    found = re.fullmatch(r"ambiguous option: (\S+) could match (.*)", message, re.S)
    if found:
        return f"选项 {found[1]} 有歧义，可能是: {'、'.join(found[2].split(', '))}"
    found = re.fullmatch(r"unexpected option string: (.*)", message, re.S)
    if found:
        return f"无法识别的选项 {found[1]}"
    return message


def _action_named(parser: argparse.ArgumentParser, name: str) -> argparse.Action | None:
    return next((a for a in parser._actions if argparse._get_action_name(a) == name), None)


def _what(parser: argparse.ArgumentParser, action: argparse.Action | None, name: str) -> str:
    if isinstance(action, argparse._SubParsersAction):
        return "子命令" if " " in parser.prog else "命令"  # `main.py user` has sub-commands
    return f"选项 {name}" if action is None or action.option_strings else f"参数 {name}"


def _required(parser: argparse.ArgumentParser, name: str) -> str:
    action = _action_named(parser, name)
    if isinstance(action, argparse._SubParsersAction):
        return f"{_what(parser, action, name)}（可用: {'、'.join(action.choices)}）"
    if action is not None and action.option_strings and action.nargs != 0:
        metavar = action.metavar if isinstance(action.metavar, str) else action.dest.upper()
        return f"选项 {name} {metavar}"
    return _what(parser, action, name)


def _given(text: str) -> str:
    """The value argparse quotes as a Python literal ('x'), as the user typed it."""
    try:
        value = ast.literal_eval(text)
    except (ValueError, SyntaxError):
        return text
    return value if isinstance(value, str) else text


def _about_argument(parser: argparse.ArgumentParser, name: str, message: str) -> str:
    action = _action_named(parser, name)
    what = _what(parser, action, name)
    choices = "、".join(map(str, action.choices)) if action is not None and action.choices else ""
    found = (re.fullmatch(r"invalid choice: (.*) \(choose from .*\)", message, re.S)
             or re.fullmatch(r"unknown parser (.*) \(choices: .*\)", message, re.S))
    if found and isinstance(action, argparse._SubParsersAction):
        return f"未知的{what}「{_given(found[1])}」；可用: {choices}"
    if found:
        return f"{what} 的取值「{_given(found[1])}」无效；可选: {choices}"
    counts = {"expected one argument": "后面缺少取值", "expected at most one argument": "最多接受一个取值",
              "expected at least one argument": "至少需要一个取值"}
    if message in counts:
        return f"{what} {counts[message]}"
    found = re.fullmatch(r"expected (\d+) arguments?", message)
    if found:
        return f"{what} 需要 {found[1]} 个取值"
    found = re.fullmatch(r"invalid (\S+) value: (.*)", message, re.S)
    if found:
        kind = {"int": "整数", "float": "数字"}.get(found[1], "取值")
        return f"{what} 的取值「{_given(found[2])}」不是有效的{kind}"
    found = re.fullmatch(r"ignored explicit argument (.*)", message, re.S)
    if found:
        return f"{what} 不接受取值（给了「{_given(found[1])}」）"
    found = re.fullmatch(r"not allowed with argument (.*)", message, re.S)
    if found:
        return f"{what} 不能与 {found[1]} 同时使用"
    found = re.fullmatch(r"can't open '(.*)': (.*)", message, re.S)
    if found:
        return f"{what}: 无法打开 {found[1]}: {found[2]}"
    return f"{what}: {message}"  # a type's own message (ArgumentTypeError), already in Chinese


class _Unparsable(Exception):
    pass


class _GlobalsOnly(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:  # the full parser says it, in its own words
        raise _Unparsable(message)


def _add_global_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--db", metavar="URL", help="database URL (default: SQLite file in the user data dir)")
    parser.add_argument("--data-dir", metavar="DIR", help="user data directory (database, caches)")
    parser.add_argument("--no-demo", action="store_true", help="start an empty database without the demo")
    parser.add_argument("--seat", help="seat name recorded in events")
    parser.add_argument("--operator", help="operator name recorded in events")
    parser.add_argument("--user", metavar="NAME", help="log in as this account (password from DISPATCH_PASSWORD)")
    parser.add_argument("--training", action="store_true",
                        help="training exercise: run on a fresh copy of the database, never the live one")


def command_words(argv: Sequence[str]) -> tuple[str | None, bool]:
    """The command a command line names ("bench NAME" for a benchmark; None for none, i.e.
    the console) and whether it asks for help; ("?", True) when it cannot be told."""
    probe = _GlobalsOnly(add_help=False)
    _add_global_options(probe)
    try:
        _, rest = probe.parse_known_args(list(argv))
    except _Unparsable:
        return "?", True
    words = [w for w in rest if not w.startswith("-")]
    wants_help = any(w in ("-h", "--help") for w in rest)
    if not words:
        return None, wants_help
    if words[0] == "bench":
        return (f"bench {words[1]}" if len(words) > 1 else "bench ?"), wants_help
    return words[0], wants_help


def first_guess(argv: Sequence[str]) -> tuple[str, ...]:
    """The core's command modules to load first for a command line: its command's module
    (COMMANDS_OF), every one for the bare `--help`, none for the console or a command the
    table does not name (perhaps a front end's; if not, build_parser loads them all)."""
    command, wants_help = command_words(argv)
    if command is None:
        return COMMAND_MODULES if wants_help else ()
    module = _MODULE_OF.get(command)
    return (module,) if module in COMMAND_MODULES else ()


def build_parser(extra_modules: Sequence[str] = (), argv: Sequence[str] | None = None) -> argparse.ArgumentParser:
    """The parser of the sub-commands: the core's (COMMAND_MODULES) and those a front end
    adds (`extra_modules`, e.g. the console itself from ui.commands: the core never imports ui;
    they are always loaded). Given the command line `argv`, only the core modules its
    command needs are loaded (first_guess); without it, or when the guess does not hold the
    command (a word no module registers, a table out of date), every one."""
    if argv is None:
        return _parser_of((*COMMAND_MODULES, *extra_modules))
    guess = first_guess(argv)
    parser = _parser_of((*guess, *extra_modules))
    command, _ = command_words(argv)
    if guess == COMMAND_MODULES or command is None or _registered(parser, command):
        return parser
    return _parser_of((*COMMAND_MODULES, *extra_modules))


def _parser_of(modules: Sequence[str]) -> argparse.ArgumentParser:
    parser = _Parser(prog="main.py", description="110 接处警调度台")
    _add_global_options(parser)
    commands = parser.add_subparsers(dest="command", parser_class=_Parser)
    bench_parser = commands.add_parser("bench", help="benchmarks; each prints one JSON line")
    bench = bench_parser.add_subparsers(dest="bench", parser_class=_Parser, required=True)
    parser.subcommands = (commands, bench)  # type: ignore[attr-defined]
    for name in modules:
        importlib.import_module(name).register(commands, bench)
    return parser


def _registered(parser: argparse.ArgumentParser, command: str) -> bool:
    commands, bench = parser.subcommands  # type: ignore[attr-defined]
    name = command.split(" ", 1)
    return name[1] in bench.choices if name[0] == "bench" else name[0] in commands.choices


# A coordinate pair with a minus sign ("-121.47,-31.23"): argparse takes anything starting
# with "-" that is not a plain negative number for an option, so `--near -200,-100` would
# be "--near 后面缺少取值"; such a value is joined to its option ("--near=-200,-100") and
# then refused by the command's own check (not in China) with a message that says so.
_NEGATIVE_PAIR = re.compile(r"-\s*\d*\.?\d+(?:[eE][-+]?\d+)?\s*[,，]\s*[-+]?\s*\d*\.?\d+(?:[eE][-+]?\d+)?")


def join_negative_values(argv: Sequence[str]) -> list[str]:
    """`argv` with each negative coordinate pair that follows an option (`--at -1,2`)
    joined to it (`--at=-1,2`); everything else as given (after `--`, untouched)."""
    out: list[str] = []
    for i, word in enumerate(argv):
        if word == "--":
            return out + list(argv[i:])
        prev = out[-1] if out else ""
        if _NEGATIVE_PAIR.fullmatch(word) and prev.startswith("-") and "=" not in prev and prev != "-":
            out[-1] = f"{prev}={word}"
        else:
            out.append(word)
    return out


def main(argv: list[str] | None = None, extra_modules: Sequence[str] = (),
         default: Callable[[argparse.Namespace], int] | None = None) -> int:
    """Run one sub-command; with none given, `default` (the console) or the help."""
    argv = join_negative_values(sys.argv[1:] if argv is None else argv)
    parser = build_parser(extra_modules, argv)
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
        from dispatch.importers.file_errors import os_error_text
        where = f" {exc.filename}" if getattr(exc, "filename", None) else ""
        sys.stderr.write(f"错误: 无法访问文件或目录{where}: {os_error_text(exc)}\n")
        return 2
