"""A command line loads only the command modules it names (issue 13, item 4): the console
and `incidents` do not import the benchmarks' asyncio or subprocess, `--help` still lists
every command, and a table out of date costs time, never a command."""
from __future__ import annotations

import argparse
import importlib
import subprocess
import sys

import pytest

from dispatch import cli


def _registered(module: str) -> set[str]:
    parser = argparse.ArgumentParser()
    commands = parser.add_subparsers(dest="command")
    bench = commands.add_parser("bench").add_subparsers(dest="bench")
    importlib.import_module(module).register(commands, bench)
    return {c for c in commands.choices if c != "bench"} | {f"bench {b}" for b in bench.choices}


@pytest.mark.parametrize("module", cli.COMMAND_MODULES)
def test_the_table_names_what_each_module_registers(module):
    assert set(cli.COMMANDS_OF[module]) == _registered(module)


@pytest.mark.parametrize(("argv", "words"), [
    ([], (None, False)),
    (["--help"], (None, True)),
    (["--db", "sqlite:///x", "--data-dir", "/tmp/x", "incidents", "--all"], ("incidents", False)),
    (["--seat", "bench", "units"], ("units", False)),  # an option's value is not the command
    (["--data", "/tmp/x", "where", "-h"], ("where", True)),  # abbreviated as argparse allows
    (["bench", "startup", "--runs", "1"], ("bench startup", False)),
    (["bench"], ("bench ?", False)),
    (["--db"], ("?", True)),  # cannot be told: every module, the full parser says what is wrong
])
def test_command_words(argv, words):
    assert cli.command_words(argv) == words


@pytest.mark.parametrize(("argv", "modules"), [
    ([], ()),
    (["incidents"], ("dispatch.commands.incidents",)),
    (["bench", "seats", "--help"], ("dispatch.commands.seats_bench",)),
    (["--help"], cli.COMMAND_MODULES),
    (["gui"], ()),  # a front end's command: its module is always loaded
    (["no-such-command"], ()),  # then every module (below)
])
def test_first_guess(argv, modules):
    assert cli.first_guess(argv) == modules


def test_a_stale_table_still_finds_the_command(monkeypatch):
    monkeypatch.setitem(cli._MODULE_OF, "units", "dispatch.commands.where")  # moved elsewhere since
    args = cli.build_parser(argv=["units", "--json"]).parse_args(["units", "--json"])
    assert args.command == "units" and args.json


def test_an_unknown_command_is_refused_naming_every_command(capsys):
    assert cli.main(["no-such-command"]) == 2
    err = capsys.readouterr().err
    assert "no-such-command" in err and "incidents" in err and "avl" in err


def _modules_after(argv: list[str]) -> set[str]:
    code = ("import sys; from dispatch.cli import build_parser; from ui.entry import UI_COMMANDS; "
            f"build_parser(UI_COMMANDS, {argv!r}); print(' '.join(sorted(sys.modules)))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return set(out.stdout.split())


def test_the_console_and_one_command_load_only_their_modules():
    console = _modules_after([])
    assert not {m for m in console if m.startswith("dispatch.commands.") and m != "dispatch.commands.support"}
    assert not {"asyncio", "platformdirs", "tomllib"} & console
    incidents = _modules_after(["incidents", "--json"])
    assert "dispatch.commands.incidents" in incidents and "dispatch.commands.avl" not in incidents
    assert "asyncio" not in incidents
    for argv in (["gui"], ["bench", "startup"]):  # the console's own commands
        assert "dispatch.commands.avl" not in _modules_after(argv)
    for argv in (["--help"], ["no-such-command"], ["bench"]):
        assert set(cli.COMMAND_MODULES) <= _modules_after(argv)
