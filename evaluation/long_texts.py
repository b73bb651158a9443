"""The fast tier on long prompts, made from the probe set: run by `make eval` after the per-file tables.

A real prompt is often a document, a thread or a long context, not one request. This composes the probe's rows into
texts of 1,000 and 4,000 characters (seeded, so every run composes the same texts) and reports:

- false-positive rate on ordinary rows run together, and on ordinary rows mixed with look-alikes;
- recall on each harmful probe row placed in the middle of ordinary rows (a request hidden in padding);

each at the 0.5 threshold (flagged: with no moderator configured, blocked) and at the model's confident score
(blocked by the fast tier alone, without the moderator's verdict).

    .venv/bin/python evaluation/long_texts.py [--samples 300]
"""

from __future__ import annotations

import argparse
import json
import random
import sys
from pathlib import Path

from warden.domain.fast_tier import FastTierScreener
from warden_build.fast_tier import run_together

PROBE = Path(__file__).resolve().parent / "probe"
LENGTHS = (1_000, 4_000)
THRESHOLD = 0.5
SEED = 20261122


def _texts(name: str) -> list[str]:
    lines = (PROBE / f"{name}.jsonl").read_text(encoding="utf-8").splitlines()
    return [str(json.loads(line)["text"]) for line in lines if line.strip()]


def measure(samples: int = 300) -> list[dict[str, object]]:
    screener = FastTierScreener()
    confident = screener.model.confident

    def top(text: str) -> float:
        return max(screener.screen(text).scores.values(), default=0.0)

    def rates(scores: list[float]) -> str:
        flagged = sum(score >= THRESHOLD for score in scores) / len(scores)
        alone = sum(score >= confident for score in scores) / len(scores)
        return f"{flagged:.3f} / {alone:.3f}"

    ordinary, lookalikes, harmful = _texts("ordinary"), _texts("lookalikes"), _texts("harmful")
    shuffler = random.Random(SEED)
    rows: list[dict[str, object]] = []
    for chars in LENGTHS:
        ordinary_scores = [top(run_together(ordinary, chars, shuffler)) for _ in range(samples)]
        mixed_scores = [top(run_together(ordinary + lookalikes, chars, shuffler)) for _ in range(samples)]
        padded_scores = []
        for request in harmful:
            padding = run_together(ordinary, chars - len(request), shuffler)
            middle = len(padding) // 2
            padded_scores.append(top(f"{padding[:middle]}\n\n{request}\n\n{padding[middle:]}"))
        rows.append(
            {
                "chars": chars,
                "ordinary_fp_rate": rates(ordinary_scores),
                "ordinary_and_lookalikes_fp_rate": rates(mixed_scores),
                "harmful_in_padding_recall": rates(padded_scores),
            }
        )
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--samples", type=int, default=300, help="composed texts per length and kind")
    args = parser.parse_args(argv)
    sys.stdout.write("each: at the 0.5 threshold / at the confident score (blocked by the fast tier alone)\n")
    header = f"{'chars':>6}  {'ordinary FP':>13}  {'ordinary+look-alike FP':>22}  {'harmful in padding recall':>25}"
    sys.stdout.write(header + "\n")
    for row in measure(args.samples):
        sys.stdout.write(
            f"{row['chars']:>6}  {row['ordinary_fp_rate']:>13}  {row['ordinary_and_lookalikes_fp_rate']:>22}  "
            f"{row['harmful_in_padding_recall']:>25}\n"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
