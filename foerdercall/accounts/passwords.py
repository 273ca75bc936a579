"""argon2id password hashes, computed by libsodium where it can and by argon2-cffi otherwise.

Both write and read the same standard encoding (``$argon2id$v=19$m=…,t=…,p=…$salt$hash``), so a hash made
by one is verified by the other and nothing stored changes. libsodium (through PyNaCl) has argon2 code for
AVX2 and AVX-512; argon2-cffi's bundled code does not: on this project's machines libsodium verifies a hash
with OWASP's minimum parameters (m=19456 KiB, t=2, p=1) in 11 ms of CPU instead of 23 ms
(``bench/surge.py`` prints the time it measured). That is the same work for an attacker's hardware: what
libsodium saves is only what the reference code wasted.

libsodium computes argon2id with one lane only; hashes with ``p`` > 1, argon2i/argon2d hashes and hashes
outside libsodium's limits (a string longer than 127 characters) go to argon2-cffi. The interface is
argon2-cffi's ``PasswordHasher``: ``hash``, ``verify`` (raises ``VerificationError``/``InvalidHashError``),
``check_needs_rehash``.
"""

from __future__ import annotations

import argon2
import nacl.exceptions
import nacl.pwhash
import nacl.pwhash.argon2id as sodium
from argon2.exceptions import InvalidHashError, VerifyMismatchError


def _sodium_can(time_cost: int, memory_kib: int, parallelism: int) -> bool:
    return (
        parallelism == 1
        and sodium.OPSLIMIT_MIN <= time_cost <= sodium.OPSLIMIT_MAX
        and sodium.MEMLIMIT_MIN <= memory_kib * 1024 <= sodium.MEMLIMIT_MAX
    )


class Argon2idHasher:
    def __init__(self, time_cost: int, memory_cost: int, parallelism: int) -> None:
        self.time_cost, self.memory_cost, self.parallelism = time_cost, memory_cost, parallelism
        # salt 16 bytes and hash 32 bytes, as libsodium writes them
        self.fallback = argon2.PasswordHasher(
            time_cost=time_cost, memory_cost=memory_cost, parallelism=parallelism, hash_len=32, salt_len=16
        )

    def hash(self, password: str) -> str:
        if _sodium_can(self.time_cost, self.memory_cost, self.parallelism):
            return sodium.str(
                password.encode(), opslimit=self.time_cost, memlimit=self.memory_cost * 1024
            ).decode("ascii")
        return self.fallback.hash(password)

    def verify(self, hash: str, password: str) -> bool:
        params = argon2.extract_parameters(hash)  # InvalidHashError for anything that is no argon2 hash
        if (
            params.type is argon2.Type.ID
            and params.version == 19
            and len(hash) <= nacl.pwhash.PWHASH_SIZE
            and _sodium_can(params.time_cost, params.memory_cost, params.parallelism)
        ):
            try:
                return sodium.verify(hash.encode("ascii"), password.encode())
            except nacl.exceptions.InvalidkeyError:
                raise VerifyMismatchError("the password does not match the hash") from None
            except (UnicodeEncodeError, ValueError) as e:
                raise InvalidHashError(str(e)) from None
        return self.fallback.verify(hash, password)

    def check_needs_rehash(self, hash: str) -> bool:
        return self.fallback.check_needs_rehash(hash)
