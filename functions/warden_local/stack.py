"""`warden local` / `make run`: moto's server as AWS, the stack's resources, a demo tenant, the API and the
review consumer, all in one process, until interrupted."""

from __future__ import annotations

import faulthandler
import importlib
import json
import logging
import os
import signal
import sys
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

from warden import constants as c
from warden.config import IdentityRuntime, OidcIssuerConfig, Provider, WardenConfig, parse_config

from warden_local.apigw import LocalApiGateway, serve
from warden_local.consumer import QueueConsumer
from warden_local.moto_server import start_moto_server
from warden_local.resources import LocalResources, create_tenant, function_environment, provision

HOST = "127.0.0.1"


def find_cdk_json() -> Path:
    candidates = [Path(os.environ["WARDEN_CDK_JSON"])] if os.environ.get("WARDEN_CDK_JSON") else []
    candidates += [Path.cwd() / "cdk.json", Path(__file__).resolve().parents[2] / "cdk.json"]
    for candidate in candidates:
        if candidate.is_file():
            return candidate
    raise FileNotFoundError("cdk.json not found: run from the Warden checkout or set WARDEN_CDK_JSON")


def load_config(path: Path) -> WardenConfig:
    return parse_config(json.loads(path.read_text())["context"]["warden"])


@dataclass
class LocalSettings:
    port: int = c.DEFAULT_LOCAL_PORT
    aws_port: int = c.DEFAULT_LOCAL_AWS_PORT
    api_key: str = c.DEFAULT_LOCAL_API_KEY
    reviewer_key: str = c.DEFAULT_LOCAL_REVIEWER_KEY
    anthropic_api_key: str | None = None
    anthropic_base_url: str | None = None
    # A token issuer for JWT tenants (e.g. a test's JWKS server on 127.0.0.1), trusted besides cdk.json's.
    oidc_issuer: str | None = None
    oidc_audience: str | None = None
    oidc_jwks_uri: str | None = None
    # Overrides `authorizer_cache_seconds` (a harness can make disabled keys stop at once).
    authorizer_cache_seconds: int | None = None
    extra_env: dict[str, str] = field(default_factory=dict)

    @classmethod
    def from_environment(cls) -> LocalSettings:
        return cls(
            port=int(os.environ.get(c.ENV_LOCAL_PORT, c.DEFAULT_LOCAL_PORT)),
            aws_port=int(os.environ.get(c.ENV_LOCAL_AWS_PORT, c.DEFAULT_LOCAL_AWS_PORT)),
            api_key=os.environ.get(c.ENV_LOCAL_API_KEY, c.DEFAULT_LOCAL_API_KEY),
            reviewer_key=os.environ.get(c.ENV_LOCAL_REVIEWER_KEY, c.DEFAULT_LOCAL_REVIEWER_KEY),
            anthropic_api_key=os.environ.get("ANTHROPIC_API_KEY") or None,
            anthropic_base_url=os.environ.get("ANTHROPIC_BASE_URL") or None,
            oidc_issuer=os.environ.get(c.ENV_LOCAL_OIDC_ISSUER) or None,
            oidc_audience=os.environ.get(c.ENV_LOCAL_OIDC_AUDIENCE) or None,
            oidc_jwks_uri=os.environ.get(c.ENV_LOCAL_OIDC_JWKS_URI) or None,
            authorizer_cache_seconds=int(cache) if (cache := os.environ.get(c.ENV_AUTHORIZER_CACHE_SECONDS)) else None,
        )

    def identity(self, config: WardenConfig) -> IdentityRuntime:
        """The issuers the local authorizer trusts: cdk.json's OIDC issuers and the local one, if set."""
        issuers = list(config.identity.oidc)
        if self.oidc_issuer:
            if not self.oidc_audience:
                raise ValueError(f"{c.ENV_LOCAL_OIDC_ISSUER} needs {c.ENV_LOCAL_OIDC_AUDIENCE} (the token audience)")
            issuers.append(
                OidcIssuerConfig(
                    issuer=self.oidc_issuer,
                    audience=(self.oidc_audience,),
                    jwks_uri=self.oidc_jwks_uri,
                    name=c.LOCAL_OIDC_ISSUER_NAME,
                )
            )
        return IdentityRuntime(
            issuers=tuple(issuers),
            leeway_seconds=config.identity.leeway_seconds,
            jwks_cache_seconds=config.identity.jwks_cache_seconds,
            jwks_refresh_cooldown_seconds=config.identity.jwks_refresh_cooldown_seconds,
        )


class LocalStack:
    def __init__(self, settings: LocalSettings, config: WardenConfig):
        self.settings = settings
        provider = Provider.ANTHROPIC if settings.anthropic_api_key else Provider.STANDIN
        self.config = config.model_copy(update={"provider": provider})
        self._moto: Any = None
        self._api_server: Any = None
        self._consumers: list[QueueConsumer] = []
        self.resources: LocalResources | None = None

    @property
    def api_url(self) -> str:
        return f"http://{HOST}:{self.settings.port}"

    @property
    def aws_url(self) -> str:
        return f"http://{HOST}:{self.settings.aws_port}"

    def start(self) -> None:
        # Everything in this process talks to moto, never to a real account.
        os.environ.update(
            {
                "AWS_ACCESS_KEY_ID": "warden-local",
                "AWS_SECRET_ACCESS_KEY": "warden-local",
                "AWS_SESSION_TOKEN": "warden-local",
                "AWS_DEFAULT_REGION": c.LOCAL_REGION,
                "AWS_REGION": c.LOCAL_REGION,
                c.ENV_AWS_ENDPOINT_URL: self.aws_url,
            }
        )
        logging.getLogger("werkzeug").setLevel(logging.ERROR)
        os.environ.pop("AWS_PROFILE", None)
        self._moto = start_moto_server(HOST, self.settings.aws_port)
        resources = provision(self.aws_url, anthropic_api_key=self.settings.anthropic_api_key)
        self.resources = resources
        create_tenant(resources, c.LOCAL_DEMO_TENANT_ID, self.settings.api_key, name="Demo tenant")

        cache_seconds = self.settings.authorizer_cache_seconds
        env = function_environment(
            resources,
            self.config.runtime().model_dump_json(),
            self.config.authorizer_cache_seconds if cache_seconds is None else cache_seconds,
            self.settings.identity(self.config).model_dump_json(),
        )
        if self.settings.anthropic_base_url:
            env[c.ENV_ANTHROPIC_BASE_URL] = self.settings.anthropic_base_url
        env["LOG_LEVEL"] = os.environ.get("LOG_LEVEL", "WARNING")
        # No CloudWatch here: the metrics' EMF lines would only clutter the console (set it to false to see them).
        env["POWERTOOLS_METRICS_DISABLED"] = os.environ.get("POWERTOOLS_METRICS_DISABLED", "true")
        env.update(self.settings.extra_env)
        os.environ.update(env)

        # Imported only now: the handlers read their settings from the environment set above.
        gateway = importlib.import_module("gateway.handler")
        authorizer = importlib.import_module("authorizer.handler")
        review = importlib.import_module("review.handler")
        audit_drain = importlib.import_module("audit_drain.handler")
        reviewer = importlib.import_module("reviewer.handler")

        api = LocalApiGateway(
            authorizer.lambda_handler,
            gateway.lambda_handler,
            reviewer=reviewer.lambda_handler,
            reviewer_key=self.settings.reviewer_key,
        )
        self._api_server = serve(api, HOST, self.settings.port)
        self._consumers = [
            QueueConsumer(
                resources.review_queue_url, review.lambda_handler, "warden-review", self.aws_url, c.LOCAL_REGION
            ),
            QueueConsumer(
                resources.audit_fallback_queue_url,
                audit_drain.lambda_handler,
                "warden-audit-drain",
                self.aws_url,
                c.LOCAL_REGION,
            ),
        ]
        for consumer in self._consumers:
            consumer.start()

    def stop(self, timeout: float = 5.0) -> None:
        """Stop everything, each part within `timeout` seconds; leftover threads are daemons and die with us."""
        for consumer in self._consumers:
            consumer.request_stop()
        if self._api_server is not None:
            self._api_server.shutdown()
            self._api_server.server_close()
        for consumer in self._consumers:
            consumer.stop(timeout)
        if self._moto is not None:
            # moto's stop() joins its server thread without a timeout; never let it hold the exit.
            stopper = threading.Thread(target=self._moto.stop, name="moto-stop", daemon=True)
            stopper.start()
            stopper.join(timeout)

    def banner(self) -> str:
        resources = self.resources
        assert resources is not None
        model = (
            f"the real Anthropic API ({self.settings.anthropic_base_url or 'https://api.anthropic.com'})"
            if self.config.provider is Provider.ANTHROPIC
            else "the OFFLINE STAND-IN model (not Claude; set ANTHROPIC_API_KEY to use Claude) - fast tier only"
        )
        issuers = ", ".join(issuer.label for issuer in self.settings.identity(self.config).issuers)
        lines = [
            "Warden local stack is running.",
            f"  API (Anthropic Messages):  {self.api_url}   tenant key: {c.ENV_LOCAL_API_KEY}"
            + (" (default)" if self.settings.api_key == c.DEFAULT_LOCAL_API_KEY else ""),
            f"  AWS (moto server):         {self.aws_url}   region {resources.region}, any credentials",
            f"  Claude:                    {model}",
            f"  Audit bucket:              {resources.audit_bucket}",
            f"  Tables:                    {resources.tenants_table}, {resources.users_table}, "
            f"{resources.cases_table}, {resources.idempotency_table}",
            f"  Review queue (+DLQ):       {resources.review_queue_url}",
            f"  End-user token issuers:    {issuers or 'none'} (JWT tenants; {c.ENV_LOCAL_OIDC_ISSUER} adds one)",
            f"  Audit fallback queue:      {resources.audit_fallback_queue_url}",
            "  Review consumer:           running (SQS → review handler → review cases)",
            f"  Reviewer console:          {self.api_url}/review/console   reviewer key: {c.ENV_LOCAL_REVIEWER_KEY}"
            + (" (default)" if self.settings.reviewer_key == c.DEFAULT_LOCAL_REVIEWER_KEY else ""),
            "",
            "Try it:",
            f"  python -c \"import anthropic; c = anthropic.Anthropic(base_url='{self.api_url}', "
            f"api_key='{c.DEFAULT_LOCAL_API_KEY}'); print(c.messages.create(model='claude-haiku-4-5', "
            "max_tokens=200, metadata={'user_id': 'alice'}, messages=[{'role': 'user', 'content': 'Hello'}]))\"",
            "  Tenants:                   warden tenants create NAME --local   (list, rotate-key, disable)",
            "",
            "Ctrl-C stops everything.",
        ]
        return "\n".join(lines)


STOP_DEADLINE_SECONDS = 40


def run(out: TextIO = sys.stdout) -> int:
    stack = LocalStack(LocalSettings.from_environment(), load_config(find_cdk_json()))
    stopped = threading.Event()

    def _stop(signum: int, _frame: Any) -> None:
        stopped.set()

    signal.signal(signal.SIGINT, _stop)
    signal.signal(signal.SIGTERM, _stop)
    try:
        stack.start()
        out.write(stack.banner() + "\n")
        out.flush()
        # Wake up now and then rather than block on one wait: the signal handler runs between bytecodes of the
        # main thread, so a short timeout bounds how long Ctrl-C can go unnoticed.
        while not stopped.wait(0.5):
            pass
    finally:
        out.write("Stopping the Warden local stack...\n")
        out.flush()
        # Stopping is bounded part by part; should it still hang, print where every thread is and exit.
        faulthandler.dump_traceback_later(STOP_DEADLINE_SECONDS, exit=True)
        stack.stop()
        faulthandler.cancel_dump_traceback_later()
        out.write("Stopped.\n")
        out.flush()
    # Everything this process started is stopped above; a library thread left behind (an idle worker, a
    # connection pool) must not keep the process alive after Ctrl-C.
    os._exit(0)
