"""Run every benchmark and print the figures (also written to .bench/results.json)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

from benchmarks import (
    cold_import,
    enforcement,
    fast_tier,
    gateway_overhead,
    moderator_tokens,
    report,
    review_visibility,
)


def main() -> int:
    results = {
        "gateway_overhead": gateway_overhead.run(),
        "enforcement": enforcement.run(),
        "cold_import": cold_import.run(),
        "fast_tier": fast_tier.run(),
        "moderator_tokens": moderator_tokens.run(),
        "review_visibility": review_visibility.run(),
        "report": report.run(),
    }
    Path(".bench").mkdir(exist_ok=True)
    Path(".bench/results.json").write_text(json.dumps(results, indent=2))
    sys.stdout.write(json.dumps(results, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
