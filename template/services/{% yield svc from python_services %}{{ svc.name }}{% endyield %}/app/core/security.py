"""Bearer tokens: RS256 JWTs signed by the auth service and verified here with its public key."""

from typing import Any

import jwt
from pydantic import BaseModel

ALGORITHM = "RS256"
LEEWAY_SECONDS = 10  # tolerated clock skew between the signer and this service


class InvalidTokenError(Exception):
    """The token is missing a claim, expired, for another issuer or audience, or badly signed."""


class Principal(BaseModel):
    """Who is calling: the token's subject and roles."""

    subject: str
    roles: frozenset[str] = frozenset()
    claims: dict[str, Any] = {}


def verify_token(token: str, *, public_key: str, issuer: str, audience: str) -> Principal:
    """Check signature, expiry, issuer and audience, and return the caller."""
    try:
        claims: dict[str, Any] = jwt.decode(
            token,
            public_key,
            algorithms=[ALGORITHM],
            issuer=issuer,
            audience=audience,
            leeway=LEEWAY_SECONDS,
            options={"require": ["exp", "iss", "aud", "sub"]},
        )
    except jwt.PyJWTError as error:
        raise InvalidTokenError(str(error)) from error
    roles = claims.get("roles", [])
    if isinstance(roles, str):
        roles = [roles]
    if not isinstance(roles, list) or not all(isinstance(role, str) for role in roles):
        raise InvalidTokenError("the roles claim must be a list of strings")
    return Principal(subject=str(claims["sub"]), roles=frozenset(roles), claims=claims)
