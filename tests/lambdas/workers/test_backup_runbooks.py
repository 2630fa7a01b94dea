"""Every runbook in docs/runbooks/ names commands that exist: CLI sub-commands, make targets, stack outputs,
physical names of the stack's resources, config keys and the Python names its snippets import."""

from __future__ import annotations

import importlib
import re
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import pytest

from components.settings import StackSettings
from lambdas.ledger_processor.cli import main as ledger_cli
from offline.mocks import string_leaves
from schema.restore import main as restore_cli
from tests.components.test_backfill import enabled as planned_with_backfill_fan_out

pytestmark = pytest.mark.unit

REPO = Path(__file__).resolve().parents[3]
RUNBOOKS = sorted((REPO / "docs" / "runbooks").glob("*.md"))
CLIS: dict[str, Callable[[Sequence[str]], Any]] = {
    "lambdas.ledger_processor": lambda argv: ledger_cli(list(argv)),
    "schema.restore": lambda argv: restore_cli(list(argv)),
}


def text() -> str:
    return "\n".join(path.read_text() for path in RUNBOOKS)


def test_the_four_runbooks_exist() -> None:
    assert {p.name for p in RUNBOOKS} >= {
        "certificate-rotation.md",
        "poison-ledger-dlq.md",
        "rollup-freshness.md",
        "restore-from-backup.md",
    }


def test_every_python_module_command_and_sub_command_exists(capsys: pytest.CaptureFixture[str]) -> None:
    found = set(re.findall(r"python -m ([a-z_.]+) ([a-z-]+)", text()))
    assert ("schema.restore", "restore-sql") in found and ("lambdas.ledger_processor", "reconcile") in found
    for module, command in sorted(found):
        assert module in CLIS, f"runbooks run `python -m {module}`, which this test does not know"
        with pytest.raises(SystemExit) as done:
            CLIS[module]([command, "--help"])
        assert done.value.code == 0, f"python -m {module} {command} is not a sub-command"
        capsys.readouterr()


def test_every_make_target_exists() -> None:
    targets = set(re.findall(r"^([a-z][a-z-]*):", (REPO / "Makefile").read_text(), re.MULTILINE))
    named = set(re.findall(r"\bmake ([a-z][a-z-]*)", text()))
    assert named and named <= targets, named - targets


@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_every_stack_output_and_resource_name_exists(stack: str) -> None:
    # Every optional part on (the backfill fan-out): a runbook may name any of them.
    result = planned_with_backfill_fan_out(stack)
    outputs = set(re.findall(r"pulumi stack output ([a-z_]+)", text()))
    assert outputs and outputs <= set(result.outputs), outputs - set(result.outputs)
    physical = {
        value
        for r in result.resources
        for key in ("name", "functionName")
        for value in string_leaves(r.inputs.get(key))
    }
    named = set(re.findall(r"prices-(?:\$STACK|<env>)-([a-z0-9][a-z0-9-]*[a-z0-9])", text()))
    # `for w in oracle cleanup; do ... prices-$STACK-$w-schedule`: every name the loop builds.
    loops = re.findall(r"for (\w+) in ([a-z ]+); do [^\n]*?prices-\$STACK-\$\1-([a-z0-9][a-z0-9-]*[a-z0-9])", text())
    assert loops
    named |= {f"{word}-{suffix}" for _, words, suffix in loops for word in words.split()}
    assert {"mtls-not-after", "backup-schedule", "ledger-processor-dlq-messages"} <= named
    for suffix in named:
        name = f"prices-{stack}-{suffix}"
        assert any(p == name or p.startswith(name + "-") or p == f"/aws/lambda/{name}" for p in physical), name
    secrets = set(re.findall(r"prices/\$STACK/clickhouse-mtls-([a-z]+)", text()))
    assert secrets and {f"prices/{stack}/clickhouse-mtls-{s}" for s in secrets} <= set(
        result.outputs["mtls_secret_names"].values()
    )


def test_every_config_key_set_exists() -> None:
    keys = set(re.findall(r"pulumi config set --path ([a-z]+)\.([A-Za-z]+)", text()))
    assert keys
    for section, key in keys:
        model = StackSettings.model_fields[section].annotation
        aliases = {f.alias or name for name, f in model.model_fields.items()}  # type: ignore[union-attr]
        assert key in aliases, f"{section}.{key}"


def test_every_python_import_in_a_snippet_exists() -> None:
    imports = re.findall(r"from ([a-z_.]+) import ([A-Za-z_, ]+?)(?: as \w+)?(?:;|\n|$)", text())
    assert imports
    for module, names in imports:
        loaded = importlib.import_module(module)
        for name in (n.strip() for n in names.split(",")):
            assert hasattr(loaded, name), f"{module}.{name}"
