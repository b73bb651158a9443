"""What every Warden Cognito pool shares."""

from __future__ import annotations

from aws_cdk import Duration
from aws_cdk import aws_cognito as cognito


def strong_password_policy(min_length: int) -> cognito.PasswordPolicy:
    """Every character class, and temporary (admin-set) passwords that lapse after three days."""
    return cognito.PasswordPolicy(
        min_length=min_length,
        require_lowercase=True,
        require_uppercase=True,
        require_digits=True,
        require_symbols=True,
        temp_password_validity=Duration.days(3),
    )
