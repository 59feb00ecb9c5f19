"""Each service kind renders its own files, follows the answers and its partners, and nothing else does.

The gates of every kind (ruff, mypy, its own tests against the real servers) run in test_generation.py.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
import yaml
from architecture import build
from fragments import service_environment

Render = Callable[..., Path]
ALL_KINDS = "[auth, product, order, payment, notification, widget]"
KIND_FILES = {
    "auth": ("app/api/routes/auth.py", "app/core/passwords.py", "app/core/tokens.py", "app/core/first_admin.py",
             "app/core/login_limits.py", "app/schemas/users.py", "app/repositories/users.py", "tests/test_auth.py"),
    "catalog": ("app/api/routes/products.py", "app/schemas/products.py", "app/repositories/products.py",
                "app/repositories/cached_products.py", "tests/test_products.py", "tests/test_product_cache.py",
                "tests/test_stock_events.py"),
    "order": ("app/api/routes/orders.py", "app/schemas/orders.py", "app/repositories/orders.py",
              "app/clients/catalog.py", "app/events/order_handlers.py", "tests/test_orders.py"),
    "payment": ("app/api/routes/payments.py", "app/repositories/payments.py", "app/events/payment_handlers.py",
                "tests/test_payments.py"),
    "notification": ("app/api/routes/notifications.py", "app/repositories/notifications.py",
                     "app/events/notification_handlers.py", "tests/test_notifications.py"),
    "generic": ("app/api/routes/items.py", "app/repositories/items.py", "tests/test_items.py"),
}  # fmt: skip
SERVICE_KIND = {"auth": "auth", "product": "catalog", "order": "order", "payment": "payment",
                "notification": "notification", "widget": "generic"}  # fmt: skip


@pytest.mark.parametrize("database", ["postgres", "mongodb"])
def test_each_kind_has_its_files_and_no_other_kinds(render: Render, tmp_path: Path, database: str) -> None:
    services = render(tmp_path, services=ALL_KINDS, databases=database) / "services"
    for name, kind in SERVICE_KIND.items():
        for other, files in KIND_FILES.items():
            for path in files:
                assert (services / name / path).is_file() == (other == kind), f"{name} ({kind}): {path}"
        has_migrations = (services / name / "migrations").is_dir()
        assert has_migrations == (database == "postgres"), name
    if database == "postgres":
        assert (services / "auth/migrations/versions/0002_users.py").is_file()
        assert (services / "auth/migrations/versions/0003_user_active.py").is_file()
        assert (services / "order/migrations/versions/0002_orders.py").is_file()


def test_database_specific_core_files(render: Render, tmp_path: Path) -> None:
    services = render(tmp_path, services="[widget, {name: gadget, database: mongodb}]") / "services"
    pg, mongo = services / "widget", services / "gadget"
    for path in ("alembic.ini", "docker-entrypoint.sh", "migrations/env.py", "app/models.py"):
        assert (pg / path).is_file() and not (mongo / path).exists(), path
    assert "create_async_engine" in (pg / "app/core/db.py").read_text()
    assert "AsyncMongoClient" in (mongo / "app/core/db.py").read_text()


def test_without_queue_and_cache_there_are_no_events_and_no_redis(render: Render, tmp_path: Path) -> None:
    services = render(tmp_path, services=ALL_KINDS, queue="none", cache="none") / "services"
    for name in SERVICE_KIND:
        assert [p.name for p in (services / name / "app/events").glob("*.py")] == ["__init__.py"], name
        pyproject = (services / name / "pyproject.toml").read_text()
        assert "aio-pika" not in pyproject and "redis" not in pyproject, name
    assert not (services / "product/app/repositories/cached_products.py").exists()
    assert not (services / "product/tests/test_stock_events.py").exists()


def test_auth_dependencies_and_first_admin(render: Render, tmp_path: Path) -> None:
    project = render(tmp_path, services="[accounts, {name: widget, database: mongodb}]")
    auth, widget = project / "services" / "accounts", project / "services" / "widget"
    assert '"argon2-cffi' in (auth / "pyproject.toml").read_text()
    assert "argon2" not in (widget / "pyproject.toml").read_text()
    assert 'ROUTE = "/api/accounts"' in (project / "e2e/test_auth.py").read_text()
    compose = yaml.safe_load((project / "compose.yaml").read_text())
    environment = compose["services"]["accounts"]["environment"]
    assert environment["FIRST_ADMIN_EMAIL"] == "${FIRST_ADMIN_EMAIL:?run make env}"
    assert environment["FIRST_ADMIN_PASSWORD"] == "${FIRST_ADMIN_PASSWORD:?run make env}"
    assert not {"FIRST_ADMIN_EMAIL", "ADMIN_EMAILS"} & set(compose["services"]["widget"]["environment"])
    example = (project / ".env.example").read_text()
    # The hook fills the password like every other secret; the address is a default the owner may change.
    assert "\nFIRST_ADMIN_EMAIL=admin@ecommerce-app.example.com\n" in example
    assert "\nFIRST_ADMIN_PASSWORD=change-me\n" in example
    dev = (project / "scripts/dev.py").read_text()
    assert 'env["FIRST_ADMIN_EMAIL"]' in dev and 'env["FIRST_ADMIN_PASSWORD"]' in dev
    readme = (project / "README.md").read_text()
    assert "FIRST_ADMIN_PASSWORD" in readme and "curl -s http://localhost:8000/api/accounts/login" in readme
    for path in (project / ".env.example", project / "compose.yaml", project / "scripts/dev.py", project / "README.md"):
        assert "ADMIN_EMAILS" not in path.read_text(), path


def test_no_auth_service_means_no_auth_files(render: Render, tmp_path: Path) -> None:
    project = render(tmp_path, services="widget")
    assert not (project / "e2e/test_auth.py").exists()
    assert "FIRST_ADMIN" not in (project / ".env.example").read_text()
    readme = (project / "README.md").read_text()
    assert "FIRST_ADMIN" not in readme and "from conftest import sign" in readme


def test_only_the_auth_service_gets_the_private_key_and_the_first_admin() -> None:
    arch = build({"services": "auth,product,widget"})
    environments = {svc.name: service_environment(arch, svc) for svc in arch.services}
    for name, env in environments.items():
        assert ("FIRST_ADMIN_PASSWORD" in env) == ("JWT_PRIVATE_KEY" in env) == (name == "auth"), name


def test_partner_code_follows_the_partners(render: Render, tmp_path: Path) -> None:
    """Without a catalog the order takes name and price; events only where a partner consumes them."""
    alone = render(tmp_path / "alone", services="[order]") / "services" / "order"
    assert not (alone / "app/clients").exists()
    assert "unit_price: Decimal" in (alone / "app/schemas/orders.py").read_text()
    assert not (alone / "app/events/order_handlers.py").exists()  # nothing to consume without a payment
    assert (alone / "app/events/order_events.py").is_file()
    assert "product_url" not in (alone / "app/core/config.py").read_text()

    story = render(tmp_path / "story", services="[product, order, payment, notification]") / "services"
    assert "product_url" in (story / "order/app/core/config.py").read_text()
    assert '@handles("order.paid")' in (story / "product/app/events/handlers.py").read_text()
    assert "tenacity" in (story / "order/pyproject.toml").read_text()
    assert "tenacity" not in (story / "payment/pyproject.toml").read_text()
    assert (tmp_path / "story/e2e/test_story.py").is_file() and (tmp_path / "story/e2e/test_catalog.py").is_file()
    assert not (tmp_path / "alone/e2e/test_story.py").exists()
