"""The offline fast tier: a small learned linear model, pure Python, no network, well under a millisecond.

The text is normalised (lower case, common letter swaps undone), split into words, and turned into a set
of word and word-pair features, a few shape features (runs of symbols, as in adversarial suffixes) and one
policy feature: whether the text names something the usage policy is about (`@harm`, from Warden's own list
of policy terms below). Three heads of logistic weights score it, built by `make fast-tier` (see
`warden_build.fast_tier`, which also calibrates the heads' biases out of fold) and shipped as
`warden/data/fast_tier_model.json.gz`:

- `harm`: is this a direct request for prohibited help? Its score goes to the most likely category.
- `jailbreak`: is this a wrapper that tries to switch safeguards off (prompt injection, role-play
  jailbreaks, adversarial suffixes)? Its score is the `platform_abuse` score.
- `category`: one-vs-rest weights per category; only read when `harm` is high enough to matter.
"""

from __future__ import annotations

import gzip
import json
import math
import re
import time
from dataclasses import dataclass
from functools import cache
from importlib import resources
from itertools import pairwise

from warden.models import ScreenerVerdict
from warden.taxonomy import Category

MODEL_RESOURCE = "fast_tier_model.json.gz"
FEATURE_VERSION = 3

_SUBSTITUTIONS = str.maketrans({"0": "o", "1": "i", "3": "e", "4": "a", "5": "s", "7": "t", "@": "a", "$": "s"})
_WHITESPACE = re.compile(r"\s+")
_TOKEN = re.compile(r"[a-z']+")
_SYMBOL = re.compile(r"[{}\[\]()<>|\\^~`=*+#_]")
# A child's age ("12 year old", "14-year-old", "13yo") after normalisation has turned digits into letters
# (1→i, 3→e, 5→s, 7→t, 0→o; "4" alone becomes "a", too common to count).
_MINOR_AGE = re.compile(r"\b(?:i[oi2eas6t]?|[2es6t89])[ -]?(?:years?[ -]?old|yrs?[ -]?old|yo)\b")
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
_HARM_ANCHOR_STEMS = (
    # weapons, explosives, CBRN, drugs, trafficking
    "bomb", "explosi", "detonat", "grenade", "firearm", "gun", "rifle", "pistol", "ammunition", "weapon", "silencer",
    "nerve agent", "sarin", "ricin", "anthrax", "toxin", "poison", "pathogen", "bioweapon", "nuclear", "uranium",
    "plutonium", "meth", "cocaine", "heroin", "fentanyl", "opioid", "narcotic", "drug", "mdma", "lsd", "smuggl",
    "traffick", "counterfeit",
    # violence, hate, extremism
    "kill", "murder", "assassin", "massacre", "shoot", "stab", "tortur", "terror", "attack", "violen", "harm", "hurt",
    "injur", "maim", "genocid", "behead", "hostage", "kidnap", "abduct", "racis", "nazi", "supremac", "slur",
    "inferior", "hate", "hateful", "discriminat", "xenophob", "antisemit", "homophob", "transphob", "sexis",
    "misogyn", "extremis", "jihad", "propaganda", "radicali", "incite",
    # unauthorised access, privacy, surveillance
    "hack", "exploit", "malware", "ransomware", "virus", "trojan", "keylog", "spyware", "stalkerware", "phish",
    "crack", "brute", "password", "credential", "steal", "stole", "theft", "breach", "ddos", "botnet", "backdoor",
    "rootkit", "bypass", "dox", "stalk", "surveil", "spy", "track", "personal data", "personal information",
    "social security", "identity", "facial recognition", "biometric", "social scor",
    # fraud and abuse
    "fraud", "scam", "launder", "embezzl", "forge", "fake", "ponzi", "pyramid scheme", "insider trading", "evade",
    "evasion", "cheat", "plagiar", "bribe", "extort", "blackmail", "spam",
    # self-harm, harassment, cruelty
    "suicid", "self-harm", "self harm", "anorex", "bulimi", "starv", "purg", "overdos", "bully", "harass",
    "humiliat", "shame", "shaming", "cruel", "abuse",
    # sexual content, minors
    "sex", "porn", "nude", "naked", "erotic", "explicit", "child", "minor", "underage", "teen", "groom", "molest",
    "pedo", "incest", "rape",
    # misinformation, elections, impersonation
    "defam", "libel", "slander", "misinformation", "disinformation", "conspiracy", "hoax", "false", "mislead",
    "election", "vote", "voter", "ballot", "rig ", "rigg", "impersonat",
    # illegality in general, critical infrastructure
    "illegal", "illicit", "unlawful", "crime", "criminal", "undetect", "untraceable", "without getting caught",
    "without consent", "without permission", "black market", "dark web", "darknet", "infrastructure", "power grid",
    "water supply", "scada", "sabotag",
)  # fmt: skip


# Ordinary words that merely start like a policy term ("method" is not "meth", "forget" is not "forge",
# "stable" is not "stab", "harmony" is not "harm").
_NOT_HARM_ANCHOR = re.compile(r"(?:method|methan|methyl|forget|stabl|stabil|harmon|cracker|crackl|rapeseed|doxycyc)")

_Trie = dict[str, "_Trie"]


def _trie_pattern(stems: tuple[str, ...]) -> str:
    """One regex for "any of these stems", as a prefix trie: a character decides each branch, so the search
    does not try every stem at every position of a 4,000-character prompt."""
    trie: _Trie = {}
    for stem in stems:
        node = trie
        for char in stem:
            node = node.setdefault(char, {})
        node[""] = {}

    def build(node: _Trie) -> str:
        ends = "" in node
        branches = [re.escape(char) + build(child) for char, child in sorted(node.items()) if char]
        if not branches:
            return ""
        body = branches[0] if len(branches) == 1 and not ends else "(?:" + "|".join(branches) + ")"
        return body + "?" if ends else body

    return r"\b" + build(trie)


@cache
def _harm_anchor() -> re.Pattern[str]:
    """The policy-term pattern, compiled on first use rather than at import."""
    return re.compile(_trie_pattern(_HARM_ANCHOR_STEMS))


# The lowest score from which the fast tier acts alone; the build may calibrate a higher one (`confident`).
MIN_CONFIDENT = 0.9

# Below this harm score the category weights are not read: the verdict would be under any threshold anyway.
_CATEGORY_FLOOR = 0.05
_SCORE_FLOOR = 0.01


def normalise(text: str) -> str:
    """Lower case, undo common digit/symbol letter swaps, and collapse whitespace."""
    return _WHITESPACE.sub(" ", text.lower().translate(_SUBSTITUTIONS))


def features(prepared: str) -> set[str]:
    """The feature set of normalised text: words, adjacent word pairs, shape markers and the policy-term marker."""
    tokens = _TOKEN.findall(prepared)
    # Function words alone say nothing about harm; pairs that hold a content word do ("how to" does not).
    found = {token for token in tokens if token not in STOPWORDS}
    found.update(
        [f"{first} {second}" for first, second in pairwise(tokens) if first not in STOPWORDS or second not in STOPWORDS]
    )
    symbols = len(_SYMBOL.findall(prepared))
    if symbols >= 3:
        found.add("#symbols3")
    if symbols >= 10:
        found.add("#symbols10")
    if len(tokens) >= 60:
        found.add("#long")
    if any(not _NOT_HARM_ANCHOR.match(prepared, hit.start()) for hit in _harm_anchor().finditer(prepared)):
        found.add("@harm")
    if _MINOR_AGE.search(prepared) or not _MINOR_WORDS.isdisjoint(tokens):
        found.add("#minor")
    return found


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

    def scores(self, prepared: str) -> dict[Category, float]:
        """Per-category scores in [0, 1] for normalised text (categories under 0.01 are left out)."""
        found = features(prepared)
        scores: dict[Category, float] = {}
        harm = sigmoid(self.harm.logit(found))
        jailbreak = sigmoid(self.jailbreak.logit(found))
        if harm >= _CATEGORY_FLOOR:
            likelihood = {category: head.logit(found) for category, head in self.categories.items()}
            top = max(likelihood.values())
            for category, logit in likelihood.items():
                # The most likely category carries the whole harm score; the others in proportion to their odds.
                score = harm * math.exp(logit - top)
                if score >= _SCORE_FLOOR:
                    scores[category] = round(score, 4)
        # The policy: any sexualisation of a minor is child safety, whatever the category head preferred.
        if "#minor" in found and scores.get(Category.SEXUAL_CONTENT, 0.0) > scores.get(Category.CHILD_SAFETY, 0.0):
            scores[Category.CHILD_SAFETY] = scores[Category.SEXUAL_CONTENT]
        if jailbreak >= _SCORE_FLOOR:
            scores[Category.PLATFORM_ABUSE] = max(scores.get(Category.PLATFORM_ABUSE, 0.0), round(jailbreak, 4))
        return scores


@cache
def load_model() -> FastTierModel:
    """The committed model (read once per process)."""
    raw = resources.files("warden").joinpath("data", MODEL_RESOURCE).read_bytes()
    return FastTierModel.from_dict(json.loads(gzip.decompress(raw)))


class FastTierScreener:
    """The learned fast tier over the normalised text."""

    name = "fast"

    def __init__(self, max_chars: int = 100_000, model: FastTierModel | None = None):
        # Text beyond this is screened only by later tiers: it bounds the worst-case cost per request.
        self.max_chars = max_chars
        self.model = model or load_model()

    def screen(self, text: str) -> ScreenerVerdict:
        started = time.perf_counter()
        scores = self.model.scores(normalise(text[: self.max_chars]))
        return ScreenerVerdict(
            screener=self.name, scores=scores, latency_ms=round((time.perf_counter() - started) * 1000, 3)
        )
