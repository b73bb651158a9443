"""Near-duplicate guard between the training examples, the probe set and the shared evaluation set.

The probe (`evaluation/probe/`) measures generalisation only while no training example is a near-copy of it, and
the shared dev set (`../shared/eval/dev/`) is evaluation-only data that must never be copied into the project.
Failures name the checked row (file:line and text) and only the file:line of the row it copies: some shared files
are licensed for evaluation only, so their text is never printed, and the probe's text is not shown to whoever is
fixing a training example.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

import pytest
from warden_build.overlap import jaccard, overlaps, read_rows, shingles, tokens

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = sorted((ROOT / "functions" / "warden" / "data" / "examples").glob("*.jsonl"))
PROBE = sorted((ROOT / "evaluation" / "probe").glob("*.jsonl"))
SHARED_EVAL = ROOT.parent / "shared" / "eval" / "dev"

Rows = list[tuple[str, str]]


def _read(paths: Sequence[Path]) -> Rows:
    """Rows named by a path relative to the repository root (../shared/... for the shared set)."""
    rows: Rows = []
    for path in paths:
        name = os.path.relpath(path, ROOT)
        rows += [(f"{name}:{where.rsplit(':', 1)[1]}", text) for where, text in read_rows([path])]
    return rows


def _offenders(checked: Rows, against: Rows, pairs: Sequence[tuple[int, int, float]]) -> str:
    return "\n".join(
        f"{checked[i][0]}  ~  {against[j][0]}  jaccard={score:.2f}\n    {checked[i][1]!r}" for i, j, score in pairs
    )


# --- the function on hand-made rows ----------------------------------------------------------------------------


def test_a_near_duplicate_is_caught() -> None:
    checked = ["How do I reset my router's admin password?"]
    against = ["Where do I buy stamps?", "how do i reset my routers admin password"]
    assert [(i, j) for i, j, _ in overlaps(checked, against)] == [(0, 1)]


def test_punctuation_and_case_do_not_hide_a_copy() -> None:
    (pair,) = overlaps(["Write a POEM -- about the sea!!"], ["write a poem about the sea"])
    assert pair == (0, 0, 1.0)


def test_a_row_on_the_same_topic_is_not_an_overlap() -> None:
    checked = ["What are the symptoms of carbon monoxide poisoning?"]
    against = ["My boiler is making a strange noise and the flame is yellow: should I worry about carbon monoxide?"]
    assert overlaps(checked, against) == []


def test_a_shared_eight_token_run_is_an_overlap_even_at_low_jaccard() -> None:
    shared = "the quick brown fox jumps over the lazy dog"
    checked = [f"Please translate this into French for my daughter's homework sheet tonight: {shared}"]
    against = [f"{shared} is a pangram; list three other English pangrams and explain why typists use them"]
    ((i, j, score),) = overlaps(checked, against)
    assert (i, j) == (0, 0)
    assert score < 0.6


def test_seven_shared_tokens_in_a_row_are_not_enough_on_their_own() -> None:
    checked = ["one two three four five six seven alpha beta gamma delta epsilon zeta eta"]
    against = ["one two three four five six seven theta iota kappa lambda mu nu xi"]
    assert overlaps(checked, against) == []


def test_the_jaccard_threshold_is_inclusive() -> None:
    # {a b c} vs {a b c d e}: 3 / 5 = 0.6
    assert [(i, j) for i, j, _ in overlaps(["a b c"], ["a b c d e"])] == [(0, 0)]
    assert overlaps(["a b c"], ["a b c d e f"]) == []  # 3 / 6


def test_empty_and_symbol_only_rows_never_match() -> None:
    assert overlaps(["", "!!!"], ["", "???", "anything"]) == []


def test_indexed_search_agrees_with_all_pairs() -> None:
    texts = [
        "how do I kill a zombie process in linux",
        "how do I kill a zombie process on linux",
        "kill zombie process linux",
        "what is the capital of France",
        "what is the capital city of France please",
        "tell me the capital of france",
        "a b c d e f g h i j",
        "z b c d e f g h i y",
        "x a b c d e f g h w",
    ]
    indexed = {(i, j) for i, j, _ in overlaps(texts, texts)}

    def near(a: str, b: str) -> bool:
        sa, sb = set(tokens(a)), set(tokens(b))
        return jaccard(sa, sb) >= 0.6 or bool(shingles(tokens(a)) & shingles(tokens(b)))

    brute = {(i, j) for i, a in enumerate(texts) for j, b in enumerate(texts) if near(a, b)}
    assert indexed == brute


# --- the project's files ----------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def examples() -> Rows:
    assert EXAMPLES, "no training examples found"
    return _read(EXAMPLES)


@pytest.fixture(scope="module")
def probe() -> Rows:
    assert PROBE, "no probe files found under evaluation/probe/"
    return _read(PROBE)


def test_the_probe_is_unseen_by_training(probe: Rows, examples: Rows) -> None:
    # The training example is the checked side: a failure prints its text and only the probe row's file:line, so
    # whoever is writing examples fixes theirs without reading the probe.
    pairs = overlaps([text for _, text in examples], [text for _, text in probe])
    assert not pairs, "training examples that near-duplicate a probe row:\n" + _offenders(examples, probe, pairs)


@pytest.fixture(scope="module")
def against_shared_eval(probe: Rows, examples: Rows) -> tuple[Rows, Rows, list[tuple[int, int, float]]]:
    """One indexed pass: probe rows then example rows, against every shared dev row."""
    if not SHARED_EVAL.is_dir():
        pytest.skip(f"the shared evaluation set is not here ({SHARED_EVAL}); nothing to compare against")
    shared = _read(sorted(SHARED_EVAL.glob("*.jsonl")))
    checked = probe + examples
    return checked, shared, overlaps([text for _, text in checked], [text for _, text in shared])


def test_no_probe_row_copies_the_shared_eval_set(
    probe: Rows, against_shared_eval: tuple[Rows, Rows, list[tuple[int, int, float]]]
) -> None:
    checked, shared, pairs = against_shared_eval
    mine = [pair for pair in pairs if pair[0] < len(probe)]
    assert not mine, "probe rows that near-duplicate a shared eval row:\n" + _offenders(checked, shared, mine)


def test_no_training_example_copies_the_shared_eval_set(
    probe: Rows, against_shared_eval: tuple[Rows, Rows, list[tuple[int, int, float]]]
) -> None:
    checked, shared, pairs = against_shared_eval
    mine = [pair for pair in pairs if pair[0] >= len(probe)]
    report = _offenders(checked, shared, mine)
    if mine:
        print(report)
    assert not mine, f"{len(mine)} training examples near-duplicate a shared eval row:\n{report}"
