"""The architecture model on its own: parsing, validation messages, kinds, wiring, stable ports."""

from __future__ import annotations

import pytest
from architecture import RESERVED_NAMES, AnswerError, build, kind_for, parse_services


def names(arch) -> list[str]:  # type: ignore[no-untyped-def]
    return [s.name for s in arch.services]


def test_defaults_reproduce_the_seed_diagram() -> None:
    arch = build({"services": "auth,product,order,payment"})
    assert [(s.name, s.kind, s.database) for s in arch.services] == [
        ("auth", "auth", "postgres"),
        ("product", "catalog", "mongodb"),
        ("order", "order", "postgres"),
        ("payment", "payment", "postgres"),
    ]
    assert (arch.gateway, arch.queue, arch.cache) == ("kong", "rabbitmq", "redis")


def test_list_form_with_mappings() -> None:
    arch = build({"services": "[auth, {name: billing, kind: payment, database: mongodb}, search-index]"})
    assert [(s.name, s.kind, s.database) for s in arch.services] == [
        ("auth", "auth", "postgres"),
        ("billing", "payment", "mongodb"),
        ("search-index", "generic", "postgres"),
    ]
    assert arch.services[2].ident == "search_index"
    assert arch.services[2].env_prefix == "SEARCH_INDEX"


def test_parallel_databases_map_in_order_and_one_applies_to_all() -> None:
    assert [e["database"] for e in parse_services("user,post", "postgres,mongodb")] == ["postgres", "mongodb"]
    assert [e["database"] for e in parse_services("a,b,c", "mongodb")] == ["mongodb"] * 3
    assert [e["database"] for e in parse_services("a,b,c", "postgres,mongo")] == ["postgres", "mongodb", "postgres"]


@pytest.mark.parametrize(
    ("answers", "message"),
    [
        ({"services": "Auth"}, "service name 'Auth' is not allowed: use lowercase"),
        ({"services": "my service"}, "service name 'my service' is not allowed"),
        ({"services": "1st"}, "service name '1st' is not allowed"),
        ({"services": "auth,auth"}, "auth listed more than once"),
        ({"services": "gateway"}, "service name 'gateway' clashes with the infrastructure"),
        ({"services": "postgres"}, "clashes with the infrastructure"),
        ({"services": "orders-db"}, "any name ending in '-db'"),
        ({"services": ""}, "services: the list is empty"),
        ({"services": "[]"}, "services: the list is empty"),
        ({"services": "a,b", "databases": "postgres,mongodb,postgres"}, "3 databases given for 2 services"),
        (
            {"services": "a", "databases": "oracle"},
            "databases: 'oracle' is not allowed; choose one of: postgres, mongodb",
        ),
        ({"services": "a", "gateway": "traefik"}, "gateway: 'traefik' is not allowed; choose one of: kong, nginx"),
        ({"services": "a", "queue": "kafka"}, "queue: 'kafka' is not allowed; choose one of: rabbitmq, none"),
        ({"services": "a", "cache": "memcached"}, "cache: 'memcached' is not allowed; choose one of: redis, none"),
        ({"services": "[{name: a, kind: crm}]"}, "kind of service 'a': 'crm' is not allowed"),
        ({"services": "[{name: a, colour: red}]"}, "unknown key(s) colour"),
        ({"services": "auth,users"}, "auth, users are all of kind 'auth'"),
        ({"services": "[a, {name: b, port: 80}]"}, "port of service 'b': 80 is not allowed"),
        ({"services": "[a, "}, "not a valid YAML list"),
        ({"services": "x" * 31}, "too long"),
    ],
)
def test_bad_answers_name_the_value_and_what_is_allowed(answers: dict[str, str], message: str) -> None:
    with pytest.raises(AnswerError) as error:
        build(answers)
    assert message in str(error.value)
    assert "\n" not in str(error.value)


def test_kinds_from_names() -> None:
    assert [kind_for(n) for n in ("users", "catalog", "orders", "billing", "mailer", "shipping")] == [
        "auth", "catalog", "order", "payment", "notification", "generic",
    ]  # fmt: skip


def test_ports_do_not_move_when_services_are_added_or_removed() -> None:
    before = {s.name: s.port for s in build({"services": "auth,product,order"}).services}
    after = {s.name: s.port for s in build({"services": "auth,product,order,billing,shipping"}).services}
    fewer = {s.name: s.port for s in build({"services": "product,order"}).services}
    assert {name: after[name] for name in before} == before
    assert {name: before[name] for name in fewer} == fewer
    assert len(set(after.values())) == len(after)


def test_pinned_port_is_kept_and_others_avoid_it() -> None:
    arch = build({"services": "[{name: a, port: 8500}, b, c]"})
    ports = [s.port for s in arch.services]
    assert ports[0] == 8500 and len(set(ports)) == 3


def test_events_follow_the_partners_that_exist() -> None:
    full = {s.kind: s for s in build({"services": "auth,product,order,payment,notification"}).services}
    assert full["payment"].consumes == ("order.created",)
    assert full["order"].consumes == ("payment.processed",)
    assert full["order"].calls == ("product",)
    assert full["catalog"].consumes == ("order.paid", "order.payment_failed")
    assert set(full["notification"].consumes) == {"user.registered", "order.created", "order.paid", "payment.processed"}
    alone = build({"services": "order"}).services[0]
    assert alone.consumes == () and alone.calls == ()
    generic = build({"services": "search-index"}).services[0]
    assert generic.publishes == ("search_index.created", "search_index.updated", "search_index.deleted")
    quiet = build({"services": "auth,order,payment", "queue": "none"}).services
    assert all(not s.publishes and not s.consumes for s in quiet)


def test_reserved_names_are_all_rejected() -> None:
    for name in RESERVED_NAMES:
        with pytest.raises(AnswerError, match="clashes with the infrastructure"):
            build({"services": name})


def test_only_the_kinds_that_keep_state_in_redis_use_it() -> None:
    """The others neither need Redis nor report not ready without it."""
    answers = {"services": "auth,product,order,payment,notification,reviews"}
    with_cache = {svc.kind for svc in build(answers).services if svc.uses_cache}
    assert with_cache == {"auth", "catalog"}
    assert not any(svc.uses_cache for svc in build({**answers, "cache": "none"}).services)
