#!/usr/bin/env python3
"""The seed's command line, kept as a thin wrapper over Copier's Python API.

python scripts/generate_microservices.py --name "EcommerceApp" --services user,product,order
python scripts/generate_microservices.py --name "MyApp" --services auth,catalog,payment --gateway kong --queue rabbitmq
python scripts/generate_microservices.py --name "MyApp" --services user,post --databases postgres,mongodb
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

TEMPLATE = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(TEMPLATE / "extensions"))

from architecture import CACHES, GATEWAYS, QUEUES, slugify  # noqa: E402


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description="Generate a Docker-Compose microservices system.")
    parser.add_argument("--name", required=True, help="project name, e.g. EcommerceApp")
    parser.add_argument("--services", required=True, help="comma-separated service names, e.g. auth,product,order")
    parser.add_argument("--databases", default="", help="postgres or mongodb: one for all, or one per service")
    parser.add_argument("--gateway", choices=GATEWAYS, default="kong")
    parser.add_argument("--queue", choices=QUEUES, default="rabbitmq")
    parser.add_argument("--cache", choices=CACHES, default="redis")
    parser.add_argument("--description", help="one sentence describing the system")
    parser.add_argument("--output", type=Path, help="where to generate (default: the project's slug)")
    parser.add_argument("--vcs-ref", help="template version (git tag or commit); default: the latest tag")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    try:
        from copier import run_copy
        from copier.errors import UserMessageError
    except ImportError:
        print("copier is not installed: pip install copier copier-template-extensions", file=sys.stderr)
        return 2
    data = {
        "project_name": args.name,
        "services": args.services,
        "databases": args.databases,
        "gateway": args.gateway,
        "queue": args.queue,
        "cache": args.cache,
    }
    if args.description:
        data["description"] = args.description
    output = args.output or Path(slugify(args.name))
    try:
        run_copy(str(TEMPLATE), output, data=data, defaults=True, unsafe=True, vcs_ref=args.vcs_ref)
    except (ValueError, UserMessageError) as error:  # invalid answers: the message names the value
        print(f"error: {error}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
