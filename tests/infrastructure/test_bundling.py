"""The bundled assets are what Lambda arm64 / Python 3.13 imports, precompiled, without Docker."""

from __future__ import annotations

from pathlib import Path

import pytest
from warden.domain.moderator import RUNTIME_EXAMPLE_FILES

from infra.bundling import SHARED_PACKAGE, FunctionSource, asset_hash, dependencies_key
from tests.infrastructure.synth import SynthesizedStack

FUNCTIONS = ("gateway", "authorizer", "review", "audit_drain")
# PEP 552 flags word of a .pyc: 0b01 = hash-based, check_source off ("unchecked-hash").
UNCHECKED_HASH_FLAGS = 0b01


def _asset(synthesized: SynthesizedStack, name: str) -> Path:
    functions = synthesized.stack.functions
    function = {
        "gateway": functions.gateway,
        "authorizer": functions.authorizer,
        "review": functions.review,
        "audit_drain": functions.audit_drain,
    }[name]
    return synthesized.asset_dir(synthesized.logical_id(function.function))


@pytest.mark.parametrize("name", FUNCTIONS)
def test_asset_holds_the_handler_the_shared_package_and_the_dependencies(
    synthesized: SynthesizedStack, name: str
) -> None:
    asset = _asset(synthesized, name)

    assert (asset / name / "__init__.py").is_file()
    assert (asset / SHARED_PACKAGE / "config.py").is_file()
    assert (asset / "aws_lambda_powertools").is_dir()
    assert (asset / "pydantic_settings").is_dir()
    assert not (asset / "bin").exists()
    other_functions = {other for other in FUNCTIONS if other != name}
    assert not {path.name for path in asset.iterdir()} & other_functions


def test_the_gateway_ships_the_fast_tier_model_and_only_the_moderators_examples(
    synthesized: SynthesizedStack,
) -> None:
    # The fast tier's training inputs stay out of the bundle; the model and the worked examples go in.
    data = _asset(synthesized, "gateway") / SHARED_PACKAGE / "data"

    assert (data / "fast_tier_model.json.gz").is_file()
    assert {path.name for path in (data / "examples").iterdir()} == set(RUNTIME_EXAMPLE_FILES)


def test_only_the_gateway_bundles_the_anthropic_sdk(synthesized: SynthesizedStack) -> None:
    assert (_asset(synthesized, "gateway") / "anthropic").is_dir()
    for name in ("authorizer", "review", "audit_drain"):
        assert not (_asset(synthesized, name) / "anthropic").exists()


def test_only_the_authorizer_bundles_jwt_verification_for_arm64(synthesized: SynthesizedStack) -> None:
    authorizer = _asset(synthesized, "authorizer")
    assert (authorizer / "jwt").is_dir()
    assert (authorizer / "cryptography" / "hazmat" / "bindings" / "_rust.abi3.so").is_file()
    for name in ("gateway", "review", "audit_drain"):
        assert not (_asset(synthesized, name) / "jwt").exists()


def test_native_wheels_are_for_linux_arm64_cpython_313(synthesized: SynthesizedStack) -> None:
    extensions = [path.name for path in (_asset(synthesized, "gateway") / "pydantic_core").glob("*.so")]

    assert extensions
    assert all("cpython-313-aarch64-linux-gnu" in extension for extension in extensions)


@pytest.mark.parametrize("package", ["gateway", SHARED_PACKAGE, "pydantic"])
def test_sources_and_dependencies_are_precompiled_with_unchecked_hashes(
    synthesized: SynthesizedStack, package: str
) -> None:
    package_dir = _asset(synthesized, "gateway") / package

    sources = {path.stem for path in package_dir.glob("*.py")}
    compiled = list((package_dir / "__pycache__").glob("*.cpython-313.pyc"))

    assert sources
    assert sources <= {path.name.split(".")[0] for path in compiled}
    for pyc in compiled:
        assert int.from_bytes(pyc.read_bytes()[4:8], "little") == UNCHECKED_HASH_FLAGS, pyc


def test_functions_with_the_same_requirements_share_one_dependency_cache() -> None:
    keys = {name: dependencies_key(FunctionSource(name).requirements.read_bytes()) for name in FUNCTIONS}

    assert keys["review"] == keys["audit_drain"]
    # The gateway adds the anthropic SDK, the authorizer PyJWT and cryptography (end-user tokens).
    assert keys["gateway"] != keys["review"]
    assert keys["authorizer"] != keys["review"]


def test_dependency_cache_key_ignores_comments_but_not_requirements() -> None:
    requirements = b"pydantic==2.14.3\n"

    assert dependencies_key(b"# runtime deps\n\n" + requirements + b"  # trailing\n") == dependencies_key(requirements)
    assert dependencies_key(b"pydantic==2.14.2\n") != dependencies_key(requirements)


def test_asset_hash_changes_with_the_function_sources(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # Given a copy of the functions tree
    functions = tmp_path / "functions"
    for package in (SHARED_PACKAGE, "review"):
        (functions / package).mkdir(parents=True)
        (functions / package / "__init__.py").write_text("")
    (functions / "review" / "requirements.txt").write_bytes(FunctionSource("review").requirements.read_bytes())
    monkeypatch.setattr("infra.bundling.FUNCTIONS_DIR", functions)
    before = asset_hash(FunctionSource("review"))

    # When bytecode litter appears, the hash stays; when a source changes, it moves
    (functions / "review" / "__pycache__").mkdir()
    (functions / "review" / "__pycache__" / "x.cpython-311.pyc").write_bytes(b"\0")
    after_litter = asset_hash(FunctionSource("review"))
    (functions / SHARED_PACKAGE / "__init__.py").write_text("VERSION = 2\n")
    after_edit = asset_hash(FunctionSource("review"))

    # Then
    assert after_litter == before
    assert after_edit != before
