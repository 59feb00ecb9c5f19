"""Bodies no field can hold, on every route that takes one: NaN, Infinity, 1e400 and lone UTF-16
surrogates are refused with 422, and a body above the size limit with 413, never a 500.

The routes come from the service's own OpenAPI document, so a route added later is covered too.
"""

import uuid
from collections.abc import AsyncIterator, Callable
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from app.core.config import Settings
from app.main import check_json, create_app

# JSON text Python's decoder takes although no API value can hold it.
BAD_VALUES = ["NaN", "Infinity", "-Infinity", "1e400", "-1e400", '"\\ud800"', '"a\\udfffb"']
# Nested, and in a key: anywhere in the body.
BAD_BODIES = ['{"%s": [1, {"deep": NaN}]}', '{"%s": {"\\ud800": 1}}', '[{"%s": Infinity}]']


def _body_routes() -> list[tuple[str, str, list[str]]]:
    """(method, path, top-level fields) of every route whose OpenAPI operation takes a JSON body."""
    document = create_app(Settings.model_construct()).openapi()
    schemas = document.get("components", {}).get("schemas", {})
    routes = []
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            content = operation.get("requestBody", {}).get("content", {})
            if "application/json" not in content:
                continue
            schema = content["application/json"]["schema"]
            if "$ref" in schema:
                schema = schemas[schema["$ref"].rsplit("/", 1)[-1]]
            fields = sorted(schema.get("properties", {})) or ["value"]
            routes.append((method.upper(), path, fields))
    return routes


BODY_ROUTES = _body_routes()
# A service without such a route refuses these bodies all the same, before any routing.
ROUTES = BODY_ROUTES or [("POST", Settings.model_construct().api_prefix, ["value"])]


@pytest.fixture
async def raw_client(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    """A client that gets a 500 as an answer instead of the exception behind it."""
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
        yield http


def _url(path: str) -> str:
    parts = path.split("/")
    return "/".join(str(uuid.uuid4()) if p.startswith("{") else p for p in parts)


@pytest.mark.anyio
@pytest.mark.parametrize(
    ("method", "path", "fields"), ROUTES, ids=[f"{m} {p}" for m, p, _ in ROUTES]
)
async def test_unrepresentable_values_are_refused_with_422(
    raw_client: httpx.AsyncClient,
    make_token: Callable[..., str],
    method: str,
    path: str,
    fields: list[str],
) -> None:
    # A token with every role, so each body gets as far into the route as it can.
    token = make_token(sub=str(uuid.uuid4()), roles=["user", "admin"])
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    bodies = ['{"' + field + '": ' + value + "}" for field in fields for value in BAD_VALUES]
    bodies += [template % fields[0] for template in BAD_BODIES]
    wrong = []
    for body in bodies:
        response = await raw_client.request(method, _url(path), content=body, headers=headers)
        detail: Any = response.json().get("detail") if response.status_code != 500 else None
        if response.status_code != 422 or not detail:
            wrong.append(f"{body}: {response.status_code} {response.text[:200]}")
    assert not wrong, "\n".join(wrong)


def test_what_json_allows_still_passes() -> None:
    # A surrogate pair (an emoji) is one character, and raw UTF-8 is fine.
    check_json(b'{"a": [1.5, -2e10, 1e-400, "\\ud83d\\ude00", "\xc3\xa9", null, true]}')


@pytest.mark.anyio
@pytest.mark.parametrize("chunked", [False, True], ids=["content-length", "chunked"])
async def test_a_body_above_the_limit_is_refused_with_413(
    settings_factory: Callable[..., Settings], chunked: bool
) -> None:
    app = create_app(settings_factory(request_body_limit_bytes=1000))
    method, path, _ = ROUTES[0]
    body = b'{"value": "' + b"x" * 1000 + b'"}'

    async def stream() -> AsyncIterator[bytes]:
        for start in range(0, len(body), 100):
            yield body[start : start + 100]

    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        content = stream() if chunked else body
        response = await client.request(
            method, _url(path), content=content, headers={"X-Request-ID": "big"}
        )
        assert response.status_code == 413
        assert response.json() == {"detail": "Request body too large (at most 1000 bytes)"}
        assert response.headers["X-Request-ID"] == "big"
        # Below the limit the request goes on to the service (liveness takes any body).
        assert (await client.request("GET", "/health", content=b"x" * 1000)).status_code == 200
