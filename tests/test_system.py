"""Whole generated systems run for real without Docker (the project's own `scripts/dev.py`), then the
project's own end-to-end suite runs through the Nginx gateway. Kong itself cannot run here."""

from __future__ import annotations

import shutil
import subprocess
import sys
import uuid
from pathlib import Path
from typing import Any

import pytest
from conftest import dev_environment, drop_databases, free_port

SYSTEMS = {
    # The seed's services, behind Nginx.
    "seed-nginx": {"gateway": "nginx"},
    # The same services generated for Kong: the suite runs behind the local Nginx gateway.
    "seed-kong": {"gateway": "kong"},
    # Arbitrary names, mixed databases, no cache.
    "arbitrary": {
        "services": "[inventory, {name: search-index, database: mongodb}, {name: audit-log, database: postgres}]",
        "databases": "",
        "cache": "none",
        "gateway": "nginx",
    },
}


@pytest.mark.xdist_group("local-ports")  # services listen on ports derived from their names
@pytest.mark.slow
@pytest.mark.parametrize("system", list(SYSTEMS))
def test_system_runs_and_passes_its_own_end_to_end_suite(
    system: str, session_copier: Any, tmp_path: Path, mongodb: str, vhost: str
) -> None:
    if shutil.which("nginx") is None and not Path("/usr/sbin/nginx").exists():
        pytest.fail("nginx is not installed (apt-get install nginx): the gateway cannot run")
    slug = f"sys-{uuid.uuid4().hex[:6]}"
    project = session_copier.copy(tmp_path / system, project_slug=slug, **SYSTEMS[system]).path
    port = free_port()
    env = {
        **dev_environment(mongodb, vhost),
        "GATEWAY_PORT": str(port),
    }
    dev = [sys.executable, "scripts/dev.py"]
    try:
        up = subprocess.run([*dev, "up", "--timeout", "90"], cwd=project, env=env, capture_output=True, text=True)
        logs = "\n".join(f"--- {log.name}\n{log.read_text()[-3000:]}" for log in (project / ".run").glob("*.log"))
        assert up.returncode == 0, f"{up.stdout}\n{up.stderr}\n{logs}"
        assert "healthy" in up.stdout and f"Gateway: http://127.0.0.1:{port}" in up.stdout
        e2e = subprocess.run(
            ["make", "e2e", f"GATEWAY_URL=http://127.0.0.1:{port}"],
            cwd=project,
            env=env,
            capture_output=True,
            text=True,
        )
        assert e2e.returncode == 0, f"{e2e.stdout[-6000:]}\n{e2e.stderr[-3000:]}"
        assert " passed" in e2e.stdout and " failed" not in e2e.stdout
    finally:
        subprocess.run([*dev, "down"], cwd=project, env=env, capture_output=True, check=False)
        drop_databases(slug.replace("-", "_"))
    assert not list((project / ".run").glob("*.pid")), "dev.py down left processes behind"
