"""Run the real program under the offline mocks once per (stack, variant) and share the result."""

from __future__ import annotations

import json
from functools import cache
from typing import Any

from offline.mocks import RecordedResource
from offline.runner import PlanResult, run_program


@cache
def planned(stack: str) -> PlanResult:
    return run_program(stack)


def run(stack: str, **kwargs: Any) -> PlanResult:
    return run_program(stack, **kwargs)


def one(result: PlanResult, type_: str, name: str) -> RecordedResource:
    matches = [r for r in result.of_type(type_) if r.name == name]
    assert len(matches) == 1, f"expected one {type_} named {name}, got {[r.name for r in result.of_type(type_)]}"
    return matches[0]


def children_of(result: PlanResult, component: RecordedResource) -> list[RecordedResource]:
    return [r for r in result.resources if r.parent == component.urn]


def bundle(result: PlanResult, role: str) -> dict[str, str]:
    version = one(result, "aws:secretsmanager/secretVersion:SecretVersion", f"mtls-{role}-version")
    return dict(json.loads(version.inputs["secretString"]))
