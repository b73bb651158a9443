"""End-user identity for JWT tenants: optionally a Cognito user pool and app client, and the issuers the
authorizer trusts (the pool's and any external OIDC issuers from `identity.oidc`).

The authorizer receives the resolved issuers as one small JSON environment variable (`WARDEN_IDENTITY`);
the pool's issuer URL and client id are CloudFormation values, so the JSON is rendered with
`Stack.to_json_string`.
"""

from __future__ import annotations

from typing import Any

from aws_cdk import Duration, RemovalPolicy, Stack
from aws_cdk import aws_cognito as cognito
from constructs import Construct
from warden.config import COGNITO_ISSUER_NAME, CognitoConfig, CognitoMfa, IdentityConfig, SigningAlgorithm

from infra.constructs._cognito import strong_password_policy
from infra.nag import acknowledge

JWKS_PATH = "/.well-known/jwks.json"
ID_TOKEN_VALIDITY = Duration.hours(1)
REFRESH_TOKEN_VALIDITY = Duration.days(30)
THREAT_PROTECTION_REASON = (
    "Cognito threat protection needs the Plus feature plan, billed per monthly active user; it is opt-in "
    "(identity.cognito.threat_protection). The pool has a strong password policy and optional TOTP MFA."
)
_MFA = {
    CognitoMfa.OFF: cognito.Mfa.OFF,
    CognitoMfa.OPTIONAL: cognito.Mfa.OPTIONAL,
    CognitoMfa.REQUIRED: cognito.Mfa.REQUIRED,
}


class EndUserIdentity(Construct):
    """The token issuers JWT tenants' end users can come from."""

    def __init__(self, scope: Construct, construct_id: str, *, config: IdentityConfig) -> None:
        super().__init__(scope, construct_id)
        self.config = config
        self.user_pool: cognito.UserPool | None = None
        self.app_client: cognito.UserPoolClient | None = None
        if config.cognito.create:
            self.user_pool = self._build_user_pool(config.cognito)
            self.app_client = self._build_app_client(self.user_pool)

    @property
    def issuer_url(self) -> str | None:
        """The pool's token issuer (`iss`), when the stack creates one."""
        if self.user_pool is None:
            return None
        return f"https://{self.user_pool.user_pool_provider_url}"

    def authorizer_environment(self) -> str:
        """JSON of `warden.config.IdentityRuntime` for the authorizer (with CloudFormation values resolved)."""
        issuers: list[dict[str, Any]] = [
            issuer.model_dump(mode="json", exclude_none=True) for issuer in self.config.oidc
        ]
        if self.user_pool is not None and self.app_client is not None:
            issuer = self.issuer_url
            issuers.insert(
                0,
                {
                    "issuer": issuer,
                    # Cognito ID tokens carry the app client id as `aud` (access tokens have no `aud`).
                    "audience": [self.app_client.user_pool_client_id],
                    "jwks_uri": f"{issuer}{JWKS_PATH}",
                    "algorithms": [SigningAlgorithm.RS256.value],
                    "name": COGNITO_ISSUER_NAME,
                },
            )
        runtime = {
            "issuers": issuers,
            "leeway_seconds": self.config.leeway_seconds,
            "jwks_cache_seconds": self.config.jwks_cache_seconds,
            "jwks_refresh_cooldown_seconds": self.config.jwks_refresh_cooldown_seconds,
        }
        return Stack.of(self).to_json_string(runtime)

    def _build_user_pool(self, config: CognitoConfig) -> cognito.UserPool:
        pool = cognito.UserPool(
            self,
            "UserPool",
            self_sign_up_enabled=config.self_sign_up,
            sign_in_aliases=cognito.SignInAliases(email=True),
            auto_verify=cognito.AutoVerifiedAttrs(email=True),
            account_recovery=cognito.AccountRecovery.EMAIL_ONLY,
            password_policy=strong_password_policy(min_length=12),
            mfa=_MFA[config.mfa],
            mfa_second_factor=cognito.MfaSecondFactor(sms=False, otp=True)
            if config.mfa is not CognitoMfa.OFF
            else None,
            feature_plan=cognito.FeaturePlan.PLUS if config.threat_protection else cognito.FeaturePlan.ESSENTIALS,
            standard_threat_protection_mode=cognito.StandardThreatProtectionMode.FULL_FUNCTION
            if config.threat_protection
            else None,
            deletion_protection=True,
            # End users' accounts outlive a stack delete, like tenants and strikes.
            removal_policy=RemovalPolicy.RETAIN,
        )
        if config.mfa is not CognitoMfa.REQUIRED:
            acknowledge(
                pool,
                "AwsSolutions-COG2",
                "Whether an app's end users must use MFA is the organisation's product decision "
                "(identity.cognito.mfa: optional by default, 'required' to enforce it); Warden only verifies "
                "the pool's tokens.",
            )
        if not config.threat_protection:
            acknowledge(pool, "AwsSolutions-COG8", THREAT_PROTECTION_REASON)
        return pool

    def _build_app_client(self, pool: cognito.UserPool) -> cognito.UserPoolClient:
        # A public client (no secret): it runs in the end user's app, which is why the tokens are verified.
        return pool.add_client(
            "AppClient",
            generate_secret=False,
            auth_flows=cognito.AuthFlow(user_srp=True),
            prevent_user_existence_errors=True,
            id_token_validity=ID_TOKEN_VALIDITY,
            access_token_validity=ID_TOKEN_VALIDITY,
            refresh_token_validity=REFRESH_TOKEN_VALIDITY,
            enable_token_revocation=True,
        )
