"""Operator accounts in the `accounts` table, and their password hashes.

A password is stored as `scrypt$N$r$p$<salt hex>$<key hex>`: hashlib.scrypt with a
random 16-byte salt, its cost parameters kept beside the key so that they can be
raised later without invalidating old hashes; checked in constant time."""
from __future__ import annotations

import hashlib
import hmac
import os
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from dispatch.store.schema import AccountRow

SCRYPT_N, SCRYPT_R, SCRYPT_P, KEY_LEN, SALT_LEN = 2**14, 8, 1, 32, 16
_MAXMEM = 64 * 1024 * 1024


def hash_password(password: str) -> str:
    """The storable scrypt hash of `password` (random salt, parameters included)."""
    salt = os.urandom(SALT_LEN)
    key = _scrypt(password, salt, SCRYPT_N, SCRYPT_R, SCRYPT_P, KEY_LEN)
    return f"scrypt${SCRYPT_N}${SCRYPT_R}${SCRYPT_P}${salt.hex()}${key.hex()}"


def verify_password(password: str, stored: str) -> bool:
    """True when `password` matches `stored` (constant-time comparison of the keys).
    A malformed stored value never matches."""
    try:
        scheme, n, r, p, salt, key = stored.split("$")
        if scheme != "scrypt":
            return False
        expected = bytes.fromhex(key)
        actual = _scrypt(password, bytes.fromhex(salt), int(n), int(r), int(p), len(expected))
    except (ValueError, OverflowError, MemoryError):
        return False
    return hmac.compare_digest(actual, expected)


_DUMMY = None


def burn_time(password: str) -> None:
    """As long as a real check: an unknown account name must not answer faster."""
    global _DUMMY
    _DUMMY = _DUMMY or hash_password("")
    verify_password(password, _DUMMY)


def _scrypt(password: str, salt: bytes, n: int, r: int, p: int, dklen: int) -> bytes:
    return hashlib.scrypt(password.encode("utf-8"), salt=salt, n=n, r=r, p=p, maxmem=_MAXMEM, dklen=dklen)


def count(s: Session, demo: bool | None = None) -> int:
    """How many accounts (only demo ones, or only the others, when `demo` is given)."""
    q = select(func.count()).select_from(AccountRow)
    if demo is not None:
        q = q.where(AccountRow.demo.is_(demo))
    return int(s.scalar(q) or 0)


def get(s: Session, name: str) -> AccountRow | None:
    return s.get(AccountRow, name)


def add(s: Session, name: str, role: str, password_hash: str, at: datetime, demo: bool = False) -> AccountRow:
    """Insert one account with its hash_password() value (the caller has checked the name is free)."""
    row = AccountRow(name=name, role=role, password_hash=password_hash, created_at=at, demo=demo)
    s.add(row)
    return row


def all_accounts(s: Session) -> list[AccountRow]:
    return list(s.scalars(select(AccountRow).order_by(AccountRow.name)))
