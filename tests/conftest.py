"""Fixtures shared by the template's tests: the template as a tagged git repo, and generated projects."""

from __future__ import annotations

import fcntl
import os
import shutil
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from pytest_copier.plugin import CopierFixture, CopierProject

ROOT = Path(__file__).resolve().parent.parent
TEMPLATE_PATHS = ["copier.yml", "template", "extensions", "hooks", "partials"]
BIN = Path(sys.executable).parent

sys.path.insert(0, str(ROOT / "extensions"))


def git(*args: str, cwd: Path) -> str:
    return subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True, text=True).stdout


@pytest.fixture
def local_ports(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """One test at a time, across xdist workers, among those whose services listen on name-derived ports.

    A lock file beside the workers' temporary folders rather than `xdist_group`, which
    pytest-xdist 3.8 no longer applies under pytest 9.
    """
    lock = tmp_path_factory.getbasetemp().parent / "local-ports.lock"
    with lock.open("w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        yield


@pytest.fixture(scope="session")
def copier_template_paths() -> list[str]:
    return TEMPLATE_PATHS


@pytest.fixture(scope="session")
def copier_template(tmp_path_factory: pytest.TempPathFactory, default_gitconfig: Any) -> Path:
    """The working tree's template files in a fresh repository, committed and tagged 99.99.99.

    Replaces pytest-copier's fixture, which fails on a clean clone ("nothing to commit").
    """
    src = tmp_path_factory.mktemp("template")
    for path in TEMPLATE_PATHS:
        source = ROOT / path
        if source.is_dir():
            shutil.copytree(source, src / path, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy2(source, src / path)
    git("init", "--quiet", cwd=src)
    git("add", "-A", cwd=src)
    git("commit", "--quiet", "--allow-empty", "-m", "template under test", cwd=src)
    git("tag", "99.99.99", cwd=src)
    return src


@pytest.fixture(scope="session")
def session_copier(copier_template: Path) -> CopierFixture:
    return CopierFixture(template=copier_template, defaults={}, monkeypatch=pytest.MonkeyPatch())


@pytest.fixture(scope="session")
def generate(session_copier: CopierFixture, tmp_path_factory: pytest.TempPathFactory) -> Callable[..., CopierProject]:
    """Generate a project once per distinct set of answers for the whole session."""
    cache: dict[str, CopierProject] = {}

    def _generate(case: str, **answers: Any) -> CopierProject:
        if case not in cache:
            cache[case] = session_copier.copy(tmp_path_factory.mktemp(case), **answers)
        return cache[case]

    return _generate


@pytest.fixture(scope="session")
def render(copier_template: Path) -> Callable[..., Path]:
    """Render a project without the post-generation task (no .env, no locks): fast, for checking files."""
    from copier import run_copy

    def _render(dst: Path, **answers: Any) -> Path:
        run_copy(str(copier_template), dst, data=answers, defaults=True, unsafe=True, quiet=True, skip_tasks=True)
        return dst

    return _render


@pytest.fixture(autouse=True, scope="session")
def tool_path() -> None:
    """Make the tools installed beside this Python (ruff, uv, hadolint, docker-compose) callable by name."""
    os.environ["PATH"] = f"{BIN}{os.pathsep}{os.environ['PATH']}"


def port_open(port: int) -> bool:
    with socket.socket() as sock:
        return sock.connect_ex(("127.0.0.1", port)) == 0


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="session")
def mongodb(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """nx-27017 (MongoDB's wire protocol over SQLite) standing in for MongoDB."""
    port, data = free_port(), tmp_path_factory.mktemp("mongo")
    process = subprocess.Popen(
        [str(BIN / "nx-27017"), "--data-dir", str(data), "--pid-file", str(data / "pid"), "-p", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 20
    while not port_open(port):
        assert process.poll() is None and time.monotonic() < deadline, "nx-27017 did not start"
        time.sleep(0.1)
    yield f"mongodb://127.0.0.1:{port}"
    process.terminate()
    process.wait(10)


@pytest.fixture(scope="session")
def vhost() -> Iterator[str]:
    """A RabbitMQ virtual host of the test's own on the shared server."""
    name = f"e2e-{uuid.uuid4().hex[:8]}"
    subprocess.run(["rabbitmqctl", "-q", "add_vhost", name], check=True, capture_output=True)
    subprocess.run(
        ["rabbitmqctl", "-q", "set_permissions", "-p", name, "guest", ".*", ".*", ".*"], check=True, capture_output=True
    )
    yield name
    subprocess.run(["rabbitmqctl", "-q", "delete_vhost", name], check=False, capture_output=True)


def dev_environment(mongodb: str, vhost: str) -> dict[str, str]:
    """The environment for a generated project's `scripts/dev.py`, on this machine's servers."""
    return {
        **os.environ,
        "PATH": f"{BIN}{os.pathsep}{os.environ['PATH']}",
        "DEV_MONGODB_URL": mongodb,
        "DEV_RABBITMQ_URL": f"amqp://guest:guest@127.0.0.1:5672/{vhost}",
        "DEV_REDIS_URL": "redis://127.0.0.1:6379/7",
    }


def drop_databases(prefix: str) -> None:
    """Drop the PostgreSQL databases a generated project's `scripts/dev.py` created."""
    query = f"SELECT datname FROM pg_database WHERE datname LIKE '{prefix}%'"
    psql = ["psql", "-h", "127.0.0.1", "-U", "postgres"]
    names = subprocess.run([*psql, "-tAc", query], capture_output=True, text=True, check=False).stdout.split()
    for name in names:
        subprocess.run([*psql, "-qc", f'DROP DATABASE "{name}" WITH (FORCE)'], check=False)
