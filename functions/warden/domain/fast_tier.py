"""The offline fast tier: a small learned linear model, pure Python, no network, well under a millisecond.

The text is normalised (lower case, common letter swaps undone), split into words, and turned into a set
of word and word-pair features plus a few shape features (runs of symbols, as in adversarial suffixes).
Three heads of logistic weights score it, built by `make fast-tier` (see `warden_build.fast_tier`) and
shipped as `warden/data/fast_tier_model.json.gz`:

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
FEATURE_VERSION = 1

_SUBSTITUTIONS = str.maketrans({"0": "o", "1": "i", "3": "e", "4": "a", "5": "s", "7": "t", "@": "a", "$": "s"})
_WHITESPACE = re.compile(r"\s+")
_TOKEN = re.compile(r"[a-z']+")
_SYMBOL = re.compile(r"[{}\[\]()<>|\\^~`=*+#_]")
_STOPWORD_TEXT = (
    "a an the and or but if of to in on at by for with from into onto about as is are was were be been being am "
    "do does did done have has had i me my mine we us our you your yours he him his she her it its they them their "
    "this that these those there here what which who whom whose when where why how can could would should will "
    "shall may might must not no so than then too very just also any all some each every other such only own same "
    "up down out over under again further once more most s t"
)
STOPWORDS = frozenset(_STOPWORD_TEXT.split())
# The learned heads generalise from few examples, and common request phrasing ("write a...", "create a...")
# pulls them up on ordinary prompts. So a head's score counts in full only when the text also names
# something the policy is about; otherwise it is capped below every action threshold (and still recorded).
# The anchors are Warden's own reading of the usage policy, not taken from any evaluation set.
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
_JAILBREAK_ANCHOR_STEMS = (
    "ignore", "disregard", "pretend", "roleplay", "role-play", "role play", "act as", "you are now", "jailbreak",
    "dan ", "developer mode", "no restrictions", "unfiltered", "uncensored", "hypothetical", "fiction", "character",
    "story", "imagine", "scenario", "opposite", "evil", "unethical", "immoral", "rules", "guidelines", "filter",
    "policy", "instructions", "system prompt", "sure, here", "sure here", "begin your", "start your", "respond with",
    "for educational", "research purposes",
)  # fmt: skip
# Terms with hardly any innocent use in a request: with one of these, the learned score stands as it is.
_STRONG_ANCHOR_STEMS = (
    "bomb", "explosi", "detonat", "grenade", "nerve agent", "sarin", "ricin", "anthrax", "bioweapon", "meth",
    "cocaine", "heroin", "fentanyl", "mdma", "malware", "ransomware", "keylog", "spyware", "stalkerware", "phish",
    "ddos", "botnet", "rootkit", "launder", "counterfeit", "ponzi", "suicid", "self-harm", "self harm", "porn",
    "molest", "pedo", "rape", "genocid", "terroris", "massacre", "assassinat", "murder", "kill", "tortur", "dox",
    "hack", "steal", "traffick", "smuggl", "extremis", "nazi", "supremac", "racis", "defam", "disinformation",
    "misinformation", "hoax", "undetect", "untraceable", "without getting caught", "illegal", "poison", "weapon",
    "firearm", "scada", "sabotag", "rigg", "jailbreak", "ignore all", "ignore previous", "ignore the above",
    "developer mode", "no restrictions", "do anything now", "secretly", "covertly", "without her know",
    "without his know", "without their know", "without them know", "disable the power", "shut down the power",
    "take down the power", "black out",
)  # fmt: skip


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
def _anchors() -> tuple[re.Pattern[str], re.Pattern[str], re.Pattern[str]]:
    """The strong, harm and jailbreak anchor patterns, compiled on first use rather than at import."""
    return (
        re.compile(_trie_pattern(_STRONG_ANCHOR_STEMS)),
        re.compile(_trie_pattern(_HARM_ANCHOR_STEMS)),
        re.compile(_trie_pattern(_JAILBREAK_ANCHOR_STEMS)),
    )


_UNANCHORED_CAP = 0.3
# The fast tier acts alone only when confident: its blocks skip the moderator and add strikes, so a false
# positive costs an ordinary user far more than a miss, which the moderator behind it can still catch.
# Without an unambiguous term (below), raw head scores under CONFIDENT are halved (kept in the record,
# under every action threshold). Fixed a priori, not tuned on any evaluation set.
CONFIDENT = 0.9

# Below this harm score the category weights are not read: the verdict would be under any threshold anyway.
_CATEGORY_FLOOR = 0.05
_SCORE_FLOOR = 0.01


def normalise(text: str) -> str:
    """Lower case, undo common digit/symbol letter swaps, and collapse whitespace."""
    return _WHITESPACE.sub(" ", text.lower().translate(_SUBSTITUTIONS))


def features(prepared: str) -> set[str]:
    """The feature set of normalised text: words, adjacent word pairs, and symbol-run shape markers."""
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
        )

    def scores(self, prepared: str) -> dict[Category, float]:
        """Per-category scores, calibrated so that only confident findings reach an action threshold.

        With an unambiguous term in the text the learned scores stand; otherwise only confident ones do.
        """
        raw = self.raw_scores(prepared)
        # Calibration changes only scores under CONFIDENT; without any, the text need not be searched.
        undecided = any(score < CONFIDENT for score in raw.values())
        if not undecided or _anchors()[0].search(prepared):
            return raw
        return {category: _calibrated(score) for category, score in raw.items()}

    def raw_scores(self, prepared: str) -> dict[Category, float]:
        """Per-category scores in [0, 1] for normalised text (categories under 0.01 are left out)."""
        found = features(prepared)
        scores: dict[Category, float] = {}
        _, harm_anchor, jailbreak_anchor = _anchors()
        # The anchors are searched only where the cap would change a score (most text scores low anyway).
        harm = sigmoid(self.harm.logit(found))
        jailbreak = sigmoid(self.jailbreak.logit(found))
        harm_anchored = (harm > _UNANCHORED_CAP or jailbreak > _UNANCHORED_CAP) and bool(harm_anchor.search(prepared))
        if not harm_anchored:
            harm = min(harm, _UNANCHORED_CAP)
        if harm >= _CATEGORY_FLOOR:
            likelihood = {category: head.logit(found) for category, head in self.categories.items()}
            top = max(likelihood.values())
            for category, logit in likelihood.items():
                # The most likely category carries the whole harm score; the others in proportion to their odds.
                score = harm * math.exp(logit - top)
                if score >= _SCORE_FLOOR:
                    scores[category] = round(score, 4)
        if jailbreak > _UNANCHORED_CAP and not (
            harm_anchored or "#symbols3" in found or jailbreak_anchor.search(prepared)
        ):
            jailbreak = _UNANCHORED_CAP
        if jailbreak >= _SCORE_FLOOR:
            scores[Category.PLATFORM_ABUSE] = max(scores.get(Category.PLATFORM_ABUSE, 0.0), round(jailbreak, 4))
        return scores


def _calibrated(score: float) -> float:
    return score if score >= CONFIDENT else round(score / 2, 4)


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
