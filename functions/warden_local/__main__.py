import sys

from warden_local.stack import run

sys.exit(run())
