"""The fast tier's cost: throughput on one core, latency of 4,000-character prompts, and the artifact's size.

The prompts are the project's own example prompts: short ones as written, and long ones made by joining different
examples up to 4,000 characters (varied words, so nothing is served from the tokeniser's cache). A mix of four
short prompts to one long one. Measured in this process's Python and in the Lambda's (3.13), which the targets
are for.
"""

from __future__ import annotations

import json
import random
import resource
import statistics
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

from warden.domain.fast_tier import MODEL_RESOURCE, FastTierScreener

LONG_CHARS = 4_000
RUNS = 1_000
ROUNDS = 7
# About half a millisecond of plain arithmetic (`_fixed_work`).
FIXED_LOOP = 12_000
# Passes of the mix after each round of latencies (`ROUNDS` of them).
PASSES_PER_ROUND = 2
# The per-prompt cost: some 300 long prompts, the examples joined in these orders.
SEEDS = (7, 8, 9, 10)
# The slowest 1% of a round's screens, and how near in time two of them count as one slow spell of the host.
TAIL = 10
NEAR = 10


# The long prompts of the latency figures: requests of every kind (harmful ones among them, so every long prompt
# has its categories read) with code and markup. A costly kind of long prompt, and the one the target is held to.
MIXED = ("benign_everyday_3.jsonl", "benign_tasks.jsonl", "harmful_more.jsonl", "benign_symbols.jsonl")
# Ordinary long prompts, for comparison: everyday requests and conversation only.
ORDINARY = ("benign_everyday.jsonl", "benign_everyday_2.jsonl", "benign_conversational.jsonl")
ORDINARY_ROUNDS = 3


@cache
def _example_texts(names: tuple[str, ...]) -> tuple[str, ...]:
    """The texts of the example files `names`, read once per run."""
    examples = resources.files("warden").joinpath("data", "examples")
    return tuple(
        str(json.loads(line)["text"])
        for name in names
        for line in examples.joinpath(name).read_text(encoding="utf-8").splitlines()
        if line.strip()
    )


def _examples(names: tuple[str, ...], seed: int = 7) -> list[str]:
    """The texts of the example files `names`, shuffled by `seed`."""
    texts = list(_example_texts(names))
    random.Random(seed).shuffle(texts)
    return texts


def _joined(texts: list[str]) -> list[str]:
    """Texts of `LONG_CHARS` characters, each made of different examples joined by blank lines."""
    long: list[str] = []
    current = ""
    for text in texts:
        current += text + "\n\n"
        if len(current) >= LONG_CHARS:
            long.append(current[:LONG_CHARS])
            current = ""
    return long


def _prompts() -> tuple[list[str], list[str]]:
    texts = _examples(MIXED)
    return texts, _joined(texts)


def run() -> dict[str, Any]:
    """The figures in this process's Python, then in the Lambda's (`lambda_python`)."""
    return {**measure(), "lambda_python": measure_in_lambda_python()}


def measure_in_lambda_python() -> dict[str, Any]:
    """The same figures in the Lambda's Python (3.13), from the gateway's bundle as built for this machine by the
    cold-import benchmark: the code and the dependencies it deploys."""
    # (Imported here: the Lambda's Python runs this module from the bundle, which has neither.)
    from benchmarks.cold_import import build_host_bundle
    from infra.bundling import PYTHON_VERSION, find_python

    bundle = build_host_bundle("gateway")
    # The bundle first (its warden and its pinned dependencies), then the project, for this module.
    script = (
        "import json, sys; sys.path[:0] = sys.argv[1:]; from benchmarks.fast_tier import measure; "
        "print(json.dumps(measure()))"
    )
    command = [find_python(), "-I", "-c", script, str(bundle.resolve()), str(Path.cwd())]
    result = subprocess.run(command, capture_output=True, text=True, check=False)  # noqa: S603
    if result.returncode != 0:
        raise RuntimeError(f"the fast tier benchmark failed in the Lambda's Python:\n{result.stderr}")
    return {"python": PYTHON_VERSION, **json.loads(result.stdout)}


def measure() -> dict[str, Any]:
    screener = FastTierScreener()
    short, long = _prompts()
    mix = [text for index, long_text in enumerate(long) for text in (*short[4 * index : 4 * index + 4], long_text)]
    for text in mix[:200]:
        screener.screen(text)
    # The first pass meets most words for the first time (the per-process word caches fill). The steady state of a
    # warm Lambda is the median of 14 passes, `PASSES_PER_ROUND` after each round of the latencies below, so spread
    # over the benchmark: a slow spell of the host (a pass takes about 60 ms) lifts a few at most.
    started = time.perf_counter()
    for text in mix:
        screener.screen(text)
    first_pass = time.perf_counter() - started
    passes: list[float] = []

    def passes_of_mix() -> None:
        for _ in range(PASSES_PER_ROUND):
            started = time.perf_counter()
            for text in mix:
                screener.screen(text)
            passes.append(time.perf_counter() - started)

    # Seven rounds of consecutive screens of the long prompts: the wall-clock tail on this machine. A slow spell of
    # the host lifts a whole round, so each round's p50 and p99 are reported, and the median round's as the figure;
    # `_Round` has what says how much of a round's tail is the host's. After each round, each of some 300 long
    # prompts is screened once, so a prompt's seven screens are a second or so apart: a slow spell of some
    # milliseconds lifts one of them at most. A prompt's median is its own cost (unless the host was slow for most
    # of the benchmark), and its fastest the least the host lets it cost: their p99 over prompts is the code's tail.
    prompts = _per_prompt_texts()
    for text in prompts:
        screener.screen(text)
    times: list[list[float]] = [[] for _ in prompts]

    def between_rounds() -> None:
        _time_each(screener, prompts, times)
        passes_of_mix()

    rounds = _rounds(screener, long, ROUNDS, between_rounds)
    ordinary_texts = _joined(_examples(ORDINARY))[: len(long)]
    for text in ordinary_texts:
        screener.screen(text)  # (their words met once, as the mix's are)
    ordinary = _rounds(screener, ordinary_texts, ORDINARY_ROUNDS)
    medians = sorted(map(statistics.median, times))
    fastest = sorted(map(min, times))
    artifact = resources.files("warden").joinpath("data", MODEL_RESOURCE).read_bytes()
    return {
        "prompts_per_second_mix": round(len(mix) / statistics.median(passes)),
        "prompts_per_second_mix_first_pass": round(len(mix) / first_pass),
        "mix": f"{len(mix)} prompts, 4 short : 1 of 4,000 chars",
        "long_p50_ms": round(statistics.median(one.p50 for one in rounds), 3),
        "long_p99_ms": round(statistics.median(one.p99 for one in rounds), 3),
        "long_rounds_p50_p99_ms": [[round(one.p50, 3), round(one.p99, 3)] for one in rounds],
        "fixed_loop_p99_over_p50_per_round": [round(one.loop_ratio, 2) for one in rounds],
        "slowest_screens_per_round": {
            "near_another": [round(one.near, 2) for one in rounds],
            "cpu_over_wall": [round(one.cpu_over_wall, 3) for one in rounds],
            "page_faults_and_context_switches": [one.interrupted for one in rounds],
        },
        "long_per_prompt_p50_p99_ms": {
            "prompts": len(prompts),
            "median_of_rounds": [round(statistics.median(medians), 3), round(_p99(medians), 3)],
            "fastest_of_rounds": [round(statistics.median(fastest), 3), round(_p99(fastest), 3)],
        },
        "long_ordinary_p50_p99_ms": [
            round(statistics.median(one.p50 for one in ordinary), 3),
            round(statistics.median(one.p99 for one in ordinary), 3),
        ],
        "artifact_bytes": len(artifact),
    }


@dataclass(frozen=True)
class _Round:
    """A round of `RUNS` screens of long prompts in turn.

    `loop_ratio` is the fixed loop's p99 over its p50. The rest are of the slowest `TAIL` screens:
    - `near`: the share that ran within `NEAR` screens of another of them. About 0.17 were they independent of
      time, and 0 were they the dearest prompts; they come in runs when the host has a slow spell.
    - `cpu_over_wall`: their CPU time over their wall time. Under 1 when the process was descheduled.
    - `interrupted`: their page faults and context switches.
    """

    p50: float
    p99: float
    loop_ratio: float
    near: float
    cpu_over_wall: float
    interrupted: int


def _rounds(
    screener: FastTierScreener, texts: list[str], count: int, between: Callable[[], None] | None = None
) -> list[_Round]:
    """`count` rounds of `RUNS` screens of `texts` in turn; `between` runs after each round."""
    rounds: list[_Round] = []
    for _ in range(count):
        latencies: list[float] = []
        cpu: list[float] = []
        interrupted: list[int] = []
        loops: list[float] = []
        for index in range(RUNS):
            text = texts[index % len(texts)]
            before = _interruptions()
            cpu_begun = time.thread_time()
            begun = time.perf_counter()
            screener.screen(text)
            latencies.append((time.perf_counter() - begun) * 1000)
            cpu.append((time.thread_time() - cpu_begun) * 1000)
            interrupted.append(_interruptions() - before)
            begun = time.perf_counter()
            _fixed_work()
            loops.append(time.perf_counter() - begun)
        slowest = sorted(range(RUNS), key=latencies.__getitem__)[-TAIL:]
        near = [any(0 < abs(one - other) <= NEAR for other in slowest) for one in slowest]
        wall = sum(latencies[index] for index in slowest)
        loops.sort()
        rounds.append(
            _Round(
                p50=statistics.median(latencies),
                p99=_p99(sorted(latencies)),
                loop_ratio=_p99(loops) / statistics.median(loops),
                near=sum(near) / TAIL,
                cpu_over_wall=sum(cpu[index] for index in slowest) / wall,
                interrupted=sum(interrupted[index] for index in slowest),
            )
        )
        if between is not None:
            between()
    return rounds


def _interruptions() -> int:
    """This thread's page faults and context switches so far (the process's where there are no per-thread
    figures: Linux has them, macOS not)."""
    usage = resource.getrusage(getattr(resource, "RUSAGE_THREAD", resource.RUSAGE_SELF))
    return usage.ru_minflt + usage.ru_majflt + usage.ru_nvcsw + usage.ru_nivcsw


def _per_prompt_texts() -> list[str]:
    """Some 300 long prompts: the examples joined as `_prompts` joins them, in `SEEDS` orders."""
    return [text for seed in SEEDS for text in _joined(_examples(MIXED, seed))]


def _time_each(screener: FastTierScreener, texts: list[str], times: list[list[float]]) -> None:
    """Screens each text once, adding its time in ms to its list."""
    for text, taken in zip(texts, times, strict=True):
        begun = time.perf_counter()
        screener.screen(text)
        taken.append((time.perf_counter() - begun) * 1000)


def _p99(values: list[float]) -> float:
    return values[int(0.99 * len(values)) - 1]


def _fixed_work() -> int:
    total = 0
    for number in range(FIXED_LOOP):
        total += number
    return total
