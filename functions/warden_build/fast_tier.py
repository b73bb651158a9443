"""Build the fast tier model (`make fast-tier`): a pure-Python logistic regression, fixed seeds, reproducible.

Inputs are the project's own examples (`examples/`, written in Warden's words) and the MIT-licensed dev sets in
`../shared/eval/dev/` (read in place, never copied): advbench, harmbench_val, jbb_behaviors, jbb_artifacts.
The Alpaca set is never read here: it is for measurement only (`warden eval`).

`--holdout` trains once per held-out source (and per jailbreak method of jbb_artifacts) without it and reports
recall / false-positive rate on what was held out: the estimate for unseen data.
"""

from __future__ import annotations

import argparse
import gzip
import json
import random
import sys
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from warden.domain.fast_tier import (
    FEATURE_VERSION,
    MODEL_RESOURCE,
    FastTierModel,
    features,
    normalise,
    sigmoid,
)
from warden.taxonomy import Category

# The project's own examples ship with the `warden` package: the Claude moderator's policy prompt uses them too.
EXAMPLES = Path(__file__).resolve().parents[1] / "warden" / "data" / "examples"
DEFAULT_OUTPUT = Path(__file__).parents[1] / "warden" / "data" / MODEL_RESOURCE
TRAINING_SOURCES = ("advbench", "harmbench_val", "jbb_behaviors", "jbb_artifacts")
SEED = 20260101
TEMPLATED_BENIGN = 3000
WRAP_EVERY = 3


@dataclass(frozen=True)
class Example:
    text: str
    violating: bool
    category: Category | None
    group: str  # what a held-out fold leaves out

    @property
    def jailbreak(self) -> bool:
        return self.category is Category.PLATFORM_ABUSE


@dataclass(frozen=True)
class Hyper:
    epochs: int = 25
    rate: float = 0.5
    l2: float = 1e-4
    min_count: int = 3
    # Real traffic is overwhelmingly benign: a false positive costs more than a miss the moderator can still catch.
    benign_weight: float = 3.0


def _read_jsonl(path: Path) -> list[dict[str, object]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def _example(row: dict[str, object], group: str) -> Example:
    category = row.get("category")
    return Example(
        text=str(row["text"]),
        violating=row["label"] == "violating",
        category=Category(str(category)) if category else None,
        group=group,
    )


def _artifact_group(row_id: str) -> str:
    # jbb-artifacts-jbb-artifacts/attack-artifacts/<METHOD>/...: one fold per jailbreak method.
    parts = row_id.split("/")
    return f"jbb_artifacts:{parts[2]}" if len(parts) > 2 else "jbb_artifacts"


def project_examples(examples_dir: Path = EXAMPLES) -> list[Example]:
    """The project's own examples, with jailbreak wrappers applied to a fixed subset of its harmful requests."""
    rows: list[Example] = []
    for name in (
        "harmful",
        "injections",
        "benign_lookalikes",
        "benign_ordinary",
        "benign_conversational",
        "benign_tasks",
    ):
        rows.extend(_example(row, "project") for row in _read_jsonl(examples_dir / f"{name}.jsonl"))
    harmful = [row for row in rows if row.violating and row.category is not Category.PLATFORM_ABUSE]
    for index, wrapper in enumerate(_read_jsonl(examples_dir / "jailbreak_wrappers.jsonl")):
        for request in harmful[index % WRAP_EVERY :: WRAP_EVERY]:
            text = str(wrapper["text"]).replace("{request}", request.text)
            rows.append(Example(text, violating=True, category=Category.PLATFORM_ABUSE, group="project"))
    slots = json.loads((examples_dir / "benign_slots.json").read_text(encoding="utf-8"))
    combos = [f"{v} {f} {t}" for v in slots["verbs"] for f in slots["forms"] for t in slots["topics"]]
    for text in random.Random(SEED).sample(combos, min(TEMPLATED_BENIGN, len(combos))):
        rows.append(Example(text, violating=False, category=None, group="project"))
    return rows


def dev_examples(eval_dir: Path) -> list[Example]:
    rows: list[Example] = []
    for source in TRAINING_SOURCES:
        for row in _read_jsonl(eval_dir / f"{source}.jsonl"):
            group = _artifact_group(str(row["id"])) if source == "jbb_artifacts" else source
            rows.append(_example(row, group))
    return rows


def _train_head(
    samples: Sequence[tuple[tuple[str, ...], bool]], hyper: Hyper, seed: int
) -> tuple[float, dict[str, float]]:
    """Class-balanced logistic regression by SGD; features are sorted so float sums are order-stable."""
    counts = Counter(feature for found, _ in samples for feature in found)
    vocabulary = {feature for feature, count in counts.items() if count >= hyper.min_count}
    prepared = [(tuple(f for f in found if f in vocabulary), label) for found, label in samples]
    positives = sum(1 for _, label in prepared if label) or 1
    negatives = (len(prepared) - positives) or 1
    class_weight = {True: len(prepared) / (2 * positives), False: hyper.benign_weight * len(prepared) / (2 * negatives)}
    weights: dict[str, float] = dict.fromkeys(sorted(vocabulary), 0.0)
    bias = 0.0
    order = list(range(len(prepared)))
    shuffler = random.Random(seed)
    for epoch in range(hyper.epochs):
        shuffler.shuffle(order)
        rate = hyper.rate / (1 + epoch) ** 0.5
        for index in order:
            found, label = prepared[index]
            logit = bias + sum(weights[f] for f in found)
            gradient = (sigmoid(logit) - (1.0 if label else 0.0)) * class_weight[label]
            bias -= rate * gradient
            for feature in found:
                weights[feature] -= rate * (gradient + hyper.l2 * weights[feature])
    kept = {feature: round(weight, 4) for feature, weight in weights.items() if abs(weight) >= 0.005}
    return round(bias, 4), dict(sorted(kept.items()))


def _head(bias: float, weights: dict[str, float]) -> dict[str, object]:
    return {"bias": bias, "weights": weights}


def train(examples: Iterable[Example], hyper: Hyper = Hyper()) -> dict[str, object]:
    """The model as a JSON-ready dict."""
    rows = [(tuple(sorted(features(normalise(e.text)))), e) for e in examples]
    direct = [(found, e) for found, e in rows if not e.jailbreak]
    harm = _train_head([(found, e.violating) for found, e in direct], hyper, SEED)
    jailbreak = _train_head([(found, e.jailbreak) for found, e in rows], hyper, SEED + 1)
    labelled = [(found, e.category) for found, e in direct if e.violating and e.category is not None]
    categories: dict[str, object] = {}
    for offset, category in enumerate(c for c in Category if c is not Category.PLATFORM_ABUSE):
        samples = [(found, label is category) for found, label in labelled]
        categories[category.value] = _head(*_train_head(samples, hyper, SEED + 2 + offset))
    return {
        "feature_version": FEATURE_VERSION,
        "seed": SEED,
        "heads": {"harm": _head(*harm), "jailbreak": _head(*jailbreak), "categories": categories},
    }


def serialise(model: dict[str, object]) -> bytes:
    """Deterministic bytes: sorted keys and a zero gzip timestamp."""
    text = json.dumps(model, sort_keys=True, separators=(",", ":"))
    return gzip.compress(text.encode("utf-8"), compresslevel=9, mtime=0)


def _caught(model: FastTierModel, text: str, threshold: float = 0.5) -> bool:
    return any(score >= threshold for score in model.scores(normalise(text)).values())


def holdout_report(examples: Sequence[Example], hyper: Hyper = Hyper()) -> list[dict[str, object]]:
    """Leave one dev source (or jailbreak method) out, train on the rest, measure on what was left out."""
    groups = sorted({e.group for e in examples if e.group != "project"})
    report: list[dict[str, object]] = []
    for group in groups:
        held = [e for e in examples if e.group == group]
        model = FastTierModel.from_dict(train([e for e in examples if e.group != group], hyper))
        violating = [e for e in held if e.violating]
        allowed = [e for e in held if not e.violating]
        report.append(
            {
                "held_out": group,
                "violating": len(violating),
                "recall": round(sum(_caught(model, e.text) for e in violating) / len(violating), 3)
                if violating
                else None,
                "allowed": len(allowed),
                "false_positive_rate": round(sum(_caught(model, e.text) for e in allowed) / len(allowed), 3)
                if allowed
                else None,
            }
        )
    return report


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m warden_build.fast_tier", description=__doc__.splitlines()[0])
    parser.add_argument("--eval-dir", type=Path, default=Path("../shared/eval/dev"))
    parser.add_argument("--out", type=Path, default=DEFAULT_OUTPUT)
    parser.add_argument("--holdout", action="store_true", help="print leave-one-source-out estimates, write nothing")
    args = parser.parse_args(argv)
    examples = project_examples() + dev_examples(args.eval_dir)
    if args.holdout:
        for line in holdout_report(examples):
            sys.stdout.write(json.dumps(line) + "\n")
        return 0
    payload = serialise(train(examples))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_bytes(payload)
    sys.stdout.write(f"wrote {args.out} ({len(payload):,} bytes) from {len(examples)} examples\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
