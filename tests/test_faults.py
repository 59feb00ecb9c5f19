"""A generated system under attack and faults, run for real without Docker (`scripts/dev.py`).

Concurrent orders for the last units, the broker cut and back, the services' PostgreSQL cut for three
minutes while orders are being paid: every order ends in a clear state, nothing is sold twice, nothing
is lost or applied twice. Faults are TCP proxies of the test's own in front of the shared servers.
"""

from __future__ import annotations

import asyncio
import importlib.util
import json
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import jwt
import pytest
import yaml
from architecture import build
from conftest import ROOT, dev_environment, drop_databases, free_port

SERVICES = "product,order,payment"
DATABASE_CUT_SECONDS = 180  # well past the consumer's whole retry budget (1 s + 10 s + 60 s)
BROKER_CUT_SECONDS = 20


def _tcp_proxy_class() -> Any:
    """The generated services' own cuttable TCP proxy (tests/tcp_proxy.py of every service)."""
    [path] = (ROOT / "template/services").glob("*/tests/tcp_proxy.py")
    spec = importlib.util.spec_from_file_location("tcp_proxy", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.TcpProxy


class Proxy:
    """The services' TCP proxy in front of a local server, on an event loop of its own: `cut()` drops
    every connection and refuses new ones until `restore()` listens on the same port again."""

    def __init__(self, port: int) -> None:
        self._loop = asyncio.new_event_loop()
        threading.Thread(target=self._loop.run_forever, daemon=True).start()
        self._proxy = _tcp_proxy_class()("127.0.0.1", port)
        self._call(self._proxy.start())
        self._up = True
        self.port: int = self._proxy.port

    def _call(self, coroutine: Any) -> Any:
        return asyncio.run_coroutine_threadsafe(coroutine, self._loop).result(10)

    def cut(self) -> None:
        self._call(self._proxy.stop())
        self._up = False

    def restore(self) -> None:
        if not self._up:
            self._call(self._proxy.start())
            self._up = True

    def close(self) -> None:
        self.cut()
        self._loop.call_soon_threadsafe(self._loop.stop)


def _token(project: Path, **claims: Any) -> str:
    env = dict(line.partition("=")[::2] for line in (project / ".env").read_text().splitlines())
    key = env["JWT_PRIVATE_KEY"].strip('"').replace("\\n", "\n")
    issuer = env["COMPOSE_PROJECT_NAME"]
    now = int(time.time())
    payload = {"sub": str(uuid.uuid4()), "iss": issuer, "aud": issuer, "iat": now, "exp": now + 3600,
               "roles": ["user"], **claims}  # fmt: skip
    return jwt.encode(payload, key, algorithm="RS256")


class Shop:
    """The system: products and orders through its gateway; what became of them read from the services
    themselves, so that watching does not spend the gateway's rate limit."""

    def __init__(self, project: Path, gateway: str) -> None:
        self.http = httpx.Client(base_url=gateway, timeout=30)
        arch = build(yaml.safe_load((project / ".copier-answers.yml").read_text()))
        self.inside = {svc.kind: httpx.Client(base_url=f"http://127.0.0.1:{svc.port}", timeout=30)
                       for svc in arch.services}  # fmt: skip
        self.admin = {"Authorization": f"Bearer {_token(project, roles=['user', 'admin'])}"}
        self.user = {"Authorization": f"Bearer {_token(project)}"}

    def product(self, stock: int, price: str = "5.00") -> str:
        body = {"name": f"fault-{uuid.uuid4().hex[:8]}", "price": price, "category": "faults", "stock": stock}
        response = self.http.post("/api/product", json=body, headers=self.admin)
        assert response.status_code == 201, response.text
        return str(response.json()["id"])

    def stock(self, product_id: str) -> int:
        response = self.inside["catalog"].get(f"/api/product/{product_id}")
        assert response.status_code == 200, response.text
        return int(response.json()["stock"])

    def order(self, product_id: str, quantity: int = 1) -> httpx.Response:
        body = {"items": [{"product_id": product_id, "quantity": quantity}]}
        return self.http.post("/api/order", json=body, headers=self.user)

    def orders(self, count: int, product_id: str) -> list[httpx.Response]:
        """`count` orders of one unit, all sent at once."""
        with ThreadPoolExecutor(max_workers=count) as pool:
            return list(pool.map(lambda _: self.order(product_id), range(count)))

    def statuses(self, order_ids: list[str]) -> dict[str, str]:
        response = self.inside["order"].get("/api/order", params={"limit": 100}, headers=self.user)
        assert response.status_code == 200, response.text
        known = {order["id"]: order["status"] for order in response.json()["items"]}
        return {order_id: known.get(order_id, "missing") for order_id in order_ids}

    def payments(self, order_id: str) -> list[dict[str, Any]]:
        response = self.inside["payment"].get("/api/payment", params={"order_id": order_id}, headers=self.admin)
        assert response.status_code == 200, response.text
        payments: list[dict[str, Any]] = response.json()
        return payments

    def settle(self, order_ids: list[str], within: float) -> tuple[dict[str, str], float]:
        """Wait until no order is pending; the statuses and the seconds it took."""
        started = time.monotonic()
        while True:
            statuses = self.statuses(order_ids)
            if "pending" not in statuses.values() or time.monotonic() - started > within:
                return statuses, time.monotonic() - started
            time.sleep(0.2)


def _report(item: str, placed: int, statuses: dict[str, str], refused: int, duplicated: int) -> str:
    paid = sum(status == "paid" for status in statuses.values())
    lost = sum(status in ("pending", "missing") for status in statuses.values())
    return json.dumps({"fault": item, "placed": placed, "paid": paid, "refused": refused, "lost": lost,
                       "duplicated": duplicated})  # fmt: skip


class System:
    """The running system, its order service's PostgreSQL and payment service's RabbitMQ behind proxies."""

    def __init__(self, shop: Shop, database: Proxy, broker: Proxy, logs: Callable[[], str]) -> None:
        self.shop, self.order_database, self.payment_broker, self.logs = shop, database, broker, logs


@pytest.fixture(scope="module")
def system(session_copier: Any, tmp_path_factory: pytest.TempPathFactory, mongodb: str, vhost: str) -> Iterator[System]:
    slug = f"flt-{uuid.uuid4().hex[:6]}"
    project = session_copier.copy(
        tmp_path_factory.mktemp("faults"), project_slug=slug, services=SERVICES, gateway="nginx",
        databases="postgres",
    ).path  # fmt: skip
    database, broker = Proxy(5432), Proxy(5672)
    port = free_port()
    env = {
        **dev_environment(mongodb, vhost),
        "GATEWAY_PORT": str(port),
        "DEV_ORDER_POSTGRES_URL": f"postgresql://postgres@127.0.0.1:{database.port}",
        "DEV_PAYMENT_RABBITMQ_URL": f"amqp://guest:guest@127.0.0.1:{broker.port}/{vhost}",
        "READINESS_TIMEOUT_SECONDS": "1",
    }
    dev = [sys.executable, "scripts/dev.py"]

    def logs() -> str:
        return "\n".join(f"--- {log.name}\n{log.read_text()[-4000:]}" for log in (project / ".run").glob("*.log"))

    try:
        up = subprocess.run([*dev, "up", "--timeout", "90"], cwd=project, env=env, capture_output=True, text=True)
        assert up.returncode == 0, f"{up.stdout}\n{up.stderr}\n{logs()}"
        yield System(Shop(project, f"http://127.0.0.1:{port}"), database, broker, logs)
    finally:
        database.restore()
        broker.restore()
        subprocess.run([*dev, "down"], cwd=project, env=env, capture_output=True, check=False)
        database.close()
        broker.close()
        drop_databases(slug.replace("-", "_"))


pytestmark = [pytest.mark.slow, pytest.mark.usefixtures("local_ports")]


def test_concurrent_orders_never_oversell(system: System) -> None:
    shop = system.shop
    for stock, orders in ((1, 20), (2, 5)):
        product = shop.product(stock)
        answers = shop.orders(orders, product)
        codes = sorted(answer.status_code for answer in answers)
        assert codes == [201] * stock + [409] * (orders - stock), {answer.text for answer in answers}
        placed = [answer.json()["id"] for answer in answers if answer.status_code == 201]
        statuses, _ = shop.settle(placed, within=30)
        duplicated = sum(len(shop.payments(order_id)) > 1 for order_id in placed)
        print(_report("concurrent orders", orders, statuses, codes.count(409), duplicated))
        assert set(statuses.values()) == {"paid"} and duplicated == 0
        assert shop.stock(product) == 0


def test_a_declined_order_gives_its_stock_back(system: System) -> None:
    shop = system.shop
    product = shop.product(1, price="20000.00")  # above the payment service's decline limit
    answer = shop.order(product)
    assert answer.status_code == 201, answer.text
    assert shop.stock(product) == 0  # held by the order
    statuses, _ = shop.settle([answer.json()["id"]], within=30)
    assert set(statuses.values()) == {"payment_failed"}
    deadline = time.monotonic() + 15
    while shop.stock(product) != 1 and time.monotonic() < deadline:
        time.sleep(0.2)
    assert shop.stock(product) == 1


def test_orders_placed_while_the_broker_is_away_are_paid_within_seconds_of_its_return(system: System) -> None:
    """The payment service loses RabbitMQ for a while; the orders placed meanwhile are paid within
    seconds of its return."""
    shop = system.shop
    product = shop.product(100)
    system.payment_broker.cut()
    try:
        answers = [shop.order(product) for _ in range(20)]
        assert {answer.status_code for answer in answers} == {201}, [a.text for a in answers]
        time.sleep(BROKER_CUT_SECONDS)
        assert set(shop.statuses([a.json()["id"] for a in answers]).values()) == {"pending"}
    finally:
        system.payment_broker.restore()
    placed = [answer.json()["id"] for answer in answers]
    statuses, took = shop.settle(placed, within=60)
    duplicated = sum(len(shop.payments(order_id)) > 1 for order_id in placed)
    print(_report("broker cut", len(placed), statuses, 0, duplicated), f"paid {took:.1f} s after the return")
    assert set(statuses.values()) == {"paid"}, f"{statuses}\n{system.logs()}"
    assert took < 5, f"the last order was paid {took:.1f} s after the broker came back"
    assert duplicated == 0 and shop.stock(product) == 80


def test_a_database_gone_for_minutes_loses_no_event(system: System) -> None:
    """The order service's PostgreSQL is cut for three minutes while the payments of 20 orders come
    in: once it is back, every order ends paid, each charged once, none dead-lettered."""
    shop = system.shop
    product = shop.product(100)
    system.payment_broker.cut()  # the payments wait, so that they arrive while the database is away
    answers = [shop.order(product) for _ in range(20)]
    assert {answer.status_code for answer in answers} == {201}
    placed = [answer.json()["id"] for answer in answers]
    system.order_database.cut()
    system.payment_broker.restore()
    try:
        time.sleep(DATABASE_CUT_SECONDS)
    finally:
        system.order_database.restore()
    statuses, took = shop.settle(placed, within=120)
    duplicated = sum(len(shop.payments(order_id)) > 1 for order_id in placed)
    print(_report("database cut", len(placed), statuses, 0, duplicated), f"settled {took:.1f} s after the return")
    assert set(statuses.values()) == {"paid"}, f"{statuses}\n{system.logs()}"
    assert duplicated == 0 and shop.stock(product) == 80
