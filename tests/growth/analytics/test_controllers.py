"""The analytics API on the seeded program: each figure computed here from the seed lists, by hand.

Every expected number below is plain Python over ``seed.py``'s lists (what a person would count),
compared with the JSON and with the CSV of the same filters, on SQLite and PostgreSQL.
"""

from __future__ import annotations

import csv
import io
from collections import Counter, defaultdict
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient

from tests.growth.analytics.seed import END, FIRST, LAST, START, TIMEZONE, Seed, SeedOrder

ZONE = ZoneInfo(TIMEZONE)
Client = AsyncTestClient[Litestar]


def bps(part: int, whole: int) -> int | None:
    if whole == 0:
        return None
    q, r = divmod(part * 10_000, whole)
    return q + (1 if 2 * r >= whole else 0)  # non-negative here: half up is half away from zero


def in_range(at: datetime) -> bool:
    return START <= at < END


def referred(seed: Seed, campaign: str | None = None) -> list[SeedOrder]:
    return [
        o
        for o in seed.orders
        if in_range(o.placed_at) and o.method != "none" and (campaign is None or o.campaign == campaign)
    ]


def money(pairs: list[tuple[str, int]]) -> list[dict[str, Any]]:
    totals: dict[str, int] = defaultdict(int)
    for currency, amount in pairs:
        totals[currency] += amount
    return [{"currency": c, "amount": totals[c]} for c in sorted(totals)]


def expected_summary(seed: Seed, campaign: str | None) -> dict[str, Any]:
    orders = [o for o in seed.orders if in_range(o.placed_at)]
    ref = referred(seed, campaign)
    clicks = sum(1 for c, at in seed.clicks if in_range(at) and campaign in (None, c))
    by_customer_referrer = [o for o in ref if o.referrer]
    reviewed = [o for o in orders if o.verdict and (campaign is None or o.campaign == campaign)]
    rewards = [
        r
        for r in seed.rewards
        if in_range(r.created_at)
        and r.status not in ("voided", "not_granted")
        and campaign in (None, r.campaign)
    ]
    commissions = [
        c
        for c in seed.commissions
        if in_range(c.accrued_at)
        and (campaign is None or next(o for o in seed.orders if o.n == c.order).campaign == campaign)
    ]
    groups: dict[tuple[str | None, bool], set[str]] = defaultdict(set)
    for o in ref:
        groups[(o.campaign, o.partner is not None)].add(o.customer)
    customers: Counter[str] = Counter()
    for (camp, is_partner), members in groups.items():
        channel = "partner" if is_partner else ("social_share" if camp == "B" else "referral")
        customers[channel] += len(members)
    lines = [("social_share" if r.campaign == "B" else "referral", r.currency, r.amount) for r in rewards]
    lines += [("partner", c.currency, c.amount - c.reversed_amount) for c in commissions]
    per_channel = []
    for channel in ("referral", "social_share", "partner"):
        costs = money([(cur, a) for ch, cur, a in lines if ch == channel])
        n = customers[channel]
        per_channel.append(
            {
                "channel": channel,
                "customers": n,
                "costs": costs,
                "per_customer": [
                    None if n == 0 else {"currency": x["currency"], "amount": bps(x["amount"], n * 10_000)}
                    for x in costs
                ],
            }
        )
    shares = [s for s in seed.shares if in_range(s[2]) and campaign in (None, s[0])]
    return {
        "clicks": clicks,
        "orders": len(orders),
        "revenue": money([(o.currency, o.amount) for o in orders]),
        "referred_orders": len(ref),
        "referred_customers": len({o.customer for o in ref}),
        "referred_revenue": money([(o.currency, o.amount) for o in ref]),
        "conversion_bps": bps(len(ref), clicks),
        "referral_share_bps": bps(len(ref), len(orders)),
        "reward_cost": money([(r.currency, r.amount) for r in rewards]),
        "commission_cost": money([(c.currency, c.amount - c.reversed_amount) for c in commissions]),
        "cost_per_customer": per_channel,
        "viral_coefficient_bps": bps(
            len({o.customer for o in by_customer_referrer}), len({o.referrer for o in by_customer_referrer})
        ),
        "reviewed_orders": len(reviewed),
        "hold_rate_bps": bps(sum(o.verdict == "hold" for o in reviewed), len(reviewed)),
        "reject_rate_bps": bps(sum(o.verdict == "reject" for o in reviewed), len(reviewed)),
        "share_submissions": len(shares),
        "share_approvals": sum(s[1] == "approved" for s in shares),
    }


def csv_rows(text: str) -> list[list[str]]:
    return list(csv.reader(io.StringIO(text)))


def query(seed: Seed, campaign: str | None = None, first: str = FIRST, last: str = LAST) -> dict[str, str]:
    params = {"from": first, "to": last}
    if campaign:
        params["campaign_id"] = str(seed.ids[campaign])
    return params


@pytest.mark.parametrize("campaign", [None, "A", "B"])
async def test_summary_equals_the_seed(
    client: Client, keys: dict[str, dict[str, str]], seed: Seed, campaign: str | None
) -> None:
    response = await client.get(
        "/api/analytics/summary", params=query(seed, campaign), headers=keys["marketing"]
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["range"] == {
        "from": FIRST,
        "to": LAST,
        "timezone": TIMEZONE,
        "campaign_id": str(seed.ids[campaign]) if campaign else None,
    }
    expected = expected_summary(seed, campaign)
    assert {k: body[k] for k in expected} == expected
    # The seed exercises what it should: both currencies, holds and rejects, every channel.
    if campaign is None:
        assert {x["currency"] for x in body["revenue"]} == {"CNY", "USD"}
        assert body["hold_rate_bps"] and body["reject_rate_bps"] and body["share_approvals"]
        assert all(c["customers"] for c in body["cost_per_customer"])

    exported = await client.get(
        "/api/analytics/summary.csv", params=query(seed, campaign), headers=keys["finance"]
    )
    assert exported.status_code == 200
    assert exported.headers["content-type"].startswith("text/csv")
    rows = csv_rows(exported.text)
    assert rows[0] == ["figure", "channel", "currency", "value"]
    cells = {(f, ch, cur): v for f, ch, cur, v in rows[1:]}
    for name in ("clicks", "orders", "referred_orders", "referred_customers", "hold_rate_bps"):
        assert cells[(name, "", "")] == str(expected[name])
    for name in ("revenue", "referred_revenue", "reward_cost", "commission_cost"):
        assert [(cur, int(v)) for (f, _, cur), v in cells.items() if f == name] == [
            (x["currency"], x["amount"]) for x in expected[name]
        ]
    for c in expected["cost_per_customer"]:
        assert cells[("acquired_customers", c["channel"], "")] == str(c["customers"])


@pytest.mark.parametrize("campaign", [None, "A"])
async def test_funnel(
    client: Client, keys: dict[str, dict[str, str]], seed: Seed, campaign: str | None
) -> None:
    ref = referred(seed, campaign)
    ref_numbers = {o.n for o in ref}
    rewarded = {
        r.order
        for r in seed.rewards
        if r.order in ref_numbers and r.status in ("approved", "issued", "fulfilled")
    }
    clicks = sum(1 for c, at in seed.clicks if in_range(at) and campaign in (None, c))
    values = [clicks, len(ref), sum(o.status == "closed" for o in ref), len(rewarded)]
    response = await client.get("/api/analytics/funnel", params=query(seed, campaign), headers=keys["admin"])
    assert response.json()["labels"] == ["clicks", "referred_orders", "closed", "rewarded"]
    assert response.json()["values"] == values
    exported = await client.get(
        "/api/analytics/funnel.csv", params=query(seed, campaign), headers=keys["admin"]
    )
    assert csv_rows(exported.text) == [
        ["stage", "count"],
        *(
            [s, str(v)]
            for s, v in zip(["clicks", "referred_orders", "closed", "rewarded"], values, strict=True)
        ),
    ]


async def test_daily_orders_in_the_program_time_zone(
    client: Client, keys: dict[str, dict[str, str]], seed: Seed
) -> None:
    days = [date(2026, 11, 2) + timedelta(days=i) for i in range(7)]
    totals, refs = Counter[date](), Counter[date]()
    for o in seed.orders:
        local = o.placed_at.astimezone(ZONE).date()
        totals[local] += 1
        refs[local] += o.method != "none"
    response = await client.get("/api/analytics/daily", params=query(seed), headers=keys["marketing"])
    body = response.json()
    assert body["labels"] == [d.isoformat() for d in days]
    assert body["orders"] == [totals[d] for d in days]
    assert body["series"] == [
        {"name": "referred_orders", "values": [refs[d] for d in days]},
        {"name": "other_orders", "values": [totals[d] - refs[d] for d in days]},
    ]
    # Shanghai's midnight decides the day: the order at 16:00 UTC on 1 November is on the 2nd.
    assert body["orders"][0] >= 1
    exported = await client.get("/api/analytics/daily.csv", params=query(seed), headers=keys["marketing"])
    assert csv_rows(exported.text)[1:] == [
        [d.isoformat(), str(totals[d]), str(refs[d]), str(totals[d] - refs[d])] for d in days
    ]


async def test_heatmap_by_local_weekday_and_hour(
    client: Client, keys: dict[str, dict[str, str]], seed: Seed
) -> None:
    grid = [[0] * 24 for _ in range(7)]
    for o in seed.orders:
        if in_range(o.placed_at):
            local = o.placed_at.astimezone(ZONE)
            grid[local.weekday()][local.hour] += 1
    response = await client.get("/api/analytics/heatmap", params=query(seed), headers=keys["marketing"])
    body = response.json()
    assert body["weekdays"] == ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
    assert body["hours"] == list(range(24))
    assert body["values"] == grid
    exported = await client.get("/api/analytics/heatmap.csv", params=query(seed), headers=keys["marketing"])
    rows = csv_rows(exported.text)
    assert rows[0] == ["weekday", *(str(h) for h in range(24))]
    assert [[int(v) for v in row[1:]] for row in rows[1:]] == grid


async def test_top_referrers_show_initials_only(
    client: Client, keys: dict[str, dict[str, str]], seed: Seed
) -> None:
    by_referrer: dict[str, list[SeedOrder]] = defaultdict(list)
    for o in referred(seed):
        if o.referrer:
            by_referrer[o.referrer].append(o)
    initials = {"r1": "A. C.", "r2": "王*", "r3": "B. L."}
    expected = sorted(
        (
            {
                "initials": initials[r],
                "referred_customers": len({o.customer for o in os}),
                "referred_orders": len(os),
            }
            for r, os in by_referrer.items()
        ),
        key=lambda row: -row["referred_orders"],
    )
    response = await client.get("/api/analytics/top-referrers", params=query(seed), headers=keys["marketing"])
    body = response.json()
    assert body["rows"] == expected
    assert body["labels"] == [row["initials"] for row in expected]
    assert "Alice" not in response.text and "王小明" not in response.text
    exported = await client.get(
        "/api/analytics/top-referrers.csv", params=query(seed), headers=keys["marketing"]
    )
    assert csv_rows(exported.text)[1:] == [
        [r["initials"], str(r["referred_customers"]), str(r["referred_orders"])] for r in expected
    ]


async def test_top_partners(client: Client, keys: dict[str, dict[str, str]], seed: Seed) -> None:
    names = {"p1": "Northwind Consulting", "p2": "Contoso Partners"}
    by_partner: dict[str, list[SeedOrder]] = defaultdict(list)
    for o in referred(seed):
        if o.partner:
            by_partner[o.partner].append(o)
    expected = sorted(
        (
            {
                "partner_id": str(seed.ids[p]),
                "name": names[p],
                "referred_customers": len({o.customer for o in os}),
                "referred_orders": len(os),
                "revenue": money([(o.currency, o.amount) for o in os]),
            }
            for p, os in by_partner.items()
        ),
        key=lambda row: (-row["referred_orders"], row["partner_id"]),
    )
    response = await client.get("/api/analytics/top-partners", params=query(seed), headers=keys["finance"])
    assert response.json()["rows"] == expected
    assert response.json()["labels"] == [row["name"] for row in expected]
    exported = await client.get(
        "/api/analytics/top-partners.csv", params=query(seed), headers=keys["finance"]
    )
    assert [row[:4] for row in csv_rows(exported.text)[1:]] == [
        [r["partner_id"], r["name"], str(r["referred_customers"]), str(r["referred_orders"])]
        for r in expected
    ]


async def test_an_empty_range_has_zeros_and_no_ratios(
    client: Client, keys: dict[str, dict[str, str]], seed: Seed
) -> None:
    params = query(seed, first="2025-01-01", last="2025-01-31")
    body = (await client.get("/api/analytics/summary", params=params, headers=keys["marketing"])).json()
    assert body["clicks"] == body["orders"] == body["referred_orders"] == 0
    assert body["revenue"] == [] and body["reward_cost"] == [] and body["commission_cost"] == []
    assert body["conversion_bps"] is None and body["referral_share_bps"] is None
    assert body["viral_coefficient_bps"] is None and body["hold_rate_bps"] is None
    daily = (await client.get("/api/analytics/daily", params=params, headers=keys["marketing"])).json()
    assert len(daily["labels"]) == 31 and set(daily["orders"]) == {0}
    exported = await client.get("/api/analytics/summary.csv", params=params, headers=keys["marketing"])
    assert ["conversion_bps", "", "", ""] in csv_rows(exported.text)


async def test_orders_without_clicks_have_no_conversion(
    client: Client, keys: dict[str, dict[str, str]], seed: Seed
) -> None:
    # Campaign B's clicks all fall before 3 November (Shanghai): a later range has orders but no clicks.
    late = [c for c, at in seed.clicks if c == "B" and at.astimezone(ZONE).date() >= date(2026, 11, 5)]
    assert not late
    params = query(seed, "B", first="2026-11-05", last=LAST)
    body = (await client.get("/api/analytics/summary", params=params, headers=keys["marketing"])).json()
    assert body["clicks"] == 0 and body["referred_orders"] > 0
    assert body["conversion_bps"] is None


@pytest.mark.parametrize(
    ("params", "status", "code"),
    [
        ({"from": "2026-11-31", "to": LAST}, 400, "invalid_date_range"),
        ({"from": "02/11/2026", "to": LAST}, 400, "invalid_date_range"),
        ({"from": LAST, "to": FIRST}, 400, "invalid_date_range"),
        ({"from": "2025-01-01", "to": "2026-01-02"}, 400, "invalid_date_range"),
        (
            {"from": FIRST, "to": LAST, "campaign_id": "018f0000-0000-7000-8000-000000000000"},
            404,
            "campaign_not_found",
        ),
        ({"from": FIRST, "to": LAST, "campaign_id": "spring"}, 404, "campaign_not_found"),
    ],
)
async def test_bad_filters(
    client: Client, keys: dict[str, dict[str, str]], params: dict[str, str], status: int, code: str
) -> None:
    for path in ("/api/analytics/summary", "/api/analytics/heatmap.csv"):
        response = await client.get(path, params=params, headers=keys["marketing"])
        assert response.status_code == status, response.text
        assert response.json()["error"]["code"] == code
        assert response.json()["error"]["message"]


async def test_only_marketing_finance_and_admin_may_read(
    client: Client, keys: dict[str, dict[str, str]]
) -> None:
    assert (await client.get("/api/analytics/summary")).status_code == 401
    for role in ("partner", "shop"):
        assert (await client.get("/api/analytics/funnel", headers=keys[role])).status_code == 403
    assert (await client.get("/api/analytics/funnel", headers=keys["finance"])).status_code == 200
