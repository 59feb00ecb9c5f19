"""The id of the request being served: in logs, and the correlation id of the events it causes."""

import uuid
from contextvars import ContextVar

request_id: ContextVar[str | None] = ContextVar("request_id", default=None)


def current_request_id() -> str:
    """The request id, or a fresh one outside a request (a background task, a consumer)."""
    return request_id.get() or uuid.uuid4().hex
