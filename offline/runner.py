"""Run the real Pulumi program (`__main__.py`) offline under the recording mocks.

`run_program("dev")` loads `Pulumi.dev.yaml` next to the program, adds clearly FAKE secrets (a throwaway
CA made by `pki.issuer.make_ca()`, a fake SSH key, a fake hcloud token) as secret config, executes the
program with `runpy`, waits for every output and returns what was registered and exported.

`set_mocks` is process-global, so the mocks are installed once per process (`install`) and only the
recorded state, the stack name, the config and the root Stack resource are reset between runs.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import functools
import json
import os
import runpy
import sys
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pulumi
import yaml
from pulumi.runtime import settings as pulumi_settings
from pulumi.runtime.config import set_all_config
from pulumi.runtime.stack import Stack, run_pulumi_func
from pulumi.runtime.sync_await import _sync_await

from offline.mocks import PricesMocks, RecordedResource, RecordingMonitor, string_leaves
from pki import issuer

PROJECT = "prices-api"
REPO_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_PROGRAM = REPO_ROOT / "__main__.py"

# Marked fake twice: in the value itself where the format allows, and in the plan output.
FAKE_SSH_PRIVATE_KEY = (
    "-----BEGIN OPENSSH PRIVATE KEY-----\n"
    "RkFLRS1PRkZMSU5FLU1PQ0stU1NILUtFWS1OT1QtQS1SRUFMLUtFWS1GT1ItVEVTVFMtT05MWQ==\n"
    "-----END OPENSSH PRIVATE KEY-----\n"
)
FAKE_HCLOUD_TOKEN = "FAKE-offline-hcloud-token-" + "0" * 38  # 64 chars like a real one; not a real token
FAKE_SECRET_KEYS = (
    f"{PROJECT}:caCertPem",
    f"{PROJECT}:caKeyPem",
    f"{PROJECT}:sshPrivateKey",
    "hcloud:token",
)


class ProgramError(Exception):
    """The program failed under the mocks (bad config, a component raising, a failed apply)."""


@dataclass
class PlanResult:
    stack: str
    resources: list[RecordedResource]
    outputs: dict[str, Any]
    secret_outputs: set[str]
    config: dict[str, str] = field(default_factory=dict)
    secret_config_keys: set[str] = field(default_factory=set)

    def of_type(self, type_: str) -> list[RecordedResource]:
        return [r for r in self.resources if r.type == type_]

    def by_urn(self) -> dict[str, RecordedResource]:
        return {r.urn: r for r in self.resources}

    def secret_values(self) -> set[str]:
        """Every string that was secret anywhere: secret config, secret inputs/outputs, secret stack outputs."""
        values: set[str] = set()
        for key in self.secret_config_keys:
            if key in self.config:
                values.add(self.config[key])
        for resource in self.resources:
            values.update(resource.secret_values())
        for name in self.secret_outputs:
            values.update(string_leaves(self.outputs.get(name)))
        return values


_installed: list[tuple[PricesMocks, RecordingMonitor]] = []  # at most one: set_mocks is process-global


def install(*, stack: str = "dev", now: dt.datetime | None = None) -> tuple[PricesMocks, RecordingMonitor]:
    """Install the mocks once per process; later calls return the same pair (set_mocks is global)."""
    if not _installed:
        mocks = PricesMocks(now=now)
        monitor = RecordingMonitor(mocks)
        pulumi.runtime.set_mocks(mocks, project=PROJECT, stack=stack, preview=False, monitor=monitor)
        _installed.append((mocks, monitor))
    return _installed[0]


@functools.cache
def fake_ca() -> issuer.IssuedCert:
    """A throwaway CA (per process) so certificates signed under the mocks verify. FAKE: never deploy."""
    return issuer.make_ca()


def fake_secret_config() -> dict[str, str]:
    ca = fake_ca()
    return {
        f"{PROJECT}:caCertPem": ca.cert_pem,
        f"{PROJECT}:caKeyPem": ca.key_pem,
        f"{PROJECT}:sshPrivateKey": FAKE_SSH_PRIVATE_KEY,
        "hcloud:token": FAKE_HCLOUD_TOKEN,
    }


def _config_value(value: Any) -> str:
    # The CLI hands the program strings; objects and lists as JSON (what require_object parses).
    if isinstance(value, str):
        return value
    return json.dumps(value)


def load_stack_config(path: Path) -> dict[str, str]:
    if not path.exists():
        raise ProgramError(f"stack file {path} does not exist")
    document = yaml.safe_load(path.read_text()) or {}
    raw = document.get("config") or {}
    if not isinstance(raw, dict):
        raise ProgramError(f"{path}: `config` must be a mapping")
    config: dict[str, str] = {}
    for key, value in raw.items():
        full = key if ":" in key else f"{PROJECT}:{key}"
        if isinstance(value, dict) and "secure" in value:
            raise ProgramError(f"{path}: {full} is an encrypted secret; secrets are not kept in stack files")
        config[full] = _config_value(value)
    return config


def _reset_runtime(stack: str) -> Stack:
    """Fresh stack name, RPC state and root Stack resource (its `outputs` would otherwise accumulate)."""
    pulumi_settings._set_stack(stack)
    pulumi_settings.SETTINGS.rpc_manager.clear()
    pulumi_settings.SETTINGS.outputs.clear()
    pulumi_settings.set_root_resource(None)  # type: ignore[arg-type]
    return Stack()


def _forget_program_modules(program_dir: Path) -> None:
    """Re-import the program's own packages each run so nothing read at import time leaks between stacks."""
    keep = {"offline", "policies", "pki", "tests"}
    for name, module in list(sys.modules.items()):
        top = name.split(".")[0]
        if top in keep:
            continue
        location = getattr(module, "__file__", None)
        if location and Path(location).resolve().is_relative_to(program_dir) and ".venv" not in location:
            del sys.modules[name]


@contextlib.contextmanager
def _program_environment(program_dir: Path) -> Iterator[None]:
    previous_cwd = Path.cwd()
    added = str(program_dir) not in sys.path
    if added:
        sys.path.insert(0, str(program_dir))
    os.chdir(program_dir)  # the CLI runs programs from the project directory
    try:
        yield
    finally:
        os.chdir(previous_cwd)
        if added:
            sys.path.remove(str(program_dir))


async def _resolve_outputs(outputs: Mapping[str, Any]) -> tuple[dict[str, Any], set[str]]:
    values: dict[str, Any] = {}
    secrets: set[str] = set()
    for name, value in outputs.items():
        output = pulumi.Output.from_input(value)
        values[name] = await output.future()
        if await output.is_secret():
            secrets.add(name)
    return values, secrets


def run_program(
    stack: str,
    *,
    config_overrides: Mapping[str, Any] | None = None,
    previous_outputs: Mapping[str, Any] | None = None,
    program: Path = DEFAULT_PROGRAM,
    stack_file: Path | None = None,
    now: dt.datetime | None = None,
    extra: Callable[[], None] | None = None,
    fresh_modules: bool = False,
) -> PlanResult:
    """Execute `program` for `stack` under the mocks and return everything it registered and exported.

    config_overrides: keys without a namespace are `prices-api:` keys; a value of None removes the key.
    previous_outputs: outputs of this stack's last deployment, served to its StackReference.
    extra: called inside the program run after the program (tests use it to inject resources).
    fresh_modules: re-import the program's own packages (off by default: tests may monkeypatch them).
    """
    program = program.resolve()
    mocks, monitor = install(stack=stack)
    mocks.stack_outputs = dict(previous_outputs or {})
    mocks.set_now(now)
    monitor.reset()

    config = load_stack_config(stack_file or program.parent / f"Pulumi.{stack}.yaml")
    config.update(fake_secret_config())
    for key, value in (config_overrides or {}).items():
        full = key if ":" in key else f"{PROJECT}:{key}"
        if value is None:
            config.pop(full, None)
        else:
            config[full] = _config_value(value)
    secret_keys = [k for k in FAKE_SECRET_KEYS if k in config]
    set_all_config(config, secret_keys)

    root = _reset_runtime(stack)
    if fresh_modules:
        _forget_program_modules(program.parent)

    def body() -> None:
        runpy.run_path(str(program), run_name="__main__")
        if extra is not None:
            extra()
        root._finish()

    try:
        with _program_environment(program.parent):
            _sync_await(run_pulumi_func(body))
            values, secrets = _sync_await(_resolve_outputs(root.outputs))
    except ProgramError:
        raise
    except Exception as exc:
        raise ProgramError(f"{type(exc).__name__}: {exc}") from exc
    finally:
        mocks.set_now(None)

    return PlanResult(
        stack=stack,
        resources=monitor.snapshot(),
        outputs=values,
        secret_outputs=secrets,
        config=config,
        secret_config_keys=set(secret_keys),
    )
