"""Docker-free bundling of the Python Lambda functions (arm64, CPython 3.13).

Each function's asset is: the wheels of `functions/<name>/requirements.txt` for manylinux2014_aarch64 /
cp313, the shared `functions/warden` package and the function's own package, all byte-compiled by
CPython 3.13 with unchecked-hash pycs so a cold start never recompiles.

The pip-installed, compiled dependency tree is cached under `.build/deps/<key>/`, keyed by the requirements
text and the bundling recipe, so only the first synth on a machine reaches PyPI; later synths hard-link the
cached tree into the asset and compile only the project's own sources. The asset hash is computed from the
same inputs (requirements + sources + recipe), so CDK skips bundling entirely when `cdk.out` already holds
the asset.
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import jsii
from aws_cdk import AssetHashType, BundlingOptions, DockerImage, ILocalBundling
from aws_cdk import aws_lambda as lambda_
from warden.domain.moderator import RUNTIME_EXAMPLE_FILES

PROJECT_ROOT = Path(__file__).resolve().parent.parent
FUNCTIONS_DIR = PROJECT_ROOT / "functions"
BUILD_CACHE_DIR = PROJECT_ROOT / ".build" / "deps"
SHARED_PACKAGE = "warden"

PYTHON_VERSION = "3.13"
PIP_PLATFORM = "manylinux2014_aarch64"
PIP_IMPLEMENTATION = "cp"
# Where Lambda unpacks the asset; compiled tracebacks point here instead of at the build machine.
LAMBDA_TASK_ROOT = "/var/task"
# Bump when the recipe below changes in a way the inputs do not capture (invalidates caches and asset hashes).
RECIPE_VERSION = "1"
# Escape hatch for machines where `python3.13` is not on PATH.
ENV_BUNDLING_PYTHON = "WARDEN_BUNDLING_PYTHON"

# pip's own rule: a comment starts at a "#" that begins the line or follows whitespace.
_COMMENT = re.compile(r"(^|\s+)#.*$")
_EXAMPLES_DIR = ("warden", "data", "examples")
_IGNORED_SOURCE_PARTS = frozenset({"__pycache__", ".pytest_cache", ".mypy_cache", ".ruff_cache"})
_IGNORED_SOURCE_SUFFIXES = (".pyc", ".pyo")
# Console-script wrappers pip writes for dependencies: their shebang points at the build machine's interpreter
# and nothing in a Lambda runs them. Removing them is the only pruning that is safe for every package
# (dist-info stays: importlib.metadata reads it at run time).
_PRUNED_TOP_LEVEL = ("bin",)


class BundlingError(RuntimeError):
    """A function asset could not be built."""


@dataclass(frozen=True)
class FunctionSource:
    """The inputs of one function's asset."""

    name: str

    @property
    def package_dir(self) -> Path:
        return FUNCTIONS_DIR / self.name

    @property
    def requirements(self) -> Path:
        return self.package_dir / "requirements.txt"

    @property
    def packages(self) -> tuple[Path, ...]:
        return (FUNCTIONS_DIR / SHARED_PACKAGE, self.package_dir)


def _recipe() -> str:
    return "|".join((RECIPE_VERSION, PYTHON_VERSION, PIP_PLATFORM, PIP_IMPLEMENTATION, LAMBDA_TASK_ROOT))


def _source_files(package: Path) -> list[Path]:
    files = [
        path
        for path in package.rglob("*")
        if path.is_file()
        and not _IGNORED_SOURCE_PARTS.intersection(path.relative_to(package).parts)
        and not path.name.endswith(_IGNORED_SOURCE_SUFFIXES)
    ]
    return sorted(files)


def _requirements_text(source: FunctionSource) -> bytes:
    if not source.requirements.is_file():
        raise BundlingError(f"{source.requirements} is missing: every function lists its runtime dependencies there")
    return source.requirements.read_bytes()


def dependencies_key(requirements: bytes) -> str:
    """Cache key of a pip-installed dependency tree: the requirement lines plus the bundling recipe.

    Comments and blank lines are left out so functions with the same dependencies share one cached tree.
    """
    lines = (_COMMENT.sub("", line).strip() for line in requirements.decode().splitlines())
    normalized = "\n".join(line for line in lines if line)
    return hashlib.sha256(f"{_recipe()}\0{normalized}".encode()).hexdigest()[:32]


def asset_hash(source: FunctionSource) -> str:
    """Hash of everything that ends up in the asset, so an unchanged function is never rebundled or redeployed."""
    digest = hashlib.sha256()
    digest.update(_recipe().encode())
    digest.update(b"\0requirements\0" + _requirements_text(source))
    for package in source.packages:
        for path in _source_files(package):
            digest.update(b"\0" + path.relative_to(FUNCTIONS_DIR).as_posix().encode() + b"\0")
            digest.update(path.read_bytes())
    return digest.hexdigest()


@cache
def find_python() -> str:
    """Path of a CPython 3.13 interpreter to byte-compile with (pycs must match the Lambda runtime's magic number)."""
    candidates: list[str] = []
    if override := os.environ.get(ENV_BUNDLING_PYTHON):
        candidates.append(override)
    if on_path := shutil.which(f"python{PYTHON_VERSION}"):
        candidates.append(on_path)
    # A pyenv shim only works when 3.13 is an active pyenv version; fall back to the installed interpreter itself.
    pyenv_root = Path(os.environ.get("PYENV_ROOT", Path.home() / ".pyenv"))
    candidates.extend(
        str(path) for path in sorted(pyenv_root.glob(f"versions/{PYTHON_VERSION}*/bin/python{PYTHON_VERSION}"))
    )
    for candidate in candidates:
        probe = subprocess.run(  # noqa: S603 - fixed arguments, interpreter chosen above
            [candidate, "-c", "import sys; print('%d.%d' % sys.version_info[:2])"],
            capture_output=True,
            text=True,
            check=False,
        )
        if probe.returncode == 0 and probe.stdout.strip() == PYTHON_VERSION:
            return candidate
    raise BundlingError(
        f"bundling needs CPython {PYTHON_VERSION} to byte-compile the Lambda code, and none was found "
        f"(tried: {', '.join(candidates) or f'python{PYTHON_VERSION} on PATH'}). Install it (e.g. `pyenv install "
        f"{PYTHON_VERSION}`) or set {ENV_BUNDLING_PYTHON} to its path."
    )


def _run(step: str, command: list[str]) -> None:
    result = subprocess.run(command, capture_output=True, text=True, check=False)  # noqa: S603 - argv list, no shell
    if result.returncode != 0:
        output = (result.stdout + result.stderr).strip()
        raise BundlingError(f"{step} failed (exit {result.returncode}): {' '.join(command)}\n{output[-4000:]}")


def _compile(python: str, root: Path, targets: list[Path]) -> None:
    _run(
        f"byte-compiling with python{PYTHON_VERSION}",
        [
            python,
            "-m",
            "compileall",
            "-q",
            "-j",
            "0",
            "--invalidation-mode",
            "unchecked-hash",
            "-s",
            str(root),
            "-p",
            LAMBDA_TASK_ROOT,
            *(str(target) for target in targets),
        ],
    )


def _install_dependencies(requirements: Path, target: Path) -> None:
    _run(
        "pip install of the function's requirements",
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "--quiet",
            "--disable-pip-version-check",
            "--no-input",
            "--no-compile",
            "--platform",
            PIP_PLATFORM,
            "--only-binary=:all:",
            "--python-version",
            PYTHON_VERSION,
            "--implementation",
            PIP_IMPLEMENTATION,
            "--target",
            str(target),
            "-r",
            str(requirements),
        ],
    )
    for name in _PRUNED_TOP_LEVEL:
        shutil.rmtree(target / name, ignore_errors=True)


def cached_dependencies(source: FunctionSource) -> Path:
    """The installed and compiled dependency tree for the function's requirements, built once per machine."""
    cached = BUILD_CACHE_DIR / dependencies_key(_requirements_text(source))
    if cached.is_dir():
        return cached
    BUILD_CACHE_DIR.mkdir(parents=True, exist_ok=True)
    staging = BUILD_CACHE_DIR / f"{cached.name}.tmp-{os.getpid()}"
    shutil.rmtree(staging, ignore_errors=True)
    try:
        staging.mkdir()
        _install_dependencies(source.requirements, staging)
        _compile(find_python(), staging, [staging])
        try:
            staging.rename(cached)
        except OSError:
            if not cached.is_dir():  # anything but "a concurrent synth finished first" is a real failure
                raise
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return cached


def _link_or_copy(source: str, destination: str) -> None:
    # Hard links make a warm bundle nearly free; different file systems (e.g. a tmpfs outdir) need a copy.
    try:
        os.link(source, destination)
    except OSError:
        shutil.copy2(source, destination)


def _ignore_build_litter(directory: str, names: list[str]) -> set[str]:
    ignored = {name for name in names if name in _IGNORED_SOURCE_PARTS or name.endswith(_IGNORED_SOURCE_SUFFIXES)}
    if Path(directory).parts[-3:] == _EXAMPLES_DIR:
        # The fast tier's training inputs: only the moderator's worked examples are read at run time.
        ignored |= {name for name in names if name not in RUNTIME_EXAMPLE_FILES}
    return ignored


def bundle_function(source: FunctionSource, output_dir: Path) -> None:
    """Write the complete asset of one function into `output_dir`."""
    for package in source.packages:
        if not package.is_dir():
            raise BundlingError(f"{package} does not exist")
    python = find_python()
    shutil.copytree(cached_dependencies(source), output_dir, dirs_exist_ok=True, copy_function=_link_or_copy)
    copied = []
    for package in source.packages:
        destination = output_dir / package.name
        shutil.copytree(package, destination, dirs_exist_ok=True, ignore=_ignore_build_litter)
        copied.append(destination)
    _compile(python, output_dir, copied)


@jsii.implements(ILocalBundling)
class LocalPythonBundler:
    """`ILocalBundling` that builds a function's asset on this machine instead of in a Docker container."""

    def __init__(self, source: FunctionSource) -> None:
        self._source = source

    def try_bundle(self, output_dir: str, *, image: DockerImage, **_options: Any) -> bool:
        try:
            bundle_function(self._source, Path(output_dir))
        except BundlingError as error:
            raise BundlingError(f"bundling function '{self._source.name}': {error}") from error
        return True


def function_code(name: str) -> lambda_.Code:
    """The bundled code asset of `functions/<name>` (plus the shared `warden` package and its requirements)."""
    source = FunctionSource(name)
    return lambda_.Code.from_asset(
        str(source.package_dir),
        asset_hash=asset_hash(source),
        asset_hash_type=AssetHashType.CUSTOM,
        bundling=BundlingOptions(
            # Never pulled: local bundling always succeeds or raises, so CDK never falls back to Docker.
            image=DockerImage.from_registry("unused"),
            local=LocalPythonBundler(source),
        ),
    )
