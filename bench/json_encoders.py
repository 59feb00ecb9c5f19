"""Encode one catalog page (20 products) the ways a FastAPI service can; prints microseconds per page as JSON.

Run by `bench/run.py` inside a generated catalog service (`PYTHONPATH=. uv run --with orjson python ...`).
"""

import json
import timeit
import uuid
from datetime import UTC, datetime
from decimal import Decimal

import orjson
from app.schemas.products import ProductPage, ProductPublic
from fastapi.encoders import jsonable_encoder
from pydantic import TypeAdapter

now = datetime.now(UTC)
items = [
    ProductPublic(
        id=uuid.uuid4(),
        name=f"Product {i}",
        description="A product " * 8,
        price=Decimal("9.99"),
        category="bench",
        stock=5,
        created_at=now,
        updated_at=now,
    )
    for i in range(20)
]
page = ProductPage(items=items, total=20, limit=20, offset=0)
adapter = TypeAdapter(ProductPage)
ways = {
    "pydantic-core dump_json (FastAPI's path for a declared return type)": lambda: adapter.dump_json(
        adapter.validate_python(page)
    ),
    "jsonable_encoder + json.dumps (FastAPI's path without one)": lambda: json.dumps(jsonable_encoder(page)).encode(),
    "orjson of model_dump(mode='json') (ORJSONResponse)": lambda: orjson.dumps(
        adapter.validate_python(page).model_dump(mode="json")
    ),
}
print(
    json.dumps(
        {name: round(min(timeit.repeat(way, number=500, repeat=5)) / 500 * 1e6, 1) for name, way in ways.items()}
    )
)
