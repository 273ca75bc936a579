"""Password hashes made with other argon2 parameters are replaced at the next successful login."""

from __future__ import annotations

import argon2
from argon2 import PasswordHasher
from conftest import PASSWORD

from foerdercall.accounts import operations as account_ops
from foerdercall.extensions import db


def _login(client, email, password):
    return client.post("/login", data={"email": email, "password": password})


def _params(user) -> tuple[int, int, int]:
    db.session.expire_all()
    p = argon2.extract_parameters(user.password_hash)
    return p.time_cost, p.memory_cost, p.parallelism


def test_an_old_hash_is_rehashed_with_the_configured_parameters_at_login(app, world, monkeypatch):
    monkeypatch.setattr(account_ops, "_hasher", None)  # the parameters come from the config, not the override
    app.config.update(PASSWORD_HASH_TIME_COST=1, PASSWORD_HASH_MEMORY_KIB=2048, PASSWORD_HASH_PARALLELISM=1)
    user = world.applicant
    user.password_hash = PasswordHasher(time_cost=2, memory_cost=1024, parallelism=2).hash(PASSWORD)
    db.session.commit()
    old_hash = user.password_hash

    # a wrong password changes nothing
    assert _login(app.test_client(), "app@x.test", "not the password").status_code == 422
    db.session.expire_all()
    assert user.password_hash == old_hash

    # the right one logs in and stores a hash with the configured parameters
    assert _login(app.test_client(), "app@x.test", PASSWORD).status_code == 302
    assert _params(user) == (1, 2048, 1)
    new_hash = user.password_hash
    assert new_hash != old_hash

    # the new hash works, and a login with current parameters keeps it
    assert _login(app.test_client(), "app@x.test", PASSWORD).status_code == 302
    db.session.expire_all()
    assert user.password_hash == new_hash


def test_the_defaults_are_owasps_argon2id_minimum(app, world, monkeypatch):
    monkeypatch.setattr(account_ops, "_hasher", None)
    assert (
        app.config["PASSWORD_HASH_TIME_COST"],
        app.config["PASSWORD_HASH_MEMORY_KIB"],
        app.config["PASSWORD_HASH_PARALLELISM"],
    ) == (2, 19456, 1)
    h = account_ops.hash_password(PASSWORD)
    p = argon2.extract_parameters(h)
    assert (p.type, p.time_cost, p.memory_cost, p.parallelism) == (argon2.Type.ID, 2, 19456, 1)
