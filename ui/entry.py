"""`main.py` and the `dispatch-console` script: every sub-command of the core plus the
console's own (ui.commands); with no sub-command, the console opens."""
from __future__ import annotations

from dispatch.cli import main as cli_main
from ui.commands import run_console

UI_COMMANDS = ("ui.commands",)


def main(argv: list[str] | None = None) -> int:
    return cli_main(argv, extra_modules=UI_COMMANDS, default=run_console)
