from __future__ import annotations

import asyncio
import json
import socket
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import timedelta
from typing import Any
from uuid import UUID, uuid4

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from campaigns.gift_pack import service as gift_pack_service
from campaigns.gift_pack.errors import (
    GiftPackExists,
    GiftPackNotFound,
    IllegalShipmentChange,
    InvalidAddress,
    InvalidGiftPack,
    InvalidShipmentUpdate,
    InvalidStock,
    ShipmentNotFound,
    StockBelowReserved,
)
from campaigns.gift_pack.models import GiftPack, Shipment
from campaigns.gift_pack.rules import CSV_COLUMNS, ShipmentStatus, verify_signature
from growth.app import build_subscriptions
from growth.core.db import SessionMaker
from growth.core.events.models import OutboxEvent
from growth.core.events.service import Subscriptions, dispatch_pending
from growth.core.time import utc_now
from growth.settings import Settings
from tests.campaigns.gift_pack.factories import (
    NOW,
    address,
    create_pack,
    create_reward,
    create_shipment,
)
from tests.conftest import SECRET

SHIPPED = ShipmentStatus.shipped


async def events(session: AsyncSession, name: str) -> list[dict[str, Any]]:
    rows = await session.scalars(select(OutboxEvent).where(OutboxEvent.name == name).order_by(OutboxEvent.id))
    return [dict(e.payload) for e in rows]


async def stock_of(session_maker: SessionMaker, sku: str) -> tuple[int, int]:
    async with session_maker() as s:
        pack = await s.scalar(select(GiftPack).where(GiftPack.sku == sku))
        assert pack is not None
        return pack.stock_on_hand, pack.stock_reserved


class TestCreatePack:
    async def test_created_with_no_reservations(self, session: AsyncSession) -> None:
        pack = await gift_pack_service.create_pack(
            session, sku="TEA-01", name="  Spring tea sampler ", value_amount=3500, currency="CNY"
        )

        assert (pack.sku, pack.name, pack.value_amount, pack.currency) == (
            "TEA-01",
            "Spring tea sampler",
            3500,
            "CNY",
        )
        assert (pack.stock_on_hand, pack.stock_reserved) == (0, 0)

    async def test_duplicate_sku(self, session: AsyncSession) -> None:
        await create_pack(session, sku="TEA-01")
        await session.commit()

        with pytest.raises(GiftPackExists):
            await create_pack(session, sku="TEA-01")

    async def test_skus_are_case_sensitive(self, session: AsyncSession) -> None:
        await create_pack(session, sku="TEA-01")
        assert (await create_pack(session, sku="tea-01")).sku == "tea-01"

    @pytest.mark.parametrize(
        "fields",
        [
            {"currency": "XYZ"},
            {"currency": "cny"},
            {"currency": "RMB"},
            {"sku": "has space"},
            {"sku": "x" * 101},
            {"sku": "茶"},
            {"name": "   "},
            {"name": "x" * 201},
            {"name": "tea\x00"},
            {"value_amount": -1},
            {"value_amount": True},
        ],
    )
    async def test_invalid_fields(self, session: AsyncSession, fields: dict[str, Any]) -> None:
        with pytest.raises(InvalidGiftPack):
            await create_pack(session, **fields)

    async def test_negative_stock(self, session: AsyncSession) -> None:
        with pytest.raises(InvalidStock):
            await create_pack(session, stock_on_hand=-1)


class TestReadAndUpdate:
    async def test_get_unknown(self, session: AsyncSession) -> None:
        with pytest.raises(GiftPackNotFound):
            await gift_pack_service.get_pack(session, "NOPE")

    async def test_list_by_sku(self, session: AsyncSession) -> None:
        for sku in ("B", "A", "C"):
            await create_pack(session, sku=sku)

        assert [p.sku for p in await gift_pack_service.list_packs(session)] == ["A", "B", "C"]

    async def test_rename_and_revalue(self, session: AsyncSession) -> None:
        await create_pack(session, sku="TEA-01")

        pack = await gift_pack_service.update_pack(session, "TEA-01", name=" Winter tea ", value_amount=0)

        assert (pack.name, pack.value_amount) == ("Winter tea", 0)

    @pytest.mark.parametrize("changes", [{"currency": "USD"}, {"sku": "OTHER"}, {"stock_on_hand": 5}])
    async def test_other_fields_cannot_change(self, session: AsyncSession, changes: dict[str, Any]) -> None:
        await create_pack(session, sku="TEA-01")

        with pytest.raises(InvalidGiftPack):
            await gift_pack_service.update_pack(session, "TEA-01", **changes)

    async def test_update_unknown(self, session: AsyncSession) -> None:
        with pytest.raises(GiftPackNotFound):
            await gift_pack_service.update_pack(session, "NOPE", name="x")


class TestRestock:
    async def test_adds_and_tells_waiting_rewards(self, session: AsyncSession) -> None:
        await create_pack(session, sku="TEA-01", stock_on_hand=2)
        await gift_pack_service.reserve_one(session, "TEA-01")

        pack = await gift_pack_service.restock(session, "TEA-01", quantity=5, now=NOW)

        assert (pack.stock_on_hand, pack.stock_reserved) == (7, 1)
        assert await events(session, "gift_pack.restocked") == [{"sku": "TEA-01", "available": 6}]

    @pytest.mark.parametrize("quantity", [0, -1, 1_000_001])
    async def test_quantity_out_of_range(self, session: AsyncSession, quantity: int) -> None:
        await create_pack(session, sku="TEA-01")

        with pytest.raises(InvalidStock):
            await gift_pack_service.restock(session, "TEA-01", quantity=quantity, now=NOW)

    async def test_unknown_sku(self, session: AsyncSession) -> None:
        with pytest.raises(GiftPackNotFound):
            await gift_pack_service.restock(session, "NOPE", quantity=1, now=NOW)


class TestSetStock:
    async def test_correction_down_is_quiet(self, session: AsyncSession) -> None:
        await create_pack(session, sku="TEA-01", stock_on_hand=10)

        pack = await gift_pack_service.set_stock(session, "TEA-01", stock_on_hand=4, now=NOW)

        assert pack.stock_on_hand == 4
        assert await events(session, "gift_pack.restocked") == []

    async def test_correction_up_tells_waiting_rewards(self, session: AsyncSession) -> None:
        await create_pack(session, sku="TEA-01", stock_on_hand=0)

        await gift_pack_service.set_stock(session, "TEA-01", stock_on_hand=3, now=NOW)

        assert await events(session, "gift_pack.restocked") == [{"sku": "TEA-01", "available": 3}]

    async def test_never_below_reserved(self, session: AsyncSession) -> None:
        await create_pack(session, sku="TEA-01", stock_on_hand=3)
        await gift_pack_service.reserve_one(session, "TEA-01")
        await gift_pack_service.reserve_one(session, "TEA-01")

        with pytest.raises(StockBelowReserved) as info:
            await gift_pack_service.set_stock(session, "TEA-01", stock_on_hand=1, now=NOW)
        pack = await gift_pack_service.set_stock(session, "TEA-01", stock_on_hand=2, now=NOW)

        assert info.value.details == {"stock_reserved": 2}
        assert (pack.stock_on_hand, pack.stock_reserved) == (2, 2)

    @pytest.mark.parametrize("stock", [-1, 100_000_001])
    async def test_out_of_range(self, session: AsyncSession, stock: int) -> None:
        await create_pack(session, sku="TEA-01")

        with pytest.raises(InvalidStock):
            await gift_pack_service.set_stock(session, "TEA-01", stock_on_hand=stock, now=NOW)


class TestReserve:
    async def test_reserves_until_none_is_left(self, session: AsyncSession) -> None:
        await create_pack(session, sku="TEA-01", stock_on_hand=2)

        results = [await gift_pack_service.reserve_one(session, "TEA-01") for _ in range(3)]

        assert [r is not None for r in results] == [True, True, False]
        pack = await gift_pack_service.get_pack(session, "TEA-01")
        assert (pack.stock_on_hand, pack.stock_reserved) == (2, 2)

    async def test_none_at_zero_stock(self, session: AsyncSession) -> None:
        await create_pack(session, sku="TEA-01", stock_on_hand=0)

        assert await gift_pack_service.reserve_one(session, "TEA-01") is None

    async def test_unknown_sku(self, session: AsyncSession) -> None:
        with pytest.raises(GiftPackNotFound):
            await gift_pack_service.reserve_one(session, "NOPE")

    async def test_release_gives_one_back_and_never_goes_below_zero(self, session: AsyncSession) -> None:
        await create_pack(session, sku="TEA-01", stock_on_hand=1)
        await gift_pack_service.reserve_one(session, "TEA-01")

        await gift_pack_service.release_one(session, "TEA-01")
        await gift_pack_service.release_one(session, "TEA-01")

        pack = await gift_pack_service.get_pack(session, "TEA-01")
        assert (pack.stock_on_hand, pack.stock_reserved) == (1, 0)

    async def test_release_unknown_sku(self, session: AsyncSession) -> None:
        with pytest.raises(GiftPackNotFound):
            await gift_pack_service.release_one(session, "NOPE")

    async def test_sees_stock_changed_by_another_session(
        self, session: AsyncSession, session_maker: SessionMaker
    ) -> None:
        pack = await create_pack(session, sku="TEA-01", stock_on_hand=1)
        await session.commit()
        async with session_maker() as other, other.begin():
            assert await gift_pack_service.reserve_one(other, "TEA-01") is not None

        # ``pack`` is still in this session's identity map with the old counts; the lock re-reads.
        assert await gift_pack_service.reserve_one(session, "TEA-01") is None
        assert pack.stock_reserved == 1


class TestRequestShipment:
    async def test_requested_with_a_normalised_address(self, session: AsyncSession) -> None:
        pack = await create_pack(session, sku="TEA-01")
        reward = await create_reward(session, sku="TEA-01")

        shipment = await gift_pack_service.request_shipment(
            session, reward_id=reward.id, sku=pack.sku, address=address(country="cn", line2=" "), now=NOW
        )

        assert shipment.status == "requested" and shipment.requested_at == NOW
        assert shipment.address["country"] == "CN" and "line2" not in shipment.address
        assert await events(session, "gift_pack.shipment_requested") == [
            {
                "shipment_id": str(shipment.id),
                "reward_id": str(reward.id),
                "sku": "TEA-01",
                "address": shipment.address,
                "requested_at": NOW.isoformat(),
            }
        ]

    async def test_again_for_the_same_reward_returns_the_first(self, session: AsyncSession) -> None:
        pack = await create_pack(session, sku="TEA-01")
        reward = await create_reward(session, sku="TEA-01")
        first = await gift_pack_service.request_shipment(
            session, reward_id=reward.id, sku=pack.sku, address=address(), now=NOW
        )
        await session.commit()

        again = await gift_pack_service.request_shipment(
            session, reward_id=reward.id, sku=pack.sku, address=address(city="北京"), now=NOW
        )

        assert again.id == first.id and again.address["city"] == "上海"
        assert len(await events(session, "gift_pack.shipment_requested")) == 1

    @pytest.mark.parametrize(
        "bad",
        [
            address(country="ZZ"),
            address(postal_code=None),
            address(name="\x07"),
            address(line1="x" * 201),
            {"name": "Mei"},
            {**address(), "notes": "leave at the door"},
        ],
    )
    async def test_invalid_address(self, session: AsyncSession, bad: dict[str, Any]) -> None:
        await create_pack(session, sku="TEA-01")
        reward = await create_reward(session, sku="TEA-01")

        with pytest.raises(InvalidAddress):
            await gift_pack_service.request_shipment(
                session, reward_id=reward.id, sku="TEA-01", address=bad, now=NOW
            )

    async def test_unknown_sku(self, session: AsyncSession) -> None:
        reward = await create_reward(session, sku="NOPE")

        with pytest.raises(GiftPackNotFound):
            await gift_pack_service.request_shipment(
                session, reward_id=reward.id, sku="NOPE", address=address(), now=NOW
            )


class TestUpdateShipment:
    async def test_shipped_takes_the_pack_out_of_stock(self, session: AsyncSession) -> None:
        pack = await create_pack(session, sku="TEA-01", stock_on_hand=3)
        shipment = await create_shipment(session, pack=pack)

        await gift_pack_service.update_shipment(
            session, shipment.id, status=SHIPPED, carrier=" SF Express ", tracking_number="SF123", now=NOW
        )

        assert (shipment.status, shipment.carrier, shipment.tracking_number) == (
            "shipped",
            "SF Express",
            "SF123",
        )
        assert shipment.shipped_at == NOW
        assert (pack.stock_on_hand, pack.stock_reserved) == (2, 0)
        assert await events(session, "gift_pack.shipment_shipped") == [
            {
                "shipment_id": str(shipment.id),
                "reward_id": str(shipment.reward_id),
                "sku": "TEA-01",
                "tracking_number": "SF123",
                "carrier": "SF Express",
                "reason": None,
            }
        ]

    async def test_shipped_needs_a_tracking_number(self, session: AsyncSession) -> None:
        shipment = await create_shipment(session, pack=await create_pack(session))

        with pytest.raises(InvalidShipmentUpdate, match="tracking_number"):
            await gift_pack_service.update_shipment(session, shipment.id, status=SHIPPED, now=NOW)
        with pytest.raises(InvalidShipmentUpdate):
            await gift_pack_service.update_shipment(
                session, shipment.id, status=SHIPPED, tracking_number="   ", now=NOW
            )

    async def test_replaying_the_same_move_is_a_no_op(self, session: AsyncSession) -> None:
        pack = await create_pack(session, sku="TEA-01", stock_on_hand=3)
        shipment = await create_shipment(session, pack=pack)
        for _ in range(3):
            await gift_pack_service.update_shipment(
                session, shipment.id, status=SHIPPED, carrier="SF", tracking_number="SF123", now=NOW
            )
        await gift_pack_service.update_shipment(
            session, shipment.id, status=SHIPPED, tracking_number="SF123", now=NOW
        )

        assert (pack.stock_on_hand, pack.stock_reserved) == (2, 0)
        assert len(await events(session, "gift_pack.shipment_shipped")) == 1

    async def test_shipping_again_with_other_tracking_is_refused(self, session: AsyncSession) -> None:
        shipment = await create_shipment(session, pack=await create_pack(session))
        await gift_pack_service.update_shipment(
            session, shipment.id, status=SHIPPED, tracking_number="SF123", now=NOW
        )

        with pytest.raises(IllegalShipmentChange) as info:
            await gift_pack_service.update_shipment(
                session, shipment.id, status=SHIPPED, tracking_number="SF999", now=NOW
            )
        assert info.value.details == {"current": "shipped"}

    async def test_delivered(self, session: AsyncSession) -> None:
        pack = await create_pack(session, stock_on_hand=3)
        shipment = await create_shipment(session, pack=pack)
        await gift_pack_service.update_shipment(
            session, shipment.id, status=SHIPPED, tracking_number="SF123", now=NOW
        )

        await gift_pack_service.update_shipment(
            session, shipment.id, status=ShipmentStatus.delivered, tracking_number="SF123", now=NOW
        )

        assert shipment.status == "delivered" and shipment.delivered_at == NOW
        assert (pack.stock_on_hand, pack.stock_reserved) == (2, 0)
        assert len(await events(session, "gift_pack.shipment_delivered")) == 1

    async def test_failed_before_shipping_releases_the_reservation(self, session: AsyncSession) -> None:
        pack = await create_pack(session, stock_on_hand=3)
        shipment = await create_shipment(session, pack=pack)
        assert pack.stock_reserved == 1

        await gift_pack_service.update_shipment(
            session, shipment.id, status=ShipmentStatus.failed, failure_reason="no such address", now=NOW
        )

        assert (shipment.status, shipment.failure_reason) == ("failed", "no such address")
        assert (pack.stock_on_hand, pack.stock_reserved) == (3, 0)
        [payload] = await events(session, "gift_pack.shipment_failed")
        assert payload["reason"] == "no such address" and payload["tracking_number"] is None

    async def test_failed_after_shipping_leaves_the_stock(self, session: AsyncSession) -> None:
        pack = await create_pack(session, stock_on_hand=3)
        shipment = await create_shipment(session, pack=pack)
        await gift_pack_service.update_shipment(
            session, shipment.id, status=SHIPPED, tracking_number="SF123", now=NOW
        )

        await gift_pack_service.update_shipment(session, shipment.id, status=ShipmentStatus.failed, now=NOW)

        assert (pack.stock_on_hand, pack.stock_reserved) == (2, 0)

    @pytest.mark.parametrize(
        ("path", "target"),
        [
            ([], ShipmentStatus.delivered),
            ([], ShipmentStatus.requested),
            ([SHIPPED], ShipmentStatus.requested),
            ([SHIPPED, ShipmentStatus.delivered], SHIPPED),
            ([SHIPPED, ShipmentStatus.delivered], ShipmentStatus.failed),
            ([ShipmentStatus.failed], SHIPPED),
            ([ShipmentStatus.failed], ShipmentStatus.delivered),
        ],
    )
    async def test_illegal_moves(
        self, session: AsyncSession, path: list[ShipmentStatus], target: ShipmentStatus
    ) -> None:
        pack = await create_pack(session, stock_on_hand=3)
        shipment = await create_shipment(session, pack=pack)
        for step in path:
            await gift_pack_service.update_shipment(
                session, shipment.id, status=step, tracking_number="T1" if step is SHIPPED else None, now=NOW
            )
        before = (pack.stock_on_hand, pack.stock_reserved)

        with pytest.raises(IllegalShipmentChange) as info:
            await gift_pack_service.update_shipment(
                session, shipment.id, status=target, tracking_number="T2", now=NOW
            )

        assert info.value.details == {"current": shipment.status}
        assert (pack.stock_on_hand, pack.stock_reserved) == before

    async def test_unknown_status(self, session: AsyncSession) -> None:
        shipment = await create_shipment(session, pack=await create_pack(session))

        with pytest.raises(InvalidShipmentUpdate, match="unknown status"):
            await gift_pack_service.update_shipment(session, shipment.id, status="lost", now=NOW)  # type: ignore[arg-type]

    async def test_unknown_shipment(self, session: AsyncSession) -> None:
        with pytest.raises(ShipmentNotFound):
            await gift_pack_service.update_shipment(session, uuid4(), status=SHIPPED, now=NOW)

    async def test_stock_never_goes_negative_shipping_an_unreserved_pack(self, session: AsyncSession) -> None:
        pack = await create_pack(session, stock_on_hand=1)
        shipment = await create_shipment(session, pack=pack, reserve=False)
        await gift_pack_service.set_stock(session, pack.sku, stock_on_hand=0, now=NOW)

        await gift_pack_service.update_shipment(
            session, shipment.id, status=SHIPPED, tracking_number="SF123", now=NOW
        )

        assert (pack.stock_on_hand, pack.stock_reserved) == (0, 0)


class TestListAndExport:
    async def test_list_filters_by_status_oldest_first(self, session: AsyncSession) -> None:
        pack = await create_pack(session, stock_on_hand=5)
        first = await create_shipment(session, pack=pack)
        second = await create_shipment(session, pack=pack)
        await gift_pack_service.update_shipment(
            session, first.id, status=SHIPPED, tracking_number="T", now=NOW
        )

        requested = await gift_pack_service.list_shipments(session, status=ShipmentStatus.requested)
        everything = await gift_pack_service.list_shipments(session, limit=10, offset=0)
        page = await gift_pack_service.list_shipments(session, limit=1, offset=1)

        assert [s.id for s in requested] == [second.id]
        assert [s.id for s in everything] == [first.id, second.id]
        assert [s.id for s in page] == [second.id]

    async def test_export_rows(self, session: AsyncSession) -> None:
        pack = await create_pack(session, sku="TEA-01")
        shipment = await create_shipment(session, pack=pack, name='=HYPERLINK("http://x")', line2=None)

        header, row = await gift_pack_service.export_shipments(session)

        assert header == list(CSV_COLUMNS)
        assert dict(zip(header, row, strict=True)) == {
            "shipment_id": str(shipment.id),
            "reward_id": str(shipment.reward_id),
            "sku": "TEA-01",
            "status": "requested",
            "name": '\'=HYPERLINK("http://x")',
            "line1": "南京西路 1266 号",
            "line2": "",
            "city": "上海",
            "postal_code": "200040",
            "country": "CN",
            "phone": "+86 138 0013 8000",
            "carrier": "",
            "tracking_number": "",
            "requested_at": NOW.isoformat(),
        }

    async def test_export_of_another_status_is_only_the_header(self, session: AsyncSession) -> None:
        await create_shipment(session, pack=await create_pack(session))

        assert await gift_pack_service.export_shipments(session, status=SHIPPED) == [list(CSV_COLUMNS)]


class TestConcurrency:
    async def test_ten_rewards_racing_for_three_packs_reserve_exactly_three(
        self, postgres_only: None, session: AsyncSession, session_maker: SessionMaker
    ) -> None:
        await create_pack(session, sku="TEA-01", stock_on_hand=3)
        await session.commit()
        start = asyncio.Event()

        async def reserve() -> bool:
            async with session_maker() as s, s.begin():
                await start.wait()
                return await gift_pack_service.reserve_one(s, "TEA-01") is not None

        tasks = [asyncio.create_task(reserve()) for _ in range(10)]
        await asyncio.sleep(0.05)
        start.set()
        results = await asyncio.gather(*tasks)

        assert sum(results) == 3
        assert await stock_of(session_maker, "TEA-01") == (3, 3)

    async def test_a_shipment_reported_twice_at_once_leaves_stock_once(
        self, postgres_only: None, session: AsyncSession, session_maker: SessionMaker
    ) -> None:
        pack = await create_pack(session, sku="TEA-01", stock_on_hand=3)
        shipment = await create_shipment(session, pack=pack)
        await session.commit()

        async def ship() -> None:
            async with session_maker() as s, s.begin():
                await gift_pack_service.update_shipment(
                    s, shipment.id, status=SHIPPED, tracking_number="SF123", now=NOW
                )

        await asyncio.gather(*[ship() for _ in range(5)])

        assert await stock_of(session_maker, "TEA-01") == (2, 0)
        async with session_maker() as s:
            assert len(await events(s, "gift_pack.shipment_shipped")) == 1
            assert (await s.get(Shipment, shipment.id)).status == "shipped"  # type: ignore[union-attr]


class Receiver:
    """A shop's webhook endpoint on 127.0.0.1: records each request, answers the next status in line."""

    def __init__(self) -> None:
        self.requests: list[tuple[str, dict[str, str], bytes]] = []
        self.statuses: list[int] = []
        self.hang = False
        self.url = ""
        self.released = asyncio.Event()
        self.tasks: set[asyncio.Task[None]] = set()

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.tasks.add(asyncio.current_task())  # type: ignore[arg-type]
        try:
            head = (await reader.readuntil(b"\r\n\r\n")).decode("latin-1").split("\r\n")
            headers = {k.strip().lower(): v.strip() for k, _, v in (h.partition(":") for h in head[1:] if h)}
            body = await reader.readexactly(int(headers.get("content-length", "0")))
            self.requests.append((head[0], headers, body))
            if self.hang:
                await self.released.wait()
            status = self.statuses.pop(0) if self.statuses else 200
            writer.write(f"HTTP/1.1 {status} X\r\nContent-Length: 0\r\nConnection: close\r\n\r\n".encode())
            await writer.drain()
        finally:
            writer.close()


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    receiver = Receiver()
    server = await asyncio.start_server(receiver.handle, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    receiver.url = f"http://127.0.0.1:{port}/hooks/shipments"
    async with server:
        yield receiver
        receiver.released.set()
        await asyncio.gather(*receiver.tasks, return_exceptions=True)


def webhook_settings(settings: Settings, url: str, **changes: Any) -> Subscriptions:
    """The app's subscriptions, with the shop's webhook at ``url``."""
    changes = {"shipment_webhook_url": url, "shipment_webhook_secret": "whsec_shop", **changes}
    return build_subscriptions(settings=settings.with_overrides(**changes))


@dataclass(frozen=True)
class Requested:
    shipment_id: UUID
    event_id: UUID
    payload: dict[str, Any]


async def requested_event(session: AsyncSession) -> Requested:
    """A committed shipment request and its outbox event (read before the session lets go of them)."""
    shipment = await create_shipment(session, pack=await create_pack(session, sku="TEA-01"))
    await session.commit()
    [event] = await session.scalars(
        select(OutboxEvent).where(OutboxEvent.name == "gift_pack.shipment_requested")
    )
    requested = Requested(shipment.id, event.id, dict(event.payload))
    await session.rollback()  # end the read: SQLite's open transaction would hold the write lock
    return requested


async def outbox_row(session_maker: SessionMaker, event_id: Any) -> OutboxEvent:
    async with session_maker() as s:
        row = await s.get(OutboxEvent, event_id)
        assert row is not None
        return row


class TestShipmentWebhook:
    async def test_posts_the_signed_request(
        self, session: AsyncSession, session_maker: SessionMaker, settings: Settings, receiver: Receiver
    ) -> None:
        requested = await requested_event(session)

        assert await dispatch_pending(session_maker, webhook_settings(settings, receiver.url)) == 1

        [(request_line, headers, body)] = receiver.requests
        assert request_line == "POST /hooks/shipments HTTP/1.1"
        assert headers["content-type"] == "application/json"
        assert headers["x-growth-event"] == "gift_pack.shipment_requested"
        assert headers["idempotency-key"] == f"shipment-{requested.shipment_id}"
        assert verify_signature("whsec_shop", headers["x-growth-signature"], body, int(time.time()))
        assert json.loads(body) == requested.payload
        assert json.loads(body)["address"]["name"] == "王小美"
        assert (await outbox_row(session_maker, requested.event_id)).processed_at is not None

    async def test_without_a_secret_it_signs_with_the_service_secret(
        self, session: AsyncSession, session_maker: SessionMaker, settings: Settings, receiver: Receiver
    ) -> None:
        await requested_event(session)
        subscriptions = webhook_settings(settings, receiver.url, shipment_webhook_secret="")

        await dispatch_pending(session_maker, subscriptions)

        [(_, headers, body)] = receiver.requests
        assert verify_signature(SECRET, headers["x-growth-signature"], body, int(time.time()))
        assert not verify_signature("whsec_shop", headers["x-growth-signature"], body, int(time.time()))

    async def test_without_a_url_nothing_is_sent(
        self, session: AsyncSession, session_maker: SessionMaker, settings: Settings, receiver: Receiver
    ) -> None:
        requested = await requested_event(session)

        assert await dispatch_pending(session_maker, webhook_settings(settings, "")) == 1

        assert receiver.requests == []
        assert (await outbox_row(session_maker, requested.event_id)).processed_at is not None

    async def test_an_error_answer_is_retried_with_the_same_idempotency_key(
        self, session: AsyncSession, session_maker: SessionMaker, settings: Settings, receiver: Receiver
    ) -> None:
        requested = await requested_event(session)
        receiver.statuses = [503, 200]
        subscriptions = webhook_settings(settings, receiver.url)

        assert await dispatch_pending(session_maker, subscriptions) == 0
        failed = await outbox_row(session_maker, requested.event_id)
        assert failed.processed_at is None and failed.attempts == 1
        assert "503" in (failed.last_error or "")
        assert await dispatch_pending(session_maker, subscriptions) == 0  # not due yet: backing off
        assert await dispatch_pending(session_maker, subscriptions, now=utc_now() + timedelta(minutes=1)) == 1

        keys = [headers["idempotency-key"] for _, headers, _ in receiver.requests]
        assert len(keys) == 2 and keys[0] == keys[1]

    @pytest.mark.parametrize("status", [301, 400, 404, 500])
    async def test_any_non_2xx_answer_is_a_failure(
        self,
        session: AsyncSession,
        session_maker: SessionMaker,
        settings: Settings,
        receiver: Receiver,
        status: int,
    ) -> None:
        requested = await requested_event(session)
        receiver.statuses = [status]

        assert await dispatch_pending(session_maker, webhook_settings(settings, receiver.url)) == 0

        assert (await outbox_row(session_maker, requested.event_id)).attempts == 1

    async def test_an_unreachable_shop_is_retried(
        self, session: AsyncSession, session_maker: SessionMaker, settings: Settings
    ) -> None:
        requested = await requested_event(session)
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            closed_port = s.getsockname()[1]

        url = f"http://127.0.0.1:{closed_port}/hooks"
        assert await dispatch_pending(session_maker, webhook_settings(settings, url)) == 0

        row = await outbox_row(session_maker, requested.event_id)
        assert row.attempts == 1 and "unreachable" in (row.last_error or "")

    async def test_a_slow_shop_times_out_and_is_retried(
        self, session: AsyncSession, session_maker: SessionMaker, settings: Settings, receiver: Receiver
    ) -> None:
        requested = await requested_event(session)
        receiver.hang = True
        subscriptions = webhook_settings(settings, receiver.url, shipment_webhook_timeout_seconds=0.2)

        started = time.monotonic()
        assert await dispatch_pending(session_maker, subscriptions) == 0

        assert time.monotonic() - started < 3
        assert (await outbox_row(session_maker, requested.event_id)).attempts == 1
