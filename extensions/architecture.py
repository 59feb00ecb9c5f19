"""The architecture model: turns the questionnaire's answers into one normalised list of services."""

from __future__ import annotations

import re
import zlib
from dataclasses import dataclass, field
from typing import Any

import yaml

GATEWAYS = ("kong", "nginx")
QUEUES = ("rabbitmq", "none")
CACHES = ("redis", "none")
DATABASES = ("postgres", "mongodb")

# Kind -> the service names that select it when no `kind:` is given.
KIND_NAMES: dict[str, tuple[str, ...]] = {
    "auth": ("auth", "user", "users", "identity", "account", "accounts"),
    "catalog": ("product", "products", "catalog"),
    "order": ("order", "orders"),
    "payment": ("payment", "payments", "billing"),
    "notification": ("notification", "notifications", "email", "mailer"),
}
KINDS = (*KIND_NAMES, "generic")
DEFAULT_DATABASE = {"catalog": "mongodb"}  # every other kind defaults to postgres

# Names taken by the infrastructure around the services, or by folders of the project.
RESERVED_NAMES = frozenset(
    {
        "api", "app", "broker", "cache", "database", "db", "docs", "e2e", "gateway", "health",
        "kong", "mongo", "mongodb", "nginx", "postgres", "postgresql", "queue", "rabbitmq",
        "redis", "scripts", "services",
    }
)  # fmt: skip
NAME_PATTERN = re.compile(r"^[a-z][a-z0-9]*(?:-[a-z0-9]+)*$")
MAX_NAME_LENGTH = 30
SERVICE_KEYS = frozenset({"name", "kind", "database", "port"})
LOCAL_PORTS = range(8100, 8900)

ALIASES = {"postgresql": "postgres", "pg": "postgres", "mongo": "mongodb"}


try:  # Copier prints a UserMessageError as one line, without a traceback
    from copier.errors import UserMessageError as _Base
except ImportError:  # the model is also used where Copier is not installed
    _Base = ValueError  # type: ignore[assignment,misc]


class AnswerError(_Base):
    """An answer that cannot describe a valid system; the message names the value and what is allowed."""


@dataclass(frozen=True)
class Service:
    """One generated service, with everything the files around it need to know."""

    name: str
    kind: str
    database: str
    port: int
    publishes: tuple[str, ...] = ()
    consumes: tuple[str, ...] = ()
    calls: tuple[str, ...] = ()
    uses_cache: bool = False  # Redis: the catalog's product cache, the auth service's login limits

    @property
    def route(self) -> str:
        return f"/api/{self.name}"

    @property
    def ident(self) -> str:
        """The name as a Python/SQL identifier: `search-index` -> `search_index`."""
        return self.name.replace("-", "_")

    @property
    def env_prefix(self) -> str:
        return self.ident.upper()

    @property
    def title(self) -> str:
        return self.name.replace("-", " ").title()

    @property
    def db_host(self) -> str:
        return f"{self.name}-db"

    @property
    def public_paths(self) -> tuple[tuple[str, tuple[str, ...]], ...]:
        """Paths the gateway lets through without a token, each with its methods."""
        docs = ((f"{self.route}/docs", ("GET",)), (f"{self.route}/openapi.json", ("GET",)))
        if self.kind == "auth":
            return (*docs, (f"{self.route}/register", ("POST",)), (f"{self.route}/login", ("POST",)))
        if self.kind == "catalog":  # browsing the catalog (list, search, item) needs no account
            return (*docs, (self.route, ("GET",)))
        return docs


@dataclass(frozen=True)
class Architecture:
    """The whole system: its services and the infrastructure they share."""

    project_slug: str
    gateway: str
    queue: str
    cache: str
    services: tuple[Service, ...] = field(default=())

    def of_kind(self, kind: str) -> Service | None:
        return next((s for s in self.services if s.kind == kind), None)

    @property
    def databases(self) -> tuple[str, ...]:
        return tuple(sorted({s.database for s in self.services}))

    @property
    def auth(self) -> Service | None:
        return self.of_kind("auth")


def _listify(value: Any, question: str) -> list[Any]:
    """Accept `a,b`, `[a, b]` or a YAML string of either, and return a list."""
    if value is None:
        return []
    if isinstance(value, str):
        text = value.strip()
        if text.startswith("["):
            try:
                value = yaml.safe_load(text)
            except yaml.YAMLError as error:
                raise AnswerError(f"{question}: {text!r} is not a valid YAML list ({error.problem})") from None
        else:
            return [part.strip() for part in text.split(",") if part.strip()]
    if isinstance(value, (list, tuple)):
        return list(value)
    raise AnswerError(f"{question}: expected a comma-separated string or a list, got {value!r}")


def _choice(value: Any, allowed: tuple[str, ...], what: str) -> str:
    text = str(value).strip().lower()
    text = ALIASES.get(text, text)
    if text not in allowed:
        raise AnswerError(f"{what}: {value!r} is not allowed; choose one of: {', '.join(allowed)}")
    return text


def check_name(name: Any) -> str:
    """Validate one service name and return it."""
    if not isinstance(name, str) or not name:
        raise AnswerError(f"service name {name!r} must be a non-empty string")
    if not NAME_PATTERN.fullmatch(name):
        raise AnswerError(
            f"service name {name!r} is not allowed: use lowercase letters, digits and single hyphens, "
            "starting with a letter (for example 'billing' or 'search-index')"
        )
    if len(name) > MAX_NAME_LENGTH:
        raise AnswerError(f"service name {name!r} is too long: at most {MAX_NAME_LENGTH} characters")
    if name in RESERVED_NAMES or name.endswith("-db"):
        raise AnswerError(
            f"service name {name!r} clashes with the infrastructure; these are taken: "
            f"{', '.join(sorted(RESERVED_NAMES))} and any name ending in '-db'"
        )
    return name


def kind_for(name: str) -> str:
    return next((kind for kind, names in KIND_NAMES.items() if name in names), "generic")


def local_port(name: str, taken: set[int]) -> int:
    """A port for running the service as a local process, derived from its name alone.

    Derived rather than counted so that adding or removing another service never moves it.
    """
    start = zlib.crc32(name.encode()) % len(LOCAL_PORTS)
    for step in range(len(LOCAL_PORTS)):
        port = LOCAL_PORTS[(start + step) % len(LOCAL_PORTS)]
        if port not in taken:
            return port
    raise AnswerError("no free local port left for the services")  # pragma: no cover


def parse_services(services: Any, databases: Any = "") -> list[dict[str, Any]]:
    """Turn the services (and parallel databases) answers into a list of `{name, kind, database, port}`."""
    entries = _listify(services, "services")
    if not entries:
        raise AnswerError("services: the list is empty; give at least one service name, for example 'auth,product'")
    dbs = [_choice(db, DATABASES, "databases") for db in _listify(databases, "databases")]
    if len(dbs) > len(entries):
        raise AnswerError(
            f"databases: {len(dbs)} databases given for {len(entries)} services; "
            "give one database for all services or at most one per service"
        )
    parsed: list[dict[str, Any]] = []
    for index, entry in enumerate(entries):
        if isinstance(entry, str):
            entry = {"name": entry.strip()}
        if not isinstance(entry, dict):
            raise AnswerError(f"services: {entry!r} is neither a name nor a mapping with a 'name'")
        unknown = set(entry) - SERVICE_KEYS
        if unknown:
            raise AnswerError(
                f"services: unknown key(s) {', '.join(sorted(map(str, unknown)))} in {entry!r}; "
                f"allowed: {', '.join(sorted(SERVICE_KEYS))}"
            )
        name = check_name(entry.get("name"))
        kind = _choice(entry.get("kind", kind_for(name)), KINDS, f"kind of service {name!r}")
        if "database" in entry:
            database = entry["database"]
        elif len(dbs) == 1:
            database = dbs[0]
        elif index < len(dbs):
            database = dbs[index]
        else:
            database = DEFAULT_DATABASE.get(kind, "postgres")
        database = _choice(database, DATABASES, f"database of service {name!r}")
        port = entry.get("port")
        if port is not None and (not isinstance(port, int) or port not in LOCAL_PORTS):
            raise AnswerError(
                f"port of service {name!r}: {port!r} is not allowed; use an integer from "
                f"{LOCAL_PORTS.start} to {LOCAL_PORTS.stop - 1}"
            )
        parsed.append({"name": name, "kind": kind, "database": database, "port": port})

    names = [entry["name"] for entry in parsed]
    duplicates = sorted({name for name in names if names.count(name) > 1})
    if duplicates:
        raise AnswerError(f"services: {', '.join(duplicates)} listed more than once; service names must be unique")
    for kind in KIND_NAMES:
        same = [entry["name"] for entry in parsed if entry["kind"] == kind]
        if len(same) > 1:
            raise AnswerError(
                f"services: {', '.join(same)} are all of kind {kind!r}; a system has at most one {kind} service "
                "(give the others `kind: generic`)"
            )
    pinned = [entry["port"] for entry in parsed if entry["port"] is not None]
    if len(pinned) != len(set(pinned)):
        raise AnswerError(f"services: the same port is given to two services ({pinned})")
    taken = set(pinned)
    for entry in parsed:
        if entry["port"] is None:
            entry["port"] = local_port(entry["name"], taken)
        taken.add(entry["port"])
    return parsed


CACHE_USERS = ("auth", "catalog")  # the kinds that keep state in Redis when the project has it


def _wire(entries: list[dict[str, Any]], queue: str, cache: str = "none") -> list[Service]:
    """Connect the kinds that are present: who publishes, who consumes, who calls whom."""
    present = {entry["kind"]: entry["name"] for entry in entries}
    services = []
    for entry in entries:
        kind, name = entry["kind"], entry["name"]
        publishes: tuple[str, ...] = ()
        consumes: tuple[str, ...] = ()
        calls: tuple[str, ...] = ()
        if kind == "auth":
            publishes = ("user.registered",)
        elif kind == "catalog":
            consumes = ("order.paid", "order.payment_failed") if "order" in present else ()
        elif kind == "order":
            publishes = ("order.created", "order.paid", "order.payment_failed")
            consumes = ("payment.processed",) if "payment" in present else ()
            calls = (present["catalog"],) if "catalog" in present else ()
        elif kind == "payment":
            publishes = ("payment.processed",)
            consumes = ("order.created",) if "order" in present else ()
        elif kind == "notification":
            consumes = tuple(
                event
                for partner, event in (
                    ("auth", "user.registered"),
                    ("order", "order.created"),
                    ("order", "order.paid"),
                    ("payment", "payment.processed"),
                )
                if partner in present
            )
        else:
            publishes = tuple(f"{entry['name'].replace('-', '_')}.{verb}" for verb in ("created", "updated", "deleted"))
        if queue == "none":
            publishes, consumes = (), ()
        services.append(Service(name=name, kind=kind, database=entry["database"], port=entry["port"],
                                publishes=publishes, consumes=consumes, calls=calls,
                                uses_cache=cache == "redis" and kind in CACHE_USERS))  # fmt: skip
    return services


def slugify(value: str) -> str:
    """`My Shop 2` -> `my-shop-2`."""
    slug = re.sub(r"[^a-z0-9]+", "-", str(value).lower()).strip("-")
    return slug or "app"


def build(answers: dict[str, Any]) -> Architecture:
    """Build the model from the questionnaire's answers (raises AnswerError on any bad answer)."""
    gateway = _choice(answers.get("gateway", "kong"), GATEWAYS, "gateway")
    queue = _choice(answers.get("queue", "rabbitmq"), QUEUES, "queue")
    cache = _choice(answers.get("cache", "redis"), CACHES, "cache")
    entries = parse_services(answers.get("services"), answers.get("databases", ""))
    slug = answers.get("project_slug") or slugify(answers.get("project_name", "app"))
    return Architecture(project_slug=slug, gateway=gateway, queue=queue, cache=cache,
                        services=tuple(_wire(entries, queue, cache)))  # fmt: skip


def error_of(answers: dict[str, Any]) -> str:
    """The validation message for a set of answers, or '' when they are valid."""
    try:
        build(answers)
    except AnswerError as error:
        return str(error)
    return ""
