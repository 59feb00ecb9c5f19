"""Post-generation task: write or complete the project's .env, format the generated Python, lock dependencies.

Copier runs it in the project after every copy and update, and in two temporary copies during an update:
it must be idempotent, work outside a git repository, and never change a value already in .env.
"""

from __future__ import annotations

import importlib.util
import runpy
import shutil
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path


def write_env_file(project: Path) -> None:
    """Fill .env through the project's own scripts/env.py, the same code `make env` runs."""
    env_script = runpy.run_path(str(project / "scripts" / "env.py"))
    added = env_script["write_env"](project)
    if added:
        print(f".env: generated {len(added)} settings ({', '.join(added)})")


def _ruff() -> list[str] | None:
    if importlib.util.find_spec("ruff") is not None:
        return [sys.executable, "-m", "ruff"]
    found = shutil.which("ruff")
    return [found] if found else None


def format_python(project: Path) -> None:
    """Format and auto-fix the services with ruff when it is installed (the templates already render formatted)."""
    ruff = _ruff()
    services = project / "services"
    if ruff is None or not services.is_dir():
        return
    subprocess.run([*ruff, "format", "--quiet", "--no-cache", str(services)], check=False)
    subprocess.run([*ruff, "check", "--fix-only", "--quiet", "--no-cache", str(services)], check=False)


def _lock(service: Path, uv: str) -> str | None:
    result = subprocess.run([uv, "lock", "--quiet"], cwd=service, capture_output=True, text=True, check=False)
    return None if result.returncode == 0 else f"{service.name}: {result.stderr.strip()}"


def lock_dependencies(project: Path) -> None:
    """Write or refresh each service's uv.lock; an existing lock keeps its pinned versions."""
    services = sorted(path for path in (project / "services").glob("*") if (path / "pyproject.toml").exists())
    uv = shutil.which("uv") or shutil.which("uv", path=str(Path(sys.executable).parent))
    if uv is None:
        print("warning: uv not found; run `uv lock` in each service before `make build`", file=sys.stderr)
        return
    with ThreadPoolExecutor(max_workers=4) as pool:
        failures = [failure for failure in pool.map(lambda service: _lock(service, uv), services) if failure]
    for failure in failures:
        print(f"warning: uv lock failed in {failure}; run `uv lock` there before `make build`", file=sys.stderr)


def main() -> None:
    project = Path.cwd()
    write_env_file(project)
    format_python(project)
    lock_dependencies(project)


if __name__ == "__main__":
    sys.exit(main())
