"""`copier update` on a generated project: template upgrades, renamed files, adding and removing services."""

from __future__ import annotations

import hashlib
import re
import subprocess
from pathlib import Path

import yaml
from conftest import BIN, git
from pytest_copier.plugin import CopierFixture

COPIER = str(BIN / "copier")
SERVICE_TEMPLATE = "template/services/{% yield svc from python_services %}{{ svc.name }}{% endyield %}"
MOVE_README = """\
  - version: "2.0.0"
    command:
      - "{{ _copier_python }}"
      - "{{ _copier_conf.src_path }}/hooks/update.py"
      - "{{ _stage }}"
      - move
      - services/*/README.md
      - services/*/docs/README.md
    when: "{{ _stage in ['before', 'after'] }}"
"""
OWNER_ENDPOINT = '''

@router.get("/count")
async def count_items() -> dict[str, int]:
    """Count the items (added by the owner)."""
    return {"count": 0}
'''
OWNER_NOTES = "\n## Operations\n\nOwner's notes: page the shipping team first.\n"


def digest(folder: Path) -> dict[str, str]:
    return {
        str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file() and ".venv" not in p.parts
    }


def copier(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([COPIER, *args], cwd=cwd, capture_output=True, text=True, check=False)


def commit_all(path: Path, message: str) -> None:
    git("add", "-A", cwd=path)
    git("commit", "--quiet", "-m", message, cwd=path)


def generated_project(template: Path, dst: Path, *data: str) -> Path:
    """A project generated from the template's latest tag with the CLI, committed as its owner would."""
    options = [option for answer in data for option in ("--data", answer)]
    result = copier("copy", "--trust", "--defaults", "--quiet", *options, str(template), str(dst), cwd=dst.parent)
    assert result.returncode == 0, result.stderr
    git("init", "--quiet", cwd=dst)
    commit_all(dst, "generated")
    return dst


def replace(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert old in text, f"{old!r} not in {path}"
    path.write_text(text.replace(old, new))


def release(template: Path, version: str, edits: dict[str, tuple[str, str]], moves: dict[str, str] = {}) -> None:  # noqa: B006
    """A new template version: edit files, rename some, commit and tag."""
    for path, (old, new) in edits.items():
        replace(template / path, old, new)
    for old, new in moves.items():
        (template / new).parent.mkdir(parents=True, exist_ok=True)
        git("mv", old, new, cwd=template)
    commit_all(template, f"release {version}")
    git("tag", version, cwd=template)


def service_block(compose: str, name: str) -> str:
    match = re.search(rf"^  {name}:\n((?:    .*\n)+)", compose, re.MULTILINE)
    assert match, f"no {name} in compose.yaml"
    return match.group(1)


def conflict_check(project: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["make", "check"], cwd=project, capture_output=True, text=True, check=False)


def test_upgrade_keeps_owner_edits_moves_renamed_files_and_leaves_real_conflicts_inline(
    copier_template: Path, tmp_path: Path
) -> None:
    template = tmp_path / "template"
    git("clone", "--quiet", str(copier_template), str(template), cwd=tmp_path)
    git("tag", "-d", "99.99.99", cwd=template)
    git("tag", "1.0.0", cwd=template)
    project = generated_project(template, tmp_path / "app", "services=shipping,inventory", "gateway=nginx")

    # The owner changes a route, adds an endpoint, edits compose.yaml and a service README, adds a file.
    routes = project / "services/shipping/app/api/routes/items.py"
    replace(
        routes, '@router.get("/{item_id}", responses=NOT_FOUND)', '@router.get("/by-id/{item_id}", responses=NOT_FOUND)'
    )
    routes.write_text(routes.read_text() + OWNER_ENDPOINT)
    compose = project / "compose.yaml"
    shipping = service_block(compose.read_text(), "shipping")
    replace(compose, shipping, shipping.replace("restart: unless-stopped", "restart: always"))
    (project / "docs").mkdir()
    (project / "docs/runbook.md").write_text("# Runbook\n\nRestart shipping first.\n")
    with (project / "services/shipping/README.md").open("a") as readme:
        readme.write(OWNER_NOTES)
    commit_all(project, "owner edits")
    owner_routes = routes.read_text()
    env_before = (project / ".env").read_bytes()
    inventory_items = (project / "services/inventory/app/api/routes/items.py").read_bytes()

    # 2.0.0 changes a line of every service, the compose healthchecks, and moves the services' README.
    release(
        template,
        "2.0.0",
        {
            f"{SERVICE_TEMPLATE}/app/main.py.jinja": ('service_name} service",', 'service_name} service API",'),
            "extensions/fragments.py": ('"timeout": "5s"', '"timeout": "4s"'),
            f"{SERVICE_TEMPLATE}/README.md.jinja": ("# {{ svc.title }} service\n", "# {{ svc.title }} service guide\n"),
            "copier.yml": ("_migrations:\n", f"_migrations:\n{MOVE_README}"),
        },
        moves={f"{SERVICE_TEMPLATE}/README.md.jinja": f"{SERVICE_TEMPLATE}/docs/README.md.jinja"},
    )
    update = subprocess.run(
        ["make", "update", f"COPIER={COPIER}"], cwd=project, capture_output=True, text=True, check=False
    )
    assert update.returncode == 0, update.stdout + update.stderr
    assert "No conflict markers or .rej files." in update.stdout

    answers = yaml.safe_load((project / ".copier-answers.yml").read_text())
    assert answers["_commit"] == "2.0.0"
    for name in ("shipping", "inventory"):
        service = project / "services" / name
        assert 'title=f"{settings.service_name} service API",' in (service / "app/main.py").read_text()
        assert not (service / "README.md").exists()
        assert (service / "docs/README.md").read_text().startswith(f"# {name.title()} service guide\n")
    assert (project / "services/shipping/docs/README.md").read_text().endswith(OWNER_NOTES)
    assert OWNER_NOTES not in (project / "services/inventory/docs/README.md").read_text()
    text = compose.read_text()
    assert "timeout: 4s" in text and "timeout: 5s" not in text
    assert "restart: always" in service_block(text, "shipping")
    assert "restart: unless-stopped" in service_block(text, "inventory")
    assert routes.read_text() == owner_routes
    assert (project / "services/inventory/app/api/routes/items.py").read_bytes() == inventory_items
    assert (project / "docs/runbook.md").read_text() == "# Runbook\n\nRestart shipping first.\n"
    assert (project / ".env").read_bytes() == env_before
    assert "<<<<<<<" not in git("diff", cwd=project)

    # 3.0.0 changes the very line the owner changed: a real conflict, left inline and named.
    commit_all(project, "update to 2.0.0")
    release(template, "3.0.0", {"extensions/fragments.py": ('"restart": "unless-stopped"', '"restart": "on-failure"')})
    update = copier("update", "--trust", "--skip-answered", cwd=project)
    assert update.returncode == 0, update.stderr
    assert "resolve the markers in:\n  compose.yaml\n" in update.stderr
    text = compose.read_text()
    assert re.search(
        r"<<<<<<< before updating\n    restart: always\n=======\n    restart: on-failure\n>>>>>>> after", text
    )
    assert "restart: on-failure" in service_block(text, "inventory")
    check = conflict_check(project)
    assert check.returncode != 0
    assert "./compose.yaml" in check.stdout
    assert (project / ".env").read_bytes() == env_before


def assert_added(
    project: Path, name: str, env_before: str, untouched: dict[str, dict[str, str]], *, mongodb: bool = False
) -> None:
    assert (project / f"services/{name}/app/main.py").is_file()
    compose = (project / "compose.yaml").read_text()
    assert f"context: ./services/{name}\n" in service_block(compose, name)
    assert f"  {name}-db:\n" in compose
    assert f"- /api/{name}\n" in (project / "gateway/kong.yml").read_text()
    assert f"gateway -->|/api/{name}| {name}[" in (project / "README.md").read_text()
    env_after = (project / ".env").read_text()
    assert env_after.startswith(env_before)
    # A MongoDB service also gets its database container's root password; nothing else is appended.
    expected = [f"{name.upper()}_DB_PASSWORD"] + ([f"{name.upper()}_DB_ROOT_PASSWORD"] if mongodb else [])
    assert [line.split("=")[0] for line in env_after[len(env_before) :].splitlines()] == expected
    for service, files in untouched.items():
        assert digest(project / "services" / service) == files, service
    assert conflict_check(project).returncode == 0


def test_adding_services_with_either_form_of_data_changes_no_other_service(
    copier_template: Path, tmp_path: Path
) -> None:
    project = generated_project(copier_template, tmp_path / "app", "services=auth,product", "gateway=kong")
    untouched = {name: digest(project / "services" / name) for name in ("auth", "product")}
    env_before = (project / ".env").read_text()

    added = copier("update", "--trust", "--defaults", "--data", "services=auth,product,billing", cwd=project)
    assert added.returncode == 0, added.stderr
    assert_added(project, "billing", env_before, untouched)

    commit_all(project, "add billing")
    untouched["billing"] = digest(project / "services/billing")
    env_before = (project / ".env").read_text()
    services = "services=[auth, product, billing, {name: shipping, database: mongodb}]"
    added = copier("update", "--trust", "--defaults", "--data", services, cwd=project)
    assert added.returncode == 0, added.stderr
    assert_added(project, "shipping", env_before, untouched, mongodb=True)
    assert "MONGODB_URL" in service_block((project / "compose.yaml").read_text(), "shipping")


def test_removing_a_service_stops_before_deleting_owner_edits(copier_template: Path, tmp_path: Path) -> None:
    project = generated_project(copier_template, tmp_path / "app", "services=billing,shipping", "gateway=nginx")
    with (project / "services/shipping/app/main.py").open("a") as main:
        main.write("# Tuned by the owner.\n")
    with (project / "services/shipping/README.md").open("a") as readme:
        readme.write(OWNER_NOTES)
    commit_all(project, "owner edits")
    env_before = (project / ".env").read_bytes()
    billing = digest(project / "services/billing")

    stopped = copier("update", "--trust", "--defaults", "--data", "services=billing", cwd=project)
    assert stopped.returncode != 0
    assert "Update stopped: it would delete files you edited (2):" in stopped.stderr
    assert "  services/shipping/README.md\n  services/shipping/app/main.py\n" in stopped.stderr
    assert "--data confirm_removal=true" in stopped.stderr
    assert git("status", "--porcelain", cwd=project) == ""
    assert (project / "services/shipping/app/main.py").read_text().endswith("# Tuned by the owner.\n")

    # Keeping an edit: move it to a file of one's own; the update then only stops for the other one.
    git("mv", "services/shipping/app/main.py", "services/shipping/app/tuned_main.py", cwd=project)
    commit_all(project, "keep my main")
    stopped = copier("update", "--trust", "--defaults", "--data", "services=billing", cwd=project)
    assert stopped.returncode != 0
    assert "files you edited (1):\n  services/shipping/README.md\n" in stopped.stderr

    # Deleting the rest knowingly.
    removed = copier(
        "update", "--trust", "--defaults", "--data", "services=billing", "--data", "confirm_removal=true", cwd=project
    )
    assert removed.returncode == 0, removed.stderr
    assert "deleting these files you edited (confirm_removal=true):\n  services/shipping/README.md" in removed.stderr
    assert not (project / "services/shipping/README.md").exists()
    assert not (project / "services/shipping/Dockerfile").exists()
    assert (project / "services/shipping/app/tuned_main.py").read_text().endswith("# Tuned by the owner.\n")
    assert "shipping" not in (project / "compose.yaml").read_text()
    assert "/api/shipping" not in (project / "gateway/nginx.conf").read_text()
    assert "confirm_removal" not in (project / ".copier-answers.yml").read_text()
    assert digest(project / "services/billing") == billing
    assert (project / ".env").read_bytes() == env_before
    assert conflict_check(project).returncode == 0


def test_conflict_check_finds_markers_and_rejects(session_copier: CopierFixture, tmp_path: Path) -> None:
    project = session_copier.copy(tmp_path / "app", services="billing", gateway="nginx")
    check = ["scripts/check-conflicts.sh"]
    assert subprocess.run(check, cwd=project.path, capture_output=True).returncode == 0
    (project.path / "compose.yaml").write_text("<<<<<<< before updating\nold\n=======\nnew\n>>>>>>> after updating\n")
    (project.path / "services/billing/app/main.py.rej").write_text("@@ hunk\n")
    result = subprocess.run(check, cwd=project.path, capture_output=True, text=True)
    assert result.returncode == 1
    assert "./compose.yaml" in result.stdout and "main.py.rej" in result.stdout
