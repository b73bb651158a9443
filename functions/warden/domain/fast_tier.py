"""The offline fast tier: a small learned linear model, pure Python, no network, under a millisecond.

The text is normalised (lower case, common letter swaps undone), split into words and stemmed, and turned into a
set of features: words and adjacent word pairs, a few shape features (runs of symbols, as in adversarial
suffixes, and length), and markers from Warden's own list of policy terms below: `@harm` and `@harm:<group>`
when the text names something the usage policy is about, `@ask` when it asks for the means (how to, step by
step, where to buy) and their conjunction, and `#minor`. Three heads of logistic weights score it, built by
`make fast-tier` (see `warden_build.fast_tier`, which also calibrates the heads' biases out of fold) and shipped
as `warden/data/fast_tier_model.json.gz`:

- `harm`: is this a direct request for prohibited help? Its score goes to the most likely category.
- `jailbreak`: is this a wrapper that tries to switch safeguards off (prompt injection, role-play
  jailbreaks, adversarial suffixes)? Its score is the `platform_abuse` score.
- `category`: one-vs-rest weights per category over the words and markers (not the pairs); only read when
  `harm` is high enough to matter.

A text of more than 64 words is scored in overlapping windows, each head taking its highest window
(`FastTierModel.logits`).
"""

from __future__ import annotations

import gc
import gzip
import json
import math
import re
import struct
import sys
import time
import unicodedata
from bisect import bisect_left, insort
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from itertools import accumulate, chain, compress, islice, pairwise, repeat
from operator import add, itemgetter
from typing import Any, TypeVar

from warden.models import ScreenerVerdict
from warden.taxonomy import Category

MODEL_RESOURCE = "fast_tier_model.json.gz"
FEATURE_VERSION = 6

_SUBSTITUTIONS = (("0", "o"), ("1", "i"), ("3", "e"), ("4", "a"), ("5", "s"), ("7", "t"), ("@", "a"), ("$", "s"))
_SYMBOLS = "{}[]()<>|\\^~`=*+#_"
# A child's age ("12 year old", "14-year-old", "13yo") after normalisation has turned digits into letters
# (1→i, 3→e, 5→s, 7→t, 0→o; "4" alone becomes "a", too common to count). Found from the unit back: a scan for
# "old"/"yo" is many times faster than trying the number pattern at every word.
# Normalised text has no hyphens (they are spaces), and its whitespace may not be collapsed.
_AGE_UNIT = re.compile(r"(?:years?|yrs?) *old\b|yo\b")
_AGE_NUMBER = re.compile(r"[^a-z0-9_](?:i[oi2eas6t]?|[2es6t89])$")
_MINOR_WORDS = frozenset(
    [
        "child",
        "children",
        "childs",
        "kid",
        "kids",
        "minor",
        "minors",
        "underage",
        "preteen",
        "preteens",
        "teen",
        "teens",
        "teenager",
        "teenagers",
        "toddler",
        "toddlers",
        "schoolgirl",
        "schoolgirls",
        "schoolboy",
        "schoolboys",
        "loli",
        "lolita",
        "shota",
    ]
)
_STOPWORD_TEXT = (
    "a an the and or but if of to in on at by for with from into onto about as is are was were be been being am "
    "do does did done have has had i me my mine we us our you your yours he him his she her it its they them their "
    "this that these those there here what which who whom whose when where why how can could would should will "
    "shall may might must not no so than then too very just also any all some each every other such only own same "
    "up down out over under again further once more most s t"
)
STOPWORDS = frozenset(_STOPWORD_TEXT.split())
# Common request phrasing ("write a...", "create a...") is shared by harmful and ordinary prompts; whether the
# text also names something the policy is about is what tells them apart most often. The model learns how much
# that counts (the `@harm` feature). These terms are Warden's own reading of the usage policy, not taken from
# any evaluation set.
_POLICY_TERMS: dict[str, tuple[str, ...]] = {
    "weapons": (
        "bomb", "explosi", "detonat", "grenade", "firearm", "gun", "rifle", "pistol", "ammunition", "weapon",
        "silencer",
    ),
    "cbrn": (
        "nerve agent", "sarin", "ricin", "anthrax", "toxin", "poison", "pathogen", "bioweapon", "nuclear", "uranium",
        "plutonium",
    ),
    "drugs": ("meth", "cocaine", "heroin", "fentanyl", "opioid", "narcotic", "drug", "mdma", "lsd"),
    "trafficking": ("smuggl", "traffick", "counterfeit", "black market", "dark web", "darknet"),
    "violence": (
        "kill", "murder", "assassin", "massacre", "shoot", "stab", "tortur", "terror", "attack", "violen", "harm",
        "hurt", "injur", "maim", "genocid", "behead", "hostage", "kidnap", "abduct",
    ),
    "hate": (
        "racis", "nazi", "supremac", "slur", "inferior", "hate", "hateful", "discriminat", "xenophob", "antisemit",
        "homophob", "transphob", "sexis", "misogyn", "extremis", "jihad", "propaganda", "radicali", "incite",
    ),
    "cyber": (
        "hack", "exploit", "malware", "ransomware", "virus", "trojan", "keylog", "spyware", "stalkerware", "phish",
        "crack", "brute", "password", "credential", "breach", "ddos", "botnet", "backdoor", "rootkit", "bypass",
    ),
    "privacy": (
        "dox", "stalk", "surveil", "spy", "track", "personal data", "personal information", "social security",
        "identity", "facial recognition", "biometric", "social scor",
    ),
    "fraud": (
        "fraud", "scam", "launder", "embezzl", "forge", "fake", "ponzi", "pyramid scheme", "insider trading", "evade",
        "evasion", "cheat", "plagiar", "bribe", "extort", "blackmail", "spam", "steal", "stole", "theft",
    ),
    "self_harm": ("suicid", "self-harm", "self harm", "anorex", "bulimi", "starv", "purg", "overdos"),
    "harassment": ("bully", "harass", "humiliat", "shame", "shaming", "cruel", "abuse"),
    "sexual": ("sex", "porn", "nude", "naked", "erotic", "explicit", "incest", "rape", "molest"),
    "minors": ("child", "minor", "underage", "teen", "groom", "pedo"),
    "deception": (
        "defam", "libel", "slander", "misinformation", "disinformation", "conspiracy", "hoax", "false", "mislead",
        "impersonat",
    ),
    "elections": ("election", "vote", "voter", "ballot", "rig ", "rigg"),
    "illegal": ("illegal", "illicit", "unlawful", "crime", "criminal"),
    # Wanting not to be found out: the clearest sign of intent the words of a request carry.
    "evasion": (
        "undetect", "untraceable", "without getting caught", "without being caught", "without being detected",
        "without being traced", "without anyone know", "without consent", "without permission", "get away with",
        "avoid detection", "cover my tracks", "leave no trace",
    ),
    "infrastructure": ("infrastructure", "power grid", "water supply", "scada", "sabotag"),
}  # fmt: skip
# Single-word terms match any word they start ("explosi" matches explosive and explosives); a multi-word term
# matches a run of words whose last one it starts ("social scor" matches "social scoring").
_WORD_TERMS = {
    term: sys.intern(f"@harm:{group}")
    for group, terms in _POLICY_TERMS.items()
    for term in terms
    if " " not in term and "-" not in term
}


def _phrase_index() -> dict[str, list[tuple[tuple[str, ...], str]]]:
    """Multi-word terms by their first word: (the words after it, the group)."""
    index: dict[str, list[tuple[tuple[str, ...], str]]] = {}
    for group, terms in _POLICY_TERMS.items():
        for term in terms:
            if " " in term.strip() or "-" in term:
                first, *rest = re.split(r"[ -]", term)
                index.setdefault(first, []).append((tuple(rest), f"@harm:{group}"))
    return index


_PHRASE_TERMS = _phrase_index()
# "rig" as a word, not the start of right or rigorous.
_EXACT_TERMS = {
    term.strip(): f"@harm:{group}" for group, terms in _POLICY_TERMS.items() for term in terms if term.endswith(" ")
}
_LONGEST_TERM = max(map(len, _WORD_TERMS))
# Ordinary words that merely start like a policy term ("method" is not "meth", "forget" is not "forge",
# "stable" is not "stab", "harmony" is not "harm").
_NOT_HARM_ANCHOR = re.compile(r"(?:method|methan|methyl|forget|stabl|stabil|harmon|cracker|crackl|rapeseed|doxycyc)")


def _word_term(word: str) -> str:
    """The policy-term group a word starts with ("" for none): the longest matching term wins."""
    if word in _EXACT_TERMS:
        return _EXACT_TERMS[word]
    if _NOT_HARM_ANCHOR.match(word):
        return ""
    for length in range(min(len(word), _LONGEST_TERM), 1, -1):
        group = _WORD_TERMS.get(word[:length])
        if group is not None:
            return group
    return ""


_CACHE_LIMIT = 200_000


_Column = TypeVar("_Column")


class _Lexicon:
    """What each word met in this process is, one column (a dict by word) per fact: its stem, what it may start or
    be (`_special`: 0 for most words), and for the few that start a policy term, the term's group. A text's words
    are read from each column by one `itemgetter` of them, in C: a third cheaper than a lookup per word through
    `map`, and with one column per fact, no record per word is taken apart. Every value is a string or an integer,
    which the garbage collector does not track. Bounded: cleared when it passes `_CACHE_LIMIT` words."""

    def __init__(self) -> None:
        self.stems: dict[str, str] = {}
        self.special: dict[str, int] = {}
        self.groups: dict[str, str] = {}

    def read(self, words: list[str]) -> tuple[Callable[[dict[str, _Column]], tuple[_Column, ...]], tuple[str, ...]]:
        """A reader of the words' values from any column, and their stems (every word is in the columns after)."""
        get: Callable[[dict[str, _Column]], tuple[_Column, ...]]
        if len(words) > 1:
            get = itemgetter(*words)
        else:
            # (An itemgetter of one key gives the value alone, and of none cannot be made.)
            def get(column: dict[str, _Column]) -> tuple[_Column, ...]:
                return tuple(map(column.__getitem__, words))

        try:
            return get, get(self.stems)
        except KeyError:
            if len(self.stems) > _CACHE_LIMIT:
                self.clear()
            for word in words:
                if word not in self.stems:
                    self._add(word, _stem_word(word))
            return get, get(self.stems)

    def _add(self, word: str, stem: str) -> None:
        # The stem last: a word is in every column once it is in that one.
        group = _word_term(word)
        self.special[word] = _special(word, stem, group)
        if group:
            self.groups[word] = group
        self.stems[word] = stem

    def clear(self) -> None:
        self.stems.clear()
        self.special.clear()
        self.groups.clear()


class _ModelLexicon(_Lexicon):
    """A lexicon that also keeps, by word, the packed weights of its stem as a word (0 for none) and its stem's
    pairs table (`FastTierModel`)."""

    def __init__(self, words: dict[str, int], pairs: dict[str, dict[str, int]]) -> None:
        super().__init__()
        self._words = words
        self._pairs = pairs
        self.weights: dict[str, int] = {}
        # Its values are dicts, so the collector tracks it. It is tracked from the start (a dict is tracked from its
        # first such value, and no word is ""): the model's loading then moves it out of the collector's
        # generations with the model (`load_model`). Begun empty, it would be tracked at its first word, as a new
        # object, and every full collection would walk it.
        self.tables: dict[str, dict[str, int]] = {"": _NO_PAIRS}

    def _add(self, word: str, stem: str) -> None:
        self.weights[word] = self._words.get(stem, 0)
        self.tables[word] = self._pairs.get(stem, _NO_PAIRS)
        super()._add(word, stem)

    def clear(self) -> None:
        self.weights.clear()
        self.tables.clear()
        super().clear()


# Each word met in this process (the features' reading; the model keeps its own, with its weights).
_LEXICON = _Lexicon()


# Long texts are scored in windows of this many words, each starting this many words after the last (so a request
# of up to 8 words always lies whole inside one window, and a longer one mostly), and each head takes its highest
# window. Smaller windows and more overlap did better still on long texts, and cost more: see docs/screening.md.
WINDOW_WORDS = 64
WINDOW_STRIDE = 56

# The lowest score from which the fast tier acts alone; the build may calibrate a higher one (`confident`).
MIN_CONFIDENT = 0.9

# Below this harm score the category weights are not read: the verdict would be under any threshold anyway.
_CATEGORY_FLOOR = 0.05
_SCORE_FLOOR = 0.01


def _byte_table(keep: str) -> bytes:
    """A bytes.translate table: ASCII letters to lower case, the letter swaps undone, the characters of `keep`
    kept, and everything else (punctuation, the '?' that stands for a non-ASCII character) to a space."""
    table = bytearray(b" " * 256)
    for letter in "abcdefghijklmnopqrstuvwxyz'":
        table[ord(letter)] = table[ord(letter.upper())] = ord(letter)
    for swapped, letter in _SUBSTITUTIONS:
        table[ord(swapped)] = ord(letter)
    for char in keep:
        table[ord(char)] = ord(char)
    return bytes(table)


# Normalised text keeps the digits that are not letter swaps (for ages: "12 year old" becomes "i2 year old") and
# the symbols of adversarial suffixes; words are the runs of letters and apostrophes.
_NORMAL = _byte_table("2689" + _SYMBOLS)
_LETTERS = _byte_table("")
_SPACE = ord(" ")
_SYMBOL_BYTES = _SYMBOLS.encode()
_LETTER_CHARS = frozenset("abcdefghijklmnopqrstuvwxyz'")
# Letters (and apostrophes) as "a", symbols as "#", everything else as a space (`_Text._symbol_owners`).
_SYMBOL_MARKS = bytes(
    ord("a") if chr(byte) in _LETTER_CHARS else ord("#") if byte in _SYMBOL_BYTES else _SPACE for byte in range(256)
)


# Per non-ASCII character: whether its compatibility form (NFKC) can change what `normalise` makes of a text.
_NFKC_MATTERS: dict[str, bool] = {}
_ASCII_BYTES = bytes(range(128))


def _nfkc_matters(char: str) -> bool:
    """A combining mark may join the letter before it into one non-ASCII character; otherwise a character's NFKC
    form matters only if it has a letter, digit or symbol in it (full width, mathematical bold, ligatures,
    superscript digits). Every other character ends up a space either way: "é", an em dash, a no-break space, an
    ellipsis ("..." is punctuation). (Every canonical composition with an ASCII letter is with a combining mark.)"""
    if unicodedata.combining(char):
        return True
    return any(ord(part) < 128 and _NORMAL[ord(part)] != _SPACE for part in unicodedata.normalize("NFKC", char))


# Past this many bytes of non-ASCII characters (UTF-8), a text is put in NFKC whole: finding each of them would
# cost more.
_FEW_OTHERS = 256


def _letters_in_nfkc(text: str) -> str:
    """The text with its letters in other forms made plain ones (NFKC), where NFKC changes what the fast tier reads:
    most non-ASCII text is accents, curly quotes and dashes, which end up spaces either way. Only a few distinct
    characters of a text are not ASCII, and each is judged once per process (`_nfkc_matters`)."""
    if len(_NFKC_MATTERS) > _CACHE_LIMIT:
        _NFKC_MATTERS.clear()
    # The non-ASCII characters alone: their UTF-8 bytes are the ones over 127 (the others deleted in C). A lone
    # surrogate (JSON may carry one) passes through as the three bytes it would be.
    others = text.encode("utf-8", "surrogatepass").translate(None, _ASCII_BYTES)
    chars = set(others.decode("utf-8", "surrogatepass"))
    for char in chars:
        matters = _NFKC_MATTERS.get(char)
        if matters is None:
            matters = _NFKC_MATTERS[char] = _nfkc_matters(char)
        if matters:
            break
    else:
        return text
    if len(others) > _FEW_OTHERS:
        return unicodedata.normalize("NFKC", text)
    return _nfkc_runs(text, sorted(index for char in chars for index in _occurrences(text, char)))


def _occurrences(text: str, char: str) -> list[int]:
    found: list[int] = []
    index = text.find(char)
    while index >= 0:
        found.append(index)
        index = text.find(char, index + 1)
    return found


def _nfkc_runs(text: str, others: list[int]) -> str:
    """The text in NFKC, given where its non-ASCII characters are: each run of them normalised with the character
    before it (a combining mark joins the letter it follows). That is the whole text's NFKC: an ASCII character is
    its own NFKC form, and it never composes with the character before it (no canonical composition ends in one),
    so NFKC never reaches across one that is not followed by a combining mark. (A 4,000-character text takes about
    60 µs to put in NFKC whole, and a few runs about 1 µs each.)"""
    pieces: list[str] = []
    done = 0
    index = 0
    while index < len(others):
        first = others[index]
        # The run: the positions that follow one another.
        while index + 1 < len(others) and others[index + 1] == others[index] + 1:
            index += 1
        end = others[index] + 1
        start = max(first - 1, done)
        pieces.append(text[done:start])
        pieces.append(unicodedata.normalize("NFKC", text[start:end]))
        done = end
        index += 1
    pieces.append(text[done:])
    return "".join(pieces)


def normalise(text: str) -> str:
    """Lower case, undo common digit/symbol letter swaps, turn punctuation into spaces and collapse whitespace
    (trimmed at both ends). Letters written in other forms (full width, mathematical bold) become plain ones;
    other non-ASCII characters separate words."""
    text = _uncollapsed(text)
    # (Halving runs of spaces until none is left was slower on prose, where every ", " and "\n\n" makes one.)
    if "  " in text:
        return " ".join(text.split())
    return text.strip(" ")


def _uncollapsed(text: str) -> str:
    """What `normalise` gives before it collapses whitespace: the model reads the same from either (its words
    are split on any run of spaces), and a screen saves the collapsing, about 25 µs of a 4,000-character prompt
    with paragraphs."""
    if not text.isascii():
        text = _letters_in_nfkc(text)
    # bytes.translate is a table lookup per byte in C: many times faster than str.translate or a regex. Every
    # whitespace character is a space by then.
    return text.encode("ascii", "replace").translate(_NORMAL).decode("ascii")


_SUFFIXES = ("ations", "ation", "ings", "ing", "ers", "ies", "ied", "ed", "es", "er", "ly", "s")


def stem(token: str) -> str:
    """A light suffix stripper, so that hacking, hacked and hackers count as one word with hack, and writes,
    writing and write as one with writ."""
    root = token
    for suffix in _SUFFIXES:
        if token.endswith(suffix) and len(token) - len(suffix) >= 3:
            if suffix == "s" and token.endswith(("ss", "us", "is")):
                break
            root = token[: -len(suffix)]
            if suffix in ("ies", "ied"):
                root += "y"
            elif len(root) >= 4 and root[-1] == root[-2] and root[-1] not in "lsz":
                root = root[:-1]  # stopped -> stop, planning -> plan
            break
    return root[:-1] if len(root) >= 4 and root.endswith("e") else root


def _stem_word(word: str) -> str:
    # Interned, as the model's feature names are: a lookup that finds a feature then compares by identity.
    return sys.intern(word if word in STOPWORDS else stem(word))


# Asking for the means (how to, steps, where to buy) rather than about a subject: with a policy term, the shape of
# a request for operational help. Benign look-alikes share it ("how do I kill a process"); the words decide. Matched
# on stemmed words, so "ways to", "tutorials" and "helping me" count as "way to", "tutorial" and "help me".
_ASK_PHRASES = (
    *(
        f"how {rest}"
        for rest in (
            "to", "do i", "do you", "can i", "could i", "would i", "should i", "would one", "does one", "can one",
            "can you", "do people", "might i",
        )
    ),
    "way to", "way of", "step to", "step for", "step by step", "instruction", "guide to", "guide on", "guide for",
    "tutorial", "walk me through", "teach me", "show me how", "explain how", "explain exactly how", "recipe",
    *(
        f"{adjective} way"
        for adjective in ("best", "easiest", "quickest", "fastest", "simplest", "cheapest", "most effective")
    ),
    *(
        f"where {verb} {who} {get}"
        for verb in ("can", "do", "could", "should", "would")
        for who in ("i", "you", "one")
        for get in ("buy", "get", "find", "order", "obtain", "purchase", "source")
    ),
    "what do i need to", "tips on", "tips for", "help me", "give me", "i need", "i want to",
)  # fmt: skip


# Words too common to look for the asking phrases from (stemmed): the function words (a long prompt has dozens of
# "i") and the commonest others in these phrases.
_COMMONEST = STOPWORDS | {"one", "peopl", "get", "find", "ord"}


# Phrases by a neighbour of their anchor: (where the anchor is in the phrase, its words).
_Neighbours = dict[str, list[tuple[int, tuple[str, ...]]]]


def _ask_index() -> dict[str, tuple[bool, _Neighbours, _Neighbours]]:
    """The asking phrases as stemmed words, by the word each is looked for from (its anchor): the first that is not
    one of the commonest words, or the first if all are ("need" for "i need", "how" for "how do i"). Per anchor:
    whether it is a phrase alone, and the longer phrases by the word after the anchor, or for a phrase that ends
    with it by the word before, each as (where the anchor is in it, its words)."""
    index: dict[str, tuple[bool, _Neighbours, _Neighbours]] = {}
    for phrase in _ASK_PHRASES:
        words = tuple(_stem_word(word) for word in phrase.split())
        offset = next((place for place, word in enumerate(words) if word not in _COMMONEST), 0)
        alone, after, before = index.get(words[offset], (False, {}, {}))
        if len(words) == 1:
            alone = True
        elif offset + 1 < len(words):
            after.setdefault(words[offset + 1], []).append((offset, words))
        else:
            before.setdefault(words[offset - 1], []).append((offset, words))
        index[words[offset]] = (alone, after, before)
    return index


_ASK_ANCHORS = _ask_index()
_ASK_MARKER = "@ask"
_MINOR_MARKER = "#minor"
_NOT_STOPWORD = dict.fromkeys(STOPWORDS, "")
# A window's words are its stems less the function words, so the multi-word policy terms must not start with one.
assert {_stem_word(word) for word in _PHRASE_TERMS}.isdisjoint(STOPWORDS)
# The conjunction of asking and each policy group, as features.
_ASK_GROUPS = {f"@harm:{group}": sys.intern(f"@ask&@harm:{group}") for group in _POLICY_TERMS}

# What a word may start or be, as bits (`_special`): most words are none of these, and a text's few that are
# are found in one pass over their column and read one by one (`_Text._read_special`).
_ASK_ANCHOR = 1  # the anchor of an asking phrase
_TERM_START = 2  # the first word of a multi-word policy term
_MINOR_WORD = 4  # a word for a minor
_AGE_END = 8  # a word that may end a child's age ("old", "13yo")
_POLICY_WORD = 16  # a word that starts a policy term (the lexicon has its group)


# How a child's age (`_AGE_UNIT`) ends, in a word: "old" after "year" and a space or hyphen, or one of these.
_AGE_ENDINGS = ("yearold", "yearsold", "yrold", "yrsold", "yo")


def _special(word: str, stem: str, group: str) -> int:
    # A child's age ends where its last letter is followed by something not a letter or digit: in a word (a run
    # of letters and apostrophes), at the end of the word or of a part of it before an apostrophe.
    age = ("old" in word or "yo" in word) and any(
        part == "old" or part.endswith(_AGE_ENDINGS) for part in word.split("'")
    )
    return (
        (_ASK_ANCHOR if stem in _ASK_ANCHORS else 0)
        | (_TERM_START if word in _PHRASE_TERMS else 0)
        | (_MINOR_WORD if word in _MINOR_WORDS else 0)
        | (_AGE_END if age else 0)
        | (_POLICY_WORD if group else 0)
    )


class _Text:
    """Normalised text read once, word by word: its words (runs of letters), their stems, where the words that
    start a policy term are (and its group), where the asking phrases and multi-word policy terms lie, the symbols
    in it, and where a minor is named. The features of a run of its words (a window, or all of them) are read from
    those: as names (`window`, what the model is trained on), or as the model's packed weights
    (`FastTierModel.logits`, which reads the markers from `markers`)."""

    __slots__ = (
        "_group_names",
        "_groups_at",
        "_owners",
        "_phrases",
        "asks",
        "get",
        "groups",
        "minors",
        "prepared",
        "symbols",
        "tokens",
        "words",
    )

    prepared: str
    words: list[str]
    get: Callable[[dict[str, Any]], tuple[Any, ...]]
    groups: dict[str, str]
    tokens: tuple[str, ...]
    minors: list[int]
    symbols: int
    asks: list[tuple[int, int]]
    _groups_at: list[int]
    _group_names: list[str]
    _phrases: list[tuple[int, int, str]]
    _owners: list[int] | None

    def __init__(self, prepared: str, lexicon: _Lexicon = _LEXICON) -> None:
        """The words are read from `lexicon`, and `get` reads them from any of its columns (the model's lexicon
        has their weights too)."""
        raw = prepared.encode("ascii", "replace")
        self.prepared = prepared
        self.words = words = raw.translate(_LETTERS).decode("ascii").split()
        self.get, self.tokens = lexicon.read(words)
        self.groups = lexicon.groups
        self.symbols = len(raw) - len(raw.translate(None, _SYMBOL_BYTES))
        self._owners = None
        # Where each asking phrase and multi-word policy term lies, (first word, past the last): a window has one
        # when it holds all of its words.
        self.asks = []
        self._phrases = []
        # Where the words that start a policy term are, and their groups.
        self._groups_at = []
        self._group_names = []
        # Where a minor is named: a word for one, or a child's age.
        self.minors = []
        flags = self.get(lexicon.special)
        special = list(compress(range(len(words)), flags))
        if special:
            self._read_special(special, flags)

    def _read_special(self, special: list[int], flags: tuple[int, ...]) -> None:
        """Reads the words that may start or be something, given where they are and what each word may
        (`_special`)."""
        tokens, words = self.tokens, self.words
        asks, minors = self.asks, self.minors
        count = len(tokens)
        ages = False
        for index in special:
            what = flags[index]
            if what & _POLICY_WORD:
                self._groups_at.append(index)
                self._group_names.append(self.groups[words[index]])
            if what & _ASK_ANCHOR:
                # The asking phrases (on stems: "ways to" is "way to") that hold this word where their anchor is.
                alone, after, before = _ASK_ANCHORS[tokens[index]]
                if alone:
                    asks.append((index, index + 1))
                by_next = after.get(tokens[index + 1], ()) if index + 1 < count else ()
                by_previous = before.get(tokens[index - 1], ()) if index else ()
                for offset, phrase in chain(by_next, by_previous):
                    first = index - offset
                    if first >= 0 and tokens[first : first + len(phrase)] == phrase:
                        asks.append((first, first + len(phrase)))
            if what & _TERM_START:
                # The multi-word policy terms (on words) that start here: the last word is the last one started by
                # the term's last word ("social scoring" for "social scor").
                for rest, group in _PHRASE_TERMS[words[index]]:
                    stop = index + 1 + len(rest)
                    following = words[index + 1 : stop]
                    if (
                        len(following) == len(rest)
                        and following[:-1] == list(rest[:-1])
                        and following[-1].startswith(rest[-1])
                    ):
                        self._phrases.append((index, stop, group))
            if what & _MINOR_WORD:
                minors.append(index)
            if what & _AGE_END:
                ages = True
        # Found by their anchors, the phrases are sorted by where they start (`_holds`).
        if len(asks) > 1:
            asks.sort()
        if ages:
            self._find_ages(self.prepared)

    def _find_ages(self, prepared: str) -> None:
        """Adds where a child's age is given: a number under 18, not 4, before "years old", "yrs old" or "yo",
        found from the unit back (a scan for the unit is many times faster than trying the number pattern at every
        word)."""
        for unit in _AGE_UNIT.finditer(prepared):
            start = unit.start()
            # The number: the three characters before the unit, not counting the spaces between, after a space
            # standing for whatever precedes them.
            if _AGE_NUMBER.search(" " + prepared[:start].rstrip(" ")[-3:]):
                # The unit's word (it starts with a letter): the last word that starts at or before it.
                insort(self.minors, len(prepared[: start + 1].encode("ascii").translate(_LETTERS).split()) - 1)

    def windows(self) -> list[tuple[int, int]]:
        """The runs of words scored: all of them, or for a text longer than a window (`WINDOW_WORDS`), windows of
        that many words, each starting `WINDOW_STRIDE` words after the last."""
        length = len(self.words)
        if length <= WINDOW_WORDS:
            return [(0, length)]
        return [
            (start, min(start + WINDOW_WORDS, length))
            for start in range(0, length - WINDOW_WORDS + WINDOW_STRIDE, WINDOW_STRIDE)
        ]

    def _window_symbols(self, start: int, end: int) -> int:
        """The symbols of the words [start, end): each word owns the characters after it (up to the next word),
        and the first word those before it too."""
        if start == 0 and end >= len(self.words):
            return self.symbols
        if self._owners is None:
            self._owners = self._symbol_owners()
        # (Those before the first word, -1, are the first window's.)
        return bisect_left(self._owners, end) - (bisect_left(self._owners, start) if start else 0)

    def _symbol_owners(self) -> list[int]:
        """The word each symbol follows (-1 for none), in order. Found in C: with letters as "a" and symbols as
        "#", the text is split at its symbols, and the words that start in each piece counted (after a space, or
        at its start) and added up."""
        marks = self.prepared.encode("ascii").translate(_SYMBOL_MARKS)
        pieces = marks.split(b"#")
        del pieces[-1]
        starts = map(add, map(bytes.count, pieces, repeat(b" a")), map(bytes.startswith, pieces, repeat(b"a")))
        owners = list(accumulate(starts, initial=-1))
        del owners[0]
        return owners

    def content(self, start: int, end: int) -> set[str]:
        """The stems of the words [start, end) less the function words: a function word alone says nothing about
        harm."""
        tokens = self.tokens[start:end]
        found = set(map(_NOT_STOPWORD.get, tokens, tokens))
        found.discard("")
        return found

    def window(self, start: int, end: int) -> tuple[set[str], set[str]]:
        """The features of the words [start, end) in two sets: the words and markers, and the adjacent pairs of
        stems (pairs of two function words, such as "how to", are kept, and the build gives them no weight). The
        category heads read only the first (a third of the features of a long text). Every feature lies wholly
        inside the window."""
        tokens = self.tokens[start:end]
        return self.content(start, end) | self.markers(start, end), set(map(" ".join, pairwise(tokens)))

    def markers(self, start: int, end: int) -> set[str]:
        """The markers of the words [start, end): runs of symbols, length, asking for the means, the policy groups
        named, their conjunction, and minors."""
        found: set[str] = set()
        if self.symbols >= 3:
            symbols = self._window_symbols(start, end)
            if symbols >= 3:
                found.add("#symbols3")
                if symbols >= 10:
                    found.add("#symbols10")
        if end - start >= 60:
            found.add("#long")
        asks = _holds(self.asks, start, end)
        at = self._groups_at
        policy = set(self._group_names[bisect_left(at, start) : bisect_left(at, end)]) if at else set()
        if self._phrases:
            policy.update([group for first, stop, group in self._phrases if start <= first and stop <= end])
        if asks:
            found.add(_ASK_MARKER)
        if policy:
            found.update(policy)
            found.add("@harm")
            if asks:
                found.add("@ask&@harm")
                found.update([_ASK_GROUPS[group] for group in policy])
        if self.minors and bisect_left(self.minors, start) < bisect_left(self.minors, end):
            found.add(_MINOR_MARKER)
        return found


def _holds(spans: list[tuple[int, int]], start: int, end: int) -> bool:
    """Whether one of the spans (sorted) lies within the words [start, end)."""
    for first, stop in spans[bisect_left(spans, (start,)) :]:
        if first >= end:
            return False
        if stop <= end:
            return True
    return False


def features(prepared: str) -> set[str]:
    """The feature set of normalised text: stemmed words, adjacent word pairs, shape markers, and markers for
    policy terms, requests for the means, and minors."""
    text = _Text(prepared)
    found, pairs = text.window(0, len(text.words))
    return found | pairs


def is_pair(feature: str) -> bool:
    return " " in feature


# The category heads' weights are packed into one integer per feature: each in fixed point (units of 2^-20) in a
# 64-bit field of its own. Sums of packed integers are the packed sums, exactly, while no field's sum reaches half
# its range (10^12); the fields are read back in C (`_unpack`).
_UNIT = 1 << 20
_FIELD = 64
_FIELD_HALF = 1 << (_FIELD - 1)
# The harm and jailbreak heads, read on every window of every prompt, share one integer per feature too: from the
# top, harm, then jailbreak in a 25-bit field, both in units of 10^-4 (the precision the build writes weights to,
# so their sums are exact), then a small index in the lowest bits that tells apart features whose two weights are
# equal (thousands of pairs share theirs with another): a window's features are deduplicated as one set of these
# integers, and sum() adds them. The sum of the indexes is shifted out (the index field is wide enough for a
# window's worth of them). Python's integers never overflow, so the sums are exact whatever the model; for the
# committed one a window's sum took at most 61 bits on every dev and probe text, so sum() adds them as machine
# integers, in C without allocating.
_HEAD_UNIT = 10_000
_HEAD_FIELD = 25
_HEAD_MASK = (1 << _HEAD_FIELD) - 1
_HEAD_HALF = 1 << (_HEAD_FIELD - 1)
_HEAD_LIMIT = _HEAD_HALF / _HEAD_UNIT
# More features than any window has (64 words, 63 pairs and the markers): what the weights' bound allows for.
_MAX_FEATURES = 256
# The least range of the index field's offsets (`FastTierModel.__post_init__`): a window's set has 256 or 512 slots.
_SPREAD_MIN = 256


def _spread(value: int) -> int:
    """A number from packed weights whose lowest bits vary with all of theirs (a multiplicative hash)."""
    return (value * 0x9E3779B97F4A7C15) >> 32


# The pairs table of a stem that starts no pair feature (never written to).
_NO_PAIRS: dict[str, int] = {}


def _pack(weights: list[float]) -> int:
    return sum(round(weight * _UNIT) << (_FIELD * index) for index, weight in enumerate(weights))


def _unpack(packed: int, count: int) -> list[float]:
    """The `count` signed fields of a (sum of) packed integers: with half a field's range added to each field,
    every field is a plain unsigned 64-bit number (no borrows), read by `struct` in one call."""
    offset = _field_offsets(count)
    fields = struct.unpack(f"<{count}Q", (packed + offset).to_bytes(8 * count, "little"))
    return [(field - _FIELD_HALF) / _UNIT for field in fields]


@cache
def _field_offsets(count: int) -> int:
    return sum(_FIELD_HALF << (_FIELD * index) for index in range(count))


def _unpack_heads(packed: int) -> tuple[int, int]:
    """The harm and jailbreak sums, in units, in a sum of head weights with its indexes shifted out: jailbreak in
    the low field, harm above (the field as a signed number; harm carries whatever it borrowed)."""
    jailbreak = ((packed + _HEAD_HALF) & _HEAD_MASK) - _HEAD_HALF
    return (packed - jailbreak) >> _HEAD_FIELD, jailbreak


def function_word_pair(feature: str) -> bool:
    first, _, second = feature.partition(" ")
    return bool(second) and first in STOPWORDS and second in STOPWORDS


def sigmoid(value: float) -> float:
    if value < -30:
        return 0.0
    if value > 30:
        return 1.0
    return 1.0 / (1.0 + math.exp(-value))


@dataclass(frozen=True)
class LinearHead:
    bias: float
    weights: dict[str, float]

    def logit(self, found: set[str]) -> float:
        weights = self.weights
        total = self.bias
        for feature in found:
            weight = weights.get(feature)
            if weight is not None:
                total += weight
        return total


@dataclass(frozen=True)
class FastTierModel:
    harm: LinearHead
    jailbreak: LinearHead
    categories: dict[Category, LinearHead]
    # The score from which a verdict is confident enough to act without the moderator (calibrated in the build).
    confident: float = MIN_CONFIDENT
    _words: dict[str, int] = field(init=False, repr=False, compare=False)
    _pairs: dict[str, dict[str, int]] = field(init=False, repr=False, compare=False)
    _index_bits: int = field(init=False, repr=False, compare=False)
    _lexicon: _ModelLexicon = field(init=False, repr=False, compare=False)
    _category_table: dict[str, int] = field(init=False, repr=False, compare=False)
    _order: tuple[Category, ...] = field(init=False, repr=False, compare=False)
    _category_biases: tuple[float, ...] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        # A 4,000-character prompt has over a thousand features, and reading them is most of the cost of a screen,
        # so the sums run in C. The two heads read on every window share two tables of packed integers
        # (`_HEAD_UNIT`): one for words and markers, and one for pairs, by their first stem and then their second,
        # so that a pair's weight is two lookups of interned stems (each a comparison by identity) and no pair is
        # ever written out as a string. The category heads, read only when the harm score matters, share another:
        # every category's weight packed into one (larger) integer. Feature names are interned, as the text's
        # stems are.
        largest = max(map(abs, [*self.harm.weights.values(), *self.jailbreak.weights.values(), 0.0]))
        if largest * _MAX_FEATURES >= _HEAD_LIMIT:
            raise ValueError(f"fast tier weight {largest} is too large to pack")
        harm, jailbreak = self.harm.weights, self.jailbreak.weights
        # A function word is never a feature on its own (`_Text.content`).
        names = [feature for feature in dict.fromkeys(chain(harm, jailbreak)) if feature not in STOPWORDS]
        values = [
            (round(harm.get(name, 0.0) * _HEAD_UNIT) << _HEAD_FIELD) + round(jailbreak.get(name, 0.0) * _HEAD_UNIT)
            for name in names
        ]
        # The index of a feature among those with its weights, offset by a number spread from the weights
        # (`_spread`) and taken modulo a power of two above the most that share them: distinct among those, as
        # the index is, and spread over its range. A set puts an integer in the slot its lowest bits name, and
        # with plain indexes most features' lowest bits are 0 or a few: each window's set would chain through
        # colliding slots (twice as slow). The field holds a window's sum of them.
        sharing = max(Counter(values).values(), default=1)
        spread = max(_SPREAD_MIN, 1 << (sharing - 1).bit_length())
        index_bits = ((spread - 1) * _MAX_FEATURES).bit_length()
        words: dict[str, int] = {}
        pairs: dict[str, dict[str, int]] = {}
        taken: dict[int, int] = {}
        intern = sys.intern
        for name, value in zip(names, values, strict=True):
            index = taken.get(value, 0)
            taken[value] = index + 1
            index = (index + _spread(value)) % spread
            first, _, second = name.partition(" ")
            if second:
                pairs.setdefault(intern(first), {})[intern(second)] = (value << index_bits) + index
            else:
                words[intern(name)] = (value << index_bits) + index
        order = tuple(self.categories)
        categories = {
            sys.intern(feature): _pack([self.categories[category].weights.get(feature, 0.0) for category in order])
            for feature in set().union(*(head.weights for head in self.categories.values()))
        }
        object.__setattr__(self, "_words", words)
        object.__setattr__(self, "_pairs", pairs)
        object.__setattr__(self, "_index_bits", index_bits)
        object.__setattr__(self, "_lexicon", _ModelLexicon(words, pairs))
        object.__setattr__(self, "_category_table", categories)
        object.__setattr__(self, "_order", order)
        object.__setattr__(self, "_category_biases", tuple(self.categories[category].bias for category in order))

    @classmethod
    def from_dict(cls, raw: dict[str, object]) -> FastTierModel:
        if raw.get("feature_version") != FEATURE_VERSION:
            raise ValueError(
                f"fast tier model has feature_version {raw.get('feature_version')}, need {FEATURE_VERSION}"
            )
        heads = raw["heads"]
        assert isinstance(heads, dict)

        def head(value: dict[str, object]) -> LinearHead:
            weights = value["weights"]
            bias = value["bias"]
            assert isinstance(weights, dict)
            assert isinstance(bias, int | float)
            return LinearHead(bias=float(bias), weights={str(k): float(v) for k, v in weights.items()})

        return cls(
            harm=head(heads["harm"]),
            jailbreak=head(heads["jailbreak"]),
            categories={Category(name): head(value) for name, value in heads["categories"].items()},
            confident=float(raw.get("confident", MIN_CONFIDENT)),  # type: ignore[arg-type]
        )

    def logits(self, prepared: str) -> tuple[float, float, set[str]]:
        """The harm and jailbreak logits of normalised text (its whitespace collapsed or not: the same either way),
        and the words and markers the category heads read.

        A text longer than a window (`WINDOW_WORDS`) is scored window by window, overlapping, and each head takes
        its highest window; the categories are read from the most harmful window. The heads were trained on
        prompts of a few sentences: summed over a whole document, a hundred slightly suspicious words outweigh
        what any one sentence says. Scored whole, 4,000 characters of ordinary prompts reached the jailbreak
        threshold half the time, and a harmful request placed in the middle of ordinary text was caught a third
        as often as alone. The build calibrates with this too, so it measures the scorer that ships.

        Each word's and each pair's packed weights are looked up once for the whole text; a window adds up the
        set of those in its slice (a feature counts once however often it occurs, as in training), and its
        markers'. The result is what the heads give the window's features (`_Text.window`), exactly.
        """
        harm, jailbreak, text, best, markers = self._windows(prepared)
        return harm, jailbreak, text.content(*best) | markers

    def _windows(self, prepared: str) -> tuple[float, float, _Text, tuple[int, int], set[str]]:
        """The harm and jailbreak logits, the text, and the most harmful window and its markers (its words are
        read only when the categories are: `_Text.content`)."""
        lexicon = self._lexicon
        text = _Text(prepared, lexicon)
        words, shift = self._words, self._index_bits
        # Each word's weights, and between each two words their pair's: the features of the words [start, end) are
        # then those of one slice, [2 * start, 2 * end - 1).
        weights = [0] * (2 * len(text.tokens) - 1) if text.tokens else []
        weights[::2] = text.get(lexicon.weights)
        # A pair's weight: its first stem's table, then its second stem in that.
        weights[1::2] = map(dict.get, text.get(lexicon.tables), islice(text.tokens, 1, None), repeat(0))
        harm = jailbreak = -math.inf
        best = (0, 0)
        best_markers: set[str] = set()
        for start, end in text.windows():
            markers = text.markers(start, end)
            found = set(weights[2 * start : 2 * end - 1])
            found.update(map(words.get, markers, repeat(0)))
            window_harm, window_jailbreak = _unpack_heads(sum(found) >> shift)
            jailbreak = max(jailbreak, window_jailbreak)
            if window_harm > harm:
                harm, best, best_markers = window_harm, (start, end), markers
        return (
            self.harm.bias + harm / _HEAD_UNIT,
            self.jailbreak.bias + jailbreak / _HEAD_UNIT,
            text,
            best,
            best_markers,
        )

    def scores(self, prepared: str) -> dict[Category, float]:
        """Per-category scores in [0, 1] for normalised text (categories under 0.01 are left out)."""
        harm_logit, jailbreak_logit, text, best, markers = self._windows(prepared)
        scores: dict[Category, float] = {}
        harm = sigmoid(harm_logit)
        jailbreak = sigmoid(jailbreak_logit)
        if harm >= _CATEGORY_FLOOR:
            found = text.content(*best) | markers
            order = self._order
            sums = _unpack(sum(filter(None, map(self._category_table.get, found))), len(order))
            logits = [bias + weight for bias, weight in zip(self._category_biases, sums, strict=True)]
            top = max(logits)
            # The most likely category carries the whole harm score; the others in proportion to their odds. Those
            # that would score under the floor are not worked out (a little below it, for the floats' rounding).
            lowest = top + math.log(_SCORE_FLOOR / harm) - 1e-9
            for category, logit in zip(order, logits, strict=True):
                if logit >= lowest:
                    score = harm * math.exp(logit - top)
                    if score >= _SCORE_FLOOR:
                        scores[category] = round(score, 4)
        # The policy: any sexualisation of a minor is child safety, whatever the category head preferred.
        if _MINOR_MARKER in markers and scores.get(Category.SEXUAL_CONTENT, 0.0) > scores.get(
            Category.CHILD_SAFETY, 0.0
        ):
            scores[Category.CHILD_SAFETY] = scores[Category.SEXUAL_CONTENT]
        if jailbreak >= _SCORE_FLOOR:
            scores[Category.PLATFORM_ABUSE] = max(scores.get(Category.PLATFORM_ABUSE, 0.0), round(jailbreak, 4))
        return scores


@cache
def load_model() -> FastTierModel:
    """The committed model (read once per process).

    Its hundreds of thousands of objects live as long as the process: they are moved out of the garbage
    collector's generations (`gc.freeze`), or every full collection would walk them, a multi-millisecond pause
    in the middle of a screen.
    """
    raw = resources.files("warden").joinpath("data", MODEL_RESOURCE).read_bytes()
    model = FastTierModel.from_dict(json.loads(gzip.decompress(raw)))
    gc.collect()
    gc.freeze()
    return model


MAX_CHARS = 100_000


class FastTierScreener:
    """The learned fast tier over the normalised text."""

    name = "fast"

    def __init__(self, max_chars: int = MAX_CHARS, model: FastTierModel | None = None):
        # Text beyond this is screened only by later tiers (the verdict says so): it bounds the worst-case cost
        # of a request, about 25 ms.
        self.max_chars = max_chars
        self.model = model or load_model()

    def screen(self, text: str) -> ScreenerVerdict:
        started = time.perf_counter()
        scores = self.model.scores(_uncollapsed(text[: self.max_chars]))
        unread = None
        if len(text) > self.max_chars:
            unread = f"read the first {self.max_chars:,} of {len(text):,} characters"
        return ScreenerVerdict(
            screener=self.name,
            scores=scores,
            latency_ms=round((time.perf_counter() - started) * 1000, 3),
            unread=unread,
        )
