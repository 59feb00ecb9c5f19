"""Compose and gateway fragments built as Python data from the model, dumped as YAML."""

from __future__ import annotations

from typing import Any

import yaml
from architecture import Architecture, Service

SERVICE_PORT = 8000  # every service listens on this port inside its container
NETWORK = "backend"
POSTGRES_IMAGE = "postgres:16-alpine"
MONGO_IMAGE = "mongo:7.0"
REDIS_IMAGE = "redis:7.4-alpine"
RABBITMQ_IMAGE = "rabbitmq:3.13-alpine"
KONG_IMAGE = "kong:3.9"
# Kong cannot read the public key from the environment; gateway/kong-entrypoint.sh puts it here at start.
KONG_KEY_PLACEHOLDER = "__JWT_PUBLIC_KEY__"
NGINX_IMAGE = "nginx:1.27-alpine"


class _Dumper(yaml.SafeDumper):
    """Indents lists under their key and writes multi-line strings as blocks."""

    def increase_indent(self, flow: bool = False, indentless: bool = False) -> None:
        super().increase_indent(flow, False)


def _str_presenter(dumper: yaml.SafeDumper, data: str) -> yaml.ScalarNode:
    style = "|" if "\n" in data else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", data, style=style)


_Dumper.add_representer(str, _str_presenter)


def to_yaml(data: Any) -> str:
    return yaml.dump(data, Dumper=_Dumper, sort_keys=False, width=10_000, default_flow_style=False)


def _required(var: str) -> str:
    return f"${{{var}:?run make env}}"


def _healthy(*names: str) -> dict[str, dict[str, str]]:
    return {name: {"condition": "service_healthy"} for name in names}


def _check(test: list[str], start: str = "10s") -> dict[str, Any]:
    return {"test": test, "interval": "10s", "timeout": "5s", "retries": 5, "start_period": start}


def service_environment(arch: Architecture, svc: Service) -> dict[str, str]:
    """The environment a service container gets; credentials come from .env."""
    env = {
        "LOG_LEVEL": "${LOG_LEVEL:-info}",
        "JWT_ISSUER": arch.project_slug,
        "JWT_PUBLIC_KEY": _required("JWT_PUBLIC_KEY"),
    }
    if svc.kind == "auth":
        env["JWT_PRIVATE_KEY"] = _required("JWT_PRIVATE_KEY")
        env["ADMIN_EMAILS"] = "${ADMIN_EMAILS:-}"
    password = _required(f"{svc.env_prefix}_DB_PASSWORD")
    if svc.database == "postgres":
        env["DATABASE_URL"] = f"postgresql+asyncpg://{svc.ident}:{password}@{svc.db_host}:5432/{svc.ident}"
    else:
        env["MONGODB_URL"] = f"mongodb://{svc.ident}:{password}@{svc.db_host}:27017/{svc.ident}?authSource=admin"
    if arch.cache == "redis":
        env["REDIS_URL"] = f"redis://:{_required('REDIS_PASSWORD')}@redis:6379/0"
    if arch.queue == "rabbitmq":
        env["RABBITMQ_URL"] = f"amqp://{_required('RABBITMQ_USER')}:{_required('RABBITMQ_PASSWORD')}@rabbitmq:5672/"
    for name in svc.calls:
        env[f"{name.replace('-', '_').upper()}_URL"] = f"http://{name}:{SERVICE_PORT}"
    return env


def _database(svc: Service) -> dict[str, Any]:
    password = _required(f"{svc.env_prefix}_DB_PASSWORD")
    if svc.database == "postgres":
        return {
            "image": POSTGRES_IMAGE,
            "restart": "unless-stopped",
            "environment": {"POSTGRES_DB": svc.ident, "POSTGRES_USER": svc.ident, "POSTGRES_PASSWORD": password},
            "volumes": [f"{svc.name}-db-data:/var/lib/postgresql/data"],
            "networks": [NETWORK],
            "healthcheck": _check(["CMD", "pg_isready", "-U", svc.ident, "-d", svc.ident]),
        }
    return {
        "image": MONGO_IMAGE,
        "restart": "unless-stopped",
        "environment": {
            "MONGO_INITDB_ROOT_USERNAME": svc.ident,
            "MONGO_INITDB_ROOT_PASSWORD": password,
            "MONGO_INITDB_DATABASE": svc.ident,
        },
        "volumes": [f"{svc.name}-db-data:/data/db"],
        "networks": [NETWORK],
        "healthcheck": _check(["CMD", "mongosh", "--quiet", "--eval", "db.adminCommand('ping').ok"], "20s"),
    }


def _service(arch: Architecture, svc: Service) -> dict[str, Any]:
    depends = [svc.db_host]
    if arch.cache == "redis":
        depends.append("redis")
    if arch.queue == "rabbitmq":
        depends.append("rabbitmq")
    return {
        "build": {"context": f"./services/{svc.name}"},
        "image": f"{arch.project_slug}/{svc.name}:${{IMAGE_TAG:-latest}}",
        "restart": "unless-stopped",
        "environment": service_environment(arch, svc),
        "networks": [NETWORK],
        "depends_on": _healthy(*depends),
        # The images carry no curl: Python itself asks the readiness endpoint.
        "healthcheck": _check(
            [
                "CMD",
                "python",
                "-c",
                "import urllib.request; "
                f"urllib.request.urlopen('http://127.0.0.1:{SERVICE_PORT}/health/ready', timeout=4)",
            ],
            "15s",
        ),
    }


def _gateway(arch: Architecture) -> dict[str, Any]:
    common: dict[str, Any] = {
        "restart": "unless-stopped",
        "ports": ["${GATEWAY_PORT:-8000}:8000"],
        "networks": [NETWORK],
        "depends_on": _healthy(*(svc.name for svc in arch.services)),
    }
    if arch.gateway == "kong":
        return {
            "image": KONG_IMAGE,
            **common,
            "environment": {
                "KONG_DATABASE": "off",
                "KONG_DECLARATIVE_CONFIG": "/tmp/kong.yml",
                "KONG_PROXY_LISTEN": "0.0.0.0:8000",
                # The admin API listens inside the container only; it is never published.
                "KONG_ADMIN_LISTEN": "127.0.0.1:8001",
                "KONG_STATUS_LISTEN": "0.0.0.0:8100",
                "KONG_PROXY_ACCESS_LOG": "/dev/stdout",
                "KONG_PROXY_ERROR_LOG": "/dev/stderr",
                "KONG_ADMIN_ACCESS_LOG": "/dev/stdout",
                "KONG_ADMIN_ERROR_LOG": "/dev/stderr",
                "JWT_PUBLIC_KEY": _required("JWT_PUBLIC_KEY"),
            },
            "entrypoint": ["/bin/sh", "/kong/kong-entrypoint.sh"],
            "volumes": [
                "./gateway/kong.yml:/kong/kong.yml:ro",
                "./gateway/kong-entrypoint.sh:/kong/kong-entrypoint.sh:ro",
            ],
            "healthcheck": _check(["CMD", "kong", "health"]),
        }
    return {
        "image": NGINX_IMAGE,
        **common,
        "volumes": ["./gateway/nginx.conf:/etc/nginx/nginx.conf:ro"],
        "healthcheck": _check(["CMD", "wget", "-q", "-O", "/dev/null", "http://127.0.0.1:8000/health"]),
    }


def compose(arch: Architecture) -> dict[str, Any]:
    """The whole `compose.yaml` as data."""
    services: dict[str, Any] = {"gateway": _gateway(arch)}
    for svc in arch.services:
        services[svc.name] = _service(arch, svc)
    for svc in arch.services:
        services[svc.db_host] = _database(svc)
    if arch.queue == "rabbitmq":
        services["rabbitmq"] = {
            "image": RABBITMQ_IMAGE,
            "restart": "unless-stopped",
            "environment": {
                "RABBITMQ_DEFAULT_USER": _required("RABBITMQ_USER"),
                "RABBITMQ_DEFAULT_PASS": _required("RABBITMQ_PASSWORD"),
            },
            "volumes": ["rabbitmq-data:/var/lib/rabbitmq"],
            "networks": [NETWORK],
            "healthcheck": _check(["CMD", "rabbitmq-diagnostics", "-q", "ping"], "30s"),
        }
    if arch.cache == "redis":
        services["redis"] = {
            "image": REDIS_IMAGE,
            "restart": "unless-stopped",
            "command": [
                "redis-server",
                "--requirepass",
                _required("REDIS_PASSWORD"),
                "--maxmemory-policy",
                "allkeys-lru",
            ],
            "environment": {"REDISCLI_AUTH": _required("REDIS_PASSWORD")},
            "volumes": ["redis-data:/data"],
            "networks": [NETWORK],
            "healthcheck": _check(["CMD", "redis-cli", "ping"]),
        }
    volumes = {f"{svc.name}-db-data": {} for svc in arch.services}
    if arch.queue == "rabbitmq":
        volumes["rabbitmq-data"] = {}
    if arch.cache == "redis":
        volumes["redis-data"] = {}
    return {"name": "${COMPOSE_PROJECT_NAME:-" + arch.project_slug + "}", "services": services,
            "networks": {NETWORK: {}}, "volumes": volumes}  # fmt: skip


def kong(arch: Architecture) -> dict[str, Any]:
    """The declarative Kong configuration (DB-less) as data."""
    services = []
    for svc in arch.services:
        public = [
            {
                "name": f"{svc.name}-public-{index}",
                "paths": [path],
                "methods": list(methods),
                "strip_path": False,
            }
            for index, (path, methods) in enumerate(svc.public_paths, start=1)
        ]
        protected = {
            "name": f"{svc.name}-protected",
            "paths": [svc.route],
            "strip_path": False,
            "plugins": [{"name": "jwt", "config": {"key_claim_name": "iss", "claims_to_verify": ["exp"]}}],
        }
        services.append(
            {
                "name": svc.name,
                "url": f"http://{svc.name}:{SERVICE_PORT}",
                "connect_timeout": 5000,
                "read_timeout": 30000,
                "write_timeout": 30000,
                "retries": 2,
                "routes": [*public, protected],
            }
        )
    return {
        "_format_version": "3.0",
        "services": services,
        "consumers": [
            {
                "username": f"{arch.project_slug}-auth",
                "jwt_secrets": [
                    {
                        "key": arch.project_slug,
                        "algorithm": "RS256",
                        "rsa_public_key": KONG_KEY_PLACEHOLDER + "\n",
                        # Required by the schema, never used: RS256 tokens are checked with the public key.
                        "secret": "unused-with-rs256",
                    }
                ],
            }
        ],
        "plugins": [
            {
                "name": "cors",
                "config": {
                    "origins": ["*"],
                    "methods": ["GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"],
                    "headers": ["Authorization", "Content-Type", "X-Request-ID"],
                    "exposed_headers": ["X-Request-ID"],
                    "max_age": 3600,
                },
            },
            {"name": "rate-limiting", "config": {"second": 50, "minute": 1200, "policy": "local", "limit_by": "ip"}},
            {
                "name": "correlation-id",
                "config": {"header_name": "X-Request-ID", "generator": "uuid", "echo_downstream": True},
            },
        ],
    }
