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
# Kong's cors plugin cannot read its origins from the environment either: kong-entrypoint.sh puts CORS_ORIGINS here.
KONG_ORIGINS_PLACEHOLDER = "__CORS_ORIGINS__"
# Headers every answer of the gateway carries (Nginx adds the same ones).
SECURITY_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Content-Security-Policy": "frame-ancestors 'none'",
}
# Gateway rate limits per client address, in Kong's fixed windows (Nginx: 20 r/s with a burst of 40, and 5 r/s
# with a burst of 10 on the credential routes).
RATE_LIMIT = {"second": 50, "minute": 1200}
# Registering and logging in hash a password: each client gets far fewer of them.
CREDENTIAL_RATE_LIMIT = {"second": 10, "minute": 300}
CREDENTIAL_PATHS = ("/register", "/login")  # of the auth service
MAX_BODY = "1m"
# Compose configs: files compose puts into containers, written here from the model.
MONGO_USER_SCRIPT = "mongodb-service-user"
KONG_ERROR_TEMPLATE = "kong-error-template"
CONFIGS = {
    # Run by the mongo image once, when a database's volume is new (with the root user it creates): the
    # service's own user, allowed to read and write its database only.
    MONGO_USER_SCRIPT: "db.createUser({\n"
    "  user: process.env.MONGO_SERVICE_USER,\n"
    "  pwd: process.env.MONGO_SERVICE_PASSWORD,\n"
    '  roles: [{ role: "readWrite", db: db.getName() }],\n'
    "});\n",
    # The body of every error Kong answers itself (413, 429, 502-504...): JSON with a `detail`.
    KONG_ERROR_TEMPLATE: '{"detail":"%s","request_id":"%s"}\n',
}


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
        env["FIRST_ADMIN_EMAIL"] = _required("FIRST_ADMIN_EMAIL")
        env["FIRST_ADMIN_PASSWORD"] = _required("FIRST_ADMIN_PASSWORD")
    password = _required(f"{svc.env_prefix}_DB_PASSWORD")
    if svc.database == "postgres":
        env["DATABASE_URL"] = f"postgresql+asyncpg://{svc.ident}:{password}@{svc.db_host}:5432/{svc.ident}"
    else:
        # A user of the service's own database (created at the database's first start), never the root user.
        env["MONGODB_URL"] = f"mongodb://{svc.ident}:{password}@{svc.db_host}:27017/{svc.ident}?authSource={svc.ident}"
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
            "MONGO_INITDB_ROOT_USERNAME": "root",
            "MONGO_INITDB_ROOT_PASSWORD": _required(f"{svc.env_prefix}_DB_ROOT_PASSWORD"),
            "MONGO_INITDB_DATABASE": svc.ident,
            "MONGO_SERVICE_USER": svc.ident,
            "MONGO_SERVICE_PASSWORD": password,
        },
        "configs": [{"source": MONGO_USER_SCRIPT, "target": "/docker-entrypoint-initdb.d/service-user.js"}],
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
                "KONG_NGINX_HTTP_CLIENT_MAX_BODY_SIZE": MAX_BODY,
                "KONG_ERROR_DEFAULT_TYPE": "application/json",
                "KONG_ERROR_TEMPLATE_JSON": "/kong/error.json",
                # The admin API listens inside the container only; it is never published.
                "KONG_ADMIN_LISTEN": "127.0.0.1:8001",
                "KONG_STATUS_LISTEN": "0.0.0.0:8100",
                "KONG_PROXY_ACCESS_LOG": "/dev/stdout",
                "KONG_PROXY_ERROR_LOG": "/dev/stderr",
                "KONG_ADMIN_ACCESS_LOG": "/dev/stdout",
                "KONG_ADMIN_ERROR_LOG": "/dev/stderr",
                "JWT_PUBLIC_KEY": _required("JWT_PUBLIC_KEY"),
                "CORS_ORIGINS": "${CORS_ORIGINS:-}",
            },
            "entrypoint": ["/bin/sh", "/kong/kong-entrypoint.sh"],
            "configs": [{"source": KONG_ERROR_TEMPLATE, "target": "/kong/error.json"}],
            "volumes": [
                "./gateway/kong.yml:/kong/kong.yml:ro",
                "./gateway/kong-entrypoint.sh:/kong/kong-entrypoint.sh:ro",
            ],
            "healthcheck": _check(["CMD", "kong", "health"]),
        }
    return {
        "image": NGINX_IMAGE,
        **common,
        "environment": {"CORS_ORIGINS": "${CORS_ORIGINS:-}"},
        "entrypoint": ["/bin/sh", "/gateway/nginx-entrypoint.sh"],
        "volumes": [
            "./gateway/nginx.conf:/etc/nginx/nginx.conf:ro",
            "./gateway/nginx-entrypoint.sh:/gateway/nginx-entrypoint.sh:ro",
        ],
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
            # RabbitMQ keeps its data under its node name, made of the host name: a fixed one finds the same
            # queues and messages on the volume after `down` and `up`, where a new container's own would not.
            "hostname": "rabbitmq",
            "environment": {
                "RABBITMQ_NODENAME": "rabbit@rabbitmq",
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
    used = {config["source"] for service in services.values() for config in service.get("configs", [])}
    configs = {name: {"content": content} for name, content in CONFIGS.items() if name in used}
    return {"name": "${COMPOSE_PROJECT_NAME:-" + arch.project_slug + "}", "services": services,
            "networks": {NETWORK: {}}, "volumes": volumes, **({"configs": configs} if configs else {})}  # fmt: skip


def _rate_limiting(limits: dict[str, int]) -> dict[str, Any]:
    return {"name": "rate-limiting", "config": {**limits, "policy": "local", "limit_by": "ip"}}


def kong(arch: Architecture) -> dict[str, Any]:
    """The declarative Kong configuration (DB-less) as data."""
    services = []
    for svc in arch.services:
        public: list[dict[str, Any]] = [
            {
                "name": f"{svc.name}-public-{index}",
                "paths": [path],
                "methods": list(methods),
                "strip_path": False,
            }
            for index, (path, methods) in enumerate(svc.public_paths, start=1)
        ]
        if svc.kind == "auth":
            for route in public:
                if route["paths"][0].removeprefix(svc.route) in CREDENTIAL_PATHS:
                    route["plugins"] = [_rate_limiting(CREDENTIAL_RATE_LIMIT)]
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
                    "origins": [KONG_ORIGINS_PLACEHOLDER],
                    "methods": ["GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"],
                    "headers": ["Authorization", "Content-Type", "X-Request-ID"],
                    "exposed_headers": ["X-Request-ID"],
                    "credentials": False,
                    "max_age": 3600,
                },
            },
            _rate_limiting(RATE_LIMIT),
            {
                "name": "response-transformer",
                "config": {"add": {"headers": [f"{name}:{value}" for name, value in SECURITY_HEADERS.items()]}},
            },
            {
                "name": "correlation-id",
                "config": {"header_name": "X-Request-ID", "generator": "uuid", "echo_downstream": True},
            },
        ],
    }
