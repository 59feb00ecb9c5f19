#!/usr/bin/env python3
"""Write .env from .env.example: every `change-me` gets a fresh random secret; existing values are never touched.

Run by the template after every copy and update, and by `make env`. Only keys missing from .env are appended,
so running it again changes nothing, and a service added later gets its secrets without moving the others.
"""

from __future__ import annotations

import secrets
import shutil
import subprocess
import sys
from pathlib import Path

PLACEHOLDER = "change-me"
KEY_PAIR = ("JWT_PRIVATE_KEY", "JWT_PUBLIC_KEY")


def read_env(path: Path) -> dict[str, str]:
    """Keys and raw values of a dotenv file (comments and blank lines skipped)."""
    values: dict[str, str] = {}
    if not path.exists():
        return values
    for line in path.read_text().splitlines():
        line = line.strip()
        if line and not line.startswith("#") and "=" in line:
            key, _, value = line.partition("=")
            values[key.strip().removeprefix("export ").strip()] = value.strip()
    return values


def rsa_key_pair() -> tuple[str, str]:
    """A 2048-bit RSA key pair as PEM strings, from `cryptography` when present, else the openssl command."""
    try:
        from cryptography.hazmat.primitives import serialization
        from cryptography.hazmat.primitives.asymmetric import rsa
    except ImportError:
        return _openssl_key_pair()
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    private = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    public = (
        key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )
    return private, public


def _openssl_key_pair() -> tuple[str, str]:
    openssl = shutil.which("openssl")
    if openssl is None:
        sys.exit("env.py: generating the JWT key pair needs the `openssl` command or the `cryptography` package")
    private = subprocess.run(
        [openssl, "genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    public = subprocess.run(
        [openssl, "pkey", "-pubout"], input=private, check=True, capture_output=True, text=True
    ).stdout
    return private, public


def quote_pem(pem: str) -> str:
    """One dotenv line for a PEM value: double quotes, line breaks written as \\n."""
    return '"' + pem.strip().replace("\n", "\\n") + '\\n"'


def missing_lines(example: dict[str, str], current: dict[str, str]) -> list[str]:
    """The `KEY=value` lines to append so that every key of the example is set."""
    lines = []
    wanted = {key: value for key, value in example.items() if key not in current}
    if any(key in wanted for key in KEY_PAIR):
        if any(key in current for key in KEY_PAIR):
            sys.exit(f"env.py: .env has only one of {' and '.join(KEY_PAIR)}; remove it to get a new pair")
        private, public = rsa_key_pair()
        lines += [f"{KEY_PAIR[0]}={quote_pem(private)}", f"{KEY_PAIR[1]}={quote_pem(public)}"]
    for key, value in wanted.items():
        if key in KEY_PAIR:
            continue
        lines.append(f"{key}={secrets.token_urlsafe(32) if value == PLACEHOLDER else value}")
    return lines


def write_env(project: Path) -> list[str]:
    """Append what .env lacks; returns the keys added."""
    env_path = project / ".env"
    lines = missing_lines(read_env(project / ".env.example"), read_env(env_path))
    if lines:
        text = env_path.read_text() if env_path.exists() else ""
        if text and not text.endswith("\n"):
            text += "\n"
        env_path.write_text(text + "\n".join(lines) + "\n")
        env_path.chmod(0o600)
    return [line.partition("=")[0] for line in lines]


def main() -> None:
    project = Path(sys.argv[1]) if len(sys.argv) > 1 else Path(__file__).resolve().parent.parent
    added = write_env(project)
    if added:
        print(f".env: added {', '.join(added)}")


if __name__ == "__main__":
    main()
