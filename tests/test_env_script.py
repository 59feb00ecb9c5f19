"""The project's scripts/env.py, which the post-generation hook and `make env` both run."""

from __future__ import annotations

import runpy
from pathlib import Path

import pytest
from conftest import ROOT

env = runpy.run_path(str(ROOT / "template" / "scripts" / "env.py"))
EXAMPLE = """# comment
COMPOSE_PROJECT_NAME=shop
JWT_PRIVATE_KEY=change-me
JWT_PUBLIC_KEY=change-me
AUTH_DB_PASSWORD=change-me
"""


@pytest.fixture
def project(tmp_path: Path) -> Path:
    (tmp_path / ".env.example").write_text(EXAMPLE)
    return tmp_path


def test_fills_every_placeholder_with_a_fresh_secret(project: Path) -> None:
    env["write_env"](project)
    values = env["read_env"](project / ".env")
    assert values["COMPOSE_PROJECT_NAME"] == "shop"
    assert values["AUTH_DB_PASSWORD"] != "change-me" and len(values["AUTH_DB_PASSWORD"]) >= 40
    assert values["JWT_PRIVATE_KEY"].startswith('"-----BEGIN PRIVATE KEY-----\\n')
    assert values["JWT_PUBLIC_KEY"].startswith('"-----BEGIN PUBLIC KEY-----\\n')
    assert (project / ".env").stat().st_mode & 0o777 == 0o600


def test_two_projects_get_different_secrets(tmp_path: Path) -> None:
    values = []
    for name in ("one", "two"):
        (tmp_path / name).mkdir()
        (tmp_path / name / ".env.example").write_text(EXAMPLE)
        env["write_env"](tmp_path / name)
        values.append(env["read_env"](tmp_path / name / ".env"))
    assert values[0]["AUTH_DB_PASSWORD"] != values[1]["AUTH_DB_PASSWORD"]
    assert values[0]["JWT_PUBLIC_KEY"] != values[1]["JWT_PUBLIC_KEY"]


def test_running_again_changes_nothing(project: Path) -> None:
    env["write_env"](project)
    first = (project / ".env").read_bytes()
    assert env["write_env"](project) == []
    assert (project / ".env").read_bytes() == first


def test_new_keys_are_appended_and_existing_lines_kept_byte_for_byte(project: Path) -> None:
    (project / ".env").write_text("AUTH_DB_PASSWORD=mine\nEXTRA=kept # owner's own\n")
    before = (project / ".env").read_text()
    (project / ".env.example").write_text(EXAMPLE + "BILLING_DB_PASSWORD=change-me\n")
    added = env["write_env"](project)
    after = (project / ".env").read_text()
    assert after.startswith(before)
    assert set(added) == {"COMPOSE_PROJECT_NAME", "JWT_PRIVATE_KEY", "JWT_PUBLIC_KEY", "BILLING_DB_PASSWORD"}
    assert env["read_env"](project / ".env")["AUTH_DB_PASSWORD"] == "mine"


def test_half_a_key_pair_is_refused(project: Path) -> None:
    (project / ".env").write_text('JWT_PUBLIC_KEY="x"\n')
    with pytest.raises(SystemExit, match="only one of JWT_PRIVATE_KEY and JWT_PUBLIC_KEY"):
        env["write_env"](project)


def test_openssl_fallback_makes_a_working_pair() -> None:
    private, public = env["_openssl_key_pair"]()
    assert "BEGIN PRIVATE KEY" in private and "BEGIN PUBLIC KEY" in public
