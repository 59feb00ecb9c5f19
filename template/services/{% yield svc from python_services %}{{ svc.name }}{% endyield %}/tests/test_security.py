"""Token checks: signature, expiry, issuer, audience, algorithm, and the authorize() dependency."""

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Annotated

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from fastapi import Depends, FastAPI

from app.api.deps import authorize, get_settings
from app.core.config import Settings
from app.core.security import InvalidTokenError, Principal, verify_token
from tests.conftest import AUDIENCE, ISSUER


def _verify(token: str, public_key: str) -> Principal:
    return verify_token(token, public_key=public_key, issuer=ISSUER, audience=AUDIENCE)


def test_valid_token_gives_the_caller(
    make_token: Callable[..., str], rsa_keys: tuple[str, str]
) -> None:
    principal = _verify(make_token(sub="42", roles=["admin"]), rsa_keys[1])
    assert principal.subject == "42"
    assert principal.roles == {"admin"}


@pytest.mark.parametrize(
    ("claims", "reason"),
    [
        ({"exp": datetime.now(UTC) - timedelta(minutes=1)}, "(?i)expired"),
        ({"iss": "someone-else"}, "(?i)issuer"),
        ({"aud": "another-project"}, "(?i)audience"),
        ({"sub": None}, "sub"),
    ],
)
def test_bad_claims_are_refused(
    make_token: Callable[..., str],
    rsa_keys: tuple[str, str],
    claims: dict[str, object],
    reason: str,
) -> None:
    token = make_token(**claims)
    if claims.get("sub", "") is None:
        payload = jwt.decode(token, options={"verify_signature": False})
        payload.pop("sub")
        token = jwt.encode(payload, rsa_keys[0], algorithm="RS256")
    with pytest.raises(InvalidTokenError, match=reason):
        _verify(token, rsa_keys[1])


def test_token_signed_by_another_key_is_refused(rsa_keys: tuple[str, str]) -> None:
    other = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = other.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    now = datetime.now(UTC)
    claims = {"sub": "1", "iss": ISSUER, "aud": AUDIENCE, "exp": now + timedelta(minutes=1)}
    with pytest.raises(InvalidTokenError, match="Signature"):
        _verify(jwt.encode(claims, pem, algorithm="RS256"), rsa_keys[1])


def test_hs256_token_is_refused(rsa_keys: tuple[str, str]) -> None:
    """Only RS256 is accepted, so the public key can never be used as an HMAC secret."""
    now = datetime.now(UTC)
    claims = {"sub": "1", "iss": ISSUER, "aud": AUDIENCE, "exp": now + timedelta(minutes=1)}
    token = jwt.encode(claims, "x" * 32, algorithm="HS256")
    with pytest.raises(InvalidTokenError):
        _verify(token, rsa_keys[1])


@pytest.mark.anyio
async def test_authorize_requires_token_and_role(
    make_token: Callable[..., str], settings_values: dict[str, object]
) -> None:
    app = FastAPI()
    app.dependency_overrides[get_settings] = lambda: Settings(**settings_values)  # type: ignore[arg-type]

    @app.get("/admin")
    async def admin(principal: Annotated[Principal, Depends(authorize("admin"))]) -> str:
        return principal.subject

    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        missing = await client.get("/admin")
        assert missing.status_code == 401
        assert missing.json() == {"detail": "Not authenticated"}
        bad = await client.get("/admin", headers={"Authorization": "Bearer nonsense"})
        assert bad.status_code == 401
        assert bad.json()["detail"].startswith("Invalid token")
        user = {"Authorization": f"Bearer {make_token(roles=['user'])}"}
        assert (await client.get("/admin", headers=user)).status_code == 403
        admin_headers = {"Authorization": f"Bearer {make_token(sub='7', roles=['admin'])}"}
        ok = await client.get("/admin", headers=admin_headers)
        assert ok.status_code == 200
        assert ok.json() == "7"
