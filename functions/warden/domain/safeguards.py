"""The safeguards checklist of `warden report`: which published API safeguard recommendations this deployment
has on, with the evidence from its configuration and from its audit records.

The recommendations are Anthropic's "API Trust & Safety Tools" (shared/seeds/api-safeguards-tools.txt), in
Warden's own words. Each check reads the deployment configuration (`cdk.json`, when the report has it) and
the report's figures (`summary.json`); it never guesses: without the configuration a check says so.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from warden.config import Action, Provider, ScreenerName, WardenConfig


class SafeguardStatus(StrEnum):
    ON = "on"
    PARTIAL = "partial"
    OFF = "off"
    UNKNOWN = "unknown"  # the report was run without the deployment configuration


@dataclass(frozen=True)
class SafeguardCheck:
    tier: str
    recommendation: str
    status: SafeguardStatus
    evidence: tuple[str, ...]

    def as_json(self) -> dict[str, Any]:
        return {
            "tier": self.tier,
            "recommendation": self.recommendation,
            "status": self.status.value,
            "evidence": list(self.evidence),
        }


Summary = dict[str, Any]
_Check = Callable[[WardenConfig | None, Summary], tuple[SafeguardStatus, list[str]]]
_NO_CONFIG = "no deployment configuration given (--config cdk.json)"


def _ids_per_call(_: WardenConfig | None, summary: Summary) -> tuple[SafeguardStatus, list[str]]:
    claude = summary["claude"]
    evidence = [
        f"{summary['requests']} records, each under its own request id (also the warden-request-id header)",
        f"{claude['with_message_id']} of {claude['calls']} records that reached Claude carry Claude's message id",
    ]
    complete = claude["with_message_id"] == claude["calls"]
    return (SafeguardStatus.ON if complete else SafeguardStatus.PARTIAL), evidence


def _hashed_user_ids(_: WardenConfig | None, summary: Summary) -> tuple[SafeguardStatus, list[str]]:
    users = {(user["tenant_id"], user["user_hash"]) for user in summary["top_users"]}
    return SafeguardStatus.ON, [
        "every record holds only the keyed HMAC-SHA256 of (tenant, end-user id); no raw id is stored",
        "the same hash is sent to Claude as metadata.user_id",
        f"{len(users)} hashed users among the top violators of this window",
    ]


def _sign_up(config: WardenConfig | None, summary: Summary) -> tuple[SafeguardStatus, list[str]]:
    evidence = [f"every request was authenticated with a tenant API key ({len(summary['by_tenant'])} tenants seen)"]
    if config is None:
        return SafeguardStatus.PARTIAL, [*evidence, _NO_CONFIG]
    issuers = config.identity.issuer_names
    if issuers:
        return SafeguardStatus.ON, [
            *evidence,
            f"end users can be identified by verified tokens from: {', '.join(issuers)}",
        ]
    return SafeguardStatus.PARTIAL, [
        *evidence,
        "no end-user token issuer configured (identity): apps vouch for their own signed-up users",
    ]


def _permitted_uses(config: WardenConfig | None, _: Summary) -> tuple[SafeguardStatus, list[str]]:
    if config is None:
        return SafeguardStatus.UNKNOWN, [_NO_CONFIG]
    policy = config.usage_policy
    return SafeguardStatus.PARTIAL, [
        f"usage-policy version {policy.version} ({policy.url}) is configured",
        "end users must accept it only for tenants with require_policy_acceptance (warden tenants list)",
    ]


def _strike_ladder(config: WardenConfig | None, summary: Summary) -> tuple[SafeguardStatus, list[str]]:
    statuses = summary["user_status"]
    evidence = [
        "user standing after each request: "
        + (", ".join(f"{status} {count}" for status, count in statuses.items()) or "no requests")
    ]
    if config is None:
        return SafeguardStatus.ON, [*evidence, _NO_CONFIG]
    ladder = config.strike_ladder
    throttle = f"throttle at {ladder.throttle_at}, " if ladder.throttle_at is not None else ""
    immediate = ", ".join(ladder.suspend_immediately) or "none"
    evidence.insert(
        0,
        f"strike ladder: warn at {ladder.warn_at}, {throttle}suspend at {ladder.suspend_at} within "
        f"{ladder.window_days} days; suspended at once: {immediate}",
    )
    return SafeguardStatus.ON, evidence


def _restricted_prompts(_: WardenConfig | None, summary: Summary) -> tuple[SafeguardStatus, list[str]]:
    templated = summary["templated_requests"]
    if templated:
        return SafeguardStatus.PARTIAL, [f"{templated} requests used a prompt template"]
    return SafeguardStatus.OFF, ["no request used a prompt template (prompt templates are not yet part of Warden)"]


def _safety_filters(config: WardenConfig | None, summary: Summary) -> tuple[SafeguardStatus, list[str]]:
    runs = [f"{name} ran {figures['runs']} times" for name, figures in summary["screeners"].items()]
    unscreened = summary["claude"]["served_unscreened"]
    evidence = [*runs, f"{unscreened} requests reached Claude with no screener having run"]
    if config is None:
        return SafeguardStatus.PARTIAL, [*evidence, _NO_CONFIG]
    screeners = config.screening.screeners
    evidence.insert(0, "screeners before Claude: " + ", ".join(screeners))
    if config.screening.output_screening:
        evidence.append("Claude's answers are screened too (screening.output_screening)")
    if config.screening.shadow:
        return SafeguardStatus.PARTIAL, [*evidence, "the default profile is in shadow mode: verdicts are not acted on"]
    extra = [name for name in screeners if name is not ScreenerName.FAST]
    status = SafeguardStatus.ON if extra and unscreened == 0 else SafeguardStatus.PARTIAL
    return status, evidence


def _private_bucket(config: WardenConfig | None, summary: Summary) -> tuple[SafeguardStatus, list[str]]:
    evidence = [f"{summary['requests']} prompts and completions kept in the private, KMS-encrypted audit bucket"]
    redacted = summary["redacted_records"]
    if redacted:
        evidence.append(f"{redacted} records had personal data redacted before they were written")
    if config is None:
        return SafeguardStatus.ON, [*evidence, _NO_CONFIG]
    evidence.append(
        f"retention: infrequent access after {config.retention.infrequent_access_after_days} days, "
        f"expiry after {config.retention.audit_days}"
    )
    if config.provider is Provider.BEDROCK:
        logging = config.bedrock_invocation_logging
        evidence.append(
            "Bedrock model-invocation logging into the same bucket is "
            + ("on" if logging else "off (bedrock_invocation_logging)")
        )
        return (SafeguardStatus.ON if logging else SafeguardStatus.PARTIAL), evidence
    return SafeguardStatus.ON, evidence


def _human_review(config: WardenConfig | None, summary: Summary) -> tuple[SafeguardStatus, list[str]]:
    reviews = summary["reviews"]
    evidence = [
        f"{summary['blocked']} blocked and {summary['flagged']} flagged requests were sent to the review queue",
        f"moderator verdicts: {summary['screeners'].get(ScreenerName.MODERATOR.value, {}).get('runs', 0)} runs",
    ]
    if reviews["source"] is None:
        evidence.append(f"review decisions unknown: {reviews['note']}")
    else:
        evidence.append(
            f"{reviews['decided']} cases decided ({reviews['confirmed']} confirmed, {reviews['dismissed']} dismissed)"
        )
    if config is not None:
        flagged = [category for category, policy in config.screening.categories.items() if policy.action is Action.FLAG]
        evidence.append("categories flagged for review rather than blocked: " + (", ".join(flagged) or "none"))
    return SafeguardStatus.ON, evidence


_CHECKS: tuple[tuple[str, str, _Check], ...] = (
    ("basic", "Store an id with every API call, to find violating content later", _ids_per_call),
    ("basic", "Give end users ids, and send Anthropic only cryptographic hashes of them", _hashed_user_ids),
    ("basic", "Require users to sign up before they can use Claude", _sign_up),
    ("basic", "Make sure customers understand the permitted uses", _permitted_uses),
    ("basic", "Warn, throttle or suspend users who repeatedly violate the usage policy", _strike_ladder),
    ("intermediate", "Restrict users to a set of prompts or your own knowledge corpus", _restricted_prompts),
    ("intermediate", "Add safety filters: moderate prompts in real time before they reach Claude", _safety_filters),
    ("intermediate", "Keep prompts and completions in a private bucket for your own evaluation", _private_bucket),
    ("comprehensive", "Human review of flagged prompts; act on users with high violation rates", _human_review),
)


def safeguards_checklist(config: WardenConfig | None, summary: Summary) -> list[SafeguardCheck]:
    """Each recommendation with its status and evidence, in the order the recommendations are published."""
    checks = []
    for tier, recommendation, check in _CHECKS:
        status, evidence = check(config, summary)
        checks.append(SafeguardCheck(tier, recommendation, status, tuple(evidence)))
    return checks
