"""Password hashes made by libsodium and by argon2-cffi are the same format: existing accounts keep logging in."""

from __future__ import annotations

import argon2
import pytest
from argon2.exceptions import InvalidHashError, VerificationError
from conftest import PASSWORD

from foerdercall.accounts import operations as account_ops
from foerdercall.accounts.passwords import Argon2idHasher
from foerdercall.extensions import db

PARAMS = [(1, 1024, 1), (2, 4096, 1), (1, 8, 1), (2, 1024, 2)]


@pytest.mark.parametrize("t,m,p", PARAMS)
def test_hashes_of_either_library_verify_in_the_other(t, m, p):
    ours = Argon2idHasher(t, m, p)
    theirs = argon2.PasswordHasher(time_cost=t, memory_cost=m, parallelism=p)
    for password in ("correct horse battery", "Pässwört mit Umlauten ß €", "x" * 500):
        mine, other = ours.hash(password), theirs.hash(password)
        assert argon2.extract_parameters(mine) == argon2.extract_parameters(other)
        assert theirs.verify(mine, password) and ours.verify(other, password) and ours.verify(mine, password)
        for hashed in (mine, other):
            with pytest.raises(VerificationError):
                ours.verify(hashed, password + " ")
        assert not ours.check_needs_rehash(mine)


def test_long_hashes_and_other_types_are_still_verified():
    ours = Argon2idHasher(1, 1024, 1)
    long_hash = argon2.PasswordHasher(
        time_cost=1, memory_cost=1024, parallelism=1, hash_len=64, salt_len=32
    ).hash(PASSWORD)
    assert len(long_hash) > 127 and ours.verify(long_hash, PASSWORD)
    argon2i = argon2.PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1, type=argon2.Type.I).hash(
        PASSWORD
    )
    assert ours.verify(argon2i, PASSWORD)
    with pytest.raises(VerificationError):
        ours.verify(argon2i, "wrong")


def test_one_lane_argon2id_hashes_are_made_and_checked_by_libsodium_alone():
    """The fast path is the one taken (what the login's CPU time depends on): without argon2-cffi's hasher
    the application's hashes are still made and checked."""
    ours = Argon2idHasher(2, 4096, 1)
    other = argon2.PasswordHasher(time_cost=2, memory_cost=4096, parallelism=1).hash(PASSWORD)
    ours.fallback = None  # any use of argon2-cffi for hashing or verifying would fail with an AttributeError
    mine = ours.hash(PASSWORD)
    assert ours.verify(mine, PASSWORD) and ours.verify(other, PASSWORD)
    with pytest.raises(VerificationError):
        ours.verify(mine, "wrong")


BROKEN = ["", "not a hash", "$2b$12$abcdefghijklmnopqrstuv", "$argon2id$v=19$m=1024,t=1,p=1$AAAA$BBBB"]


@pytest.mark.parametrize("stored", BROKEN)
def test_a_broken_stored_hash_refuses_the_login_with_a_message(app, world, stored):
    world.applicant.password_hash = stored
    db.session.commit()
    with pytest.raises((InvalidHashError, VerificationError)):
        account_ops.password_hasher().verify(stored, PASSWORD)
    r = app.test_client().post("/login", data={"email": "app@x.test", "password": PASSWORD})
    assert r.status_code == 422
    assert "E-Mail-Adresse oder Passwort" in r.get_data(as_text=True)
