"""The Lambda zip, built for real: aarch64 wheels from PyPI (once; cached under build/lambda-deps/)."""

import ast
import base64
import hashlib
import re
import shutil
import struct
import subprocess
import sys
import zipfile
from pathlib import Path
from typing import Any

import pytest

from components.packaging import (
    LAMBDA_PLATFORM,
    LAMBDA_PYTHON,
    MAX_UNZIPPED_BYTES,
    MAX_ZIPPED_BYTES,
    BuiltPackage,
    PackageTooLargeError,
    PackagingError,
    build_lambda_zip,
    check_complete,
    clear_memo,
    parse_requirements,
)
from offline.runner import REPO_ROOT

ROOT = Path(__file__).resolve().parents[2]
RUNTIME_REQUIREMENTS = ROOT / "lambdas" / "requirements-runtime.txt"
EM_AARCH64 = 183
EM_X86_64 = 62


def build(out_dir: Path, **kwargs: Any) -> BuiltPackage:
    return build_lambda_zip(["lambdas"], RUNTIME_REQUIREMENTS, out_dir, **kwargs)


def elf_machine(header: bytes) -> int:
    assert header[:4] == b"\x7fELF", "not an ELF file"
    assert header[4] == 2, "not a 64-bit ELF"
    assert header[5] == 1, "not little-endian"
    return int(struct.unpack_from("<H", header, 18)[0])


@pytest.fixture(scope="module")
def repo_builds(tmp_path_factory: pytest.TempPathFactory) -> tuple[BuiltPackage, BuiltPackage]:
    """The real package built twice from scratch (two output dirs, in-process memo cleared between)."""
    clear_memo()
    first = build(tmp_path_factory.mktemp("first"))
    clear_memo()
    second = build(tmp_path_factory.mktemp("second"))
    return first, second


@pytest.mark.slow
def test_same_inputs_give_identical_bytes_and_hash(repo_builds: tuple[BuiltPackage, BuiltPackage]) -> None:
    first, second = repo_builds
    assert first.path != second.path
    assert first.path.read_bytes() == second.path.read_bytes()
    assert first.sha256_b64 == second.sha256_b64
    # Lambda's CodeSha256 / the provider's sourceCodeHash: base64 of the SHA-256 of the zip bytes.
    assert first.sha256_b64 == base64.b64encode(hashlib.sha256(first.path.read_bytes()).digest()).decode()
    assert first.size_bytes == first.path.stat().st_size
    assert (first.lambda_runtime, first.lambda_architecture) == (f"python{LAMBDA_PYTHON}", "arm64")
    print(f"\nlambda zip: {first.size_bytes:,} B zipped, {first.unzipped_bytes:,} B unzipped, {first.files} files")


@pytest.mark.slow
def test_native_code_is_aarch64_linux_for_the_lambda_python(repo_builds: tuple[BuiltPackage, BuiltPackage]) -> None:
    package, _ = repo_builds
    tag = f"cpython-{LAMBDA_PYTHON.replace('.', '')}-aarch64-linux-gnu"
    with zipfile.ZipFile(package.path) as zf:
        shared = [n for n in zf.namelist() if n.endswith(".so")]
        assert f"zstandard/backend_c.{tag}.so" in shared
        assert any(n.startswith("pydantic_core/_pydantic_core.") for n in shared)
        machines = {n: elf_machine(zf.read(n)[:20]) for n in shared}
    assert set(machines.values()) == {EM_AARCH64}, machines
    assert all(tag in n or n.endswith(".abi3.so") for n in shared), shared


@pytest.mark.slow
def test_zip_is_normalised_and_holds_only_what_lambda_needs(repo_builds: tuple[BuiltPackage, BuiltPackage]) -> None:
    package, _ = repo_builds
    with zipfile.ZipFile(package.path) as zf:
        infos = zf.infolist()
    names = [i.filename for i in infos]
    assert names == sorted(names)
    assert {i.date_time for i in infos} == {(1980, 1, 1, 0, 0, 0)}
    assert {(i.external_attr >> 16) & 0o777 for i in infos} <= {0o644, 0o755}
    assert not [n for n in names if n.endswith("/")], "no directory entries"
    # Our whole package, the namespace sub-package included.
    assert "lambdas/__init__.py" in names
    assert "lambdas/ledger_processor/ledger_files.py" in names
    assert "lambdas/common/clickhouse_client.py" in names
    # Runtime-provided, bytecode, pip bookkeeping, console scripts, dependency test suites: all left out.
    assert not [n for n in names if n.split("/")[0] in {"boto3", "botocore", "s3transfer", "bin"}]
    assert not [n for n in names if "__pycache__" in n or n.endswith((".pyc", ".pyo"))]
    assert not [n for n in names if re.search(r"\.dist-info/(RECORD|INSTALLER|REQUESTED|direct_url\.json)$", n)]
    assert not [n for n in names if "/tests/" in n and not n.startswith("lambdas/")]
    # Metadata stays: importlib.metadata.version() works in the function.
    assert "stellar_sdk-16.1.1.dist-info/METADATA" in names
    assert package.size_bytes < MAX_ZIPPED_BYTES
    assert package.unzipped_bytes < MAX_UNZIPPED_BYTES


@pytest.mark.slow
def test_a_code_change_changes_the_hash_and_reverting_restores_it(tmp_path: Path) -> None:
    source = tmp_path / "src"
    shutil.copytree(ROOT / "lambdas", source / "lambdas", ignore=shutil.ignore_patterns("__pycache__"))
    handler = source / "lambdas" / "ledger_processor" / "__init__.py"
    original = handler.read_text()

    before = build(tmp_path / "out", source_root=source)
    handler.write_text(original + "\n# a change\n")
    changed = build(tmp_path / "out", source_root=source)
    handler.write_text(original)
    reverted = build(tmp_path / "out", source_root=source)

    assert changed.sha256_b64 != before.sha256_b64
    assert reverted.sha256_b64 == before.sha256_b64
    assert reverted.path.read_bytes() == before.path.read_bytes()
    # Superseded zips of the same package are pruned, so build/ does not grow with every edit.
    assert sorted(p.name for p in (tmp_path / "out").glob("*.zip")) == [reverted.path.name]


@pytest.mark.slow
def test_size_limits_fail_naming_the_package_and_its_size(tmp_path: Path) -> None:
    with pytest.raises(PackageTooLargeError, match=r"Lambda package 'ledger-processor' is [\d,]+ bytes .* zipped"):
        build(tmp_path / "a", name="ledger-processor", max_zipped_bytes=1024)
    assert not list((tmp_path / "a").glob("*.zip")), "an oversized zip must not stay behind as a cache hit"
    with pytest.raises(PackageTooLargeError, match=r"'ledger-processor' is [\d,]+ bytes .* unzipped, over the 2,048"):
        build(tmp_path / "b", name="ledger-processor", max_unzipped_bytes=2048)


def test_requirements_must_be_exact_pins_without_runtime_provided_packages(tmp_path: Path) -> None:
    requirements = tmp_path / "requirements.txt"
    requirements.write_text("# comment\nzstandard==0.25.0  # inline comment\n\nStellar_SDK==16.1.1\n")
    assert parse_requirements(requirements) == {"zstandard": "0.25.0", "stellar-sdk": "16.1.1"}
    for bad, message in [
        ("zstandard>=0.25", "not an exact pin"),
        ("zstandard[cffi]==0.25.0", "not an exact pin"),
        ("boto3==1.44.5", "provided by the Lambda Python runtime"),
        ("zstandard==0.25.0\nZstandard==0.25.0", "pinned twice"),
    ]:
        requirements.write_text(bad + "\n")
        with pytest.raises(PackagingError, match=message):
            parse_requirements(requirements)


def test_runtime_pins_match_the_development_pins() -> None:
    """The local tests run the Lambda code against requirements.txt: deploy exactly those versions."""
    development = {
        re.sub(r"[-_.]+", "-", name).lower(): version
        for name, _, version in (
            line.partition("==") for line in (ROOT / "requirements.txt").read_text().splitlines() if "==" in line
        )
    }
    runtime = parse_requirements(RUNTIME_REQUIREMENTS)
    assert {n: (v, development.get(n)) for n, v in runtime.items() if development.get(n) != v} == {}


def _fake_dist(site: Path, name: str, version: str, *requires: str) -> None:
    info = site / f"{name.replace('-', '_')}-{version}.dist-info"
    info.mkdir(parents=True)
    lines = [
        "Metadata-Version: 2.1",
        f"Name: {name}",
        f"Version: {version}",
        *(f"Requires-Dist: {r}" for r in requires),
    ]
    (info / "METADATA").write_text("\n".join(lines) + "\n")


def test_an_incomplete_pin_set_is_refused_with_what_is_missing(tmp_path: Path) -> None:
    site = tmp_path / "site"
    _fake_dist(
        site,
        "clickhouse-connect",
        "1.12.0",
        "certifi",
        "urllib3>=1.26",
        "lz4",
        'backports.zstd; python_version < "3.14"',
        'numpy; extra == "numpy"',
    )
    _fake_dist(site, "urllib3", "1.25.0")
    _fake_dist(site, "aws-xray-sdk", "2.15.0", "botocore>=1.11.3", "wrapt")
    _fake_dist(site, "wrapt", "2.5.2")
    pins = {"clickhouse-connect": "1.12.0", "urllib3": "1.25.0", "aws-xray-sdk": "2.15.0", "wrapt": "2.5.2"}
    with pytest.raises(PackagingError) as err:
        check_complete(site, pins, LAMBDA_PLATFORM, "3.12")
    message = str(err.value)
    assert "clickhouse-connect needs certifi, which is not pinned" in message
    assert "needs lz4" in message
    assert 'needs backports.zstd; python_version < "3.14"' not in message  # marker shown only as the name
    assert "needs backports.zstd, which is not pinned" in message
    assert "needs urllib3>=1.26, pinned 1.25.0" in message
    assert "numpy" not in message  # an extra we do not install
    assert "botocore" not in message  # provided by the runtime
    # On Python 3.14 the backport is not needed.
    _fake_dist(site, "certifi", "2026.10.18")
    _fake_dist(site, "lz4", "4.4.5")
    (site / "urllib3-1.25.0.dist-info" / "METADATA").write_text(
        "Metadata-Version: 2.1\nName: urllib3\nVersion: 2.8.0\n"
    )
    complete = {**pins, "urllib3": "2.8.0", "certifi": "2026.10.18", "lz4": "4.4.5"}
    check_complete(site, complete, LAMBDA_PLATFORM, "3.14")
    with pytest.raises(PackagingError, match=r"backports\.zstd"):
        check_complete(site, complete, LAMBDA_PLATFORM, "3.12")


def test_handler_imports_nothing_from_the_repo_outside_the_zipped_package() -> None:
    # The zip holds only `lambdas` (+ its pinned deps); a handler importing schema/, local/, components/...
    # would pass every local test and fail at the Lambda's cold start.
    probe = (
        "import sys, importlib; importlib.import_module('lambdas.ledger_processor.handler'); "
        "print(sorted({m.split('.')[0] for m in sys.modules}))"
    )
    loaded = subprocess.run(
        [sys.executable, "-c", probe], cwd=REPO_ROOT, capture_output=True, text=True, check=True
    ).stdout
    repo_packages = {p.name for p in REPO_ROOT.iterdir() if (p / "__init__.py").exists()} - {"lambdas"}
    assert repo_packages, "expected other top-level packages in the repo"
    assert not repo_packages & set(ast.literal_eval(loaded))
