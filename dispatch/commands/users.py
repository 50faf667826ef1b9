"""`user add NAME --role ROLE --password-stdin` and `user list [--json]`: operator accounts."""
from __future__ import annotations

import argparse
import sys

from dispatch.commands.support import open_app, print_json
from dispatch.domain.errors import DispatchError


def register(commands: argparse._SubParsersAction, bench: argparse._SubParsersAction) -> None:
    user = commands.add_parser("user", help="operator accounts (账号)")
    sub = user.add_subparsers(dest="user_command", required=True, parser_class=type(user))
    p = sub.add_parser("add", help="add an account (an admin's job; the first admin needs no login)")
    p.add_argument("name")
    p.add_argument("--role", required=True,
                   help="calltaker | dispatcher | lead | trainer | admin (or 接警员 调度员 值班长 培训师 管理员)")
    p.add_argument("--password-stdin", action="store_true", required=True,
                   help="read the new account's password from the first line of stdin")
    p.set_defaults(handler=_add)
    p = sub.add_parser("list", help="accounts with their roles (never their hashes)")
    p.add_argument("--json", action="store_true")
    p.set_defaults(handler=_list)


def _add(args: argparse.Namespace) -> int:
    from dispatch.domain.roles import parse_role
    from dispatch.services.accounts import add_account, check_name
    role = parse_role(args.role)  # the arguments before the password: nobody types one for a bad role
    check_name(args.name)
    line = sys.stdin.readline()
    password = line[:-1] if line.endswith("\n") else line
    password = password[:-1] if password.endswith("\r") else password
    if not password:
        raise DispatchError("没有从标准输入读到密码（--password-stdin：第一行是密码）")
    app = open_app(args)
    add_account(app.services.ctx, args.name, args.role, password)
    print_json({"ok": True, "name": args.name.strip(), "role": role.value})
    return 0


def _list(args: argparse.Namespace) -> int:
    from dispatch.services.accounts import list_accounts
    rows = list_accounts(open_app(args).store)
    if args.json:
        print_json(rows)
    else:
        for r in rows:
            print(f"{r['name']}\t{r['role_label']}（{r['role']}）" + ("\t演示账号" if r["demo"] else ""))
    return 0
