"""The audit log as the kernel sees it: who acted, and a way to record without importing ``growth.audit``.

``growth/core`` may import no feature module, yet the API keys it owns are access that must be audited.
So the kernel depends on this port only: ``growth.audit.service`` installs its ``record`` here when it
is imported (the app factory imports it), and the kernel's controllers call :func:`record`.
Every other package calls ``growth.audit.service.record`` directly.
"""

from __future__ import annotations

from collections.abc import Awaitable
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, Protocol

from sqlalchemy.ext.asyncio import AsyncSession

from growth.core.auth.service import Principal


class ActorKind(StrEnum):
    api_key = "api_key"
    partner_session = "partner_session"
    system = "system"
    cli = "cli"


@dataclass(frozen=True, slots=True)
class Actor:
    """Who did it: an API key (or a dashboard session opened with one), a partner, the system, the CLI."""

    kind: ActorKind
    id: str | None
    """The key's id or the partner's id; None for the system and the CLI."""
    name: str

    @classmethod
    def of_principal(cls, principal: Principal) -> Actor:
        """The API key behind a request (``request.state.principal``)."""
        return cls(ActorKind.api_key, str(principal.key_id), f"{principal.name} ({principal.role.value})")

    @classmethod
    def system(cls, name: str = "system") -> Actor:
        """A background job (``rewards.approve_due``, an outbox handler...)."""
        return cls(ActorKind.system, None, name)

    @classmethod
    def cli(cls, name: str = "cli") -> Actor:
        """Someone at the ``growth`` command line."""
        return cls(ActorKind.cli, None, name)


class Recorder(Protocol):
    def __call__(
        self,
        session: AsyncSession,
        *,
        action: str,
        subject_type: str,
        subject_id: str,
        before: Any = None,
        after: Any = None,
        actor: Actor | None = None,
    ) -> Awaitable[object]: ...


_recorder: Recorder | None = None


def install(recorder: Recorder) -> None:
    """Make ``recorder`` the audit log behind :func:`record` (called once, by ``growth.audit.service``)."""
    global _recorder
    _recorder = recorder


async def record(
    session: AsyncSession,
    *,
    action: str,
    subject_type: str,
    subject_id: str,
    before: Any = None,
    after: Any = None,
    actor: Actor | None = None,
) -> None:
    """Append an entry to the audit log in the caller's transaction (see ``growth.audit.service.record``)."""
    if _recorder is None:
        # Failing is safer than an access change nobody can trace; the app factory always installs it.
        raise RuntimeError("the audit log is not installed: import growth.audit.service")
    await _recorder(
        session,
        action=action,
        subject_type=subject_type,
        subject_id=subject_id,
        before=before,
        after=after,
        actor=actor,
    )
