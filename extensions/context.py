"""Jinja extension: puts the architecture model in every template's context and adds the filters it needs."""

from __future__ import annotations

import importlib.util
import sys
from functools import lru_cache
from pathlib import Path
from types import ModuleType
from typing import Any

from copier_template_extensions import ContextHook
from jinja2 import Environment
from jinja2.ext import Extension


def _load_sibling(name: str) -> ModuleType:
    """Import a module of this folder afresh, from this template version's own file.

    `copier update` renders two template versions in one process; a plain `import` would hand the new version the
    old version's module from `sys.modules`, and template changes in the model would never reach a project.
    """
    spec = importlib.util.spec_from_file_location(name, Path(__file__).resolve().parent / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # `fragments` imports `architecture` by name: it gets this version's
    spec.loader.exec_module(module)
    return module


architecture = _load_sibling("architecture")
fragments = _load_sibling("fragments")

ANSWER_KEYS = ("project_name", "project_slug", "services", "databases", "gateway", "queue", "cache")


def _freeze(value: Any) -> Any:
    """A hashable copy of an answer, so the model is built once per distinct set of answers."""
    if isinstance(value, dict):
        return tuple(sorted((key, _freeze(item)) for key, item in value.items()))
    if isinstance(value, (list, tuple)):
        return tuple(_freeze(item) for item in value)
    return value


def _thaw(value: Any) -> Any:
    if isinstance(value, tuple):
        if value and all(isinstance(item, tuple) and len(item) == 2 and isinstance(item[0], str) for item in value):
            return {key: _thaw(item) for key, item in value}
        return [_thaw(item) for item in value]
    return value


@lru_cache(maxsize=32)
def _build(frozen: tuple[tuple[str, Any], ...]) -> architecture.Architecture:
    return architecture.build({key: _thaw(value) for key, value in frozen})


def model_of(answers: dict[str, Any]) -> architecture.Architecture:
    return _build(tuple((key, _freeze(answers.get(key))) for key in ANSWER_KEYS if key in answers))


class ArchitectureContext(ContextHook):
    """Adds `arch` (the model) and the service lists that `yield` folders iterate to the context."""

    def hook(self, context: dict[str, Any]) -> None:
        # While questions are asked, answers are checked by their validators; the model is built once they are all
        # in, where a bad answer given with --data stops Copier with a one-line message.
        if "services" not in context or str(context.get("_copier_phase")) == "prompt":
            return
        arch = model_of(context)
        context["arch"] = arch
        context["svc_list"] = arch.services
        # The services rendered from template/services/<python yield>/: every language-specific file of a
        # service lives under that one folder, so another flavour would be a second yield folder and list.
        context["python_services"] = arch.services


class ArchitectureFilters(Extension):
    """Filters and functions for validating answers and rendering the YAML fragments."""

    def __init__(self, environment: Environment) -> None:
        super().__init__(environment)
        environment.globals["answers_error"] = lambda **answers: architecture.error_of(answers)
        environment.filters["slugify"] = architecture.slugify
        environment.filters["to_yaml"] = fragments.to_yaml
        environment.globals["compose_of"] = fragments.compose
        environment.globals["kong_of"] = fragments.kong
        environment.globals["service_environment"] = fragments.service_environment
