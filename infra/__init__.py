"""The Warden CDK app: one stack composed of one construct per concern (see `infra/constructs/`)."""
