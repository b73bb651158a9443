"""CDK template assertions and cdk-nag checks on the synthesised Warden stack."""

import os

# jsii's Node process warns about the Node version on start-up; set before anything imports aws_cdk.
os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")
