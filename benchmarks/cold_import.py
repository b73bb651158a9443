"""Cold-import time of each handler module from its built Lambda bundle.

The deployed bundles are arm64; this machine may not be. So each bundle is rebuilt for this machine's
architecture with the same recipe as `infra/bundling.py` (the function's pinned requirements, the shared
`warden` package and the function's package, byte-compiled by CPython 3.13 with unchecked-hash pycs).
Each handler is then imported in a fresh `python3.13 -I` process, which is what a Lambda cold start's
init phase does. The figure is the median of several runs.
"""

from __future__ import annotations

import hashlib
import platform
import shutil
import statistics
import subprocess
import sys
from functools import cache
from pathlib import Path
from typing import Any

from warden_local.stack import find_cdk_json, load_config

from infra.bundling import FUNCTIONS_DIR, PYTHON_VERSION, find_python

FUNCTIONS = ("gateway", "authorizer", "review", "audit_drain", "reviewer")
WORK = Path(".bench")
RUNS = 7

# The functions' settings are validated at import by some handlers; any well-formed values will do.
_DUMMY_ENV = {
    "AWS_REGION": "us-east-1",
    "AWS_DEFAULT_REGION": "us-east-1",
    "WARDEN_CASES_TABLE": "bench",
    "WARDEN_IDEMPOTENCY_TABLE": "bench",
    "WARDEN_TENANTS_TABLE": "bench",
    "WARDEN_AUDIT_BUCKET": "bench",
    "WARDEN_USERS_TABLE": "bench",
    "WARDEN_REVIEW_PRIORITY_TOPIC_ARN": "arn:aws:sns:us-east-1:000000000000:bench",
    "WARDEN_CONFIG": load_config(find_cdk_json()).runtime().model_dump_json(),
    "POWERTOOLS_SERVICE_NAME": "warden",
}

_MEASURE = (
    "import sys, time; sys.path.insert(0, sys.argv[1]); started = time.perf_counter(); "
    "__import__(sys.argv[2]); print(time.perf_counter() - started)"
)


def _run(command: list[str], env: dict[str, str] | None = None) -> str:
    result = subprocess.run(command, capture_output=True, text=True, check=False, env=env)  # noqa: S603
    if result.returncode != 0:
        raise RuntimeError(f"{' '.join(command)} failed:\n{result.stdout}{result.stderr}")
    return result.stdout


def _compile(python: str, root: Path) -> None:
    _run([python, "-m", "compileall", "-q", "-j", "0", "--invalidation-mode", "unchecked-hash", str(root)])


@cache
def build_host_bundle(function: str) -> Path:
    """The function's bundle for this machine, built once per run (the cold-import and fast-tier benchmarks and
    the SDK's first use all read the gateway's)."""
    requirements = FUNCTIONS_DIR / function / "requirements.txt"
    python = find_python()
    arch = platform.machine()
    key = hashlib.sha256(requirements.read_bytes() + arch.encode()).hexdigest()[:16]
    deps = WORK / "deps" / key
    if not deps.is_dir():
        staging = deps.with_suffix(".tmp")
        shutil.rmtree(staging, ignore_errors=True)
        _run(
            [
                sys.executable, "-m", "pip", "install", "--quiet", "--no-compile", "--disable-pip-version-check",
                "--platform", f"manylinux2014_{arch}", "--only-binary=:all:", "--python-version", PYTHON_VERSION,
                "--implementation", "cp", "--target", str(staging), "-r", str(requirements),
            ]
        )  # fmt: skip
        _compile(python, staging)
        staging.rename(deps)
    bundle = WORK / "bundles" / function
    shutil.rmtree(bundle, ignore_errors=True)
    shutil.copytree(deps, bundle)
    for package in ("warden", function):
        shutil.copytree(FUNCTIONS_DIR / package, bundle / package, ignore=shutil.ignore_patterns("__pycache__"))
    _compile(python, bundle)
    return bundle


def _size_mb(path: Path) -> float:
    return round(sum(f.stat().st_size for f in path.rglob("*") if f.is_file()) / 1_048_576, 1)


def measure(bundle: Path, module: str) -> list[float]:
    python = find_python()
    return [
        float(_run([python, "-I", "-c", _MEASURE, str(bundle.resolve()), module], env=_DUMMY_ENV)) * 1000
        for _ in range(RUNS)
    ]


def run() -> dict[str, Any]:
    results: dict[str, Any] = {"python": PYTHON_VERSION, "arch_measured_on": platform.machine(), "runs": RUNS}
    for function in FUNCTIONS:
        bundle = build_host_bundle(function)
        timings = measure(bundle, f"{function}.handler")
        results[function] = {
            "handler_import_ms_median": round(statistics.median(timings), 1),
            "handler_import_ms_min": round(min(timings), 1),
            "bundle_mb_unzipped": _size_mb(bundle),
        }
    # The gateway imports the anthropic SDK lazily, on the first call to Claude: what that first call adds.
    sdk = measure(build_host_bundle("gateway"), "anthropic")
    results["gateway"]["anthropic_sdk_first_use_ms_median"] = round(statistics.median(sdk), 1)
    return results
