"""The seed's command line (scripts/generate_microservices.py) and invalid answers given to Copier itself."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from conftest import ROOT
from copier import run_copy

SCRIPT = ROOT / "scripts" / "generate_microservices.py"


def cli(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, str(SCRIPT), *args], cwd=cwd, capture_output=True, text=True, check=False)


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (
            ["--name", "EcommerceApp", "--services", "user,product,order"],
            ("ecommerceapp", "kong", ["user", "product", "order"]),
        ),
        (
            ["--name", "MyApp", "--services", "auth,catalog,payment", "--gateway", "kong", "--queue", "rabbitmq"],
            ("myapp", "kong", ["auth", "catalog", "payment"]),
        ),
        (
            ["--name", "MyApp", "--services", "user,post", "--databases", "postgres,mongodb", "--gateway", "nginx"],
            ("myapp", "nginx", ["user", "post"]),
        ),
    ],
)
def test_seed_examples(copier_template: Path, tmp_path: Path, args: list[str], expected: tuple) -> None:
    result = cli(*args, "--vcs-ref", "HEAD", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    slug, gateway, services = expected
    answers = yaml.safe_load((tmp_path / slug / ".copier-answers.yml").read_text())
    assert answers["gateway"] == gateway
    assert sorted(p.name for p in (tmp_path / slug / "services").iterdir()) == sorted(services)
    assert (tmp_path / slug / ".env").exists()


def test_output_option_and_databases_mapping(tmp_path: Path) -> None:
    result = cli("--name", "MyApp", "--services", "user,post", "--databases", "postgres,mongodb",
                 "--output", str(tmp_path / "out"), "--vcs-ref", "HEAD", cwd=tmp_path)  # fmt: skip
    assert result.returncode == 0, result.stderr
    compose = yaml.safe_load((tmp_path / "out" / "compose.yaml").read_text())
    assert compose["services"]["user-db"]["image"].startswith("postgres")
    assert compose["services"]["post-db"]["image"].startswith("mongo")


def test_help(tmp_path: Path) -> None:
    result = cli("--help", cwd=tmp_path)
    assert result.returncode == 0
    for option in ("--name", "--services", "--databases", "--gateway", "--queue", "--cache", "--output"):
        assert option in result.stdout


def test_bad_answer_is_one_line_and_writes_nothing(tmp_path: Path) -> None:
    result = cli("--name", "MyApp", "--services", "Auth,order", "--output", str(tmp_path / "out"), cwd=tmp_path)
    assert result.returncode == 2
    errors = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert errors == [
        "error: service name 'Auth' is not allowed: use lowercase letters, digits and single hyphens, "
        "starting with a letter (for example 'billing' or 'search-index')"
    ]
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"services": "auth,redis"}, "service name 'redis' clashes with the infrastructure"),
        ({"services": "auth,auth"}, "auth listed more than once"),
        ({"databases": "postgres,mongodb,postgres,postgres,mongodb"}, "5 databases given for 4 services"),
        ({"services": "[a, {name: b, database: oracle}]"}, "database of service 'b': 'oracle' is not allowed"),
        ({"gateway": "traefik"}, "'traefik'"),
        ({"project_slug": "Bad Slug"}, 'project_slug: "Bad Slug" is not allowed'),
    ],
)
def test_copier_rejects_bad_data_and_leaves_no_project(
    copier_template: Path, tmp_path: Path, data: dict[str, str], message: str
) -> None:
    with pytest.raises(Exception) as error:
        run_copy(str(copier_template), tmp_path / "out", data=data, defaults=True, unsafe=True, quiet=True)
    assert message in str(error.value)
    assert not (tmp_path / "out").exists()
