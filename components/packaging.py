"""Lambda deployment packages: one deterministic zip of our `lambdas` package plus its pinned runtime deps.

Every function ships the same zip (the whole `lambdas` package and `lambdas/requirements-runtime.txt`)
and differs only in its handler. The build:

1. parses the requirements: exact `name==version` pins only, transitive dependencies included, nothing the
   Lambda runtime already provides (boto3, botocore, s3transfer);
2. downloads binary wheels for the Lambda platform (`pip download --no-deps --only-binary=:all:
   --platform manylinux2014_aarch64 --python-version 3.12 --implementation cp`), refuses any wheel that is
   not pure Python or aarch64 Linux, installs them with `pip install --no-deps --target` and checks that
   every dependency the installed distributions declare (markers evaluated for the Lambda platform) is
   pinned at a compatible version: an incomplete pin set fails the build instead of failing at import
   time in AWS. The installed tree is cached under `build/lambda-deps/<requirements key>/`, so later
   builds are offline;
3. writes the zip deterministically: entries sorted, timestamps 1980-01-01, permissions 0644 (0755 when
   executable), no directory entries, no `__pycache__`/`*.pyc`, no `tests/` inside dependencies, no pip
   bookkeeping (`RECORD`, `INSTALLER`, `REQUESTED`, `direct_url.json`) and no console scripts. The same
   inputs give the same bytes and the same hash with the same zlib, so unchanged code never shows a diff;
4. checks the Lambda limits (50 MB zipped for a direct upload, 250 MB unzipped).

Builds are cached by an input key (source bytes, requirements, platform, Python version, builder
version): in memory per process and as `<out_dir>/<name>-<key>.zip` on disk, so running the program many
times (tests, `make plan`) builds once.

Why Python 3.12: its Lambda runtime runs on Amazon Linux 2023 and is supported until October 2028, while
python3.11 runs on Amazon Linux 2, whose end of life (30 June 2026) has passed. Our code stays
3.11-compatible (the team's machines run 3.11), and 3.12 runs it unchanged.
"""

from __future__ import annotations

import base64
import email.parser
import hashlib
import os
import re
import subprocess
import sys
import tempfile
import zipfile
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from packaging.requirements import InvalidRequirement, Requirement
from packaging.utils import canonicalize_name, parse_wheel_filename
from packaging.version import Version

REPO_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_CACHE_DIR = REPO_ROOT / "build" / "lambda-deps"

LAMBDA_PYTHON = "3.12"
LAMBDA_PLATFORM = "manylinux2014_aarch64"

MIB = 1024 * 1024
# https://docs.aws.amazon.com/lambda/latest/dg/gettingstarted-limits.html
MAX_ZIPPED_BYTES = 50 * MIB  # a .zip uploaded directly with CreateFunction/UpdateFunctionCode
MAX_UNZIPPED_BYTES = 250 * MIB  # the function's unzipped code, layers included

# In every Lambda Python runtime: shipping them wastes ~25 MB and shadows the runtime's patched copies.
RUNTIME_PROVIDED = frozenset({"boto3", "botocore", "s3transfer"})

# Bump when the install or zip layout changes, so cached trees and zips are rebuilt.
BUILDER_VERSION = "1"

_FIXED_DATE = (1980, 1, 1, 0, 0, 0)  # the earliest a zip can hold
_COMPRESS_LEVEL = 6  # zlib default: level 9 takes 5x longer for a 0.6 % smaller zip
_PIN = re.compile(r"^(?P<name>[A-Za-z0-9][A-Za-z0-9._-]*)==(?P<version>[A-Za-z0-9.!+_-]+)$")
_PIP_NOISE = frozenset({"RECORD", "INSTALLER", "REQUESTED", "direct_url.json"})
_SKIP_DIRS = frozenset({"__pycache__", ".mypy_cache", ".pytest_cache", ".ruff_cache"})
_COMPLETE_MARKER = ".complete"


class PackagingError(RuntimeError):
    """The Lambda package cannot be built as asked (bad pins, download failure, wrong platform)."""


class PackageTooLargeError(PackagingError):
    """The package exceeds a Lambda code-size limit."""


@dataclass(frozen=True)
class BuiltPackage:
    name: str
    path: Path
    sha256_b64: str  # base64 of the zip's SHA-256: Lambda's CodeSha256 and the provider's sourceCodeHash
    size_bytes: int
    unzipped_bytes: int
    files: int
    python: str
    platform: str

    @property
    def lambda_runtime(self) -> str:
        return f"python{self.python}"

    @property
    def lambda_architecture(self) -> str:
        return "arm64" if self.platform.endswith("aarch64") else "x86_64"


@dataclass(frozen=True)
class _Deps:
    key: str
    site: Path


_built: dict[tuple[str, str, int, int], BuiltPackage] = {}


def build_lambda_zip(
    source_packages: Sequence[str],
    requirements: Path,
    out_dir: Path,
    platform: str = LAMBDA_PLATFORM,
    python: str = LAMBDA_PYTHON,
    *,
    name: str = "lambdas",
    source_root: Path = REPO_ROOT,
    cache_dir: Path = DEFAULT_CACHE_DIR,
    max_zipped_bytes: int = MAX_ZIPPED_BYTES,
    max_unzipped_bytes: int = MAX_UNZIPPED_BYTES,
) -> BuiltPackage:
    """Build (or reuse) the zip of `source_packages` (directories under `source_root`) plus the pinned
    `requirements`, for `platform` and CPython `python`. `name` names the zip file and the package in errors.
    Raises PackagingError, or PackageTooLargeError when a Lambda size limit is exceeded."""
    if not source_packages:
        raise PackagingError(f"Lambda package {name!r}: no source packages given")
    sources = _source_files(source_root, source_packages, name)
    pins = parse_requirements(requirements)
    deps_key = _deps_key(pins, platform, python)

    digest = hashlib.sha256(f"builder={BUILDER_VERSION}\ndeps={deps_key}\n".encode())
    for arcname, path in sources:
        digest.update(f"{arcname}\0{_mode(path):o}\0".encode())
        digest.update(hashlib.sha256(path.read_bytes()).digest())
    key = digest.hexdigest()[:16]
    out_path = out_dir / f"{name}-{key}.zip"

    memo = (key, str(out_path.resolve()), max_zipped_bytes, max_unzipped_bytes)
    cached = _built.get(memo)
    if cached is not None and out_path.exists():
        return cached

    if not out_path.exists():
        deps = _installed_deps(pins, requirements, platform=platform, python=python, cache_dir=cache_dir, key=deps_key)
        entries = [*sources, *_dependency_files(deps.site)]
        _refuse_collisions(entries, name)
        unzipped = sum(path.stat().st_size for _, path in entries)
        _check_unzipped(name, unzipped, max_unzipped_bytes)
        out_dir.mkdir(parents=True, exist_ok=True)
        _write_zip(entries, out_path)
        _prune_old_zips(out_dir, name, keep=out_path)

    package = _describe(out_path, name, python, platform)
    try:
        _check_unzipped(name, package.unzipped_bytes, max_unzipped_bytes)
        _check_zipped(name, package.size_bytes, max_zipped_bytes)
    except PackageTooLargeError:
        out_path.unlink(missing_ok=True)  # never leave an oversized zip behind as a cache hit
        raise
    _built[memo] = package
    return package


# ---------------------------------------------------------------------------------------------------------
# Requirements
# ---------------------------------------------------------------------------------------------------------


def parse_requirements(path: Path) -> dict[str, str]:
    """`name==version` pins (canonical name → version), comments and blank lines ignored; anything else
    (ranges, extras, markers, URLs, pip options) is refused: the runtime set must be exact and complete."""
    if not path.is_file():
        raise PackagingError(f"requirements file {path} does not exist")
    pins: dict[str, str] = {}
    for number, raw in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        match = _PIN.match(line)
        if not match:
            raise PackagingError(f"{path}:{number}: {line!r} is not an exact pin `name==version`")
        canonical = canonicalize_name(match["name"])
        if canonical in RUNTIME_PROVIDED:
            raise PackagingError(
                f"{path}:{number}: {match['name']} is provided by the Lambda Python runtime; do not ship it"
            )
        if canonical in pins:
            raise PackagingError(f"{path}:{number}: {match['name']} is pinned twice")
        pins[canonical] = match["version"]
    if not pins:
        raise PackagingError(f"{path}: no pins")
    return pins


def _deps_key(pins: dict[str, str], platform: str, python: str) -> str:
    text = "\n".join(f"{n}=={v}" for n, v in sorted(pins.items()))
    seed = f"builder={BUILDER_VERSION}\nplatform={platform}\npython={python}\n{text}\n"
    return hashlib.sha256(seed.encode()).hexdigest()[:16]


def _target_environment(platform: str, python: str) -> dict[str, str]:
    """PEP 508 marker values of the Lambda runtime (CPython on Linux)."""
    machine = "aarch64" if platform.endswith("aarch64") else "x86_64"
    return {
        "implementation_name": "cpython",
        "implementation_version": f"{python}.0",
        "os_name": "posix",
        "platform_machine": machine,
        "platform_python_implementation": "CPython",
        "platform_release": "",
        "platform_system": "Linux",
        "platform_version": "",
        "python_full_version": f"{python}.0",
        "python_version": python,
        "sys_platform": "linux",
        "extra": "",
    }


def check_complete(site: Path, pins: dict[str, str], platform: str, python: str) -> None:
    """Every pin is installed, and every dependency an installed distribution declares for the target
    platform is pinned (or provided by the runtime) at a version its specifier accepts."""
    installed: dict[str, Version] = {}
    requires: dict[str, list[str]] = {}
    for metadata_file in sorted(site.glob("*.dist-info/METADATA")):
        metadata = email.parser.Parser().parsestr(metadata_file.read_text(encoding="utf-8"))
        canonical = canonicalize_name(str(metadata["Name"]))
        installed[canonical] = Version(str(metadata["Version"]))
        requires[canonical] = [str(r) for r in metadata.get_all("Requires-Dist") or []]
    missing_pins = sorted(set(pins) - set(installed))
    if missing_pins:
        raise PackagingError(f"pinned but not installed: {', '.join(missing_pins)}")
    environment = _target_environment(platform, python)
    problems: list[str] = []
    for dist, declared in sorted(requires.items()):
        for text in declared:
            try:
                requirement = Requirement(text)
            except InvalidRequirement as exc:
                raise PackagingError(f"{dist} declares an unparsable requirement {text!r}") from exc
            if requirement.marker is not None and not requirement.marker.evaluate(environment):
                continue
            needed = canonicalize_name(requirement.name)
            if needed in RUNTIME_PROVIDED:
                continue
            if needed not in installed:
                problems.append(f"{dist} needs {text.split(';')[0].strip()}, which is not pinned")
            elif not requirement.specifier.contains(installed[needed], prereleases=True):
                problems.append(f"{dist} needs {requirement.name}{requirement.specifier}, pinned {installed[needed]}")
    if problems:
        raise PackagingError("the runtime pins are incomplete or inconsistent: " + "; ".join(problems))


# ---------------------------------------------------------------------------------------------------------
# Wheels: download once, install into a cached tree
# ---------------------------------------------------------------------------------------------------------


def _installed_deps(
    pins: dict[str, str], requirements: Path, *, platform: str, python: str, cache_dir: Path, key: str
) -> _Deps:
    entry = cache_dir / key
    site = entry / "site"
    if (entry / _COMPLETE_MARKER).exists():
        return _Deps(key, site)
    cache_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix=f"{key}-", dir=cache_dir) as scratch:
        wheels = Path(scratch) / "wheels"
        staged_site = Path(scratch) / "site"
        target_flags = [
            "--no-deps",
            "--only-binary=:all:",
            "--platform",
            platform,
            "--python-version",
            python,
            "--implementation",
            "cp",
        ]
        _pip("download", *target_flags, "--dest", str(wheels), "-r", str(requirements))
        files = sorted(wheels.glob("*.whl"))
        _check_wheels(files, pins, platform)
        _pip("install", *target_flags, "--no-compile", "--target", str(staged_site), *map(str, files))
        check_complete(staged_site, pins, platform, python)
        entry.mkdir(exist_ok=True)
        for name in ("wheels", "site"):
            if not (entry / name).exists():
                os.replace(Path(scratch) / name, entry / name)
        (entry / _COMPLETE_MARKER).write_text(
            f"platform={platform}\npython={python}\n" + "".join(f"{f.name}\n" for f in files), encoding="utf-8"
        )
    return _Deps(key, site)


def _pip(*args: str) -> None:
    command = [sys.executable, "-m", "pip", *args, "--disable-pip-version-check", "--no-input", "--quiet"]
    completed = subprocess.run(command, capture_output=True, text=True, check=False)
    if completed.returncode != 0:
        detail = (completed.stderr or completed.stdout).strip().splitlines()[-15:]
        raise PackagingError(f"pip {args[0]} failed ({completed.returncode}):\n" + "\n".join(detail))


def _check_wheels(files: Sequence[Path], pins: dict[str, str], platform: str) -> None:
    arch = platform.rsplit("_", 1)[-1] if "_" in platform else platform
    seen: set[str] = set()
    for wheel in files:
        dist, _version, _build, tags = parse_wheel_filename(wheel.name)
        seen.add(canonicalize_name(dist))
        foreign = sorted(
            t.platform
            for t in tags
            if t.platform != "any" and not (t.platform.endswith(arch) and "linux" in t.platform)
        )
        if foreign:
            raise PackagingError(f"{wheel.name} is built for {', '.join(foreign)}, not {platform}")
    missing = sorted(set(pins) - seen)
    if missing:
        raise PackagingError(f"no {platform} wheel downloaded for: {', '.join(missing)}")


# ---------------------------------------------------------------------------------------------------------
# Files that go into the zip
# ---------------------------------------------------------------------------------------------------------


def _walk(top: Path) -> Iterator[Path]:
    for dirpath, dirnames, filenames in os.walk(top):
        dirnames[:] = sorted(d for d in dirnames if d not in _SKIP_DIRS and not d.startswith("."))
        for filename in sorted(filenames):
            if filename.endswith((".pyc", ".pyo")) or filename.startswith("."):
                continue
            yield Path(dirpath) / filename


def _source_files(root: Path, packages: Sequence[str], name: str) -> list[tuple[str, Path]]:
    files: list[tuple[str, Path]] = []
    for package in packages:
        top = root / package
        if not (top / "__init__.py").is_file():
            raise PackagingError(f"Lambda package {name!r}: {top} is not a Python package (no __init__.py)")
        files.extend((path.relative_to(root).as_posix(), path) for path in _walk(top))
    return files


def _dependency_files(site: Path) -> Iterable[tuple[str, Path]]:
    for path in _walk(site):
        parts = path.relative_to(site).parts
        top = parts[0]
        if top == "bin":  # console scripts: nothing runs them in Lambda
            continue
        if canonicalize_name(top.split("-")[0]) in RUNTIME_PROVIDED:
            continue
        if top.endswith(".dist-info") and parts[-1] in _PIP_NOISE:
            continue
        if "tests" in parts[1:-1]:  # test suites inside dependencies
            continue
        yield path.relative_to(site).as_posix(), path


def _refuse_collisions(entries: Sequence[tuple[str, Path]], name: str) -> None:
    seen: set[str] = set()
    for arcname, _ in entries:
        if arcname in seen:
            raise PackagingError(f"Lambda package {name!r}: {arcname} comes from both our code and a dependency")
        seen.add(arcname)


def _mode(path: Path) -> int:
    return 0o755 if path.stat().st_mode & 0o100 else 0o644


def _write_zip(entries: Sequence[tuple[str, Path]], out_path: Path) -> None:
    handle, temporary = tempfile.mkstemp(prefix=out_path.name, suffix=".tmp", dir=out_path.parent)
    os.close(handle)
    try:
        with zipfile.ZipFile(temporary, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=_COMPRESS_LEVEL) as zf:
            for arcname, path in sorted(entries, key=lambda entry: entry[0]):
                info = zipfile.ZipInfo(arcname, date_time=_FIXED_DATE)
                info.create_system = 3  # Unix, so the permission bits below are honoured
                info.external_attr = (0o100000 | _mode(path)) << 16
                info.compress_type = zipfile.ZIP_DEFLATED
                zf.writestr(info, path.read_bytes(), compresslevel=_COMPRESS_LEVEL)
        os.replace(temporary, out_path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def _prune_old_zips(out_dir: Path, name: str, keep: Path) -> None:
    for stale in out_dir.glob(f"{name}-" + "?" * 16 + ".zip"):
        if stale != keep:
            stale.unlink(missing_ok=True)


def _describe(path: Path, name: str, python: str, platform: str) -> BuiltPackage:
    data = path.read_bytes()
    with zipfile.ZipFile(path) as zf:
        infos = zf.infolist()
    return BuiltPackage(
        name=name,
        path=path,
        sha256_b64=base64.b64encode(hashlib.sha256(data).digest()).decode(),
        size_bytes=len(data),
        unzipped_bytes=sum(i.file_size for i in infos),
        files=len(infos),
        python=python,
        platform=platform,
    )


def _check_unzipped(name: str, unzipped: int, limit: int) -> None:
    if unzipped > limit:
        raise PackageTooLargeError(
            f"Lambda package {name!r} is {unzipped:,} bytes ({unzipped / MIB:.1f} MiB) unzipped, over the "
            f"{limit:,}-byte ({limit / MIB:.1f} MiB) limit; drop dependencies or move them to a layer"
        )


def _check_zipped(name: str, size: int, limit: int) -> None:
    if size > limit:
        raise PackageTooLargeError(
            f"Lambda package {name!r} is {size:,} bytes ({size / MIB:.1f} MiB) zipped, over the {limit:,}-byte "
            f"({limit / MIB:.1f} MiB) limit of a direct upload; upload it through S3 or slim it down"
        )


def clear_memo() -> None:
    """Forget the in-process builds (tests use it to prove a rebuild gives the same bytes)."""
    _built.clear()
