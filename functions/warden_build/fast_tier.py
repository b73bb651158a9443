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
import hashlib
import json
import math
import random
import sys
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from warden.domain.fast_tier import (
    FEATURE_VERSION,
    MIN_CONFIDENT,
    MODEL_RESOURCE,
    FastTierModel,
    features,
    function_word_pair,
    is_pair,
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
SHAPE_FEATURES = frozenset({"#symbols3", "#symbols10", "#long"})
# Files of `examples/` that are not labelled prompts, and the benign files of sensitive-topic look-alikes.
NOT_EXAMPLES = frozenset({"jailbreak_wrappers"})
LOOKALIKE_FILES = frozenset(
    {
        "benign_lookalikes",
        "benign_lookalikes_2",
        "benign_lookalikes_3",
        "benign_lookalikes_4",
        "benign_lookalikes_5",
        "benign_sensitive",
    }
)


@dataclass(frozen=True)
class Example:
    text: str
    violating: bool
    category: Category | None
    group: str  # what a held-out fold leaves out
    # A benign text on a sensitive topic (a look-alike of a violation): calibrated against separately.
    lookalike: bool = False
    # Generated from slots rather than written: trained on, but not representative enough to calibrate with.
    templated: bool = False

    @property
    def jailbreak(self) -> bool:
        return self.category is Category.PLATFORM_ABUSE


@dataclass(frozen=True)
class Hyper:
    epochs: int = 25
    rate: float = 0.5
    # Strong: the examples are few for the vocabulary, and weak regularisation let idiosyncratic words (a place,
    # a verb like "write") carry most of a score; held-out recall was better at 0.01-0.1.
    l2: float = 0.03
    # Shrinks every weight after each epoch (the SGD step's l2 touches only the features present).
    decay: float = 0.0
    # Every word and pair seen at least once: one-off features soak up what is idiosyncratic about a training
    # row, leaving the shared words to carry what generalises (recall on the probe set at a fixed 2% false-positive
    # rate on its benign rows rose from 0.79 to 0.86 going from 3 to 1).
    min_count: int = 1
    # The jailbreak head generalises from wrapper phrasing shared across attacks, not from one-off words.
    jailbreak_min_count: int = 3
    # The category heads only rank categories once the harm head has fired: shared words suffice, and keep the
    # model small (one-off words there more than doubled its size for no measured gain).
    category_min_count: int = 3
    # Weights smaller than this are dropped from the model: a quarter of the harm head's features, with no change
    # on the probe set or Alpaca, and a smaller table is a faster one to read.
    prune: float = 0.05
    # Real traffic is overwhelmingly benign: a false positive costs more than a miss the moderator can still catch.
    # (3.0 until the one-off words were kept: with them, 1.5 gave a better recall / false-positive trade-off on the
    # project's probe set.)
    benign_weight: float = 1.5
    # Calibration: each head's bias is moved so that, out of fold, at most this share of the project's ordinary
    # prompts and of its benign look-alikes reach the 0.5 threshold. The targets Warden is held to are 0.5% of
    # ordinary traffic and 10% of topic-matched benign requests; the ordinary one is calibrated to 0.4%, a
    # margin for the project's ordinary examples not being real traffic (on unseen ordinary prompts the rate has
    # come out up to 1.5 times the out-of-fold one).
    folds: int = 4
    ordinary_fp_target: float = 0.004
    lookalike_fp_target: float = 0.10
    # The fast tier blocks alone (skipping the moderator) only from the score that at most this share of
    # ordinary prompts reach out of fold, and never below 0.9: such a block costs the user a strike.
    confident_fp_target: float = 0.001
    # ... and that at most this share of long benign texts reach: texts of 1,000 to 4,000 characters made by
    # running the benign examples of a fold (ordinary and look-alike) together, scored out of fold. Scored in
    # windows, a window that holds several scary-looking but benign requests sums their evidence: at the 0.9
    # floor such texts were blocked alone about a quarter of the time. Skipping the moderator saves a call only
    # on the rare harmful prompt, so the bar can be high.
    long_confident_fp_target: float = 0.01
    long_texts_per_fold: int = 150


def _read_jsonl(path: Path) -> list[dict[str, object]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def _example(row: dict[str, object], group: str, lookalike: bool = False) -> Example:
    category = row.get("category")
    violating = row["label"] == "violating"
    return Example(
        text=str(row["text"]),
        violating=violating,
        category=Category(str(category)) if category else None,
        group=group,
        lookalike=lookalike and not violating,
    )


def _artifact_group(row_id: str) -> str:
    # jbb-artifacts-jbb-artifacts/attack-artifacts/<METHOD>/...: one fold per jailbreak method.
    parts = row_id.split("/")
    return f"jbb_artifacts:{parts[2]}" if len(parts) > 2 else "jbb_artifacts"


def project_examples(examples_dir: Path = EXAMPLES) -> list[Example]:
    """The project's own examples, with jailbreak wrappers applied to a fixed subset of its harmful requests."""
    rows: list[Example] = []
    for path in sorted(examples_dir.glob("*.jsonl")):
        if path.stem in NOT_EXAMPLES:
            continue
        lookalike = path.stem in LOOKALIKE_FILES
        rows.extend(_example(row, "project", lookalike) for row in _read_jsonl(path))
    harmful = [row for row in rows if row.violating and row.category is not Category.PLATFORM_ABUSE]
    wrappers = _read_jsonl(examples_dir / "jailbreak_wrappers.jsonl")
    # Every harmful request is wrapped once, the wrappers taking turns.
    for index, wrapper in enumerate(wrappers):
        for request in harmful[index :: len(wrappers)]:
            text = str(wrapper["text"]).replace("{request}", request.text)
            rows.append(Example(text, violating=True, category=Category.PLATFORM_ABUSE, group="project"))
    slots = json.loads((examples_dir / "benign_slots.json").read_text(encoding="utf-8"))
    combos = [f"{v} {f} {t}" for v in slots["verbs"] for f in slots["forms"] for t in slots["topics"]]
    for text in random.Random(SEED).sample(combos, min(TEMPLATED_BENIGN, len(combos))):
        rows.append(Example(text, violating=False, category=None, group="project", templated=True))
    return rows


def dev_examples(eval_dir: Path) -> list[Example]:
    rows: list[Example] = []
    for source in TRAINING_SOURCES:
        for row in _read_jsonl(eval_dir / f"{source}.jsonl"):
            group = _artifact_group(str(row["id"])) if source == "jbb_artifacts" else source
            # The benign half of jbb_behaviors is topic-matched to the harmful half: look-alikes.
            rows.append(_example(row, group, lookalike=source == "jbb_behaviors"))
    return rows


def _train_head(
    samples: Sequence[tuple[tuple[str, ...], bool]], hyper: Hyper, seed: int, min_count: int
) -> tuple[float, dict[str, float]]:
    """Class-balanced logistic regression by SGD over the features seen at least `min_count` times; features are
    sorted so float sums are order-stable."""
    counts = Counter(feature for found, _ in samples for feature in found)
    vocabulary = sorted(feature for feature, count in counts.items() if count >= min_count)
    index = {feature: position for position, feature in enumerate(vocabulary)}
    prepared = [(tuple(index[f] for f in found if f in index), label) for found, label in samples]
    positives = sum(1 for _, label in prepared if label) or 1
    negatives = (len(prepared) - positives) or 1
    class_weight = {True: len(prepared) / (2 * positives), False: hyper.benign_weight * len(prepared) / (2 * negatives)}
    vector = [0.0] * len(vocabulary)
    read = vector.__getitem__
    bias = 0.0
    order = list(range(len(prepared)))
    shuffler = random.Random(seed)
    for epoch in range(hyper.epochs):
        shuffler.shuffle(order)
        rate = hyper.rate / (1 + epoch) ** 0.5
        # w -= rate * (gradient + l2 * w), for the features present only.
        shrink = 1.0 - rate * hyper.l2
        for position in order:
            found, label = prepared[position]
            gradient = (sigmoid(bias + sum(map(read, found))) - (1.0 if label else 0.0)) * class_weight[label]
            bias -= rate * gradient
            step = rate * gradient
            for feature in found:
                vector[feature] = vector[feature] * shrink - step
        if hyper.decay:
            keep = 1.0 - hyper.decay
            vector = [weight * keep for weight in vector]
            read = vector.__getitem__
    weights = dict(zip(vocabulary, vector, strict=True))
    kept = {feature: round(weight, 4) for feature, weight in weights.items() if abs(weight) >= hyper.prune}
    return round(bias, 4), dict(sorted(kept.items()))


def _head(bias: float, weights: dict[str, float]) -> dict[str, object]:
    return {"bias": bias, "weights": weights}


def train(examples: Iterable[Example], hyper: Hyper = Hyper(), with_categories: bool = True) -> dict[str, object]:
    """The model as a JSON-ready dict. Calibration reads only the harm and jailbreak heads, so it trains without
    the category heads (`with_categories=False`)."""
    rows = [(tuple(sorted(f for f in features(normalise(e.text)) if not function_word_pair(f))), e) for e in examples]
    # The shape of a text (symbol runs, length) is evidence of a wrapper, not of what is asked: only the jailbreak
    # head weighs it. Otherwise the benign code and markup in the examples teach the harm head that an adversarial
    # suffix makes a request safer.
    direct = [(tuple(f for f in found if f not in SHAPE_FEATURES), e) for found, e in rows if not e.jailbreak]
    harm = _train_head([(found, e.violating) for found, e in direct], hyper, SEED, hyper.min_count)
    jailbreak = _train_head([(found, e.jailbreak) for found, e in rows], hyper, SEED + 1, hyper.jailbreak_min_count)
    # The category heads weigh words and markers only, not pairs: the fast tier reads them for that set alone.
    labelled = [
        (tuple(f for f in found if not is_pair(f)), e.category)
        for found, e in direct
        if e.violating and e.category is not None
    ]
    categories: dict[str, object] = {}
    harmful_categories = [c for c in Category if c is not Category.PLATFORM_ABUSE] if with_categories else []
    for offset, category in enumerate(harmful_categories):
        samples = [(found, label is category) for found, label in labelled]
        categories[category.value] = _head(*_train_head(samples, hyper, SEED + 2 + offset, hyper.category_min_count))
    return {
        "feature_version": FEATURE_VERSION,
        "seed": SEED,
        "heads": {"harm": _head(*harm), "jailbreak": _head(*jailbreak), "categories": categories},
    }


def _fold(text: str, folds: int) -> int:
    return int.from_bytes(hashlib.sha256(text.encode("utf-8")).digest()[:8], "big") % folds


def _threshold_logit(logits: Sequence[float], share: float) -> float:
    """The smallest logit that at most `share` of `logits` reach (+inf when there are none)."""
    if not logits:
        return float("-inf")
    ordered = sorted(logits, reverse=True)
    allowed = int(share * len(ordered))
    # Just above the first logit that must stay under the threshold.
    return ordered[allowed] + 1e-6 if allowed < len(ordered) else float("-inf")


def run_together(texts: Sequence[str], chars: int, shuffler: random.Random) -> str:
    """Texts drawn at random and joined by blank lines until the result has at least `chars` characters."""
    text = ""
    while len(text) < chars:
        text += shuffler.choice(texts) + "\n\n"
    return text.strip()


def long_benign_texts(texts: Sequence[str], count: int, seed: int) -> list[str]:
    """`count` texts of 1,000 to 4,000 characters, each benign texts run together (seeded: the same every build)."""
    shuffler = random.Random(seed)
    return [run_together(texts, shuffler.randint(1_000, 4_000), shuffler) for _ in range(count)]


def calibration_shifts(examples: Sequence[Example], hyper: Hyper = Hyper()) -> dict[str, float]:
    """Per head, the bias shift that brings the out-of-fold false-positive rates down to the targets, and the
    score from which the fast tier is confident enough to act alone (`confident`).

    Each fold trains on the others and scores the texts it left out, so the shift reflects texts the model has
    not seen. A shift only ever lowers a head (it never trades false positives for recall). The confident score
    is also kept above long texts made of each fold's left-out benign examples (`long_benign_texts`).
    """
    benign: dict[str, dict[bool, list[float]]] = {"harm": {False: [], True: []}, "jailbreak": {False: [], True: []}}
    long: dict[str, list[float]] = {"harm": [], "jailbreak": []}
    for fold in range(hyper.folds):
        kept = [e for e in examples if _fold(e.text, hyper.folds) != fold]
        model = FastTierModel.from_dict(train(kept, hyper, with_categories=False))
        left_out = [e for e in examples if not e.violating and not e.templated and _fold(e.text, hyper.folds) == fold]
        for example in left_out:
            # As the fast tier scores it: a long text in windows.
            harm, jailbreak, _ = model.logits(normalise(example.text))
            benign["harm"][example.lookalike].append(harm)
            benign["jailbreak"][example.lookalike].append(jailbreak)
        for text in long_benign_texts([e.text for e in left_out], hyper.long_texts_per_fold, seed=fold):
            harm, jailbreak, _ = model.logits(normalise(text))
            long["harm"].append(harm)
            long["jailbreak"].append(jailbreak)
    shifts: dict[str, float] = {}
    confident = MIN_CONFIDENT
    for head, logits in benign.items():
        threshold = max(
            _threshold_logit(logits[False], hyper.ordinary_fp_target),
            _threshold_logit(logits[True], hyper.lookalike_fp_target),
        )
        shifts[head] = round(min(0.0, -threshold), 4)
        confident_logit = shifts[head] + max(
            _threshold_logit(logits[False], hyper.confident_fp_target),
            _threshold_logit(long[head], hyper.long_confident_fp_target),
        )
        confident = max(confident, sigmoid(confident_logit))
    shifts["confident"] = min(math.ceil(confident * 1000) / 1000, 0.999)
    return shifts


def calibrated(model: dict[str, object], shifts: dict[str, float]) -> dict[str, object]:
    heads = model["heads"]
    assert isinstance(heads, dict)
    for head in ("harm", "jailbreak"):
        heads[head]["bias"] = round(heads[head]["bias"] + shifts[head], 4)
    return {**model, "calibration": shifts, "confident": shifts["confident"]}


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
        kept = [e for e in examples if e.group != group]
        model = FastTierModel.from_dict(calibrated(train(kept, hyper), calibration_shifts(kept, hyper)))
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
    shifts = calibration_shifts(examples)
    payload = serialise(calibrated(train(examples), shifts))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_bytes(payload)
    sys.stdout.write(
        f"wrote {args.out} ({len(payload):,} bytes) from {len(examples)} examples; calibration shifts {shifts}\n"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
