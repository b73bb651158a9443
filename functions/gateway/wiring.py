"""The gateway's composition root: settings → adapters → domain collaborators, once per container."""

from __future__ import annotations

from concurrent.futures import Executor, ThreadPoolExecutor
from functools import cache

from warden.adapters.audit_store import S3AuditStore
from warden.adapters.claude import AnthropicClaude, BedrockClaude, StandInClaude
from warden.adapters.guardrails import BedrockGuardrailScreener, GuardrailSource
from warden.adapters.review_queue import SqsReviewQueue
from warden.adapters.secrets import secret_string
from warden.adapters.user_store import DynamoUserStore
from warden.config import Provider, ScreenerName
from warden.domain.fast_tier import FastTierScreener, load_model
from warden.domain.gateway import GatewayDeps
from warden.domain.moderator import ClaudeModerator
from warden.domain.ports import ClaudeClient, Screener
from warden.domain.strikes import StrikeLadder
from warden.settings import GatewaySettings, gateway_settings

from gateway.record_metrics import count_record


def _claude(settings: GatewaySettings) -> ClaudeClient:
    provider = settings.config.provider
    if provider is Provider.ANTHROPIC:
        secret_arn = settings.anthropic_secret_arn
        if not secret_arn:
            raise ValueError("provider is anthropic but WARDEN_ANTHROPIC_SECRET_ARN is not set")
        return AnthropicClaude(api_key=lambda: secret_string(secret_arn), base_url=settings.anthropic_base_url)
    if provider is Provider.BEDROCK:
        return BedrockClaude(
            settings.config.models.bedrock_model_map, region=settings.aws_region, base_url=settings.bedrock_base_url
        )
    return StandInClaude()


def _guardrail_screener(settings: GatewaySettings, source: GuardrailSource) -> BedrockGuardrailScreener:
    if not (settings.guardrail_id and settings.guardrail_version):
        raise ValueError("screening lists 'guardrails' but WARDEN_GUARDRAIL_ID / WARDEN_GUARDRAIL_VERSION are not set")
    return BedrockGuardrailScreener(
        settings.guardrail_id,
        settings.guardrail_version,
        settings.guardrail_topic_categories,
        source=source,
        # Claude's answers are text: only the end user's turns carry images.
        read_images=settings.guardrail_images and source == "INPUT",
    )


def _screeners(settings: GatewaySettings, claude: ClaudeClient, source: GuardrailSource = "INPUT") -> list[Screener]:
    """The configured screeners; `source` tells the ones that care whether they see prompts or Claude's answers."""
    screening = settings.config.screening
    screeners: list[Screener] = []
    for name in screening.screeners:
        if name is ScreenerName.FAST:
            screeners.append(FastTierScreener())
        elif name is ScreenerName.MODERATOR and settings.config.provider is not Provider.STANDIN:
            # The stand-in cannot moderate: without Claude the fast tier alone decides.
            screeners.append(
                ClaudeModerator(
                    claude,
                    settings.config.models.moderator,
                    screening.moderator_timeout_seconds,
                    read_attachments=screening.moderator_reads_attachments,
                )
            )
        elif name is ScreenerName.GUARDRAILS and settings.config.provider is not Provider.STANDIN:
            screeners.append(_guardrail_screener(settings, source))
    return screeners


@cache
def user_store() -> DynamoUserStore:
    settings = gateway_settings()
    return DynamoUserStore(settings.users_table, StrikeLadder(settings.config.strike_ladder))


@cache
def user_hash_key() -> bytes:
    return secret_string(gateway_settings().user_hash_secret_arn).encode()


# The screeners that call out (moderator, guardrails) run side by side; one Lambda container serves one
# request at a time, so a few threads cover them, and the local stack's concurrent requests just queue.
SCREENER_THREADS = 4


@cache
def screener_executor() -> Executor:
    """One thread pool per container (stateless, so it outlives the settings-derived objects)."""
    return ThreadPoolExecutor(max_workers=SCREENER_THREADS, thread_name_prefix="warden-screener")


@cache
def gateway_deps() -> GatewayDeps:
    settings = gateway_settings()
    claude = _claude(settings)
    return GatewayDeps(
        config=settings.config,
        user_hash_key=user_hash_key(),
        users=user_store(),
        screeners=_screeners(settings, claude),
        output_screeners=_screeners(settings, claude, source="OUTPUT"),
        fast_tier_confident=load_model().confident,
        claude=claude,
        audit=S3AuditStore(settings.audit_bucket, settings.audit_fallback_queue_url),
        review=SqsReviewQueue(settings.review_queue_url),
        provider_label=settings.config.provider.value,
        executor=screener_executor(),
        record_observer=count_record,
    )
