"""`python -m offline.plan --stack dev|prod [--json]`: the program's plan, offline, with policy results.

Runs `__main__.py` under the recording mocks (no CLI, no cloud), prints the resources grouped under their
components, the stack outputs (secret ones as `[secret]`, never their values), the monthly cost with its
total, the certificate not-after dates, and the policy results. Exit codes: 0 clean, 1 policy
violations, 2 program or config error (message on stderr).

Secrets are FAKE offline values (a throwaway CA, a fake SSH key, a fake hcloud token); see offline/runner.py.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any, TextIO

from cryptography import x509
from cryptography.x509.oid import NameOID

from offline.mocks import RecordedResource
from offline.runner import (
    DEFAULT_PROGRAM,
    FAKE_SECRET_KEYS,
    PROJECT,
    PlanResult,
    ProgramError,
    load_stack_config,
    run_program,
)
from policies.rules import ALL_POLICIES, Violation, run_all

EXIT_OK, EXIT_VIOLATIONS, EXIT_ERROR = 0, 1, 2
REDACTED = "[secret]"
_CERT_TYPES = ("tls:index/locallySignedCert:LocallySignedCert", "tls:index/selfSignedCert:SelfSignedCert")


def admin_cidrs_from_config(config: Mapping[str, str]) -> list[str]:
    """The admin CIDRs the program got: `prices-api:adminCidrs`, or `adminCidrs` inside an object key
    (the stack files use `prices-api:network: {adminCidrs: [...]}`)."""
    found: list[str] = []

    def search(value: Any) -> None:
        if isinstance(value, Mapping):
            for key, inner in value.items():
                if str(key).replace("_", "").lower() == "admincidrs" and isinstance(inner, list):
                    found.extend(str(c) for c in inner)
                else:
                    search(inner)

    for key, raw in config.items():
        if not key.startswith(f"{PROJECT}:"):
            continue
        try:
            value = json.loads(raw)
        except json.JSONDecodeError:
            continue
        search({key.split(":", 1)[1]: value})
    return sorted(set(found))


def _component_tree(resources: Sequence[RecordedResource]) -> dict[str | None, list[RecordedResource]]:
    known = {r.urn for r in resources}
    children: dict[str | None, list[RecordedResource]] = {}
    for r in resources:
        parent = r.parent if r.parent in known else None
        children.setdefault(parent, []).append(r)
    for group in children.values():
        group.sort(key=lambda r: (r.custom, r.type, r.name))
    return children


def _cert_summary(resources: Sequence[RecordedResource]) -> list[dict[str, Any]]:
    certs: list[dict[str, Any]] = []
    for r in resources:
        if r.type not in _CERT_TYPES or not r.outputs.get("certPem"):
            continue
        cert = x509.load_pem_x509_certificate(str(r.outputs["certPem"]).encode())
        cns = cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)
        certs.append(
            {
                "resource": r.name,
                "common_name": str(cns[0].value) if cns else "",
                "not_after": str(r.outputs.get("validityEndTime")),
            }
        )
    return sorted(certs, key=lambda c: str(c["resource"]))


def _redacted_outputs(result: PlanResult) -> dict[str, Any]:
    return {k: (REDACTED if k in result.secret_outputs else v) for k, v in sorted(result.outputs.items())}


def to_document(result: PlanResult, violations: Sequence[Violation], admin_cidrs: Sequence[str]) -> dict[str, Any]:
    return {
        "stack": result.stack,
        "fake_secret_config": sorted(FAKE_SECRET_KEYS),
        "resources": [
            {
                "urn": r.urn,
                "type": r.type,
                "name": r.name,
                "parent": r.parent,
                "custom": r.custom,
                "protect": r.protect,
                "id": r.id,
            }
            for r in result.resources
        ],
        "outputs": _redacted_outputs(result),
        "secret_outputs": sorted(result.secret_outputs),
        "certificates": _cert_summary(result.resources),
        "policies": {
            "checked": list(ALL_POLICIES),
            "admin_cidrs": list(admin_cidrs),
            "violations": [{"policy": v.policy, "urn": v.urn, "message": v.message} for v in violations],
        },
    }


def _format_value(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value, sort_keys=True)


def print_text(result: PlanResult, violations: Sequence[Violation], admin_cidrs: Sequence[str], out: TextIO) -> None:
    w = out.write
    w(f"Stack {PROJECT}/{result.stack} (offline mock plan; secrets are FAKE: {', '.join(FAKE_SECRET_KEYS)})\n\n")
    tree = _component_tree(result.resources)
    w(f"Resources ({len(result.resources)}):\n")

    def show(parent: str | None, depth: int) -> None:
        for r in tree.get(parent, []):
            marks = " [protected]" if r.protect else ""
            kind = "" if r.custom else " (component)"
            w(f"{'    ' * depth}- {r.type} {r.name}{kind}{marks}\n")
            show(r.urn, depth + 1)

    show(None, 1)

    w("\nOutputs:\n")
    for name, value in _redacted_outputs(result).items():
        if name == "monthly_cost_usd" and isinstance(value, Mapping):
            w(f"    {name}:\n")
            for item, usd in value.items():
                if item != "total":
                    w(f"        {item:<32} {usd:>10}\n")
            w(f"        {'total':<32} {value.get('total', '?'):>10}\n")
        else:
            w(f"    {name}: {_format_value(value)}\n")

    certs = _cert_summary(result.resources)
    if certs:
        w("\nCertificates (not after):\n")
        for c in certs:
            w(f"    {c['common_name']:<32} {c['not_after']}  ({c['resource']})\n")

    w(f"\nPolicies ({len(ALL_POLICIES)} checked; admin CIDRs: {', '.join(admin_cidrs) or 'none'}):\n")
    if not violations:
        w("    all passed\n")
    for v in violations:
        w(f"    VIOLATION {v}\n")


def stack_file(program: Path, stack: str) -> Path:
    return program.resolve().parent / f"Pulumi.{stack}.yaml"


def set_config_path(
    overrides: dict[str, Any], key: str, value: Any, stack_config: Callable[[], Mapping[str, str]]
) -> None:
    """`KEY=VALUE` into `overrides`; a dotted `top.a.b` (after the namespace) sets one field inside the object
    stored under `top`, starting from the stack file's value (or an earlier override of the same key)."""
    namespace, sep, rest = key.partition(":")
    if not sep:
        namespace, rest = PROJECT, key
    top, dot, path = rest.partition(".")
    full = f"{namespace}:{top}"
    if not dot:
        overrides[full] = value
        return
    if full in overrides:
        current = overrides[full]
    else:
        raw = stack_config().get(full)
        try:
            current = {} if raw is None else json.loads(raw)
        except json.JSONDecodeError:
            current = raw
    if not isinstance(current, dict):
        raise ValueError(f"{full} is not an object, so {path!r} cannot be set inside it")
    node = current
    *parents, leaf = path.split(".")
    for part in parents:
        child = node.setdefault(part, {})
        if not isinstance(child, dict):
            raise ValueError(f"{full}.{part} is not an object")
        node = child
    node[leaf] = value
    overrides[full] = current


def main(
    argv: Sequence[str] | None = None,
    *,
    out: TextIO | None = None,
    err: TextIO | None = None,
    extra: Callable[[], None] | None = None,
) -> int:
    out = out or sys.stdout
    err = err or sys.stderr
    parser = argparse.ArgumentParser(
        prog="python -m offline.plan", description=__doc__.split("\n")[0] if __doc__ else ""
    )
    parser.add_argument("--stack", required=True, help="dev or prod (reads Pulumi.<stack>.yaml)")
    parser.add_argument("--json", action="store_true", help="print one JSON document")
    parser.add_argument("--program", type=Path, default=DEFAULT_PROGRAM, help="program file (default: __main__.py)")
    parser.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="config override (JSON values allowed); KEY.a.b sets one field inside an object key, "
        "like `pulumi config set --path` (e.g. sidecar.enabled=true)",
    )
    parser.add_argument("--unset", action="append", default=[], metavar="KEY", help="remove a config key")
    parser.add_argument("--admin-cidr", action="append", default=None, help="override the admin CIDRs")
    args = parser.parse_args(argv)

    overrides: dict[str, Any] = {}
    for item in args.set:
        key, sep, raw = item.partition("=")
        if not sep:
            err.write(f"error: --set expects KEY=VALUE, got {item!r}\n")
            return EXIT_ERROR
        try:
            value: Any = json.loads(raw)
        except json.JSONDecodeError:
            value = raw
        try:
            set_config_path(overrides, key, value, lambda: load_stack_config(stack_file(args.program, args.stack)))
        except (ValueError, ProgramError) as exc:
            err.write(f"error: --set {item!r}: {exc}\n")
            return EXIT_ERROR
    for key in args.unset:
        overrides[key] = None

    try:
        result = run_program(args.stack, config_overrides=overrides, program=args.program, extra=extra)
    except ProgramError as exc:
        err.write(f"error: the program failed for stack {args.stack!r}: {exc}\n")
        return EXIT_ERROR
    admin_cidrs = args.admin_cidr if args.admin_cidr is not None else admin_cidrs_from_config(result.config)
    violations = run_all(result, admin_cidrs)
    if args.json:
        json.dump(to_document(result, violations, admin_cidrs), out, indent=2, sort_keys=False, default=str)
        out.write("\n")
    else:
        print_text(result, violations, admin_cidrs, out)
    if violations:
        err.write(f"{len(violations)} policy violation(s)\n")
        return EXIT_VIOLATIONS
    return EXIT_OK


if __name__ == "__main__":
    sys.exit(main())
