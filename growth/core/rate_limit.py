"""Rate limits on what can be guessed: referral codes, sign-in links and keys.

A limit is ``count/seconds`` (``10/600``: ten in a fixed ten-minute window) per bucket and key,
the client's address. Only attempts that could be a guess count: an
unknown code, a sign-in link asked for, a link or key that did not work. A working referral link is
never slowed down. Past the limit the answer is 429 with ``Retry-After``.

The counters live in the process (the embedded profile: one process) or, with ``GROWTH_REDIS_URL``,
in Redis, shared by every web process. Keys are stored as hashes: no address lands in Redis in clear.
(What one partner's address is sent is capped apart from this: at most five open sign-in links.)
"""

from __future__ import annotations

import hashlib
import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

from growth.core.errors import DomainError

CODE_LOOKUP = "code_lookup"
"""Unknown referral codes tried, per client."""
SIGN_IN = "sign_in"
"""Sign-in links asked for, and links or keys that did not work, per client."""
TOO_MANY_SIGN_INS = "too many sign-in attempts: wait and try again"


class TooManyRequests(DomainError):
    status_code = 429

    def __init__(self, message: str, *, retry_after: int) -> None:
        super().__init__(message, retry_after=retry_after)
        self.retry_after = retry_after


@dataclass(frozen=True, slots=True)
class Limit:
    count: int
    seconds: int

    def __str__(self) -> str:
        return f"{self.count}/{self.seconds}"


def parse_limit(value: str) -> Limit | None:
    """``"10/600"`` -> ten per 600 seconds; ``""`` or ``"off"`` -> no limit."""
    text = value.strip()
    if text in ("", "off"):
        return None
    count, sep, seconds = text.partition("/")
    if not sep or not count.strip().isdigit() or not seconds.strip().isdigit():
        raise ValueError(f"a rate limit is count/seconds, like 10/600: {value!r}")
    limit = Limit(int(count), int(seconds))
    if limit.count < 1 or limit.seconds < 1:
        raise ValueError(f"a rate limit needs a count and seconds of at least 1: {value!r}")
    return limit


def _window(limit: Limit, now: float) -> tuple[int, int]:
    """The fixed window ``now`` falls in, and the whole seconds until the next one starts."""
    index = int(now // limit.seconds)
    return index, max(1, math.ceil((index + 1) * limit.seconds - now))


def _hashed(bucket: str, key: str) -> str:
    return f"{bucket}:{hashlib.sha256(key.encode()).hexdigest()[:32]}"


class Counters(Protocol):
    async def count(self, bucket: str, key: str, limit: Limit) -> int | None:
        """Count one attempt; ``None`` while within the limit, else the seconds to wait."""
        ...

    async def close(self) -> None: ...


class MemoryCounters:
    """Counters of this process: a dict of (bucket, hashed key) -> (window, attempts)."""

    def __init__(self, clock: Callable[[], float] = time.time) -> None:
        self._clock = clock
        self._counts: dict[str, tuple[int, int]] = {}

    async def count(self, bucket: str, key: str, limit: Limit) -> int | None:
        now = self._clock()
        window, wait = _window(limit, now)
        if len(self._counts) > 100_000:  # forget finished windows rather than grow without end
            self._counts = {k: v for k, v in self._counts.items() if v[0] >= window}
        name = _hashed(bucket, key)
        seen_window, attempts = self._counts.get(name, (window, 0))
        attempts = attempts + 1 if seen_window == window else 1
        self._counts[name] = (window, attempts)
        return wait if attempts > limit.count else None

    async def close(self) -> None:
        self._counts.clear()


class RedisCounters:
    """Counters shared by every process: ``INCR`` on a key per window, which expires with it."""

    def __init__(self, redis_url: str, prefix: str, clock: Callable[[], float] = time.time) -> None:
        import redis.asyncio as redis  # the production profile's dependency, loaded only there

        self._client: Any = redis.Redis.from_url(redis_url)
        self._prefix = prefix
        self._clock = clock

    async def count(self, bucket: str, key: str, limit: Limit) -> int | None:
        window, wait = _window(limit, self._clock())
        name = f"{self._prefix}:ratelimit:{_hashed(bucket, key)}:{window}"
        async with self._client.pipeline(transaction=True) as pipe:
            pipe.incr(name)
            pipe.expire(name, limit.seconds + 1)
            attempts, _ = await pipe.execute()
        return wait if int(attempts) > limit.count else None

    async def close(self) -> None:
        await self._client.aclose()


class RateLimits:
    """The service's limits by bucket, over one set of counters."""

    def __init__(
        self, counters: Counters, limits: dict[str, Limit | None], clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._counters = counters
        self._limits = limits
        self._clock = clock
        self._refused: dict[tuple[str, str], float] = {}

    async def check(self, bucket: str, key: str, message: str) -> None:
        """Count an attempt; raise ``TooManyRequests`` past the bucket's limit (none set: never)."""
        limit = self._limits.get(bucket)
        if limit is None:
            return
        wait = await self._counters.count(bucket, key, limit)
        if wait is not None:
            if len(self._refused) > 10_000:
                now = self._clock()
                self._refused = {k: until for k, until in self._refused.items() if until > now}
            self._refused[(bucket, key)] = self._clock() + wait
            raise TooManyRequests(message, retry_after=wait)

    def refused_for(self, bucket: str, key: str) -> int | None:
        """The seconds ``key`` must still wait if this process refused it in ``bucket``; no I/O.

        For limits that count only failures (unknown codes): a client past the limit must not learn
        from a success either, so every attempt of it is refused until the window ends. Each process
        learns of a refusal from that client's next failure there."""
        if not self._refused:
            return None
        until = self._refused.get((bucket, key))
        if until is None:
            return None
        wait = until - self._clock()
        if wait <= 0:
            del self._refused[(bucket, key)]
            return None
        return max(1, math.ceil(wait))

    def refuse_if_refused(self, bucket: str, key: str, message: str) -> None:
        """Raise ``TooManyRequests`` while ``refused_for`` says ``key`` must wait."""
        if (wait := self.refused_for(bucket, key)) is not None:
            raise TooManyRequests(message, retry_after=wait)

    async def close(self) -> None:
        await self._counters.close()


def client_key(scope: Any) -> str:
    """The client's address (behind a proxy: the proxy's, unless the server is told to trust it)."""
    client = scope.get("client")
    return client[0] if client else "unknown"
