"""The Nginx gateway run for real, in front of stub services: the allow-list of CORS origins, the security headers,
the gateway's own errors as JSON, and the stricter rate limit on registering and logging in.

It runs the configuration `make dev` uses (scripts/dev/nginx.conf, with its allowed origins written by the
project's own scripts/dev.py); the containers' gateway/nginx.conf comes from the same partial and is checked by
`nginx -t` in test_generation.py.
"""

from __future__ import annotations

import importlib.util
import json
import re
import shutil
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import ModuleType
from typing import Any

import httpx
import pytest
from conftest import free_port, port_open

ALLOWED = "https://app.example.com"
ORIGINS = f"{ALLOWED}, HTTP://Localhost:3000"  # as an owner may write it in .env
SECURITY_HEADERS = {
    "x-content-type-options": "nosniff",
    "referrer-policy": "no-referrer",
    "content-security-policy": "frame-ancestors 'none'",
}
BURST = 30  # requests sent at once: within the general burst (40), beyond the credential routes' (10)


class _Service(BaseHTTPRequestHandler):
    """Every service: 200 with the path, or its own 503 with its own Retry-After under /api/*/unavailable."""

    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # headers and body go out as two writes: no 40 ms wait between them

    def _answer(self) -> None:
        self.rfile.read(int(self.headers.get("content-length") or 0))
        down = self.path.endswith("/unavailable")
        body = json.dumps({"detail": "down"} if down else {"path": self.path}).encode()
        self.send_response(503 if down else 200)
        if down:
            self.send_header("Retry-After", "30")
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_GET = do_POST = do_PATCH = _answer

    def log_message(self, *args: Any) -> None:
        pass


def _load(path: Path) -> ModuleType:
    """A generated project's script as a module (registered: its dataclasses look their module up)."""
    name = f"generated_{abs(hash(path))}"
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def project(render: Callable[..., Path], tmp_path_factory: pytest.TempPathFactory) -> Path:
    return render(tmp_path_factory.mktemp("gateway"), gateway="nginx")


@pytest.fixture
def service() -> Iterator[ThreadingHTTPServer]:
    server = ThreadingHTTPServer(("127.0.0.1", free_port()), _Service)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


@pytest.fixture
def gateway(project: Path, service: ThreadingHTTPServer, tmp_path: Path) -> Iterator[httpx.Client]:
    """A fresh Nginx (fresh rate-limit counters) on the project's local configuration, every upstream the stub."""
    nginx = shutil.which("nginx") or "/usr/sbin/nginx"
    if not Path(nginx).exists():
        pytest.fail("nginx is not installed (apt-get install nginx)")
    port = free_port()
    conf = (
        (project / "scripts/dev/nginx.conf").read_text().replace("listen 127.0.0.1:8000;", f"listen 127.0.0.1:{port};")
    )
    conf = re.sub(r"server 127\.0\.0\.1:\d+ ", f"server 127.0.0.1:{service.server_address[1]} ", conf)
    (tmp_path / "nginx.conf").write_text(conf)
    dev = _load(project / "scripts/dev.py")
    (tmp_path / "cors-origins.map").write_text(dev.cors_origins_map(ORIGINS))
    process = subprocess.Popen(
        [nginx, "-p", str(tmp_path), "-c", "nginx.conf", "-e", "error.log", "-g", "daemon off;"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    deadline = time.monotonic() + 10
    while not port_open(port):
        assert process.poll() is None, process.stderr.read().decode() if process.stderr else "nginx stopped"
        assert time.monotonic() < deadline, "nginx did not start"
        time.sleep(0.05)
    try:
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=5) as client:
            yield client
    finally:
        process.terminate()
        process.wait(10)


def test_cors_allows_only_the_listed_origins(gateway: httpx.Client) -> None:
    for origin in (ALLOWED, "http://localhost:3000"):
        response = gateway.get("/api/product", headers={"Origin": origin})
        assert response.headers.get("access-control-allow-origin") == origin
        assert "access-control-allow-credentials" not in response.headers
        assert "Origin" in response.headers["vary"]
        preflight = gateway.options("/api/order", headers={"Origin": origin, "Access-Control-Request-Method": "POST"})
        assert preflight.status_code == 204
        assert preflight.headers.get("access-control-allow-origin") == origin
        assert "POST" in preflight.headers["access-control-allow-methods"]
    for origin in ("https://evil.example", "null", f"{ALLOWED}.evil.example", "http://app.example.com"):
        for response in (
            gateway.get("/api/product", headers={"Origin": origin}),
            gateway.options("/api/order", headers={"Origin": origin, "Access-Control-Request-Method": "POST"}),
        ):
            assert "access-control-allow-origin" not in response.headers, origin
            assert "access-control-allow-credentials" not in response.headers, origin


def test_allowed_origins_must_be_origins(project: Path) -> None:
    dev = _load(project / "scripts/dev.py")
    assert dev.cors_origins_map("") == ""
    assert dev.cors_origins_map(ORIGINS) == (
        f'"{ALLOWED}" "{ALLOWED}";\n"http://localhost:3000" "http://localhost:3000";\n'
    )
    for bad in ("*", "null", "app.example.com", "https://app.example.com/path", 'https://a.example";'):
        with pytest.raises(SystemExit, match="CORS_ORIGINS"):
            dev.cors_origins_map(bad)


def test_every_answer_has_the_security_headers(gateway: httpx.Client) -> None:
    answers = [
        gateway.get("/api/product"),  # a service's
        gateway.get("/api/no-such-service"),  # the gateway's 404
        gateway.options("/api/order", headers={"Origin": ALLOWED, "Access-Control-Request-Method": "GET"}),
        gateway.post("/api/order", content=b"x" * (1024 * 1024 + 1)),  # the gateway's 413
    ]
    assert [answer.status_code for answer in answers] == [200, 404, 204, 413]
    for answer in answers:
        for name, value in SECURITY_HEADERS.items():
            assert answer.headers.get(name) == value, (answer.status_code, name)
        assert answer.headers.get("x-request-id")


def test_the_gateways_own_errors_are_json(gateway: httpx.Client, service: ThreadingHTTPServer) -> None:
    too_large = gateway.post("/api/order", content=b"{" + b" " * (1024 * 1024) + b"}")
    assert too_large.status_code == 413
    assert too_large.headers["content-type"] == "application/json"
    assert too_large.json()["detail"]

    own = gateway.get("/api/product/unavailable")  # a service's own 503 passes unchanged
    assert (own.status_code, own.headers["retry-after"], own.json()) == (503, "30", {"detail": "down"})

    refused = [gateway.get("/api/product") for _ in range(80)][-1]
    assert refused.status_code == 429
    assert refused.headers["retry-after"] == "1"
    assert refused.json()["detail"]
    for name, value in SECURITY_HEADERS.items():
        assert refused.headers.get(name) == value

    service.shutdown()
    service.server_close()  # nothing listens any more: the gateway cannot connect
    time.sleep(1)  # the per-client burst refills a little
    down = gateway.get("/api/order")
    assert down.status_code == 503
    assert down.headers["content-type"] == "application/json"
    assert down.headers["retry-after"] == "5"
    assert down.json()["detail"]


@pytest.mark.parametrize("path", ["/api/auth/login", "/api/auth/register"])
def test_register_and_login_have_a_stricter_limit(gateway: httpx.Client, path: str) -> None:
    others = [gateway.get("/api/product").status_code for _ in range(BURST)]
    assert set(others) == {200}, "the general limit allows this burst"
    time.sleep(2.5)  # the general burst refills (20 r/s)
    statuses = [gateway.post(path, json={}).status_code for _ in range(BURST)]
    assert statuses[:10] == [200] * 10
    assert statuses.count(429) >= BURST - 15, statuses
    refused = gateway.post(path, json={})
    assert refused.status_code == 429 and refused.json()["detail"] and refused.headers["retry-after"] == "1"
    time.sleep(1)
    assert gateway.post(path, json={}).status_code == 200, "5 per second come through again"
    assert gateway.get("/api/product").status_code == 200, "other routes are not held back"
