"""Blocked request → its review case listed as open by the reviewer API, on the local stack.

`warden local` runs as a child process (as `make run` starts it, offline: fast tier only); each sample is a new
end user's blocked request sent through the official SDK, then `GET /review/cases?status=open` polled every 20 ms.
The first sample includes the stack's cold start of the gateway and is reported apart.
"""

from __future__ import annotations

import statistics
from typing import Any

SAMPLES = 10


def run() -> dict[str, Any]:
    from tests.e2e.conftest import start_stack, stop_stack
    from tests.support.review_cases import block_and_wait_for_case

    stack = start_stack()
    try:
        cases = [block_and_wait_for_case(stack, f"bench-user-{n}") for n in range(SAMPLES + 1)]
    finally:
        stop_stack(stack)
    cold, warm = cases[0], cases[1:]
    visible = sorted(case.visible_ms for case in warm)
    return {
        "samples": len(warm),
        "cold_visible_ms": round(cold.visible_ms, 1),
        "visible_ms_p50": round(statistics.median(visible), 1),
        "visible_ms_max": round(visible[-1], 1),
        "refused_ms_p50": round(statistics.median(case.refused_ms for case in warm), 1),
        "poll_interval_ms": 20,
    }
