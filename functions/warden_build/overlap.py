"""Near-duplicate check between two sets of JSON Lines prompt files (build/test tool, not bundled).

Texts are normalised (lower case, every run of non-alphanumerics becomes one space) and split into tokens. A pair
is an overlap when the token-set Jaccard similarity is at least `JACCARD` or when the two texts share any run of
`SHINGLE` consecutive tokens. Candidates come from inverted indexes, never from all pairs: an index of shingles,
and a prefix-filter index of each against-row's rarest tokens (two sets with Jaccard >= t must share one of the
first `n - ceil(t * n) + 1` tokens of each, tokens ordered by rarity), so ~15k x ~9k rows take a second or two.

    PYTHONPATH=functions python -m warden_build.overlap evaluation/probe/*.jsonl --against ../shared/eval/dev/*.jsonl

Only the checked side's text is ever printed: the `--against` side may be a licensed evaluation set, so it is
named by file:line only. Exit status 1 when any overlap is found.
"""

from __future__ import annotations

import argparse
import json
import math
import re
import sys
from collections import Counter, defaultdict
from collections.abc import Sequence
from pathlib import Path
from typing import TextIO

JACCARD = 0.6
SHINGLE = 8

_NON_ALNUM = re.compile(r"[\W_]+")


def tokens(text: str) -> list[str]:
    """Lower case, collapse non-alphanumerics to spaces, split."""
    return _NON_ALNUM.sub(" ", text.lower()).split()


def shingles(words: Sequence[str], size: int = SHINGLE) -> set[tuple[str, ...]]:
    return {tuple(words[i : i + size]) for i in range(len(words) - size + 1)}


def jaccard(a: set[str], b: set[str]) -> float:
    if not a or not b:
        return 0.0
    shared = len(a & b)
    return shared / (len(a) + len(b) - shared)


def _prefix_length(size: int, threshold: float) -> int:
    return size - math.ceil(threshold * size - 1e-9) + 1


def overlaps(
    checked_rows: Sequence[str],
    against_rows: Sequence[str],
    threshold: float = JACCARD,
    shingle_size: int = SHINGLE,
) -> list[tuple[int, int, float]]:
    """Every (checked index, against index, Jaccard) pair that is a near-duplicate, sorted by index."""
    checked_tokens = [tokens(text) for text in checked_rows]
    against_tokens = [tokens(text) for text in against_rows]
    checked_sets = [set(words) for words in checked_tokens]
    against_sets = [set(words) for words in against_tokens]

    # Global token order: rarest first (ties by the token itself), over both sides, for the prefix filter.
    frequency: Counter[str] = Counter()
    for token_set in (*checked_sets, *against_sets):
        frequency.update(token_set)

    def ordered(token_set: set[str]) -> list[str]:
        return sorted(token_set, key=lambda token: (frequency[token], token))

    prefix_index: dict[str, list[int]] = defaultdict(list)
    shingle_index: dict[tuple[str, ...], list[int]] = defaultdict(list)
    for j, (words, token_set) in enumerate(zip(against_tokens, against_sets, strict=True)):
        for token in ordered(token_set)[: _prefix_length(len(token_set), threshold)]:
            prefix_index[token].append(j)
        for shingle in shingles(words, shingle_size):
            shingle_index[shingle].append(j)

    found: list[tuple[int, int, float]] = []
    for i, (words, token_set) in enumerate(zip(checked_tokens, checked_sets, strict=True)):
        if not token_set:
            continue
        candidates: set[int] = set()
        for token in ordered(token_set)[: _prefix_length(len(token_set), threshold)]:
            candidates.update(prefix_index.get(token, ()))
        by_shingle: set[int] = set()
        for shingle in shingles(words, shingle_size):
            by_shingle.update(shingle_index.get(shingle, ()))
        # Size filter: Jaccard >= t needs t * |A| <= |B| <= |A| / t.
        low, high = threshold * len(token_set) - 1e-9, len(token_set) / threshold + 1e-9
        candidates = {j for j in candidates if low <= len(against_sets[j]) <= high}
        for j in sorted(candidates | by_shingle):
            score = jaccard(token_set, against_sets[j])
            if score >= threshold or j in by_shingle:
                found.append((i, j, score))
    return found


def read_rows(paths: Sequence[Path]) -> list[tuple[str, str]]:
    """(file:line, text) for every non-empty JSON line of the files."""
    rows: list[tuple[str, str]] = []
    for path in paths:
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
            if line.strip():
                rows.append((f"{path}:{number}", str(json.loads(line)["text"])))
    return rows


def report(checked: Sequence[tuple[str, str]], against: Sequence[tuple[str, str]], out: TextIO) -> int:
    """Print each overlap (checked row's text only) and return how many were found."""
    pairs = overlaps([text for _, text in checked], [text for _, text in against])
    for i, j, score in pairs:
        where, text = checked[i]
        out.write(f"{where}  ~  {against[j][0]}  jaccard={score:.2f}\n    {text!r}\n")
    return len(pairs)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m warden_build.overlap", description="near-duplicates between JSON Lines prompt files"
    )
    parser.add_argument("files", nargs="+", type=Path, help="rows to check (their text is printed)")
    parser.add_argument("--against", nargs="+", type=Path, required=True, help="rows to compare with (never printed)")
    args = parser.parse_args(argv)
    checked = read_rows(args.files)
    against = read_rows(args.against)
    found = report(checked, against, sys.stdout)
    print(f"{found} overlapping pair(s): {len(checked)} checked rows against {len(against)} rows", file=sys.stderr)
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main())
