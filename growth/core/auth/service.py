"""API key use cases: create (shown once), authenticate, list, revoke."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from growth.core.auth.errors import (
    ApiKeyNotFound,
    InvalidApiKey,
    InvalidKeyRequest,
    RoleCannotSignIn,
    SignInRequired,
)
from growth.core.auth.models import ApiKey
from growth.core.auth.rules import (
    Role,
    can_sign_in,
    generate_key,
    hash_key,
    key_prefix,
    needs_touch,
    subject_problem,
)
from growth.core.cache import ALL, invalidate_after_commit

API_KEY_CHANGED = "api_key"
"""Cache invalidation topic; key: the API key's id (revoked)."""
KEY_CACHE_SECONDS = 10.0
"""How long another process may still accept a revoked key when the invalidation did not reach it."""


@dataclass(frozen=True)
class Principal:
    """Who is calling: the key's id, name, role and (for partners) subject."""

    key_id: UUID
    name: str
    role: Role
    subject_id: UUID | None


@dataclass(frozen=True)
class CreatedKey:
    api_key: ApiKey
    secret: str


async def create_key(
    session: AsyncSession, *, name: str, role: Role, subject_id: UUID | None = None
) -> CreatedKey:
    """Create a key; the returned secret is the only copy that will ever exist."""
    if problem := subject_problem(role, subject_id is not None):
        raise InvalidKeyRequest(problem)
    secret, prefix = generate_key()
    api_key = ApiKey(
        name=name, role=role.value, prefix=prefix, key_hash=hash_key(secret), subject_id=subject_id
    )
    session.add(api_key)
    await session.flush()
    return CreatedKey(api_key, secret)


def audit_values(api_key: ApiKey) -> dict[str, Any]:
    """What the audit log keeps of a key: what identifies it, never its secret or its hash."""
    return {
        "name": api_key.name,
        "role": api_key.role,
        "prefix": api_key.prefix,
        "subject_id": api_key.subject_id and str(api_key.subject_id),
        "revoked_at": api_key.revoked_at,
    }


@dataclass(frozen=True, slots=True)
class _CachedKey:
    principal: Principal
    last_used_at: datetime | None
    expires: float


class KeyCache:
    """Valid keys by hash, so most requests check their key without a query (or, on SQLite, a write lock).

    Revoking a key drops it here once the revocation commits (``API_KEY_CHANGED``), in this process at
    once and in the others through the invalidation relay; an entry lives ``ttl`` seconds in any case.
    Unknown and revoked keys are never cached: guessing keys cannot fill memory.
    """

    def __init__(
        self, *, ttl: float = KEY_CACHE_SECONDS, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._ttl = ttl
        self._clock = clock
        self._keys: dict[str, _CachedKey] = {}
        self._generation = 0

    def invalidate(self, topic: str, key: str) -> None:
        """Listener of ``growth.core.cache``: drop the revoked key (or everything)."""
        if topic == ALL:
            self._keys.clear()
        elif topic == API_KEY_CHANGED:
            self._keys = {h: e for h, e in self._keys.items() if str(e.principal.key_id) != key}
        else:
            return
        self._generation += 1

    async def authenticate(self, session: AsyncSession, secret: str, *, now: datetime) -> Principal:
        """As ``authenticate``, from the cache while the entry lives and the key's use is recorded."""
        key_hash = hash_key(secret)
        entry = self._keys.get(key_hash)
        if entry is not None and entry.expires > self._clock() and not needs_touch(entry.last_used_at, now):
            return entry.principal
        generation = self._generation
        api_key = await _valid_key(session, secret, now=now)
        principal = _principal(api_key)
        # A revocation that committed while the key was read may have been missed by the read: keep nothing.
        if generation == self._generation:
            self._keys[key_hash] = _CachedKey(principal, api_key.last_used_at, self._clock() + self._ttl)
        return principal


def _principal(api_key: ApiKey) -> Principal:
    return Principal(api_key.id, api_key.name, Role(api_key.role), api_key.subject_id)


async def _valid_key(session: AsyncSession, secret: str, *, now: datetime) -> ApiKey:
    if key_prefix(secret) is None:
        raise InvalidApiKey("malformed API key")
    api_key = await session.scalar(select(ApiKey).where(ApiKey.key_hash == hash_key(secret)))
    if api_key is None or api_key.revoked_at is not None:
        raise InvalidApiKey("unknown or revoked API key")
    if needs_touch(api_key.last_used_at, now):
        api_key.last_used_at = now
    return api_key


async def authenticate(session: AsyncSession, secret: str, *, now: datetime) -> Principal:
    """The principal of a valid, unrevoked key, or ``InvalidApiKey``."""
    return _principal(await _valid_key(session, secret, now=now))


async def list_keys(session: AsyncSession) -> list[ApiKey]:
    """Every key, newest first (hashes are never returned to clients)."""
    return list(await session.scalars(select(ApiKey).order_by(ApiKey.created_at.desc())))


async def revoke_key(session: AsyncSession, key_id: UUID, *, now: datetime) -> ApiKey:
    """Revoke a key; revoking twice keeps the first time."""
    api_key = await session.get(ApiKey, key_id)
    if api_key is None:
        raise ApiKeyNotFound(f"API key {key_id} not found")
    api_key.revoked_at = api_key.revoked_at or now
    invalidate_after_commit(session, API_KEY_CHANGED, str(api_key.id))
    return api_key


async def sign_in(session: AsyncSession, secret: str, *, now: datetime) -> Principal:
    """The principal of a key that may use the dashboard (admin, marketing, finance)."""
    principal = await authenticate(session, secret, now=now)
    if not can_sign_in(principal.role):
        raise RoleCannotSignIn(
            f"{principal.role.value} keys cannot sign in to the dashboard", role=principal.role
        )
    return principal


async def signed_in_principal(session: AsyncSession, key_id: UUID, *, now: datetime) -> Principal:
    """The principal behind a dashboard session, checked again on every page: revoking a key signs it out."""
    api_key = await session.get(ApiKey, key_id)
    if api_key is None or api_key.revoked_at is not None or not can_sign_in(Role(api_key.role)):
        raise SignInRequired("the key of this session is revoked; sign in again")
    if needs_touch(api_key.last_used_at, now):
        api_key.last_used_at = now
    return _principal(api_key)
