"""TOTP secrets encrypted at rest: users.totp_secret widened to 255 characters, plain values encrypted

Revision ID: 1c2d3e4f5a6b
Revises: 0b1c2d3e4f5a
Create Date: 2026-11-24 02:00:00

The stored form is "v1:" + base64 of AES-GCM (foerdercall/accounts/secrets.py). Existing plain secrets are
encrypted here when the app's configuration is at hand (flask-migrate runs the migrations in the app
context); otherwise they stay plain and the next successful login of each person stores them encrypted.

On SQLite the column is not widened by recreating ``users`` (batch mode's "move and copy"): the app turns
foreign keys on for every connection, and dropping the old table inside the migration's transaction would
cascade into role_grants and recovery_codes (or fail on proposals and audit events). SQLite adds, copies,
drops and renames the column in place instead (ALTER TABLE … ADD/DROP/RENAME COLUMN, SQLite ≥ 3.35).
"""

import sqlalchemy as sa
from alembic import context, op

# revision identifiers, used by Alembic.
revision = "1c2d3e4f5a6b"
down_revision = "0b1c2d3e4f5a"
branch_labels = None
depends_on = None


def _set_length(length: int) -> None:
    if op.get_context().dialect.name == "sqlite":  # also in offline (--sql) mode
        op.execute(f"ALTER TABLE users ADD COLUMN totp_secret_new VARCHAR({length})")
        op.execute("UPDATE users SET totp_secret_new = totp_secret")
        op.execute("ALTER TABLE users DROP COLUMN totp_secret")
        op.execute("ALTER TABLE users RENAME COLUMN totp_secret_new TO totp_secret")
        return
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.alter_column(
            "totp_secret",
            existing_type=sa.String(length=64 if length == 255 else 255),
            type_=sa.String(length=length),
            existing_nullable=True,
        )


def _app_config():
    """The running app's configuration, or None (offline SQL, or Alembic run without the Flask app)."""
    if context.is_offline_mode():
        return None
    try:
        from flask import current_app

        from foerdercall.accounts.secrets import SecretUnreadable, key_from_config

        config = current_app.config
        key_from_config(config)
    except (ImportError, RuntimeError, SecretUnreadable):
        return None
    return config


def _rows(bind):
    return bind.execute(sa.text("SELECT id, totp_secret FROM users WHERE totp_secret IS NOT NULL")).all()


def upgrade():
    _set_length(255)
    config = _app_config()
    if config is None:
        return  # left plain: rewritten encrypted at each person's next login
    from foerdercall.accounts.secrets import encrypt, is_encrypted

    bind = op.get_bind()
    for user_id, value in _rows(bind):
        if value and not is_encrypted(value):
            bind.execute(
                sa.text("UPDATE users SET totp_secret = :v WHERE id = :id"),
                {"v": encrypt(value, user_id, config), "id": user_id},
            )


def downgrade():
    if context.is_offline_mode():
        _set_length(64)  # offline SQL cannot decrypt: only for databases without encrypted secrets
        return
    bind = op.get_bind()
    encrypted = [(i, v) for i, v in _rows(bind) if v and v.startswith("v1:")]
    if encrypted:
        config = _app_config()
        if config is None:
            raise RuntimeError(
                "encrypted TOTP secrets need the app's configuration (the key) to be decrypted "
                "for the downgrade: run it with `foerdercall db downgrade`"
            )
        from foerdercall.accounts.secrets import decrypt

        for (
            user_id,
            value,
        ) in encrypted:  # SecretUnreadable (a wrong key) stops the downgrade: nothing changed
            bind.execute(
                sa.text("UPDATE users SET totp_secret = :v WHERE id = :id"),
                {"v": decrypt(value, user_id, config), "id": user_id},
            )
    _set_length(64)
