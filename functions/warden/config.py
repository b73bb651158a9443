"""Deployment configuration: validated once from `cdk.json` context at synth, and again at cold start.

The CDK app reads the `warden` context key into `WardenConfig` (invalid configuration fails `cdk synth`
with the pydantic message) and hands the functions the same JSON in `WARDEN_CONFIG`, which their
settings parse with the same model (invalid configuration fails cold start, never a request).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from enum import StrEnum
from typing import Annotated, Self
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from warden.taxonomy import CATEGORY_IDS, Category


class Provider(StrEnum):
    """Where Claude is called."""

    ANTHROPIC = "anthropic"
    BEDROCK = "bedrock"
    # The offline stand-in model of the local stack; never valid for a deployed stack.
    STANDIN = "standin"


class Action(StrEnum):
    """What a screening verdict in a category does to the request."""

    BLOCK = "block"
    FLAG = "flag"
    ALLOW = "allow"


class FailMode(StrEnum):
    """What happens when a required screener fails."""

    CLOSED = "closed"  # refuse the request with 503
    ALLOW_AND_FLAG = "allow_and_flag"  # serve it, record what was not checked, send it to review


class IdentityMode(StrEnum):
    """How a tenant's end users are identified."""

    TRUSTED_BACKEND = "trusted_backend"  # the app authenticates with its tenant key and names the user
    JWT = "jwt"  # the end user presents a verified token; its `sub` is the user id


class PiiKind(StrEnum):
    """Personal data that can be redacted from stored prompts and completions (see `warden.domain.redaction`)."""

    EMAIL = "email"
    PHONE = "phone"
    CARD = "card"  # payment card numbers (Luhn-checked)
    IBAN = "iban"
    US_SSN = "us_ssn"
    IP_ADDRESS = "ip_address"


class ScreenerName(StrEnum):
    FAST = "fast"
    MODERATOR = "moderator"
    GUARDRAILS = "guardrails"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class CategoryPolicy(_Strict):
    action: Action
    threshold: Annotated[float, Field(ge=0.0, le=1.0)] = 0.5


def _default_category_policies() -> dict[Category, CategoryPolicy]:
    return {category: CategoryPolicy(action=Action.BLOCK, threshold=0.5) for category in Category}


# The profile a tenant without one gets: the top-level `screening` settings themselves.
DEFAULT_PROFILE = "default"
ProfileName = Annotated[str, Field(pattern=r"^[A-Za-z0-9_-]{1,64}$")]


class ScreeningProfile(_Strict):
    """A named variation of the default screening policy; tenants opt in through their `profile`."""

    # Only the categories that differ from `screening.categories`.
    categories: dict[Category, CategoryPolicy] = Field(default_factory=dict)
    # None inherits the top-level setting.
    shadow: bool | None = None
    output_screening: bool | None = None


class ScreeningConfig(_Strict):
    screeners: tuple[ScreenerName, ...] = (ScreenerName.FAST, ScreenerName.MODERATOR)
    categories: dict[Category, CategoryPolicy] = Field(default_factory=_default_category_policies)
    # A confident block from the fast tier skips the (paid) moderator call.
    skip_moderator_on_fast_block: bool = True
    # Fast-tier scores under this are a suspicion, not a verdict: when a screener behind it (the moderator,
    # Guardrails) gives a verdict, that verdict decides; the fast tier's own score decides only when none can.
    # None: the level the fast-tier build calibrated (at least 0.9).
    fast_tier_confident: Annotated[float, Field(ge=0.0, le=1.0)] | None = None
    moderator_timeout_seconds: Annotated[float, Field(gt=0, le=20)] = 8.0
    # The moderator reads the end user's images and documents (PDFs) with the text. Off, they reach Claude
    # unscreened (the audit record's notes say so) and the moderation call costs only the text's tokens.
    moderator_reads_attachments: bool = True
    # The default profile's modes: record verdicts without acting on them; screen Claude's answers too.
    shadow: bool = False
    output_screening: bool = False
    profiles: dict[ProfileName, ScreeningProfile] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _every_category_has_a_policy(self) -> Self:
        missing = [c.value for c in Category if c not in self.categories]
        if missing:
            raise ValueError(f"screening.categories is missing a policy for: {', '.join(missing)}")
        if not self.screeners:
            raise ValueError("screening.screeners must name at least one screener")
        if DEFAULT_PROFILE in self.profiles:
            raise ValueError(
                f"screening.profiles must not define '{DEFAULT_PROFILE}': the top-level screening settings are it"
            )
        return self

    def has_profile(self, name: str) -> bool:
        return name == DEFAULT_PROFILE or name in self.profiles

    def require_profile(self, name: str) -> str:
        """Check a tenant's profile name against the configuration (tenant creation); return it."""
        if not self.has_profile(name):
            known = ", ".join([DEFAULT_PROFILE, *self.profiles])
            raise InvalidConfigurationError(f"screening profile '{name}' is not configured; known profiles: {known}")
        return name


class GuardrailFilter(StrEnum):
    """Amazon Bedrock Guardrails content filter types."""

    HATE = "HATE"
    INSULTS = "INSULTS"
    SEXUAL = "SEXUAL"
    VIOLENCE = "VIOLENCE"
    MISCONDUCT = "MISCONDUCT"
    PROMPT_ATTACK = "PROMPT_ATTACK"


class GuardrailStrength(StrEnum):
    """How aggressively a guardrail filter intervenes (NONE switches the filter off)."""

    NONE = "NONE"
    LOW = "LOW"
    MEDIUM = "MEDIUM"
    HIGH = "HIGH"


def _default_guardrail_filters() -> dict[GuardrailFilter, GuardrailStrength]:
    # Violence and insults one step lower: the policy allows fiction with violence and heated (not abusive) talk.
    return {
        GuardrailFilter.HATE: GuardrailStrength.HIGH,
        GuardrailFilter.INSULTS: GuardrailStrength.MEDIUM,
        GuardrailFilter.SEXUAL: GuardrailStrength.HIGH,
        GuardrailFilter.VIOLENCE: GuardrailStrength.MEDIUM,
        GuardrailFilter.MISCONDUCT: GuardrailStrength.HIGH,
        GuardrailFilter.PROMPT_ATTACK: GuardrailStrength.HIGH,
    }


class GuardrailTopic(_Strict):
    """A denied topic of the guardrail and the Warden category its findings count towards."""

    # Bedrock's limits on topic names, definitions and examples.
    name: Annotated[str, Field(min_length=1, max_length=100, pattern=r"^[0-9a-zA-Z\-_ !?.]+$")]
    category: Category
    # Required when the stack creates the guardrail; omitted for topics of an existing guardrail.
    definition: Annotated[str, Field(min_length=1, max_length=200)] | None = None
    examples: Annotated[tuple[Annotated[str, Field(min_length=1, max_length=100)], ...], Field(max_length=5)] = ()


class GuardrailsConfig(_Strict):
    """Optional Amazon Bedrock Guardrails screener: a guardrail the stack creates, or an existing one."""

    enabled: bool = False
    filters: dict[GuardrailFilter, GuardrailStrength] = Field(default_factory=_default_guardrail_filters)
    denied_topics: Annotated[tuple[GuardrailTopic, ...], Field(max_length=30)] = ()
    # Use an existing guardrail (id or ARN) and a version of it (a number, or DRAFT) instead of creating one.
    guardrail_id: (
        Annotated[
            str, Field(pattern=r"^([a-z0-9]+|arn:aws(-[^:]+)?:bedrock:[a-z0-9-]{1,20}:[0-9]{12}:guardrail/[a-z0-9]+)$")
        ]
        | None
    ) = None
    guardrail_version: Annotated[str, Field(pattern=r"^([0-9]{1,8}|DRAFT)$")] | None = None
    # Send the end user's PNG and JPEG images to the guardrail's content filters with the text. Off by default:
    # Bedrock's image filters take at most 25 images a second for the whole account, a limit that cannot be
    # raised, and a throttled call goes to the fail mode (a 503 when failing closed). The Claude moderator reads
    # images either way. A guardrail the stack creates gets its filters' image modality; an existing one must
    # have it already.
    screen_images: bool = False

    @field_validator("filters", mode="before")
    @classmethod
    def _over_the_defaults(cls, value: object) -> object:
        # Naming some filters changes those; the others keep their defaults (NONE switches one off).
        if isinstance(value, Mapping):
            return {**_default_guardrail_filters(), **value}
        return value

    @model_validator(mode="after")
    def _existing_or_created(self) -> Self:
        if (self.guardrail_id is None) != (self.guardrail_version is None):
            raise ValueError("guardrails.guardrail_id and guardrails.guardrail_version go together")
        names = [topic.name for topic in self.denied_topics]
        if len(set(names)) != len(names):
            raise ValueError("guardrails.denied_topics names must be unique")
        if self.guardrail_id is None:
            undefined = [topic.name for topic in self.denied_topics if topic.definition is None]
            if undefined:
                raise ValueError(
                    "guardrails.denied_topics need a definition when the stack creates the guardrail: "
                    + ", ".join(undefined)
                )
        return self

    @property
    def creates_guardrail(self) -> bool:
        return self.enabled and self.guardrail_id is None

    def topic_categories(self) -> dict[str, Category]:
        return {topic.name: topic.category for topic in self.denied_topics}


class ThrottleConfig(_Strict):
    """The rate a throttled user is held to (a token bucket: `requests` per `per_seconds`), and for how long."""

    requests: Annotated[int, Field(ge=1, le=10_000)] = 5
    per_seconds: Annotated[int, Field(ge=1, le=86_400)] = 60
    duration_hours: Annotated[int, Field(ge=1, le=8760)] = 24


class StrikeLadderConfig(_Strict):
    """Strikes within `window_days` earn: a warning at `warn_at`, a throttle at `throttle_at`, suspension at
    `suspend_at`; a strike in a `suspend_immediately` category suspends at once."""

    warn_at: Annotated[int, Field(ge=1)] = 1
    # None: no throttle step (warned users go straight to suspension).
    throttle_at: Annotated[int, Field(ge=1)] | None = 3
    suspend_at: Annotated[int, Field(ge=1)] = 5
    window_days: Annotated[int, Field(ge=1, le=3650)] = 30
    throttle: ThrottleConfig = Field(default_factory=ThrottleConfig)
    suspend_immediately: tuple[Category, ...] = (Category.CHILD_SAFETY,)

    @model_validator(mode="after")
    def _ordered(self) -> Self:
        if self.suspend_at < self.warn_at:
            raise ValueError("strike_ladder.suspend_at must be >= strike_ladder.warn_at")
        if self.throttle_at is not None and not self.warn_at <= self.throttle_at < self.suspend_at:
            raise ValueError(
                f"strike_ladder.throttle_at ({self.throttle_at}) must be >= warn_at ({self.warn_at}) and < "
                f"suspend_at ({self.suspend_at}); set it to null for a ladder without a throttle step"
            )
        return self


class UsagePolicyConfig(_Strict):
    """The usage-policy version end users of tenants with `require_policy_acceptance` must accept."""

    version: Annotated[str, Field(pattern=r"^[A-Za-z0-9._-]{1,64}$")] = "2025-09-15"
    url: Annotated[str, Field(pattern=r"^https://\S{1,500}$")] = "https://www.anthropic.com/legal/aup"


class LimitsConfig(_Strict):
    max_body_bytes: Annotated[int, Field(ge=1024, le=6_000_000)] = 1_048_576
    max_messages: Annotated[int, Field(ge=1, le=10_000)] = 200
    max_tokens: Annotated[int, Field(ge=1, le=128_000)] = 8192


class ModelsConfig(_Strict):
    allowed: tuple[str, ...]
    # Anthropic model id -> Bedrock model id or inference profile id (provider: bedrock).
    bedrock_model_map: dict[str, str] = Field(default_factory=dict)
    moderator: str = "claude-haiku-4-5"


class RetentionConfig(_Strict):
    audit_days: Annotated[int, Field(ge=1)] = 400
    infrequent_access_after_days: Annotated[int, Field(ge=30)] = 30
    access_log_days: Annotated[int, Field(ge=1)] = 90
    # Athena query results (they hold prompts and completions too).
    athena_results_days: Annotated[int, Field(ge=1)] = 30

    @model_validator(mode="after")
    def _transition_before_expiry(self) -> Self:
        if self.infrequent_access_after_days >= self.audit_days:
            raise ValueError("retention.infrequent_access_after_days must be < retention.audit_days")
        return self


class MonitoringConfig(_Strict):
    """Alarm thresholds (deploy time only); every alarm notifies the alarm topic."""

    # API Gateway gives up at 29 s: alarm well before the gateway's slowest requests get there.
    gateway_p99_ms: Annotated[int, Field(ge=100, le=29_000)] = 20_000
    # Age of the oldest review item still waiting in the review queue.
    review_backlog_minutes: Annotated[int, Field(ge=1, le=20_160)] = 60
    # Block rate (blocked / requests, per 15 minutes) that counts as a spike, once there are enough requests.
    block_rate_percent: Annotated[float, Field(gt=0, le=100)] = 25.0
    block_rate_min_requests: Annotated[int, Field(ge=1)] = 20
    # Moderator calls that failed within 5 minutes.
    moderator_failures: Annotated[int, Field(ge=1)] = 5
    # 5XX answers from the API within 5 minutes (503s when a tenant fails closed count too).
    api_5xx: Annotated[int, Field(ge=0)] = 5


class UsagePlanConfig(_Strict):
    rate_limit: Annotated[float, Field(gt=0)] = 50
    burst_limit: Annotated[int, Field(gt=0)] = 100
    quota_per_month: Annotated[int, Field(gt=0)] | None = None


class SigningAlgorithm(StrEnum):
    """Asymmetric JWS algorithms an end-user token may be signed with (never `none`, never a shared-secret HS*)."""

    RS256 = "RS256"
    RS384 = "RS384"
    RS512 = "RS512"
    PS256 = "PS256"
    ES256 = "ES256"
    ES384 = "ES384"


_LOOPBACK_HOSTS = frozenset({"127.0.0.1", "localhost", "::1"})
# The issuer name tenants use for the stack's own Cognito user pool in `trusted_issuers`.
COGNITO_ISSUER_NAME = "cognito"
IssuerName = Annotated[str, Field(min_length=1, max_length=512)]


def require_tls_url(value: str, what: str) -> str:
    """Token issuers and key sets are trusted only over TLS; plain http is allowed on loopback (local stack, tests)."""
    parts = urlsplit(value)
    if parts.scheme == "https" and parts.hostname:
        return value
    if parts.scheme == "http" and parts.hostname in _LOOPBACK_HOSTS:
        return value
    raise ValueError(f"{what} must be an https:// URL (http only on 127.0.0.1/localhost), got '{value}'")


class OidcIssuerConfig(_Strict):
    """An OpenID Connect issuer whose signed tokens identify the end users of JWT tenants."""

    # Exactly the token's `iss` claim.
    issuer: IssuerName
    # Accepted `aud` values (the app client ids); a token must name at least one.
    audience: Annotated[tuple[Annotated[str, Field(min_length=1, max_length=256)], ...], Field(min_length=1)]
    # Where the signing keys are; None: the issuer's OpenID discovery document names it.
    jwks_uri: str | None = None
    algorithms: Annotated[tuple[SigningAlgorithm, ...], Field(min_length=1)] = (
        SigningAlgorithm.RS256,
        SigningAlgorithm.ES256,
    )
    # What tenants call it in `trusted_issuers` (default: the issuer URL itself).
    name: Annotated[str, Field(pattern=r"^[A-Za-z0-9_.:/-]{1,512}$")] | None = None

    @field_validator("audience", mode="before")
    @classmethod
    def _one_or_many(cls, value: object) -> object:
        return (value,) if isinstance(value, str) else value

    @field_validator("issuer")
    @classmethod
    def _issuer_over_tls(cls, value: str) -> str:
        return require_tls_url(value, "identity.oidc[].issuer")

    @field_validator("jwks_uri")
    @classmethod
    def _keys_over_tls(cls, value: str | None) -> str | None:
        return None if value is None else require_tls_url(value, "identity.oidc[].jwks_uri")

    @property
    def label(self) -> str:
        return self.name or self.issuer


class CognitoMfa(StrEnum):
    OFF = "off"
    OPTIONAL = "optional"
    REQUIRED = "required"


class CognitoConfig(_Strict):
    """An end-user Cognito user pool (and app client) the stack creates; its ID tokens identify end users."""

    create: bool = False
    self_sign_up: bool = False
    mfa: CognitoMfa = CognitoMfa.OPTIONAL
    # Cognito threat protection (compromised credentials, adaptive authentication): billed per active user.
    threat_protection: bool = False


class IdentityConfig(_Strict):
    """End-user identity for JWT tenants: the issuers this deployment trusts and how their keys are cached."""

    cognito: CognitoConfig = Field(default_factory=CognitoConfig)
    oidc: tuple[OidcIssuerConfig, ...] = ()
    # Clock skew tolerated on exp / nbf / iat.
    leeway_seconds: Annotated[int, Field(ge=0, le=300)] = 30
    # How long an issuer's key set is cached per authorizer container.
    jwks_cache_seconds: Annotated[int, Field(ge=30, le=86_400)] = 600
    # Minimum time between refetches caused by an unknown `kid` (bounds what forged kids can cost).
    jwks_refresh_cooldown_seconds: Annotated[int, Field(ge=0, le=3600)] = 30

    @model_validator(mode="after")
    def _unique_issuers(self) -> Self:
        labels = [issuer.label for issuer in self.oidc]
        issuers = [issuer.issuer for issuer in self.oidc]
        if len(set(issuers)) != len(issuers) or len(set(labels)) != len(labels):
            raise ValueError("identity.oidc issuers and names must be unique")
        if self.cognito.create and COGNITO_ISSUER_NAME in labels:
            raise ValueError(f"identity.oidc must not use the name '{COGNITO_ISSUER_NAME}': the stack's pool has it")
        return self

    @property
    def issuer_names(self) -> tuple[str, ...]:
        """What tenants may list in `trusted_issuers`."""
        return (*((COGNITO_ISSUER_NAME,) if self.cognito.create else ()), *(i.label for i in self.oidc))


class IdentityRuntime(_Strict):
    """What reaches the authorizer as `WARDEN_IDENTITY`: the resolved issuers (Cognito's included) and caching."""

    issuers: tuple[OidcIssuerConfig, ...] = ()
    leeway_seconds: int = 30
    jwks_cache_seconds: int = 600
    jwks_refresh_cooldown_seconds: int = 30


# The key of `review.sla_hours` that applies to cases with no category of their own there.
SLA_DEFAULT_KEY = "default"
SlaHours = Annotated[float, Field(gt=0, le=720)]
# A plain address check (no display names, no whitespace); SNS confirms the address by mail on deploy.
EmailAddress = Annotated[str, Field(max_length=254, pattern=r"^[A-Za-z0-9._%+'-]+@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)+$")]


def _default_sla_hours() -> dict[str, float]:
    return {Category.CHILD_SAFETY.value: 1.0, SLA_DEFAULT_KEY: 24.0}


class ReviewSlaConfig(_Strict):
    """How long a new review case may wait for a decision: hours per category, `default` for the rest."""

    sla_hours: dict[str, SlaHours] = Field(default_factory=_default_sla_hours)

    @field_validator("sla_hours", mode="before")
    @classmethod
    def _over_the_defaults(cls, value: object) -> object:
        # Naming some categories changes those; child_safety and default keep their defaults unless named.
        if isinstance(value, Mapping):
            return {**_default_sla_hours(), **value}
        return value

    @field_validator("sla_hours")
    @classmethod
    def _known_keys(cls, value: dict[str, float]) -> dict[str, float]:
        unknown = sorted(set(value) - set(CATEGORY_IDS) - {SLA_DEFAULT_KEY})
        if unknown:
            raise ValueError(
                f"review.sla_hours keys must be category ids or '{SLA_DEFAULT_KEY}', got: {', '.join(unknown)}"
            )
        return value

    def hours_for(self, categories: Iterable[Category]) -> float:
        """The tightest SLA among a case's categories (the default when none has its own)."""
        default = self.sla_hours[SLA_DEFAULT_KEY]
        return min((self.sla_hours.get(category.value, default) for category in categories), default=default)


class ReviewConfig(ReviewSlaConfig):
    """Review cases: their SLAs, and who is mailed when a priority (child-safety) case opens."""

    # Deploy-time only: each address gets an SNS email subscription (confirmed by the recipient).
    notify_emails: Annotated[tuple[EmailAddress, ...], Field(max_length=20)] = ()

    @field_validator("notify_emails")
    @classmethod
    def _unique_emails(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        if len({email.lower() for email in value}) != len(value):
            raise ValueError("review.notify_emails must not list an address twice")
        return value

    def runtime(self) -> ReviewSlaConfig:
        return ReviewSlaConfig(sla_hours=self.sla_hours)


class WardenConfig(_Strict):
    """The whole `warden` context object of `cdk.json`."""

    provider: Provider = Provider.ANTHROPIC
    models: ModelsConfig
    screening: ScreeningConfig = Field(default_factory=ScreeningConfig)
    strike_ladder: StrikeLadderConfig = Field(default_factory=StrikeLadderConfig)
    limits: LimitsConfig = Field(default_factory=LimitsConfig)
    fail_mode: FailMode = FailMode.CLOSED
    retention: RetentionConfig = Field(default_factory=RetentionConfig)
    usage_plan: UsagePlanConfig = Field(default_factory=UsagePlanConfig)
    usage_policy: UsagePolicyConfig = Field(default_factory=UsagePolicyConfig)
    # Deploy-time only: the functions get the guardrail id, version and topic categories as environment variables.
    guardrails: GuardrailsConfig = Field(default_factory=GuardrailsConfig)
    authorizer_cache_seconds: Annotated[int, Field(ge=0, le=3600)] = 60
    log_level: str = "INFO"
    # End-user identity for tenants with `identity: jwt` (Cognito user pool, external OIDC issuers).
    identity: IdentityConfig = Field(default_factory=IdentityConfig)
    review: ReviewConfig = Field(default_factory=ReviewConfig)
    # Personal data redacted from stored prompts and completions; tenants override it with their own `redaction`.
    redaction: tuple[PiiKind, ...] = ()
    # Deploy-time only: Bedrock's own model-invocation logging into the audit bucket (provider bedrock).
    bedrock_invocation_logging: bool = False
    monitoring: MonitoringConfig = Field(default_factory=MonitoringConfig)

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        if self.provider is Provider.BEDROCK:
            unmapped = [
                m for m in (*self.models.allowed, self.models.moderator) if m not in self.models.bedrock_model_map
            ]
            if unmapped:
                raise ValueError(
                    "provider is bedrock but models.bedrock_model_map has no Bedrock id for: " + ", ".join(unmapped)
                )
        if not self.models.allowed:
            raise ValueError("models.allowed must list at least one model id")
        if self.bedrock_invocation_logging and self.provider is not Provider.BEDROCK:
            raise ValueError("bedrock_invocation_logging applies to provider bedrock only")
        return self

    @model_validator(mode="after")
    def _guardrails_screener_enabled(self) -> Self:
        if ScreenerName.GUARDRAILS in self.screening.screeners and not self.guardrails.enabled:
            raise ValueError("screening.screeners lists 'guardrails' but guardrails.enabled is false")
        return self

    def runtime(self) -> RuntimeConfig:
        """The part the functions need at run time (kept small: Lambda environments are capped at 4 KB)."""
        return RuntimeConfig(
            provider=self.provider,
            models=self.models,
            screening=self.screening,
            strike_ladder=self.strike_ladder,
            limits=self.limits,
            fail_mode=self.fail_mode,
            usage_policy=self.usage_policy,
            review=self.review.runtime(),
            redaction=self.redaction,
        )


class RuntimeConfig(_Strict):
    """What reaches the functions as `WARDEN_CONFIG`."""

    provider: Provider
    models: ModelsConfig
    screening: ScreeningConfig
    strike_ladder: StrikeLadderConfig
    limits: LimitsConfig
    fail_mode: FailMode
    usage_policy: UsagePolicyConfig = Field(default_factory=UsagePolicyConfig)
    review: ReviewSlaConfig = Field(default_factory=ReviewSlaConfig)
    redaction: tuple[PiiKind, ...] = ()


def parse_config(context_value: object) -> WardenConfig:
    """Validate the `warden` context object; raise `InvalidConfiguration` with a readable message."""
    from pydantic import ValidationError

    try:
        return WardenConfig.model_validate(context_value)
    except ValidationError as error:
        raise InvalidConfigurationError(
            f"invalid Warden configuration (cdk.json context 'warden'):\n{error}"
        ) from error


class InvalidConfigurationError(ValueError):
    """The deployment configuration is invalid."""


__all__ = [
    "CATEGORY_IDS",
    "COGNITO_ISSUER_NAME",
    "DEFAULT_PROFILE",
    "Action",
    "CategoryPolicy",
    "CognitoConfig",
    "FailMode",
    "GuardrailFilter",
    "GuardrailStrength",
    "GuardrailTopic",
    "GuardrailsConfig",
    "IdentityConfig",
    "IdentityMode",
    "IdentityRuntime",
    "InvalidConfigurationError",
    "MonitoringConfig",
    "OidcIssuerConfig",
    "PiiKind",
    "Provider",
    "ReviewConfig",
    "ReviewSlaConfig",
    "RuntimeConfig",
    "ScreenerName",
    "ScreeningConfig",
    "ScreeningProfile",
    "SigningAlgorithm",
    "StrikeLadderConfig",
    "ThrottleConfig",
    "UsagePolicyConfig",
    "WardenConfig",
    "parse_config",
]
