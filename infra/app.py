"""Entry point of the CDK app (`cdk synth`, or `python -m infra.app`): the Warden stack, checked by cdk-nag."""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping
from typing import Any

from aws_cdk import App, Environment, Tags

from infra.config import InvalidConfigurationError, cdk_json_context, load_config
from infra.nag import add_checks
from infra.stack import WardenStack

STACK_NAME = "Warden"
STACK_DESCRIPTION = "Warden: serverless trust-and-safety gateway in front of Claude"


def build_app(context: Mapping[str, Any] | None = None, *, outdir: str | None = None) -> tuple[App, WardenStack]:
    """The app with `cdk.json` context as defaults, overridden by `context` and then by the CDK CLI's `-c`."""
    app = App(context={**cdk_json_context(), **(context or {})}, outdir=outdir)
    config = load_config(app)
    stack = WardenStack(
        app,
        STACK_NAME,
        config=config,
        description=STACK_DESCRIPTION,
        # Set by the CDK CLI from the current credentials; unset (environment-agnostic) offline.
        env=Environment(account=os.environ.get("CDK_DEFAULT_ACCOUNT"), region=os.environ.get("CDK_DEFAULT_REGION")),
    )
    Tags.of(stack).add("project", "warden")
    add_checks(app)
    return app, stack


def main() -> None:
    try:
        app, _ = build_app()
    except InvalidConfigurationError as error:
        sys.exit(str(error))
    app.synth()


if __name__ == "__main__":
    main()
