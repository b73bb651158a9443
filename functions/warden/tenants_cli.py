"""`warden tenants create|list|rotate-key|disable`: tenant administration, deployed (`--stack`) or `--local`.

A deployed stack is found from its CloudFormation outputs (tenants table, REST API id and stage); the local
stack's resources have fixed names on the moto server (`WARDEN_AWS_PORT`).
"""

from __future__ import annotations

import argparse
import json
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO

from pydantic import ValidationError

from warden import constants as c
from warden.config import (
    DEFAULT_PROFILE,
    FailMode,
    IdentityMode,
    InvalidConfigurationError,
    PiiKind,
    StrikeLadderConfig,
    UsagePlanConfig,
    WardenConfig,
    parse_config,
)
from warden.domain.tenant_admin import TenantAdmin, TenantAdminError, TenantRecord, TenantSummary
from warden.errors import StorageError
from warden.models import Tenant

DEFAULT_STACK = "Warden"


class TenantCommandError(Exception):
    """A problem the operator can fix (unknown tenant, bad option, stack not found): exit code 2, no traceback."""


@dataclass(frozen=True)
class Target:
    admin: TenantAdmin
    where: str
    issuer_names: tuple[str, ...]


ClientFactory = Callable[[str], Any]


def botocore_clients(
    endpoint_url: str | None, region: str | None, local: bool, max_pool_connections: int = 10
) -> ClientFactory:
    """Clients for the deployed stack (your AWS configuration) or the local stack's moto server."""
    import botocore.session
    from botocore.config import Config

    session = botocore.session.get_session()
    if local:
        session.set_credentials("warden-local", "warden-local")

    def create(service: str) -> Any:
        return session.create_client(
            service,
            endpoint_url=endpoint_url,
            region_name=region,
            config=Config(max_pool_connections=max_pool_connections),
        )

    return create


def load_deployment_config(path: Path) -> WardenConfig | None:
    """The `warden` configuration of a `cdk.json`, or None when there is no such file."""
    if not path.exists():
        return None
    try:
        return parse_config(json.loads(path.read_text(encoding="utf-8"))["context"]["warden"])
    except (InvalidConfigurationError, KeyError, json.JSONDecodeError) as error:
        raise TenantCommandError(f"cannot use {path}: {error}") from error


def _local_target(clients: ClientFactory, config: WardenConfig | None) -> Target:
    from warden.adapters.tenant_store import DynamoTenantStore
    from warden.adapters.usage_plans import ApiGatewayUsagePlans

    apigateway = clients("apigateway")
    try:
        apis = apigateway.get_rest_apis()["items"]
    except Exception as error:
        raise TenantCommandError(f"the local stack is not reachable ({error}); start it with `warden local`") from error
    api_id = next((api["id"] for api in apis if api.get("name") == c.LOCAL_REST_API_NAME), None)
    if api_id is None:
        raise TenantCommandError("no Warden local stack on that port; start it with `warden local`")
    admin = TenantAdmin(
        DynamoTenantStore(c.LOCAL_TENANTS_TABLE, clients("dynamodb")),
        ApiGatewayUsagePlans(apigateway, api_id, c.LOCAL_STAGE_NAME),
    )
    names = (*(config.identity.issuer_names if config else ()), c.LOCAL_OIDC_ISSUER_NAME)
    return Target(admin, "local stack", names)


def _deployed_target(clients: ClientFactory, stack: str, config: WardenConfig | None) -> Target:
    from warden.adapters.stack_outputs import StackNotFoundError, stack_outputs
    from warden.adapters.tenant_store import DynamoTenantStore
    from warden.adapters.usage_plans import ApiGatewayUsagePlans

    try:
        outputs = stack_outputs(clients("cloudformation"), stack)
    except StackNotFoundError as error:
        raise TenantCommandError(str(error)) from error
    needed = (c.OUTPUT_TENANTS_TABLE, c.OUTPUT_REST_API_ID, c.OUTPUT_API_STAGE)
    missing = [name for name in needed if name not in outputs]
    if missing:
        raise TenantCommandError(
            f"stack '{stack}' has no output {', '.join(missing)}: is it a Warden stack of this version?"
        )
    admin = TenantAdmin(
        DynamoTenantStore(outputs[c.OUTPUT_TENANTS_TABLE], clients("dynamodb")),
        ApiGatewayUsagePlans(clients("apigateway"), outputs[c.OUTPUT_REST_API_ID], outputs[c.OUTPUT_API_STAGE]),
    )
    return Target(admin, f"stack {stack}", config.identity.issuer_names if config else ())


def resolve_target(args: argparse.Namespace, config: WardenConfig | None, clients: ClientFactory | None) -> Target:
    if args.local:
        port = int(os.environ.get(c.ENV_LOCAL_AWS_PORT, c.DEFAULT_LOCAL_AWS_PORT))
        factory = clients or botocore_clients(f"http://127.0.0.1:{port}", c.LOCAL_REGION, local=True)
        return _local_target(factory, config)
    factory = clients or botocore_clients(None, args.region, local=False)
    return _deployed_target(factory, args.stack, config)


def _limits_text(limits: UsagePlanConfig | None) -> str:
    if limits is None:
        return "no usage plan"
    quota = f"{limits.quota_per_month}/month" if limits.quota_per_month is not None else "no monthly quota"
    return f"{limits.rate_limit:g} req/s, burst {limits.burst_limit}, {quota}"


def _tenant_json(tenant: Tenant, created_at: str, limits: UsagePlanConfig | None) -> dict[str, Any]:
    shown = tenant.model_dump(mode="json", exclude={"usage_key"}, exclude_none=True)
    return {**shown, "created_at": created_at, "usage_plan": limits.model_dump() if limits else None}


def _tenant_from_args(args: argparse.Namespace, config: WardenConfig | None, issuer_names: tuple[str, ...]) -> Tenant:
    profile = args.profile
    if config is not None:
        try:
            config.screening.require_profile(profile)
        except InvalidConfigurationError as error:
            raise TenantCommandError(str(error)) from error
    trusted = tuple(args.trusted_issuer) or None
    if trusted and args.identity != IdentityMode.JWT.value:
        raise TenantCommandError("--trusted-issuer applies to --identity jwt tenants only")
    unknown = [name for name in trusted or () if name not in issuer_names]
    if unknown and issuer_names:
        raise TenantCommandError(
            f"unknown issuer {', '.join(unknown)}; this deployment trusts: {', '.join(issuer_names)}"
        )
    try:
        ladder = StrikeLadderConfig.model_validate_json(args.strike_ladder) if args.strike_ladder else None
        return Tenant(
            tenant_id=args.tenant_id or _slug(args.name),
            name=args.name,
            profile=profile,
            fail_mode=FailMode(args.fail_mode) if args.fail_mode else None,
            strike_ladder=ladder,
            identity=IdentityMode(args.identity),
            require_policy_acceptance=args.require_policy_acceptance,
            trusted_issuers=trusted,
            redaction=tuple(PiiKind(kind) for kind in args.redact) or None,
        )
    except (ValidationError, ValueError) as error:
        raise TenantCommandError(f"invalid tenant: {error}") from error


def _slug(name: str) -> str:
    slug = "".join(ch if ch.isalnum() or ch in "-_" else "-" for ch in name.strip().lower()).strip("-")
    return slug[:64] or "tenant"


def _limits_from_args(args: argparse.Namespace, config: WardenConfig | None) -> UsagePlanConfig:
    defaults = config.usage_plan if config else UsagePlanConfig()
    try:
        return UsagePlanConfig(
            rate_limit=args.rate if args.rate is not None else defaults.rate_limit,
            burst_limit=args.burst if args.burst is not None else defaults.burst_limit,
            quota_per_month=args.quota_per_month if args.quota_per_month is not None else defaults.quota_per_month,
        )
    except ValidationError as error:
        raise TenantCommandError(f"invalid usage plan: {error}") from error


def _show_key(out: TextIO, args: argparse.Namespace, record: TenantRecord, api_key: str, verb: str) -> None:
    tenant = record.tenant
    if args.json:
        out.write(json.dumps({**_tenant_json(tenant, record.created_at, None), "api_key": api_key}) + "\n")
        return
    out.write(
        f"{verb} tenant {tenant.tenant_id} ({tenant.name}): profile {tenant.profile}, identity {tenant.identity}\n"
        f"API key (shown once; store it now, Warden keeps only its hash):\n{api_key}\n"
    )


def _create(args: argparse.Namespace, target: Target, config: WardenConfig | None, out: TextIO) -> None:
    tenant = _tenant_from_args(args, config, target.issuer_names)
    limits = _limits_from_args(args, config)
    record, api_key = target.admin.create(tenant, limits)
    _show_key(out, args, record, api_key, "Created")
    if not args.json:
        out.write(f"Usage plan: {_limits_text(limits)}\n")


def _list(args: argparse.Namespace, target: Target, out: TextIO) -> None:
    summaries: list[TenantSummary] = target.admin.summaries()
    if args.json:
        out.write(json.dumps([_tenant_json(s.tenant, s.created_at, s.limits) for s in summaries]) + "\n")
        return
    if not summaries:
        out.write(f"No tenants in the {target.where}.\n")
        return
    header = ("TENANT", "NAME", "STATUS", "PROFILE", "IDENTITY", "CREATED", "USAGE PLAN")
    rows = [
        (s.tenant.tenant_id, s.tenant.name, s.tenant.status, s.tenant.profile, s.tenant.identity, s.created_at)
        for s in summaries
    ]
    table = [header, *((*map(str, row), _limits_text(s.limits)) for row, s in zip(rows, summaries, strict=True))]
    widths = [max(len(row[i]) for row in table) for i in range(len(header) - 1)]
    for row in table:
        out.write("  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=False)) + f"  {row[-1]}\n")


def _rotate(args: argparse.Namespace, target: Target, out: TextIO) -> None:
    record, api_key = target.admin.rotate_key(args.tenant_id)
    _show_key(out, args, record, api_key, "Rotated the key of")
    if not args.json:
        out.write("The old key stops working within the authorizer cache TTL (authorizer_cache_seconds).\n")


def _disable(args: argparse.Namespace, target: Target, out: TextIO) -> None:
    tenant = target.admin.disable(args.tenant_id)
    if args.json:
        out.write(json.dumps({"tenant_id": tenant.tenant_id, "status": tenant.status.value}) + "\n")
        return
    out.write(
        f"Disabled tenant {tenant.tenant_id}: its keys stop working within the authorizer cache TTL "
        "(authorizer_cache_seconds); its usage-plan key is disabled.\n"
    )


def run_tenants(args: argparse.Namespace, out: TextIO, clients: ClientFactory | None = None) -> int:
    from botocore.exceptions import BotoCoreError

    config = load_deployment_config(args.config)
    try:
        return _run_tenants(args, config, clients, out)
    except BotoCoreError as error:  # no region or no credentials configured, an endpoint out of reach
        raise TenantCommandError(f"AWS: {error} (pass --region, configure credentials, or use --local)") from error


def _run_tenants(
    args: argparse.Namespace, config: WardenConfig | None, clients: ClientFactory | None, out: TextIO
) -> int:
    target = resolve_target(args, config, clients)
    try:
        if args.tenants_command == "create":
            _create(args, target, config, out)
        elif args.tenants_command == "list":
            _list(args, target, out)
        elif args.tenants_command == "rotate-key":
            _rotate(args, target, out)
        else:
            _disable(args, target, out)
    except TenantAdminError as error:
        raise TenantCommandError(str(error)) from error
    except StorageError as error:
        raise TenantCommandError(f"{target.where}: {error}") from error
    return 0


def add_tenant_commands(tenants: argparse.ArgumentParser, run: Callable[[argparse.Namespace], int]) -> None:
    """The `warden tenants` subcommands; `run` is called with the parsed arguments."""

    def common(command: argparse.ArgumentParser) -> None:
        where = command.add_mutually_exclusive_group()
        where.add_argument("--local", action="store_true", help="the local stack (`warden local`, WARDEN_AWS_PORT)")
        where.add_argument("--stack", default=DEFAULT_STACK, help=f"deployed stack name (default {DEFAULT_STACK})")
        command.add_argument("--region", help="AWS region of the deployed stack (default: your AWS configuration)")
        command.add_argument("--json", action="store_true", help="machine-readable output")
        command.add_argument(
            "--config", type=Path, default=Path("cdk.json"), help="deployment config (profiles, issuers, defaults)"
        )
        command.set_defaults(func=run)

    commands = tenants.add_subparsers(dest="tenants_command", required=True)
    create = commands.add_parser("create", help="register a tenant; its API key is shown once")
    create.add_argument("name")
    create.add_argument("--tenant-id", help="stable id (letters, digits, - and _; default: from the name)")
    create.add_argument("--profile", default=DEFAULT_PROFILE, help="screening profile from cdk.json")
    create.add_argument("--rate", type=float, help="requests per second (usage plan)")
    create.add_argument("--burst", type=int, help="burst (usage plan)")
    create.add_argument("--quota-per-month", type=int, help="requests per month (usage plan)")
    create.add_argument("--fail-mode", choices=[mode.value for mode in FailMode])
    create.add_argument(
        "--identity", choices=[mode.value for mode in IdentityMode], default=IdentityMode.TRUSTED_BACKEND.value
    )
    create.add_argument(
        "--trusted-issuer", action="append", default=[], help="JWT tenants: accept only this issuer (repeatable)"
    )
    create.add_argument("--require-policy-acceptance", action="store_true")
    create.add_argument(
        "--redact",
        action="append",
        default=[],
        choices=[kind.value for kind in PiiKind],
        help="personal data to redact from this tenant's stored records (repeatable; default: the deployment's)",
    )
    create.add_argument("--strike-ladder", help='JSON, e.g. {"warn_at": 1, "suspend_at": 3, "window_days": 30}')
    common(create)
    common(commands.add_parser("list", help="tenants with status, profile, identity and limits (never keys)"))
    rotate = commands.add_parser("rotate-key", help="a new key for the tenant (shown once); the old key stops")
    rotate.add_argument("tenant_id")
    common(rotate)
    disable = commands.add_parser("disable", help="disable the tenant: its keys stop working")
    disable.add_argument("tenant_id")
    common(disable)
