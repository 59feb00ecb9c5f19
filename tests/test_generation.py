"""Generate a project for each answer set and check every file it produced, statically and by running it."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml
from architecture import build
from conftest import dev_environment, drop_databases, free_port
from copier import run_copy

DOZEN = "billing,shipping,search-index,inventory,reviews,wishlist,ledger,tickets,media,geo,audit-log,feeds"
CASES: dict[str, dict[str, Any]] = {
    "defaults": {},
    "seed-ecommerce": {"project_name": "EcommerceApp", "services": "user,product,order"},
    "seed-kong": {"project_name": "MyApp", "services": "auth,catalog,payment", "gateway": "kong", "queue": "rabbitmq"},
    "seed-databases": {"project_name": "MyApp", "services": "user,post", "databases": "postgres,mongodb"},
    "nginx": {"gateway": "nginx"},
    "no-queue": {"queue": "none"},
    "no-cache": {"cache": "none"},
    "one-service": {"services": "billing", "gateway": "nginx"},
    "dozen": {"project_name": "Big System", "services": DOZEN, "databases": "mongodb"},
    "all-kinds-mongodb": {"services": "auth,product,order,payment,notification,reviews", "databases": "mongodb"},
    "all-kinds-postgres-quiet": {
        "services": "auth,product,order,payment,notification,reviews",
        "databases": "postgres",
        "queue": "none",
        "cache": "none",
    },
    "mixed": {
        "services": "[auth, {name: catalog, database: postgres}, {name: ledger, kind: payment, database: mongodb},"
        " orders]",
        "gateway": "nginx",
    },
}
SERVICE_FILES = ("Dockerfile", "pyproject.toml", "uv.lock", "README.md", ".env.example", "app/main.py", "tests")
PROJECT_FILES = (
    "compose.yaml", "Makefile", "README.md", ".env", ".env.example", ".gitignore", ".copier-answers.yml",
    "scripts/build.sh", "scripts/start.sh", "scripts/env.py", "scripts/check-conflicts.sh",
)  # fmt: skip
UNRENDERED = re.compile(r"\{\{|\{%|%\}")
GITHUB_EXPRESSION = re.compile(r"\$\{\{ [^}]+ \}\}")  # ${{ matrix.service }} in the CI workflow, meant for GitHub


@pytest.fixture(params=list(CASES), scope="module")
def case(request: pytest.FixtureRequest, generate: Any) -> tuple[Path, Any]:
    """A generated project and its architecture model."""
    project = generate(request.param, **CASES[request.param])
    return project.path, build(project.answers)


def run(cmd: list[str], cwd: Path, **kwargs: Any) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, check=False, **kwargs)
    assert result.returncode == 0, f"{' '.join(cmd)} failed in {cwd}:\n{result.stdout}\n{result.stderr}"
    return result


def test_expected_tree(case: tuple[Path, Any]) -> None:
    path, arch = case
    for name in PROJECT_FILES:
        assert (path / name).exists(), name
    gateway_file = {"kong": "gateway/kong.yml", "nginx": "gateway/nginx.conf"}[arch.gateway]
    assert (path / gateway_file).is_file()
    assert len(list((path / "gateway").iterdir())) == 2  # the configuration and the entrypoint that completes it
    assert sorted(p.name for p in (path / "services").iterdir()) == sorted(s.name for s in arch.services)
    for svc in arch.services:
        for name in SERVICE_FILES:
            assert (path / "services" / svc.name / name).exists(), f"{svc.name}/{name}"
    assert (path / "scripts/start.sh").stat().st_mode & 0o111


def test_nothing_left_unrendered(case: tuple[Path, Any]) -> None:
    path, _ = case
    for file in path.rglob("*"):
        if file.is_file() and ".venv" not in file.parts and file.name != "uv.lock":
            text = GITHUB_EXPRESSION.sub("", file.read_text(errors="replace"))
            assert not UNRENDERED.search(text), f"unrendered Jinja in {file.relative_to(path)}"


def test_answers_round_trip(case: tuple[Path, Any], request: pytest.FixtureRequest) -> None:
    path, arch = case
    answers = yaml.safe_load((path / ".copier-answers.yml").read_text())
    given = CASES[request.node.callspec.params["case"]]
    for key, value in given.items():
        assert answers[key] == (yaml.safe_load(value) if key == "services" and value.startswith("[") else value)
    assert build(answers) == arch


def test_env_has_fresh_secret_for_every_placeholder(case: tuple[Path, Any]) -> None:
    path, arch = case
    env = (path / ".env").read_text()
    example = (path / ".env.example").read_text()
    for key in re.findall(r"^(\w+)=change-me$", example, re.M):
        value = re.search(rf"^{key}=(.+)$", env, re.M)
        assert value and value.group(1) != "change-me" and len(value.group(1)) >= 32, key
    for svc in arch.services:
        assert f"{svc.env_prefix}_DB_PASSWORD=" in env
    assert "-----BEGIN PUBLIC KEY-----" in env
    assert ".env" in (path / ".gitignore").read_text().splitlines()


def test_compose_is_valid_and_only_the_gateway_is_published(case: tuple[Path, Any]) -> None:
    path, arch = case
    run(["docker-compose", "-f", "compose.yaml", "config", "--quiet"], cwd=path)
    compose = yaml.safe_load((path / "compose.yaml").read_text())
    assert "version" not in compose
    services = compose["services"]
    published = {name for name, svc in services.items() if "ports" in svc}
    assert published == {"gateway"}
    expected = {"gateway", *(s.name for s in arch.services), *(s.db_host for s in arch.services)}
    expected |= {"rabbitmq"} if arch.queue == "rabbitmq" else set()
    expected |= {"redis"} if arch.cache == "redis" else set()
    assert set(services) == expected
    for name, svc in services.items():
        assert "healthcheck" in svc, name
        assert svc["restart"] == "unless-stopped", name
        for dependency in svc.get("depends_on", {}).values():
            assert dependency == {"condition": "service_healthy"}, name
    assert set(compose["volumes"]) >= {f"{s.name}-db-data" for s in arch.services}
    assert len(compose["networks"]) == 1
    if arch.queue == "rabbitmq":  # its data lives under its node name: a fixed one finds it again after down/up
        rabbitmq = services["rabbitmq"]
        assert rabbitmq["environment"]["RABBITMQ_NODENAME"] == f"rabbit@{rabbitmq['hostname']}"
        assert rabbitmq["volumes"] == ["rabbitmq-data:/var/lib/rabbitmq"]
    for svc in (s for s in arch.services if s.database == "mongodb"):
        # The service logs in as a user of its own database, created at the database's first start; root is not it.
        url = services[svc.name]["environment"]["MONGODB_URL"]
        assert re.fullmatch(
            rf"mongodb://{svc.ident}:[^@]+@{svc.db_host}:27017/{svc.ident}\?authSource={svc.ident}", url
        )
        database = services[svc.db_host]["environment"]
        assert database["MONGO_INITDB_ROOT_USERNAME"] != svc.ident
        assert database["MONGO_INITDB_ROOT_PASSWORD"] == f"${{{svc.env_prefix}_DB_ROOT_PASSWORD:?run make env}}"
        assert database["MONGO_INITDB_DATABASE"] == database["MONGO_SERVICE_USER"] == svc.ident
        assert database["MONGO_SERVICE_PASSWORD"] == f"${{{svc.env_prefix}_DB_PASSWORD:?run make env}}"
        (script,) = services[svc.db_host]["configs"]
        assert script["target"].startswith("/docker-entrypoint-initdb.d/") and script["target"].endswith(".js")
        content = compose["configs"][script["source"]]["content"]
        assert "db.createUser(" in content and 'role: "readWrite", db: db.getName()' in content
        assert "process.env.MONGO_SERVICE_USER" in content and "process.env.MONGO_SERVICE_PASSWORD" in content
    gateway = services["gateway"]
    assert gateway["environment"]["CORS_ORIGINS"] == "${CORS_ORIGINS:-}"
    assert "CORS_ORIGINS=\n" in (path / ".env.example").read_text()
    # Every ${VAR} the file needs is in .env.example, so `make env` fills it.
    example_keys = set(re.findall(r"^(\w+)=", (path / ".env.example").read_text(), re.M))
    assert set(re.findall(r"\$\{(\w+)", (path / "compose.yaml").read_text())) <= example_keys


def test_kong_config(case: tuple[Path, Any]) -> None:
    path, arch = case
    if arch.gateway != "kong":
        pytest.skip("nginx gateway")
    run(["deck", "validate", "-s", "gateway/kong.yml"], cwd=path)
    kong = yaml.safe_load((path / "gateway/kong.yml").read_text())
    compose = yaml.safe_load((path / "compose.yaml").read_text())
    routes = {}
    for service in kong["services"]:
        host = re.match(r"http://([\w-]+):8000$", service["url"]).group(1)
        assert host in compose["services"]
        for route in service["routes"]:
            assert route["strip_path"] is False
            jwt = [p for p in route.get("plugins", []) if p["name"] == "jwt"]
            routes[route["name"]] = (route["paths"], route.get("methods"), bool(jwt))
    for svc in arch.services:
        paths, methods, protected = routes[f"{svc.name}-protected"]
        assert paths == [svc.route] and methods is None and protected
        public = {tuple(paths) for name, (paths, _, jwt) in routes.items() if name.startswith(f"{svc.name}-public")}
        assert not any(jwt for name, (_, _, jwt) in routes.items() if name.startswith(f"{svc.name}-public"))
        expected = {(f"{svc.route}/docs",), (f"{svc.route}/openapi.json",)}
        if svc.kind == "auth":
            expected |= {(f"{svc.route}/register",), (f"{svc.route}/login",)}
        if svc.kind == "catalog":
            expected |= {(svc.route,)}
        assert public == expected
    plugins = {p["name"]: p["config"] for p in kong.get("plugins", [])}
    auth = arch.of_kind("auth")
    credential_paths = {f"{auth.route}/register", f"{auth.route}/login"} if auth else set()
    for route in (r for s in kong["services"] for r in s["routes"]):
        route_plugins = {p["name"]: p["config"] for p in route.get("plugins", [])}
        if set(route["paths"]) & credential_paths:  # a stricter limit than everywhere else
            assert set(route_plugins) == {"rate-limiting"}
            limit, general = route_plugins["rate-limiting"], plugins["rate-limiting"]
            assert limit["policy"] == "local" and limit["limit_by"] == "ip"
            assert 0 < limit["second"] < general["second"] and 0 < limit["minute"] < general["minute"]
        else:
            assert route_plugins in ({}, {"jwt": {"key_claim_name": "iss", "claims_to_verify": ["exp"]}})
    assert credential_paths <= {p for s in kong["services"] for r in s["routes"] for p in r["paths"]}
    assert "jwt" not in plugins, "a global jwt plugin locks everyone out"
    assert plugins["rate-limiting"]["policy"] == "local" and plugins["rate-limiting"]["second"] > 0
    assert "OPTIONS" in plugins["cors"]["methods"] and "Authorization" in plugins["cors"]["headers"]
    # The allowed origins come from CORS_ORIGINS when Kong starts (never "*", never a reflected origin).
    assert plugins["cors"]["origins"] == ["__CORS_ORIGINS__"] and plugins["cors"]["credentials"] is False
    assert plugins["response-transformer"] == {
        "add": {
            "headers": [
                "X-Content-Type-Options:nosniff",
                "Referrer-Policy:no-referrer",
                "Content-Security-Policy:frame-ancestors 'none'",
            ]
        }
    }
    assert plugins["correlation-id"]["header_name"] == "X-Request-ID"
    gateway = compose["services"]["gateway"]
    assert gateway["ports"] == ["${GATEWAY_PORT:-8000}:8000"]
    assert gateway["environment"]["KONG_ADMIN_LISTEN"].startswith("127.0.0.1:")
    # Kong's own errors (413 above 1 MiB, 429, 502-504) are JSON with a `detail`, like the services'.
    assert gateway["environment"]["KONG_NGINX_HTTP_CLIENT_MAX_BODY_SIZE"] == "1m"
    assert gateway["environment"]["KONG_ERROR_DEFAULT_TYPE"] == "application/json"
    (template,) = gateway["configs"]
    assert template["target"] == gateway["environment"]["KONG_ERROR_TEMPLATE_JSON"]
    body = compose["configs"][template["source"]]["content"] % ("Too many requests", "an-id")
    assert json.loads(body) == {"detail": "Too many requests", "request_id": "an-id"}
    secrets = [s for c in kong["consumers"] for s in c.get("jwt_secrets", [])]
    assert secrets == [
        {
            "key": arch.project_slug,
            "algorithm": "RS256",
            "rsa_public_key": "__JWT_PUBLIC_KEY__\n",
            "secret": "unused-with-rs256",
        }
    ]


def _entrypoint(path: Path, name: str, tmp_path: Path, **env: str) -> subprocess.CompletedProcess[str]:
    """Run gateway/<name> with its files under tmp_path, without starting the gateway."""
    script = re.sub(r"/tmp/([\w.-]+)", rf"{tmp_path}/\1", (path / "gateway" / name).read_text())
    script = script.replace("/kong/kong.yml", str(path / "gateway/kong.yml"))
    script = re.sub(r"^exec /docker-entrypoint\.sh .*$", "", script, flags=re.M)
    return subprocess.run(
        ["sh", "-c", script], cwd=path, env={**env, "PATH": "/usr/bin:/bin"}, capture_output=True, text=True
    )


def test_kong_entrypoint_puts_the_public_key_and_the_origins_in_place(case: tuple[Path, Any], tmp_path: Path) -> None:
    path, arch = case
    if arch.gateway != "kong":
        pytest.skip("nginx gateway")
    env = dict(re.findall(r"^(\w+)=(.*)$", (path / ".env").read_text(), re.M))
    pem = env["JWT_PUBLIC_KEY"].strip('"').replace("\\n", "\n")
    origins = {
        "": ["(?!)"],  # Kong allows every origin with an empty list; this pattern matches none
        "https://app.example.com": ["https://app.example.com", "(?!)"],  # one origin alone would go to everyone
        "https://App.Example.com, http://localhost:3000": ["https://app.example.com", "http://localhost:3000", "(?!)"],
    }
    for value, expected in origins.items():
        result = _entrypoint(path, "kong-entrypoint.sh", tmp_path, JWT_PUBLIC_KEY=pem, CORS_ORIGINS=value)
        assert result.returncode == 0, result.stderr
        rendered = yaml.safe_load((tmp_path / "kong.yml").read_text())
        assert rendered["consumers"][0]["jwt_secrets"][0]["rsa_public_key"].strip() == pem.strip()
        (cors,) = [p["config"] for p in rendered["plugins"] if p["name"] == "cors"]
        assert cors["origins"] == expected, value
        run(["deck", "validate", "-s", str(tmp_path / "kong.yml")], cwd=path)
    for bad in ("*", "null", "https://app.example.com/", "app.example.com"):
        result = _entrypoint(path, "kong-entrypoint.sh", tmp_path, JWT_PUBLIC_KEY=pem, CORS_ORIGINS=bad)
        assert result.returncode != 0 and "CORS_ORIGINS" in result.stderr, bad


def test_nginx_config(case: tuple[Path, Any], tmp_path: Path) -> None:
    path, arch = case
    if arch.gateway != "nginx":
        pytest.skip("kong gateway")
    # The entrypoint writes the allowed origins where nginx.conf reads them.
    result = _entrypoint(
        path, "nginx-entrypoint.sh", tmp_path, CORS_ORIGINS="https://App.example.com,http://localhost:3000"
    )
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "cors-origins.map").read_text() == (
        '"https://app.example.com" "https://app.example.com";\n"http://localhost:3000" "http://localhost:3000";\n'
    )
    for bad in ("*", "null", 'https://a.example";'):
        result = _entrypoint(path, "nginx-entrypoint.sh", tmp_path, CORS_ORIGINS=bad)
        assert result.returncode != 0 and "CORS_ORIGINS" in result.stderr, bad
    # The upstream names resolve through Docker's DNS; here a private /etc/hosts stands in for it.
    hosts = tmp_path / "hosts"
    hosts.write_text("127.0.0.1 localhost " + " ".join(s.name for s in arch.services) + "\n")
    text = (path / "gateway/nginx.conf").read_text()
    assert "include /tmp/cors-origins.map;" in text
    conf = tmp_path / "nginx.conf"
    conf.write_text(text.replace("/tmp/cors-origins.map", str(tmp_path / "cors-origins.map")))
    shell = f"mount --bind {hosts} /etc/hosts && nginx -t -p {tmp_path} -c {conf} -e {tmp_path}/error.log"
    run(["unshare", "--mount", "sh", "-c", shell], cwd=path)
    for svc in arch.services:
        assert f"location {svc.route} {{" in text
        assert f"server {svc.name}:8000" in text
    assert ("zone=credentials" in text) == (arch.of_kind("auth") is not None)


def test_dockerfiles_pass_hadolint(case: tuple[Path, Any]) -> None:
    path, arch = case
    for svc in arch.services:
        run(["hadolint", "--failure-threshold", "warning", f"services/{svc.name}/Dockerfile"], cwd=path)


@pytest.mark.slow
def test_every_service_passes_its_own_gates(case: tuple[Path, Any]) -> None:
    path, arch = case
    for svc in arch.services:
        service = path / "services" / svc.name
        run(["uv", "sync", "--locked", "--quiet"], cwd=service)
        run(["uv", "run", "--no-sync", "ruff", "format", "--check", "."], cwd=service)
        run(["uv", "run", "--no-sync", "ruff", "check", "."], cwd=service)
        run(["uv", "run", "--no-sync", "mypy", "app", "tests"], cwd=service)
        result = run(["uv", "run", "--no-sync", "pytest", "-q", "-p", "no:cacheprovider"], cwd=service)
        assert " passed" in result.stdout and " skipped" not in result.stdout, result.stdout[-3000:]


@pytest.mark.usefixtures("local_ports")  # services listen on ports derived from their names
@pytest.mark.slow
def test_every_service_starts_and_is_ready(case: tuple[Path, Any], mongodb: str, vhost: str) -> None:
    """`scripts/dev.py up` applies migrations and runs each service under uvicorn; all must answer ready."""
    path, arch = case
    env = {**dev_environment(mongodb, vhost), "GATEWAY_PORT": str(free_port())}
    try:
        up = run([sys.executable, "scripts/dev.py", "up", "--timeout", "90"], cwd=path, env=env)
        for svc in arch.services:
            assert re.search(rf"^  {re.escape(svc.name)} +healthy ", up.stdout, re.M), up.stdout
    finally:
        subprocess.run([sys.executable, "scripts/dev.py", "down"], cwd=path, env=env, capture_output=True, check=False)
        drop_databases(arch.project_slug.replace("-", "_") + "_")


KINDS = "auth, product, order, payment, notification"
FORMAT_CASES = {
    "all-kinds": {"services": f"[{KINDS}, widget, {{name: gadget, database: mongodb}}]"},
    "postgres-no-queue": {"services": f"[{KINDS}, widget]", "databases": "postgres", "queue": "none"},
    "mongodb-no-cache": {"services": f"[{KINDS}, gadget]", "databases": "mongodb", "cache": "none"},
}


@pytest.mark.parametrize("answers", list(FORMAT_CASES.values()), ids=list(FORMAT_CASES))
def test_templates_render_already_formatted(copier_template: Path, tmp_path: Path, answers: dict[str, str]) -> None:
    """The hook's formatting is only a safety net: a fresh render is already what ruff would write."""
    run_copy(str(copier_template), tmp_path, data=answers, defaults=True, unsafe=True, quiet=True, skip_tasks=True)
    run(["ruff", "format", "--check", "--diff", "services", "scripts", "e2e"], cwd=tmp_path)
    run(["ruff", "check", "--no-fix", "services", "scripts", "e2e"], cwd=tmp_path)
