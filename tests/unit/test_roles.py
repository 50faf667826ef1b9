"""Roles and what each may do; the password hash (scrypt, random salt, constant-time check)."""
from __future__ import annotations

import pytest

from dispatch.domain.errors import DispatchError
from dispatch.domain.roles import ANONYMOUS, Role, check, parse_role
from dispatch.store.accounts import hash_password, verify_password


def test_roles_are_spelled_in_english_or_chinese():
    assert parse_role("lead") is Role.LEAD and parse_role("值班长") is Role.LEAD
    assert parse_role(" 培训师 ") is Role.TRAINER
    with pytest.raises(DispatchError, match="未知的角色"):
        parse_role("局长")


def test_each_refusal_names_the_role_needed():
    check("lead", "place.confirm", training=False)
    check("admin", "place.confirm", training=False)
    with pytest.raises(DispatchError, match="需要值班长或管理员权限"):
        check("calltaker", "place.confirm", training=False)
    with pytest.raises(DispatchError, match="需要管理员权限"):
        check("lead", "account.manage", training=False)
    with pytest.raises(DispatchError, match="需要接警员或调度员或值班长权限"):
        check("admin", "incident.close", training=False)
    for role in ("calltaker", "dispatcher", "lead"):
        check(role, "incident.close", training=False)


def test_a_trainer_writes_only_on_a_training_copy():
    check("trainer", "incident.write", training=True)
    check("trainer", "incident.close", training=True)
    with pytest.raises(DispatchError, match="培训师只能在培训副本"):
        check("trainer", "incident.write", training=False)
    with pytest.raises(DispatchError, match="需要值班长或管理员权限"):  # not even in training
        check("trainer", "place.confirm", training=True)


def test_nobody_logged_in_is_refused_and_no_login_layer_is_not_checked():
    with pytest.raises(DispatchError, match="需要登录"):
        check(ANONYMOUS, "incident.write", training=False)
    check(None, "account.manage", training=False)


def test_password_hash_is_salted_scrypt_with_its_parameters():
    a, b = hash_password("correct horse"), hash_password("correct horse")
    assert a != b  # random salt
    scheme, n, r, p, salt, key = a.split("$")
    assert (scheme, int(n), int(r), int(p)) == ("scrypt", 2**14, 8, 1)
    assert len(bytes.fromhex(salt)) == 16 and len(bytes.fromhex(key)) == 32
    assert "correct" not in a
    assert verify_password("correct horse", a) and verify_password("correct horse", b)
    assert not verify_password("correct hors", a)
    assert not verify_password("", a)


def test_a_tampered_or_malformed_hash_never_matches():
    h = hash_password("秘密口令123")
    assert verify_password("秘密口令123", h)
    scheme, n, r, p, salt, key = h.split("$")
    flipped = key[:-1] + ("0" if key[-1] != "0" else "1")
    assert not verify_password("秘密口令123", "$".join((scheme, n, r, p, salt, flipped)))
    assert not verify_password("秘密口令123", "$".join((scheme, "3", r, p, salt, key)))  # n not a power of 2
    for bad in ("", "plain", "md5$1$2$3$aa$bb", "scrypt$x$8$1$aa$bb"):
        assert not verify_password("秘密口令123", bad)
