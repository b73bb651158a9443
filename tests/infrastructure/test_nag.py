"""cdk-nag (AwsSolutions) passes on every synth, and every acknowledgement is needed and explained."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from aws_cdk import App, PolicyValidationPluginReport, Validations
from aws_cdk import aws_s3 as s3
from cdk_nag import AwsSolutionsChecks

import infra.nag
from infra.app import build_app
from infra.nag import ACKNOWLEDGED_RULES_METADATA
from tests.infrastructure.synth import SKIP_BUNDLING, SynthesizedStack

# Validations.acknowledge stores ids without a well-known prefix under this one.
ANNOTATION_PREFIX = "Annotation::"
MIN_REASON_LENGTH = 40


def _findings(report: PolicyValidationPluginReport) -> list[tuple[str, str]]:
    return sorted(
        (violation.rule_name, resource.construct_path or "?")
        for violation in report.violations
        for resource in violation.violating_resources
    )


def _acknowledgements(app: App) -> Iterator[tuple[str, str, str]]:
    """(construct path, finding id, reason) of every acknowledgement in the app."""
    for construct in app.node.find_all():
        for entry in construct.node.metadata:
            if entry.type == ACKNOWLEDGED_RULES_METADATA:
                for finding, reason in entry.data.items():
                    yield construct.node.path, finding.removeprefix(ANNOTATION_PREFIX), reason


class _AcknowledgeNothing:
    """Stands in for `Validations` so the constructs' acknowledgements are dropped (plugins still register)."""

    class _Scope:
        def __init__(self, scope: Any) -> None:
            self._scope = scope

        def acknowledge(self, *_rules: Any) -> None:
            return None

        def add_plugins(self, *plugins: Any) -> None:
            Validations.of(self._scope).add_plugins(*plugins)

    @classmethod
    def of(cls, scope: Any) -> _AcknowledgeNothing._Scope:
        return cls._Scope(scope)


@pytest.fixture(scope="module")
def unacknowledged_findings(tmp_path_factory: pytest.TempPathFactory) -> list[tuple[str, str]]:
    """What AwsSolutions reports on the default stack when no finding is acknowledged."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(infra.nag, "Validations", _AcknowledgeNothing)
        app, _ = build_app(SKIP_BUNDLING, outdir=str(tmp_path_factory.mktemp("cdk-out-unacknowledged")))
    return _findings(AwsSolutionsChecks().validate_scope(app))


@pytest.mark.parametrize("variant", ["synthesized", "bedrock_synthesized"])
def test_aws_solutions_reports_nothing_unacknowledged(variant: str, request: pytest.FixtureRequest) -> None:
    synthesized: SynthesizedStack = request.getfixturevalue(variant)

    report = AwsSolutionsChecks().validate_scope(synthesized.app)

    assert _findings(report) == []


def test_synth_writes_a_clean_validation_report(synthesized: SynthesizedStack) -> None:
    report = Path(synthesized.assembly.directory) / "validation-report.json"

    assert '"pluginReports": []' in report.read_text()


def test_an_unacknowledged_finding_fails_synthesis(tmp_path: Path) -> None:
    app, stack = build_app(SKIP_BUNDLING, outdir=str(tmp_path))
    s3.Bucket(stack, "CarelessBucket")

    with pytest.raises(RuntimeError, match=r"ValidationFailed(.|\n)*AwsSolutions-S10"):
        app.synth()


def test_every_acknowledgement_gives_a_reason(synthesized: SynthesizedStack) -> None:
    acknowledgements = list(_acknowledgements(synthesized.app))

    assert acknowledgements
    for path, finding, reason in acknowledgements:
        assert len(reason.strip()) >= MIN_REASON_LENGTH, f"{path}: {finding} needs a real reason"


def test_every_acknowledgement_covers_a_real_finding(
    synthesized: SynthesizedStack, unacknowledged_findings: list[tuple[str, str]]
) -> None:
    stale = [
        (path, finding)
        for path, finding, _ in _acknowledgements(synthesized.app)
        if not any(rule == finding and resource.startswith(f"{path}/") for rule, resource in unacknowledged_findings)
    ]

    assert unacknowledged_findings
    assert stale == []


def test_no_acknowledgement_is_stack_wide(synthesized: SynthesizedStack) -> None:
    paths = {path for path, _, _ in _acknowledgements(synthesized.app)}

    assert synthesized.stack.node.path not in paths
    assert "" not in paths
