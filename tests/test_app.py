"""The composed app: health, the OpenAPI document, the error shape and request ids."""

from __future__ import annotations

import uuid

import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient

from growth.settings import Settings

API_PATHS = {
    "/api/keys",
    "/api/keys/{key_id}",
    "/api/customers/{external_id}",
    "/api/campaigns",
    "/api/campaigns/{campaign_id}",
    "/api/referral-codes",
    "/api/referral-codes/{code}",
    "/api/partners",
    "/api/partners/{partner_id}",
    "/api/partners/{partner_id}/referral-codes",
}


class TestHealth:
    async def test_reports_the_database(self, client: AsyncTestClient[Litestar]) -> None:
        response = await client.get("/health")

        assert response.status_code == 200
        assert response.json() == {"status": "ok", "database": "ok"}
        assert response.headers["cache-control"] == "no-store"

    async def test_needs_no_key(self, client: AsyncTestClient[Litestar]) -> None:
        response = await client.get("/health", headers={"Authorization": "Bearer not-a-key"})

        assert response.status_code == 200


class TestOpenApi:
    async def test_swagger_ui_at_schema(self, client: AsyncTestClient[Litestar]) -> None:
        response = await client.get("/schema")

        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/html")
        assert "<title>Growth platform API</title>" in response.text
        assert "swagger" in response.text.lower()

    async def test_json_document_lists_the_api(self, client: AsyncTestClient[Litestar]) -> None:
        response = await client.get("/schema/openapi.json")

        assert response.status_code == 200
        document = response.json()
        assert document["openapi"].startswith("3.")
        assert document["info"]["title"] == "Growth platform API"
        assert API_PATHS <= set(document["paths"])
        assert "/health" in document["paths"]

    async def test_api_key_security_scheme(self, client: AsyncTestClient[Litestar]) -> None:
        document = (await client.get("/schema/openapi.json")).json()

        scheme = document["components"]["securitySchemes"]["ApiKey"]
        assert (scheme["type"], scheme["scheme"]) == ("http", "bearer")
        for path in API_PATHS:
            for method, operation in document["paths"][path].items():
                assert operation.get("security") == [{"ApiKey": []}], (method, path)
        assert "security" not in document["paths"]["/health"]["get"]

    async def test_request_bodies_are_documented(self, client: AsyncTestClient[Litestar]) -> None:
        document = (await client.get("/schema/openapi.json")).json()

        assert "requestBody" in document["paths"]["/api/campaigns"]["post"]
        assert "put" in document["paths"]["/api/customers/{external_id}"]
        assert "patch" in document["paths"]["/api/campaigns/{campaign_id}"]

    async def test_errors_are_documented_in_the_shape_sent(self, client: AsyncTestClient[Litestar]) -> None:
        """Found by fuzzing (issue 9): the document showed Litestar's ``{status_code, detail}`` 400 and
        no 401/403/404, while every error is ``{"error": {"code", "message"}}``."""
        document = (await client.get("/schema/openapi.json")).json()
        error = {"$ref": "#/components/schemas/ErrorRead"}

        responses = document["paths"]["/api/campaigns/{campaign_id}"]["patch"]["responses"]
        for status in ("400", "401", "403", "404", "409", "422"):
            assert responses[status]["content"]["application/json"]["schema"] == error, status
        page = document["paths"]["/r/{code}"]["get"]["responses"]
        assert {"400", "404"} <= set(page) and "401" not in page
        assert document["components"]["schemas"]["ErrorDetail"]["required"] == ["code", "message"]
        sent = (await client.get("/api/campaigns")).json()
        assert set(sent) == {"error"} and {"code", "message"} <= set(sent["error"])

    @pytest.mark.parametrize(
        "path",
        ["/api/audit/export.csv", "/api/shipments/export.csv", "/api/payout-runs/{run_id}/bank-file.csv"],
    )
    async def test_csv_exports_are_documented_as_csv(
        self, client: AsyncTestClient[Litestar], path: str
    ) -> None:
        """Found by fuzzing (issue 9): they were documented as JSON."""
        document = (await client.get("/schema/openapi.json")).json()

        assert list(document["paths"][path]["get"]["responses"]["200"]["content"]) == ["text/csv"]


class TestErrors:
    @pytest.mark.parametrize("path", ["/api/nothing-here", "/nope", "/api/campaigns/not-a-uuid/extra"])
    async def test_unknown_route_is_a_json_404(self, client: AsyncTestClient[Litestar], path: str) -> None:
        response = await client.get(path)

        assert response.status_code == 404
        assert response.headers["content-type"].startswith("application/json")
        assert response.json() == {"error": {"code": "not_found", "message": "Not Found"}}

    async def test_unknown_api_route_is_json_even_for_browsers(
        self, client: AsyncTestClient[Litestar]
    ) -> None:
        response = await client.get("/api/nothing-here", headers={"accept": "text/html"})

        assert response.status_code == 404
        assert response.json()["error"]["code"] == "not_found"

    async def test_unknown_page_is_html_for_browsers(self, client: AsyncTestClient[Litestar]) -> None:
        response = await client.get("/nope", headers={"accept": "text/html,*/*"})

        assert response.status_code == 404
        assert response.headers["content-type"].startswith("text/html")

    async def test_wrong_method_is_405_in_the_error_shape(self, client: AsyncTestClient[Litestar]) -> None:
        response = await client.post("/health")

        assert response.status_code == 405
        assert response.json()["error"]["code"] == "method_not_allowed"


class TestRequestId:
    async def test_given_request_id_is_echoed(self, client: AsyncTestClient[Litestar]) -> None:
        response = await client.get("/health", headers={"X-Request-ID": "req-2025-abc"})

        assert response.headers["x-request-id"] == "req-2025-abc"

    async def test_request_id_is_generated_when_absent(self, client: AsyncTestClient[Litestar]) -> None:
        first = await client.get("/health")
        second = await client.get("/health")

        ids = [first.headers["x-request-id"], second.headers["x-request-id"]]
        assert ids[0] != ids[1]
        for request_id in ids:
            assert uuid.UUID(request_id).version == 7

    async def test_unprintable_request_id_is_replaced(self, client: AsyncTestClient[Litestar]) -> None:
        response = await client.get("/health", headers={"X-Request-ID": "bad\x7fid"})

        assert response.headers["x-request-id"] != "bad\x7fid"
        assert uuid.UUID(response.headers["x-request-id"])

    async def test_overlong_request_id_is_cut(self, client: AsyncTestClient[Litestar]) -> None:
        response = await client.get("/health", headers={"X-Request-ID": "r" * 500})

        assert response.headers["x-request-id"] == "r" * 64

    async def test_error_responses_carry_the_request_id(self, client: AsyncTestClient[Litestar]) -> None:
        response = await client.get("/api/keys", headers={"X-Request-ID": "req-401"})

        assert response.status_code == 401
        assert response.headers["x-request-id"] == "req-401"

    @pytest.mark.parametrize(("method", "path"), [("GET", "/api/nothing-here"), ("POST", "/health")])
    async def test_routing_errors_carry_the_request_id(
        self, client: AsyncTestClient[Litestar], method: str, path: str
    ) -> None:
        given = await client.request(method, path, headers={"X-Request-ID": "req-routing"})
        generated = await client.request(method, path)

        assert given.status_code in {404, 405}
        assert given.headers.get("x-request-id") == "req-routing"
        assert generated.headers.get("x-request-id")


async def test_health_is_503_when_the_database_is_unreachable(settings: Settings) -> None:
    from growth.app import create_app

    down = create_app(settings.with_overrides(database_url="postgresql+asyncpg://postgres@127.0.0.1:9/none"))
    async with AsyncTestClient(down) as client:
        response = await client.get("/health")

    assert response.status_code == 503
    assert response.json() == {"status": "unavailable", "database": "unreachable"}
