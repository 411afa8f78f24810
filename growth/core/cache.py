"""Dropping cached copies of rows when the rows change: in this process at once, in the others
through Redis pub/sub (production profile), and after a short TTL in any case.

A service that changes something a cache holds calls ``invalidate_after_commit(session, topic, key)``;
once its transaction commits, every listener of this process is told ``(topic, key)`` and, when a
``RedisInvalidationRelay`` runs, so is every other process on the same channel. A rolled-back
transaction tells nobody. Telling too much is harmless (the cache reloads), so a relay that lost its
connection tells its listeners to drop everything (``ALL``) when it is back.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import uuid
from collections.abc import Callable
from typing import Any

import structlog
from sqlalchemy import event as sa_event
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session

log = structlog.get_logger()

Listener = Callable[[str, str], None]
"""``(topic, key)``: drop what is cached under that key of that topic (``ALL``, ``ALL``: everything)."""

ALL = "*"
CAMPAIGN_CHANGED = "campaign"
"""Key: the campaign's id."""
REFERRAL_CODE_CHANGED = "referral_code"
"""Key: the code's ``code_key`` (issued, revoked or reinstated)."""
CUSTOMER_CHANGED = "customer"
"""Key: the customer's id (deleted: their codes stop working)."""
_PENDING_KEY = "cache_invalidations"
_listeners: list[Listener] = []
_relays: list[Listener] = []
RECONNECT_SECONDS = 1.0


def subscribe(listener: Listener) -> Callable[[], None]:
    """Tell ``listener`` of every invalidation in this process (and those relayed from others);
    returns the function that stops it."""
    _listeners.append(listener)
    return lambda: _listeners.remove(listener) if listener in _listeners else None


def _deliver_here(topic: str, key: str) -> None:
    for listener in list(_listeners):
        try:
            listener(topic, key)
        except Exception:  # one broken cache must not keep the others stale
            log.exception("growth.cache.listener_failed", topic=topic)


def invalidate(topic: str, key: str) -> None:
    """Drop ``(topic, key)`` now, here and (through the relays) in the other processes."""
    _deliver_here(topic, key)
    for relay in list(_relays):
        relay(topic, key)


def invalidate_after_commit(session: AsyncSession, topic: str, key: str) -> None:
    """Drop ``(topic, key)`` everywhere once the caller's transaction has committed."""
    session.info.setdefault(_PENDING_KEY, []).append((topic, key))


@sa_event.listens_for(Session, "after_commit")
def _invalidate_after_commit(session: Session) -> None:
    # Only now can another connection read the change: a cache reloading earlier would keep the old row.
    for topic, key in session.info.pop(_PENDING_KEY, ()):
        invalidate(topic, key)


@sa_event.listens_for(Session, "after_rollback")
def _forget_after_rollback(session: Session) -> None:
    session.info.pop(_PENDING_KEY, None)


class RedisInvalidationRelay:
    """Carries this process's invalidations to the others over a Redis pub/sub channel, and theirs here.

    Pub/sub keeps no history: a message sent while a process is disconnected is lost to it, which is why
    (re)subscribing drops everything, and why caches still expire on their own.
    """

    def __init__(self, redis_url: str, channel: str) -> None:
        self._redis_url = redis_url
        self.channel = channel
        self._origin = uuid.uuid4().hex
        self._outgoing: asyncio.Queue[str] | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._tasks: list[asyncio.Task[None]] = []
        self.subscribed = asyncio.Event()

    async def start(self) -> None:
        """Connect, and relay until ``stop()``; returns once subscribed (or after a short wait)."""
        import redis.asyncio as redis  # the production profile's dependency, loaded only there

        self._client: Any = redis.Redis.from_url(self._redis_url)
        self._loop = asyncio.get_running_loop()
        self._outgoing = asyncio.Queue()
        self._tasks = [
            asyncio.create_task(self._listen(), name="cache-invalidation-listen"),
            asyncio.create_task(self._send(), name="cache-invalidation-send"),
        ]
        _relays.append(self._forward)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self.subscribed.wait(), timeout=2)

    async def stop(self) -> None:
        if self._forward in _relays:
            _relays.remove(self._forward)
        if self._outgoing is not None:
            # Send what is queued before leaving: another process may still serve the old row.
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._outgoing.join(), timeout=2)
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._tasks = []
        await self._client.aclose()

    def _forward(self, topic: str, key: str) -> None:
        # Commits may happen on another thread (tests drive the app from one): hand over thread-safely.
        if self._loop is None or self._outgoing is None or self._loop.is_closed():
            return
        message = json.dumps({"origin": self._origin, "topic": topic, "key": key})
        self._loop.call_soon_threadsafe(self._outgoing.put_nowait, message)

    async def _send(self) -> None:
        assert self._outgoing is not None
        while True:
            message = await self._outgoing.get()
            try:
                await self._client.publish(self.channel, message)
            except Exception:
                # Lost: the other processes' caches expire on their own (the TTL).
                log.warning("growth.cache.publish_failed", channel=self.channel)
            finally:
                self._outgoing.task_done()

    async def _listen(self) -> None:
        while True:
            pubsub = self._client.pubsub(ignore_subscribe_messages=True)
            try:
                await pubsub.subscribe(self.channel)
                # Whatever was sent while this process was not listening is lost: start from nothing.
                _deliver_here(ALL, ALL)
                self.subscribed.set()
                async for message in pubsub.listen():
                    self._receive(message.get("data"))
            except asyncio.CancelledError:
                raise
            except Exception:
                log.warning("growth.cache.relay_disconnected", channel=self.channel)
                self.subscribed.clear()
                await asyncio.sleep(RECONNECT_SECONDS)
            finally:
                with contextlib.suppress(Exception):
                    await pubsub.aclose()

    def _receive(self, data: bytes | str | None) -> None:
        try:
            message = json.loads(data or "")
            if message["origin"] != self._origin:  # our own were delivered here when they happened
                _deliver_here(str(message["topic"]), str(message["key"]))
        except (ValueError, KeyError, TypeError):
            log.warning("growth.cache.bad_message", channel=self.channel)
