"""A deployed Warden stack's CloudFormation outputs (how the command line finds its resources)."""

from __future__ import annotations

from typing import Any

from botocore.exceptions import BotoCoreError, ClientError


class StackNotFoundError(Exception):
    """The stack does not exist (or these credentials cannot see it)."""


def stack_outputs(cloudformation: Any, stack_name: str) -> dict[str, str]:
    try:
        stacks = cloudformation.describe_stacks(StackName=stack_name)["Stacks"]
    except ClientError as error:
        raise StackNotFoundError(f"stack '{stack_name}' not found: {error}") from error
    except BotoCoreError as error:
        raise StackNotFoundError(f"cannot reach CloudFormation for stack '{stack_name}': {error}") from error
    if not stacks:
        raise StackNotFoundError(f"stack '{stack_name}' not found")
    return {output["OutputKey"]: output["OutputValue"] for output in stacks[0].get("Outputs", [])}
