"""Marketing's analytics dashboard on the seeded program: the same figures as the API, cards, charts, CSV.

The page embeds the charts' data as JSON; each chart's data must equal the API's JSON for the same
filters, the cards must show the API's summary, and each CSV link must return the API's CSV.
"""

from __future__ import annotations

import asyncio
import html
import json
import re
from typing import Any

import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient
from sqlalchemy.ext.asyncio import AsyncSession

from growth.core.auth.rules import Role
from tests.factories import create_key
from tests.growth.analytics.seed import FIRST, LAST, Seed
from tests.pages import HTML, sign_in

Client = AsyncTestClient[Litestar]
PAGE = "/marketing/analytics"
CHARTS = ("funnel", "daily", "heatmap", "top-referrers", "top-partners")


@pytest.fixture
async def secrets(session: AsyncSession) -> dict[str, str]:
    made = {role.value: await create_key(session, role=role, name=f"{role.value} page key") for role in Role}
    await session.commit()
    return made


def embedded(page: str, element_id: str) -> Any:
    match = re.search(rf'<script type="application/json" id="{element_id}">(.*?)</script>', page, re.S)
    assert match, f"no #{element_id} on the page"
    return json.loads(match.group(1))


def card(page: str, card_id: str) -> str:
    match = re.search(rf'id="{card_id}">(.*?)</div></div>', page, re.S)
    assert match, f"no #{card_id} card"
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", match.group(1))).split())


def query(seed: Seed, campaign: str | None) -> str:
    q = f"from={FIRST}&to={LAST}"
    return q + (f"&campaign_id={seed.ids[campaign]}" if campaign else "")


@pytest.mark.parametrize("campaign", [None, "A"])
async def test_the_charts_data_and_cards_equal_the_api(
    client: Client, seed: Seed, keys: dict[str, dict[str, str]], secrets: dict[str, str], campaign: str | None
) -> None:
    await sign_in(client, secrets["marketing"])
    q = query(seed, campaign)
    response = await client.get(f"{PAGE}?{q}", headers=HTML)
    assert response.status_code == 200, response.text
    page = response.text
    data = embedded(page, "analytics-data")
    assert set(data) == set(CHARTS)
    for name in CHARTS:
        api = await client.get(f"/api/analytics/{name}?{q}", headers=keys["marketing"])
        assert api.status_code == 200
        assert data[name] == api.json(), name

    summary = (await client.get(f"/api/analytics/summary?{q}", headers=keys["marketing"])).json()
    assert card(page, "card-clicks") == str(summary["clicks"])
    assert card(page, "card-referred-customers") == str(summary["referred_customers"])
    assert card(page, "card-referred-orders") == f"{summary['referred_orders']} / {summary['orders']}"
    assert card(page, "card-shares") == f"{summary['share_submissions']} / {summary['share_approvals']}"
    assert summary["conversion_bps"] is not None
    assert card(page, "card-conversion") == f"{summary['conversion_bps'] / 100:.2f}%"
    assert card(page, "card-hold-rate") == (
        "\u2013" if summary["hold_rate_bps"] is None else f"{summary['hold_rate_bps'] / 100:.2f}%"
    )
    revenue = card(page, "card-referred-revenue")
    assert summary["referred_revenue"]
    for amount in summary["referred_revenue"]:
        symbol = {"CNY": "CN¥", "USD": "$"}.get(amount["currency"], amount["currency"])
        assert f"{symbol}{amount['amount'] / 100:,.2f}" in revenue
    channels = re.findall(r'<tr data-channel="([a-z_]+)">', page)
    assert channels == [c["channel"] for c in summary["cost_per_customer"]]


async def test_every_csv_link_returns_the_api_csv(
    client: Client, seed: Seed, keys: dict[str, dict[str, str]], secrets: dict[str, str]
) -> None:
    await sign_in(client, secrets["marketing"])
    q = query(seed, "A")
    page = (await client.get(f"{PAGE}?{q}", headers=HTML)).text
    links = dict(re.findall(r'href="(/marketing/analytics/([a-z-]+)\.csv\?[^"]+)"', page))
    links = {name: html.unescape(href) for href, name in links.items()}
    assert sorted(links) == sorted(("summary", *CHARTS))
    for name, href in links.items():
        from_page = await client.get(href)
        assert from_page.status_code == 200, (name, from_page.text)
        assert from_page.headers["content-type"].startswith("text/csv")
        api = await client.get(f"/api/analytics/{name}.csv?{q}", headers=keys["marketing"])
        assert from_page.text == api.text, name
        assert len(from_page.text.splitlines()) > 1


@pytest.mark.parametrize(
    ("params", "status", "message"),
    [
        ("from=2026-11-09&to=2026-11-02", 400, "These dates cannot be shown"),
        ("from=yesterday", 400, "These dates cannot be shown"),
        ("campaign_id=not-a-uuid", 404, "No campaign has this ID."),
        ("campaign_id=00000000-0000-4000-8000-000000000000", 404, "No campaign has this ID."),
    ],
)
async def test_bad_filters_show_an_error_on_the_page(
    client: Client, secrets: dict[str, str], params: str, status: int, message: str
) -> None:
    await sign_in(client, secrets["marketing"])
    response = await client.get(f"{PAGE}?{params}", headers=HTML)
    assert response.status_code == status
    assert 'id="page-error"' in response.text and message in response.text
    assert 'id="analytics-data"' not in response.text
    assert 'id="analytics-filters"' in response.text  # the form stays, to fix the filter
    csv = await client.get(f"{PAGE}/funnel.csv?{params}")
    assert csv.status_code == status


@pytest.mark.parametrize(("role", "allowed"), [("marketing", True), ("admin", True), ("finance", False)])
async def test_dashboard_roles(client: Client, secrets: dict[str, str], role: str, allowed: bool) -> None:
    await sign_in(client, secrets[role])
    page = await client.get(PAGE, headers=HTML)
    csv = await client.get(f"{PAGE}/summary.csv")
    if allowed:
        assert page.status_code == 200 and 'id="analytics-data"' in page.text
        assert csv.status_code == 200
    else:
        assert page.status_code == 403 and 'id="analytics-data"' not in page.text
        assert csv.status_code == 403


@pytest.mark.parametrize("role", ["partner", "shop"])
async def test_partner_and_shop_keys_do_not_open_the_dashboard(
    client: Client, secrets: dict[str, str], role: str
) -> None:
    await sign_in(client, secrets[role])
    page = await client.get(PAGE, headers=HTML, follow_redirects=False)
    assert page.status_code in (303, 403)
    assert 'id="analytics-data"' not in page.text
    csv = await client.get(f"{PAGE}/summary.csv", follow_redirects=False)
    assert csv.status_code in (303, 403) and "figure" not in csv.text


async def test_signed_out_visitors_go_to_sign_in(client: Client) -> None:
    response = await client.get(PAGE, headers=HTML, follow_redirects=False)
    assert response.status_code == 303 and response.headers["location"].startswith("/sign-in?next=")


async def test_the_dashboard_in_simplified_chinese(
    client: Client, seed: Seed, secrets: dict[str, str]
) -> None:
    await sign_in(client, secrets["marketing"])
    page = (await client.get(f"{PAGE}?{query(seed, None)}&lang=zh", headers=HTML)).text
    assert "数据分析" in page and "漏斗" in page and "转化率" in page
    assert "¥" in card(page, "card-referred-revenue")
    labels = embedded(page, "analytics-labels")
    assert labels["weekdays"]["mon"] == "周一"
    assert labels["series"]["other_orders"] == "其他订单"
    bad = await client.get(f"{PAGE}?campaign_id=nope&lang=zh", headers=HTML)
    assert bad.status_code == 404 and "没有此 ID 的活动。" in bad.text


async def test_the_nav_links_to_the_dashboard(client: Client, secrets: dict[str, str]) -> None:
    await sign_in(client, secrets["marketing"])
    page = (await client.get("/marketing/reviews", headers=HTML)).text
    assert f'href="{PAGE}"' in page


async def test_the_chart_scripts_are_served(client: Client) -> None:
    for path in ("dashboard.js", "vendor/chart.umd.js", "vendor/chartjs-chart-matrix.min.js"):
        response = await client.get(f"/static/analytics/{path}")
        assert response.status_code == 200, path
        assert "javascript" in response.headers["content-type"]


def test_charts_are_drawn_in_chromium(live_server: str, database_url: str) -> None:
    """Every chart canvas holds a Chart.js chart, with no console error, on the seeded range."""
    from tests.test_browser import CHROMIUM, CHROMIUM_ARGS, _require_browser

    _require_browser()
    from playwright.sync_api import sync_playwright

    key = asyncio.run(_seed_database(database_url))
    errors: list[str] = []
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            try:
                page = browser.new_context(
                    locale="en-US", viewport={"width": 1280, "height": 1400}
                ).new_page()
                page.on(
                    "console",
                    lambda m: errors.append(f"{m.text} {m.location['url']}") if m.type == "error" else None,
                )
                page.on("pageerror", lambda e: errors.append(str(e)))
                page.on(
                    "response", lambda r: errors.append(f"{r.status} {r.url}") if r.status >= 400 else None
                )
                page.goto(f"{live_server}{PAGE}?from={FIRST}&to={LAST}")
                page.fill("#key", key)
                page.click("button[type=submit]")
                page.wait_for_load_state("networkidle")
                assert page.url.startswith(f"{live_server}{PAGE}")
                for name in CHARTS:
                    kind = page.evaluate(
                        "id => { const c = Chart.getChart(document.getElementById(id));"
                        " return c ? c.config.type : null; }",
                        f"chart-{name}",
                    )
                    assert kind == ("matrix" if name == "heatmap" else "bar"), name
                drawn = page.evaluate(
                    "() => Chart.getChart(document.getElementById('chart-daily')).data.datasets"
                    ".map(d => d.data.reduce((a, b) => a + b, 0))"
                )
                assert sum(drawn) > 0
            finally:
                browser.close()
    finally:
        asyncio.run(_empty(database_url))
    # The browser asks for /favicon.ico on its own; the app has none (not this page's doing).
    assert [e for e in errors if not e.endswith("/favicon.ico")] == []


async def _seed_database(url: str) -> str:
    from growth.core.db import make_db_config, make_engine
    from tests.growth.analytics.seed import build, write

    engine = make_engine(url)
    try:
        async with make_db_config(engine).create_session_maker()() as session:
            await write(session, build())
            key = await create_key(session, role=Role.marketing, name="browser")
            await session.commit()
            return key
    finally:
        await engine.dispose()


async def _empty(url: str) -> None:
    from growth.core.db import make_engine
    from tests.conftest import empty_all_tables

    engine = make_engine(url)
    try:
        await empty_all_tables(engine)
    finally:
        await engine.dispose()


def test_the_embedded_json_cannot_close_its_script_element() -> None:
    from growth.analytics.rules import script_json

    value = {"name": "</script><script>alert(1)</script><!-- & \u2028"}
    text = script_json(json.dumps(value, ensure_ascii=False))
    assert "<" not in text and ">" not in text and "&" not in text and "\u2028" not in text
    assert json.loads(text) == value


async def test_the_campaign_filter_offers_every_campaign_and_languages_keep_the_filters(
    client: Client, seed: Seed, secrets: dict[str, str]
) -> None:
    await sign_in(client, secrets["marketing"])
    q = query(seed, "A")
    page = (await client.get(f"{PAGE}?{q}", headers=HTML)).text
    options = re.findall(r'<option value="([^"]*)"( selected)?>([^<]*)</option>', page)
    assert options[0] == ("", "", "All campaigns")
    chosen = [value for value, selected, _name in options if selected]
    assert chosen == [str(seed.ids["A"])]
    assert {value for value, _s, _n in options[1:]} == {str(seed.ids[c]) for c in seed.kinds}
    # The language links change the language only: the dates and the campaign stay.
    links = re.findall(r'<a href="(\?[^"]*lang=[^"]*)"', page)
    assert len(links) == 2
    for link in links:
        assert f"campaign_id={seed.ids['A']}" in link and f"from={FIRST}" in link and f"to={LAST}" in link
    zh = (await client.get(f"{PAGE}{html.unescape(links[1])}", headers=HTML)).text
    assert "全部活动" in zh and embedded(zh, "analytics-data") == embedded(page, "analytics-data")
    # The choice is remembered: the next page opens in Chinese without ?lang=, until English is chosen.
    assert "订单审核" in (await client.get("/marketing/reviews", headers=HTML)).text
    await client.get(f"{PAGE}{html.unescape(links[0])}", headers=HTML)
    assert "Order reviews" in (await client.get("/marketing/reviews", headers=HTML)).text
