from __future__ import annotations

import io
import xml.etree.ElementTree as ET

from litestar import Litestar
from litestar.testing import AsyncTestClient
from PIL import Image
from sqlalchemy.ext.asyncio import AsyncSession

from growth.referral_code.rules import share_token
from tests.conftest import SECRET
from tests.factories import create_campaign, create_customer, issue_code


async def _code(session: AsyncSession, **campaign_fields: object) -> str:
    campaign = await create_campaign(session, **campaign_fields)
    code = await issue_code(
        session, campaign=campaign, customer=await create_customer(session, name="Alice Chen")
    )
    await session.commit()
    return code.code


class TestQrCode:
    async def test_png(self, client: AsyncTestClient[Litestar], session: AsyncSession) -> None:
        code = await _code(session)

        response = await client.get(f"/r/{code}/qr.png", params={"size": 400})

        assert response.status_code == 200
        assert response.headers["content-type"] == "image/png"
        image = Image.open(io.BytesIO(response.content))
        assert image.format == "PNG" and image.width == image.height and 300 < image.width <= 400
        assert response.headers["cache-control"] == "public, max-age=86400"

    async def test_svg(self, client: AsyncTestClient[Litestar], session: AsyncSession) -> None:
        code = await _code(session)

        response = await client.get(f"/r/{code.lower()}/qr.svg", params={"size": 128})

        assert response.status_code == 200
        assert response.headers["content-type"].startswith("image/svg+xml")
        root = ET.fromstring(response.content)
        assert root.tag.endswith("svg") and root.get("width") == "128" and root.get("height") == "128"

    async def test_etag_revalidation(self, client: AsyncTestClient[Litestar], session: AsyncSession) -> None:
        code = await _code(session)
        first = await client.get(f"/r/{code}/qr.svg")

        again = await client.get(f"/r/{code}/qr.svg", headers={"if-none-match": first.headers["etag"]})
        other_size = await client.get(
            f"/r/{code}/qr.svg?size=300", headers={"if-none-match": first.headers["etag"]}
        )

        assert again.status_code == 304 and again.content == b""
        assert other_size.status_code == 200

    async def test_size_is_bounded(self, client: AsyncTestClient[Litestar], session: AsyncSession) -> None:
        code = await _code(session)
        for size in ("63", "1025", "100000", "-5", "big", "1.5"):
            response = await client.get(f"/r/{code}/qr.png", params={"size": size})
            assert response.status_code == 400, size
            assert response.json()["error"]["code"] == "validation_error"

    async def test_unknown_code(self, client: AsyncTestClient[Litestar]) -> None:
        response = await client.get("/r/NOPE2345/qr.png")

        assert response.status_code == 404
        assert response.json()["error"]["code"] == "referral_code_not_found"


class TestSharePage:
    async def test_english_page(self, client: AsyncTestClient[Litestar], session: AsyncSession) -> None:
        code = await _code(session, name="Spring referral")

        response = await client.get(
            f"/share/{share_token(SECRET, code)}", headers={"accept-language": "en-US,en"}
        )

        assert response.status_code == 200
        page = response.text
        assert '<html lang="en">' in page
        assert "Hi Alice Chen, share Spring referral" in page
        assert f'value="https://growth.test/r/{code}"' in page
        assert f'src="https://growth.test/r/{code}/qr.svg?size=240"' in page
        for share_url in (
            "service.weibo.com/share",
            "twitter.com/intent/tweet",
            "facebook.com/sharer",
            "wa.me/?text=",
            "mailto:?subject=",
        ):
            assert share_url in page
        assert "#春日好物" in page and "Copy" in page
        assert response.headers["cache-control"] == "private, no-store"

    async def test_simplified_chinese_by_accept_language(
        self, client: AsyncTestClient[Litestar], session: AsyncSession
    ) -> None:
        code = await _code(session)

        response = await client.get(
            f"/share/{share_token(SECRET, code)}", headers={"accept-language": "zh-CN,zh;q=0.9,en;q=0.5"}
        )

        assert '<html lang="zh-Hans">' in response.text
        for text in ("您的专属推荐链接", "微信扫码分享", "复制", "活动话题标签"):
            assert text in response.text

    async def test_lang_parameter_overrides_the_header(
        self, client: AsyncTestClient[Litestar], session: AsyncSession
    ) -> None:
        code = await _code(session)

        response = await client.get(
            f"/share/{share_token(SECRET, code)}?lang=zh", headers={"accept-language": "en"}
        )

        assert "微信扫码分享" in response.text

    async def test_names_are_escaped(self, client: AsyncTestClient[Litestar], session: AsyncSession) -> None:
        campaign = await create_campaign(session, name="<b>Sale</b>")
        customer = await create_customer(session, name='<script>alert("x")</script>')
        code = await issue_code(session, campaign=campaign, customer=customer)
        await session.commit()

        response = await client.get(f"/share/{share_token(SECRET, code.code)}")

        assert "<script>alert" not in response.text and "&lt;script&gt;" in response.text
        assert "<b>Sale</b>" not in response.text

    async def test_forged_or_unsigned_links_are_404(
        self, client: AsyncTestClient[Litestar], session: AsyncSession
    ) -> None:
        code = await _code(session)
        genuine = share_token(SECRET, code)
        for token in (
            code,
            f"{code}.",
            f"{code}.AAAAAAAAAAAAAAAAAAAAAA",
            share_token("another-secret", code),
            genuine[:-1],
            f"X{genuine}",
        ):
            response = await client.get(f"/share/{token}", headers={"accept": "text/html"})
            assert response.status_code == 404, token
            assert "This link does not work" in response.text
