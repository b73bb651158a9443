"""Browser fixtures: Debian's chromium driven by playwright, and the local stack exactly as `make run` starts it."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, sync_playwright

# The e2e suite's local stack (`make run` offline, fast tier only), one per test module.
from tests.e2e.conftest import standin_stack  # noqa: F401

CHROMIUM = Path("/usr/bin/chromium")
# Headless Debian chromium as root in a sandboxed CI machine, with nothing that reaches outside this machine.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
ARTIFACTS = Path(__file__).resolve().parent / "artifacts"


@pytest.fixture(scope="session")
def chromium() -> Path:
    """Debian's chromium; `make test` installs it, so under make (and in CI) a missing one fails the run."""
    if CHROMIUM.exists():
        return CHROMIUM
    message = f"{CHROMIUM} is missing: `make test` installs it (apt-get install --no-install-recommends chromium)"
    if os.environ.get("CI") or os.environ.get("WARDEN_REQUIRE_BROWSER"):
        pytest.fail(message)
    pytest.skip(message)


@pytest.fixture(scope="module")
def browser(chromium: Path) -> Iterator[Browser]:
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=str(chromium), args=CHROMIUM_ARGS)
        yield launched
        launched.close()


@pytest.fixture(scope="session")
def artifacts() -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    return ARTIFACTS
