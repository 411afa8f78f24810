"""The review queue's API: held orders with their signals and related orders, decisions one by one and in
bulk (all or nothing, repeatable), the audit log, the event, and who may read or decide."""

from __future__ import annotations

from typing import Any
from uuid import uuid4

from litestar import Litestar
from litestar.testing import AsyncTestClient
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from growth.core.db import SessionMaker
from growth.order.models import Order
from growth.risk.models import OrderReview
from tests.factories import create_campaign, create_customer, issue_code
from tests.growth.risk.queue_data import NOW, audit, error, events, held, ok, place, review

Client = AsyncTestClient[Litestar]


class TestListing:
    async def test_held_orders_oldest_first_with_signals_summary_and_attribution(
        self, client: Client, keys: dict[str, dict[str, str]], code: str
    ) -> None:
        newer = await held(client, keys, code, 1, minutes_ago=5, name="Zhang San")
        older = await held(client, keys, code, 2, minutes_ago=50)
        await place(client, keys, "fine", "fine", referral_code=code)  # allowed: not in the queue
        await place(
            client,
            keys,
            "mei-own",
            "mei",
            email="mei@example.com",
            name="Mei Wang",
            payment_fingerprint="FP-MEI",
        )
        await place(client, keys, "own", "alt", referral_code=code, payment_fingerprint="FP-MEI")  # rejected

        listed = await ok(await client.get("/api/reviews", headers=keys["marketing"]))
        assert [r["order_id"] for r in listed] == [newer, older]  # reviewed in that order: oldest first
        first = listed[0]
        assert first["status"] == "held" and first["verdict"] == "hold"
        assert first["reasons"] == [
            {
                "code": "disposable_email",
                "verdict": "hold",
                "message": "the e-mail address is at mailinator.com, a disposable e-mail domain",
                "details": {"domain": "mailinator.com", "listed_domain": "mailinator.com"},
            }
        ]
        order = first["order"]
        assert (order["external_id"], order["amount"], order["currency"]) == ("held-1", 10000, "CNY")
        assert order["customer_initials"] == "Z. S." and order["customer_email"] == "f***@mailinator.com"
        assert "f1@mailinator.com" not in str(listed)  # never the full address
        attribution = first["attribution"]
        assert attribution["method"] == "referral_code" and attribution["campaign_name"] == "Spring friends"
        assert (attribution["referrer_external_id"], attribution["referrer_initials"]) == ("mei", "M. W.")
        assert "Risk check: held for review" in attribution["explanation"]

        rejected = await ok(await client.get("/api/reviews?status=rejected", headers=keys["marketing"]))
        assert [r["order"]["external_id"] for r in rejected] == ["own"]
        assert rejected[0]["reasons"][0]["code"] == "self_referral_same_payment"
        paged = await ok(await client.get("/api/reviews?limit=1&offset=1", headers=keys["marketing"]))
        assert [r["order_id"] for r in paged] == [older]

    async def test_filter_by_campaign(
        self, client: Client, keys: dict[str, dict[str, str]], code: str, session: AsyncSession
    ) -> None:
        other = await create_campaign(session, name="Autumn")
        referrer = await create_customer(session, external_id="lan", email="lan@example.com")
        other_code = (await issue_code(session, campaign=other, customer=referrer)).code
        await session.commit()
        await held(client, keys, code, 1)
        in_other = await held(client, keys, other_code, 2)
        listed = await ok(
            await client.get("/api/reviews", params={"campaign_id": str(other.id)}, headers=keys["finance"])
        )
        assert [r["order_id"] for r in listed] == [in_other]

    async def test_related_orders_by_card_address_device_and_referrer(
        self, client: Client, keys: dict[str, dict[str, str]], code: str
    ) -> None:
        home = {"line1": "88 Century Avenue", "city": "Shanghai", "country": "CN"}
        walk_in = await place(
            client, keys, "walk-in", "stranger", payment_fingerprint="FP-1", amount=555, minutes_ago=60
        )
        assert walk_in
        await place(client, keys, "sibling", "sib", referral_code=code, device_id="D-7", minutes_ago=40)
        target = await held(
            client, keys, code, 1, payment_fingerprint="FP-1", shipping_address=home, device_id="D-7"
        )
        detail = await ok(await client.get(f"/api/reviews/{target}", headers=keys["finance"]))
        related = detail["related"]
        assert set(related) == {"same_payment", "same_address", "same_device", "same_referrer"}
        assert [(o["external_id"], o["amount"], o["review_status"]) for o in related["same_payment"]] == [
            ("walk-in", 555, None)  # unattributed: never reviewed
        ]
        assert related["same_address"] == []
        assert [(o["external_id"], o["review_status"]) for o in related["same_device"]] == [
            ("sibling", "allowed")
        ]
        assert [o["external_id"] for o in related["same_referrer"]] == ["sibling"]

    async def test_related_orders_are_capped_at_twenty_per_kind(
        self, client: Client, keys: dict[str, dict[str, str]], code: str
    ) -> None:
        for n in range(22):
            await place(client, keys, f"o-{n}", f"c-{n}", device_id="SHARED", minutes_ago=100 + n)
        target = await held(client, keys, code, 1, device_id="SHARED")
        listed = await ok(await client.get("/api/reviews", headers=keys["marketing"]))
        same_device = listed[0]["related"]["same_device"]
        assert [o["external_id"] for o in same_device] == [f"o-{n}" for n in range(20)]  # newest first
        assert listed[0]["order_id"] == target

    async def test_bad_queries(self, client: Client, keys: dict[str, dict[str, str]]) -> None:
        await error(await client.get("/api/reviews?status=maybe", headers=keys["marketing"]), 400)
        await error(await client.get("/api/reviews?limit=0", headers=keys["marketing"]), 400)
        await error(await client.get("/api/reviews?limit=201", headers=keys["marketing"]), 400)
        await error(await client.get("/api/reviews?campaign_id=nope", headers=keys["marketing"]), 400)
        missing = await error(await client.get(f"/api/reviews/{uuid4()}", headers=keys["marketing"]), 404)
        assert missing["code"] == "review_not_found"


class TestDecide:
    async def test_approve_records_everything_once(
        self, client: Client, keys: dict[str, dict[str, str]], code: str, session_maker: SessionMaker
    ) -> None:
        order_id = await held(client, keys, code, 1)
        url = f"/api/reviews/{order_id}/decision"
        body = {"decision": "approve", "note": "  Known customer, called her.  "}
        decided = await ok(await client.post(url, json=body, headers=keys["marketing"]))
        assert decided["status"] == "approved" and decided["previous_status"] == "held"
        assert decided["is_changed"] is True and decided["note"] == "Known customer, called her."
        assert decided["decided_by"] == "marketing key (marketing)" and decided["decided_at"]

        again = await ok(await client.post(url, json={"decision": "approve"}, headers=keys["admin"]))
        assert again["status"] == "approved" and again["is_changed"] is False
        assert again["note"] == "Known customer, called her."  # the repeat changes nothing

        [event] = await events(session_maker)
        assert event.payload == {
            "order_id": order_id,
            "external_id": "held-1",
            "status": "approved",
            "previous_status": "held",
            "note": "Known customer, called her.",
            "decided_by": "marketing key (marketing)",
            "reasons": ["disposable_email"],
        }
        [entry] = await audit(session_maker)
        assert (entry.action, entry.subject_type, entry.subject_id) == (
            "order_review.approved",
            "order_review",
            order_id,
        )
        assert entry.before == {"status": "held"} and entry.after["status"] == "approved"
        assert entry.actor_kind == "api_key" and entry.actor_name == "marketing key (marketing)"
        detail = await ok(await client.get(f"/api/reviews/{order_id}", headers=keys["marketing"]))
        assert detail["attribution"]["explanation"].endswith(
            "Review: approved by marketing key (marketing): Known customer, called her."
        )

    async def test_reject_needs_a_note_and_declines(
        self, client: Client, keys: dict[str, dict[str, str]], code: str, session_maker: SessionMaker
    ) -> None:
        order_id = await held(client, keys, code, 1)
        url = f"/api/reviews/{order_id}/decision"
        for note in (None, "   "):
            body: dict[str, Any] = {"decision": "reject"} | ({"note": note} if note is not None else {})
            problem = await error(await client.post(url, json=body, headers=keys["marketing"]), 400)
            assert problem["code"] == "invalid_review_decision" and "note is required" in problem["message"]
        too_long = {"decision": "reject", "note": "x" * 2001}
        assert (
            "2000"
            in (await error(await client.post(url, json=too_long, headers=keys["marketing"]), 400))["message"]
        )
        assert (await review(session_maker, order_id)).status == "held"
        assert await events(session_maker) == [] and await audit(session_maker) == []

        body = {"decision": "reject", "note": "Same household as the referrer"}
        decided = await ok(await client.post(url, json=body, headers=keys["marketing"]))
        assert decided["status"] == "declined" and decided["note"] == "Same household as the referrer"
        [event] = await events(session_maker)
        assert event.payload["status"] == "declined" and event.payload["note"] == body["note"]
        [entry] = await audit(session_maker)
        assert entry.action == "order_review.declined" and entry.after["status"] == "declined"

        flipped = await client.post(url, json={"decision": "approve"}, headers=keys["marketing"])
        assert (await error(flipped, 409))["code"] == "review_already_decided"
        assert (await review(session_maker, order_id)).status == "declined"

    async def test_bad_decisions(
        self, client: Client, keys: dict[str, dict[str, str]], code: str, session_maker: SessionMaker
    ) -> None:
        order_id = await held(client, keys, code, 1)
        allowed = await place(client, keys, "fine", "fine", referral_code=code)
        url = f"/api/reviews/{order_id}/decision"
        unknown_decision = await client.post(url, json={"decision": "maybe"}, headers=keys["marketing"])
        assert (await error(unknown_decision, 400))["code"] == "validation_error"
        extra = await client.post(url, json={"decision": "approve", "x": 1}, headers=keys["marketing"])
        await error(extra, 400)
        malformed = await client.post(
            "/api/reviews/not-a-uuid/decision", json={"decision": "approve"}, headers=keys["marketing"]
        )
        assert (await error(malformed, 400))["code"] == "invalid_order_id"
        malformed = await client.get("/api/reviews/not-a-uuid", headers=keys["marketing"])
        assert (await error(malformed, 400))["code"] == "invalid_order_id"
        unknown = await client.post(
            f"/api/reviews/{uuid4()}/decision", json={"decision": "approve"}, headers=keys["marketing"]
        )
        assert (await error(unknown, 404))["code"] == "review_not_found"
        not_held = await client.post(
            f"/api/reviews/{allowed}/decision", json={"decision": "approve"}, headers=keys["marketing"]
        )
        assert (await error(not_held, 409))["code"] == "review_not_held"
        assert (await review(session_maker, order_id)).status == "held"
        assert await events(session_maker) == []


class TestBulk:
    async def test_all_or_nothing(
        self, client: Client, keys: dict[str, dict[str, str]], code: str, session_maker: SessionMaker
    ) -> None:
        ids = [await held(client, keys, code, n) for n in range(1, 4)]
        allowed = await place(client, keys, "fine", "fine", referral_code=code)
        unknown = str(uuid4())
        url = "/api/reviews/decisions"

        body = {"order_ids": [*ids, unknown], "decision": "approve"}
        missing = await error(await client.post(url, json=body, headers=keys["marketing"]), 404)
        assert missing["details"]["order_ids"] == [unknown] and unknown in missing["message"]
        body = {"order_ids": [*ids, allowed], "decision": "reject", "note": "ring"}
        not_held = await error(await client.post(url, json=body, headers=keys["marketing"]), 409)
        assert not_held["code"] == "review_not_held" and not_held["details"]["order_ids"] == [allowed]
        assert f"{allowed} (allowed)" in not_held["message"]
        assert {(await review(session_maker, i)).status for i in ids} == {"held"}
        assert await events(session_maker) == [] and await audit(session_maker) == []

        first = await ok(
            await client.post(
                f"/api/reviews/{ids[0]}/decision",
                json={"decision": "reject", "note": "ring"},
                headers=keys["marketing"],
            )
        )
        assert first["is_changed"]
        body = {"order_ids": [*ids, ids[1]], "decision": "reject", "note": " A ring of fake friends "}
        decided = await ok(await client.post(url, json=body, headers=keys["marketing"]))
        assert decided["changed"] == 2  # the first was already declined: counted as done
        assert [(d["order_id"], d["status"], d["is_changed"]) for d in decided["decided"]] == [
            (ids[0], "declined", False),
            (ids[1], "declined", True),
            (ids[2], "declined", True),
        ]
        assert [(await review(session_maker, i)).note for i in ids] == [
            "ring",
            "A ring of fake friends",
            "A ring of fake friends",
        ]
        assert len(await events(session_maker)) == 3 and len(await audit(session_maker)) == 3

        flipped = await client.post(
            url, json={"order_ids": ids, "decision": "approve"}, headers=keys["marketing"]
        )
        assert (await error(flipped, 409))["code"] == "review_already_decided"

    async def test_bad_batches(self, client: Client, keys: dict[str, dict[str, str]], code: str) -> None:
        url = "/api/reviews/decisions"
        order_id = await held(client, keys, code, 1)
        for body in (
            {"order_ids": [], "decision": "approve"},
            {"order_ids": [str(uuid4()) for _ in range(201)], "decision": "approve"},
            {"order_ids": ["not-a-uuid"], "decision": "approve"},
            {"order_ids": [order_id], "decision": "hold"},
            {"order_ids": [order_id]},
        ):
            await error(await client.post(url, json=body, headers=keys["marketing"]), 400)
        no_note = await client.post(
            url, json={"order_ids": [order_id], "decision": "reject"}, headers=keys["marketing"]
        )
        assert (await error(no_note, 400))["code"] == "invalid_review_decision"

    async def test_two_hundred_at_once(
        self, client: Client, keys: dict[str, dict[str, str]], code: str, session: AsyncSession
    ) -> None:
        ids = [await held(client, keys, code, 1)]
        # The rest straight into the database: 199 more held reviews of real orders.
        order = await session.scalar(select(Order).where(Order.external_id == "held-1"))
        assert order is not None
        template = await session.scalar(select(OrderReview).where(OrderReview.order_id == order.id))
        assert template is not None
        for n in range(199):
            extra = Order(
                external_id=f"bulk-{n}",
                customer_id=order.customer_id,
                amount=100,
                currency="CNY",
                placed_at=NOW,
                source="api",
                content={},
                fingerprint="x",
            )
            session.add(extra)
            await session.flush()
            from growth.attribution.models import Attribution

            session.add(
                Attribution(order_id=extra.id, method="referral_code", explanation="", decided_at=NOW)
            )
            session.add(
                OrderReview(order_id=extra.id, verdict="hold", reasons=[], status="held", reviewed_at=NOW)
            )
            ids.append(str(extra.id))
        await session.commit()
        decided = await ok(
            await client.post(
                "/api/reviews/decisions",
                json={"order_ids": ids, "decision": "approve"},
                headers=keys["marketing"],
            )
        )
        assert decided["changed"] == 200


class TestAccess:
    async def test_who_may_read_and_decide(
        self, client: Client, keys: dict[str, dict[str, str]], code: str, session_maker: SessionMaker
    ) -> None:
        order_id = await held(client, keys, code, 1)
        decision = {"decision": "approve"}
        bulk = {"order_ids": [order_id], "decision": "approve"}
        assert (await client.get("/api/reviews")).status_code == 401
        assert (await client.post(f"/api/reviews/{order_id}/decision", json=decision)).status_code == 401
        for role in ("partner", "shop"):
            assert (await client.get("/api/reviews", headers=keys[role])).status_code == 403
            assert (await client.get(f"/api/reviews/{order_id}", headers=keys[role])).status_code == 403
        for role in ("partner", "shop", "finance"):
            refused = await client.post(
                f"/api/reviews/{order_id}/decision", json=decision, headers=keys[role]
            )
            assert refused.status_code == 403, role
            refused = await client.post("/api/reviews/decisions", json=bulk, headers=keys[role])
            assert refused.status_code == 403, role
        for role in ("finance", "marketing", "admin"):
            assert (await client.get("/api/reviews", headers=keys[role])).status_code == 200
            assert (await client.get(f"/api/reviews/{order_id}", headers=keys[role])).status_code == 200
        assert (await review(session_maker, order_id)).status == "held"
        assert (
            await client.post("/api/reviews/decisions", json=bulk, headers=keys["admin"])
        ).status_code == 200

    async def test_documented_in_openapi(self, client: Client) -> None:
        paths = (await ok(await client.get("/schema/openapi.json")))["paths"]
        assert {
            "/api/reviews",
            "/api/reviews/{order_id}",
            "/api/reviews/{order_id}/decision",
            "/api/reviews/decisions",
        } <= set(paths)
        assert paths["/api/reviews/decisions"]["post"]["summary"].startswith("Approve or reject up to 200")
