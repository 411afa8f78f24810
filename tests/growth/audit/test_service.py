"""Recording, reading and verifying the audit log against a real database, and proving it append-only."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace
from typing import Any
from uuid import UUID

import pytest
import structlog
from litestar.datastructures import State
from sqlalchemy import delete, select, text, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from growth.audit import service as audit_service
from growth.audit.models import AuditEntry
from growth.audit.rules import REDACTED
from growth.core import audit_port
from growth.core.auth.rules import Role
from growth.core.auth.service import Principal
from growth.core.db import SessionMaker
from tests.conftest import triggers_bypassed
from tests.factories import create_partner

NOW = datetime(2026, 11, 20, 8, 0, tzinfo=UTC)
FINANCE = audit_service.Actor(audit_service.ActorKind.api_key, "key-1", "ops (finance)")


async def _record(
    session: AsyncSession, action: str = "partner.status_changed", **fields: object
) -> AuditEntry:
    values: dict[str, object] = {
        "subject_type": "partner",
        "subject_id": "p-1",
        "before": {"status": "applied"},
        "after": {"status": "approved"},
        "actor": FINANCE,
        "now": NOW,
    }
    return await audit_service.record(session, action=action, **{**values, **fields})  # type: ignore[arg-type]


def _request(**state: object) -> Any:
    return SimpleNamespace(state=State(state))


async def _stored(session_maker: SessionMaker) -> list[tuple[int, str, object]]:
    async with session_maker() as s:
        rows = await s.execute(
            select(AuditEntry.sequence, AuditEntry.action, AuditEntry.after).order_by(AuditEntry.sequence)
        )
        return [tuple(row) for row in rows]  # type: ignore[misc]


class TestRecord:
    async def test_entries_are_chained_in_sequence_and_read_back(self, session: AsyncSession) -> None:
        first = await _record(session)
        second = await _record(
            session, action="payout_run.created", subject_type="payout_run", subject_id="r-1"
        )
        await session.commit()

        assert (first.sequence, second.sequence) == (1, 2)
        assert first.actor_kind == "api_key" and first.actor_id == "key-1"
        assert (await audit_service.verify_chain(session)) == audit_service.ChainVerification(
            True, 2, None, None
        )
        read = await audit_service.list_entries(session, audit_service.filters(), limit=10, offset=0)
        assert [e.sequence for e in read] == [2, 1]  # newest first

    async def test_no_value_is_sql_null(self, session: AsyncSession) -> None:
        created = await _record(session, before=None, after={"status": "applied"})
        await session.commit()
        assert await session.scalar(select(AuditEntry.id).where(AuditEntry.before.is_(None))) == created.id

    async def test_the_request_id_comes_from_the_logging_context(self, session: AsyncSession) -> None:
        with structlog.contextvars.bound_contextvars(request_id="req-42"):
            inside = await _record(session)
        outside = await _record(session)
        assert (inside.request_id, outside.request_id) == ("req-42", None)

    async def test_the_actor_defaults_to_the_system(self, session: AsyncSession) -> None:
        entry = await _record(session, actor=None)
        assert (entry.actor_kind, entry.actor_id, entry.actor_name) == ("system", None, "system")
        cli = await _record(session, actor=audit_service.cli_actor("growth keys create"))
        assert (cli.actor_kind, cli.actor_name) == ("cli", "growth keys create")

    def test_the_actor_of_a_request_is_its_key_or_its_signed_in_partner(self) -> None:
        key = Principal(UUID(int=7), "ops", Role.finance, None)
        assert audit_service.actor_from_request(_request(principal=key)) == audit_service.Actor(
            audit_service.ActorKind.api_key, str(UUID(int=7)), "ops (finance)"
        )
        partner = SimpleNamespace(id=UUID(int=8), name="Northwind")
        assert audit_service.actor_from_request(_request(partner=partner)) == audit_service.Actor(
            audit_service.ActorKind.partner_session, str(UUID(int=8)), "Northwind"
        )
        with pytest.raises(LookupError):
            audit_service.actor_from_request(_request())

    async def test_secrets_are_never_stored(self, session: AsyncSession) -> None:
        entry = await _record(
            session,
            action="payout_account.changed",
            before=None,
            after={"bank_account_number": "6222020200112233", "key_hash": "abc", "provider": "bank"},
        )
        await session.commit()
        stored = await session.scalar(select(AuditEntry.after).where(AuditEntry.id == entry.id))
        assert stored == {"bank_account_number": "****2233", "key_hash": REDACTED, "provider": "bank"}

    async def test_a_snapshot_takes_chosen_columns_as_json(self, session: AsyncSession) -> None:
        partner = await create_partner(session, name="Northwind")
        values = audit_service.snapshot(partner, "id", "name", "status", "created_at", masked=["name"])
        assert values == {
            "id": str(partner.id),
            "name": "****wind",
            "status": "approved",
            "created_at": partner.created_at.astimezone(UTC).isoformat(),
        }

    @pytest.mark.parametrize(
        "fields",
        [{"action": "Created"}, {"action": "created"}, {"subject_id": ""}, {"after": {"rate": 0.1}}],
    )
    async def test_malformed_entries_are_refused(
        self, session: AsyncSession, fields: dict[str, object]
    ) -> None:
        with pytest.raises((ValueError, TypeError)):
            await _record(session, **fields)

    async def test_the_kernel_records_through_the_port(self, session: AsyncSession) -> None:
        await audit_port.record(session, action="api_key.created", subject_type="api_key", subject_id="k-9")
        entries = await audit_service.list_entries(
            session, audit_service.filters(subject_id="k-9"), limit=5, offset=0
        )
        assert [e.action for e in entries] == ["api_key.created"]


class TestFilters:
    async def test_every_filter_narrows_the_entries(self, session: AsyncSession) -> None:
        with structlog.contextvars.bound_contextvars(request_id="req-1"):
            await _record(session, action="payout.confirmed", subject_type="payout", subject_id="po-1")
        await _record(
            session,
            action="payout.sent",
            subject_type="payout",
            subject_id="po-2",
            now=NOW + timedelta(hours=1),
        )
        await _record(
            session, action="payout_run.created", subject_type="payout_run", subject_id="r-1", actor=None
        )
        await session.commit()

        async def actions(**values: object) -> list[str]:
            query = audit_service.filters(**values)
            return [e.action for e in await audit_service.list_entries(session, query, limit=10, offset=0)]

        assert await actions(action="payout.*") == ["payout.sent", "payout.confirmed"]
        assert await actions(action="payout.sent") == ["payout.sent"]
        assert await actions(action="payout_run.*") == ["payout_run.created"]
        assert await actions(subject_type="payout", subject_id="po-1") == ["payout.confirmed"]
        assert await actions(actor_id="key-1") == ["payout.sent", "payout.confirmed"]
        assert await actions(request_id="req-1") == ["payout.confirmed"]
        assert await actions(since=NOW + timedelta(minutes=30)) == ["payout.sent"]
        assert await actions(until=NOW + timedelta(minutes=30)) == ["payout_run.created", "payout.confirmed"]
        query = audit_service.filters()
        paged = await audit_service.list_entries(session, query, limit=1, offset=1)
        assert [e.action for e in paged] == ["payout.sent"]

    async def test_a_percent_sign_in_a_prefix_matches_itself_only(self, session: AsyncSession) -> None:
        await _record(session, action="payout.sent")
        with pytest.raises(audit_service.InvalidAuditFilter):
            audit_service.filters(action="%.*")


class TestExport:
    async def test_the_export_streams_matching_entries_oldest_first(
        self, session: AsyncSession, session_maker: SessionMaker, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        monkeypatch.setattr(audit_service, "EXPORT_BATCH", 2)
        for n in range(5):
            await _record(session, subject_id=f"p-{n}")
        await _record(session, action="api_key.created", subject_type="api_key", subject_id="k-1")
        await session.commit()

        chunks = [
            c
            async for c in audit_service.export_csv(session_maker, audit_service.filters(action="partner.*"))
        ]
        lines = "".join(chunks).splitlines()
        assert lines[0].startswith("sequence,occurred_at,actor_kind")
        assert [line.split(",")[0] for line in lines[1:]] == ["1", "2", "3", "4", "5"]
        assert len(chunks) == 4  # the header, then batches of two


async def _tamper(engine: AsyncEngine, statement: str) -> None:
    async with triggers_bypassed(engine) as connection:
        await connection.execute(text(statement))


class TestVerifyChain:
    async def test_an_empty_log_verifies(self, session: AsyncSession) -> None:
        assert (await audit_service.verify_chain(session)).is_valid

    async def test_a_row_changed_in_the_database_is_found(
        self, session: AsyncSession, engine: AsyncEngine
    ) -> None:
        for n in range(3):
            await _record(session, subject_id=f"p-{n}")
        await session.commit()

        await _tamper(engine, "UPDATE audit_entries SET subject_id = 'p-forged' WHERE sequence = 2")

        async with AsyncSession(engine) as fresh:
            result = await audit_service.verify_chain(fresh)
        assert result == audit_service.ChainVerification(False, 1, 2, "entry 2 does not match its hash")

    async def test_a_row_deleted_in_the_database_is_found(
        self, session: AsyncSession, engine: AsyncEngine
    ) -> None:
        for n in range(3):
            await _record(session, subject_id=f"p-{n}")
        await session.commit()

        await _tamper(engine, "DELETE FROM audit_entries WHERE sequence = 2")

        result = await audit_service.verify_chain(session)
        assert (result.is_valid, result.first_broken_sequence) == (False, 2)
        assert result.reason == "entry 2 is missing (next is 3)"

    async def test_an_entry_loaded_in_the_session_does_not_hide_a_change(
        self, session: AsyncSession, engine: AsyncEngine
    ) -> None:
        entry = await _record(session)
        await session.commit()
        await _tamper(engine, "UPDATE audit_entries SET actor_name = 'someone else'")
        assert entry.actor_name == "ops (finance)"  # still in this session's identity map

        assert not (await audit_service.verify_chain(session)).is_valid


APPEND_ONLY = "append-only"


class TestAppendOnly:
    """The proof the issue asks for: the application's own session cannot change or remove an entry."""

    @pytest.fixture
    async def entry(self, session: AsyncSession) -> AuditEntry:
        entry = await _record(session)
        await session.commit()
        return entry

    async def _unchanged(self, session_maker: SessionMaker) -> None:
        assert await _stored(session_maker) == [(1, "partner.status_changed", {"status": "approved"})]
        async with session_maker() as s:
            assert (await audit_service.verify_chain(s)).is_valid

    async def test_an_orm_update_is_refused(
        self, session: AsyncSession, session_maker: SessionMaker, entry: AuditEntry
    ) -> None:
        entry.after = {"status": "rejected"}
        with pytest.raises(IntegrityError, match=APPEND_ONLY):
            await session.commit()
        await session.rollback()
        await self._unchanged(session_maker)

    async def test_an_orm_delete_is_refused(
        self, session: AsyncSession, session_maker: SessionMaker, entry: AuditEntry
    ) -> None:
        await session.delete(entry)
        with pytest.raises(IntegrityError, match=APPEND_ONLY):
            await session.commit()
        await session.rollback()
        await self._unchanged(session_maker)

    async def test_a_core_update_is_refused(
        self, session: AsyncSession, session_maker: SessionMaker, entry: AuditEntry
    ) -> None:
        with pytest.raises(IntegrityError, match=APPEND_ONLY):
            await session.execute(update(AuditEntry).values(action="partner.deleted"))
        await session.rollback()
        await self._unchanged(session_maker)

    async def test_a_core_delete_is_refused(
        self, session: AsyncSession, session_maker: SessionMaker, entry: AuditEntry
    ) -> None:
        with pytest.raises(IntegrityError, match=APPEND_ONLY):
            await session.execute(delete(AuditEntry))
        await session.rollback()
        await self._unchanged(session_maker)

    async def test_raw_sql_through_the_session_is_refused(
        self, session: AsyncSession, session_maker: SessionMaker, entry: AuditEntry, is_postgres: bool
    ) -> None:
        statements = ["UPDATE audit_entries SET entry_hash = 'x'", "DELETE FROM audit_entries"]
        if is_postgres:
            statements.append("TRUNCATE audit_entries")
        for statement in statements:
            with pytest.raises(IntegrityError, match=APPEND_ONLY):
                await session.execute(text(statement))
            await session.rollback()
        await self._unchanged(session_maker)


class TestConcurrentWriters:
    async def test_concurrent_records_give_a_gap_free_sequence_and_a_valid_chain(
        self, postgres_only: None, session_maker: SessionMaker
    ) -> None:
        async def one(n: int) -> int:
            async with session_maker() as s, s.begin():
                return (await _record(s, subject_id=f"p-{n}")).sequence

        sequences = await asyncio.gather(*(one(n) for n in range(20)))

        assert sorted(sequences) == list(range(1, 21))
        async with session_maker() as s:
            assert await audit_service.verify_chain(s) == audit_service.ChainVerification(
                True, 20, None, None
            )
