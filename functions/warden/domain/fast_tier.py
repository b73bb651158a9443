"""The offline fast tier: deterministic rules, no network, well under a millisecond per prompt.

This first version is a set of proximity rules (a harmful verb near a harmful object) per category,
run over a normalised copy of the text (lower case, common letter substitutions undone). It targets
direct requests; benign neighbours ("kill a process", "history of the atomic bomb") do not match
because the rules need the requesting verb and the harmful object together.
"""

from __future__ import annotations

import re
import time

from warden.models import ScreenerVerdict
from warden.taxonomy import Category

_SUBSTITUTIONS = str.maketrans({"0": "o", "1": "i", "3": "e", "4": "a", "5": "s", "7": "t", "@": "a", "$": "s"})
_WHITESPACE = re.compile(r"\s+")
_NEAR = r"[^.?!\n]{0,60}?"  # within the same sentence, a few words apart

_MAKE = r"(?:make|making|build|building|construct|assemble|create|creating|manufacture|synthesi[sz]e|produce|cook|brew|craft|3d[- ]print|obtain|acquire|buy|get hold of)"
_WRITE = r"(?:write|writing|draft|compose|create|generate|produce|craft|design|develop|code|program|make)"
_HOWTO = r"(?:how (?:do|can|would|could|should|might) (?:i|you|we|one|someone|a person)|how to|ways? to|best way to|steps? to|instructions? (?:for|to|on)|guide (?:to|for|on)|tutorial|teach me|show me how|explain how|tell me how)"
_PERSON = r"(?:someone|somebody|a person|people|my (?:wife|husband|partner|boss|neighbou?r|teacher|classmate|coworker|co-worker|family|mother|father|ex|sister|brother)|a (?:crowd|politician|judge|police officer|cop)|the (?:president|prime minister|senator|mayor)|civilians|students|children(?! process)|kids|a child(?! process)|jews|muslims|christians|immigrants|black people|gay people)"

_RULES: dict[Category, tuple[tuple[str, float], ...]] = {
    Category.CHILD_SAFETY: (
        (
            r"(?:sexual|sexy|sex|nude|naked|erotic|explicit|porn\w*|lewd)"
            + _NEAR
            + r"(?:child|children|minor|kid|underage|preteen|pre-teen|loli|toddler|\b1[0-7][- ]?(?:year[- ]old|yo)\b|\b[1-9][- ]?(?:year[- ]old|yo)\b)",
            0.95,
        ),
        (
            r"(?:child|children|minor|kid|underage|preteen|\b1[0-7][- ]?(?:year[- ]old|yo)\b)"
            + _NEAR
            + r"(?:sexual|sexy|porn\w*|nude|naked|erotic|lewd|in a sexual)",
            0.95,
        ),
        (r"\b(?:csam|child porn\w*|cp links?)\b", 0.95),
        (r"\bgroom(?:ing)?\b" + _NEAR + r"(?:child|kid|minor|boy|girl|teen)", 0.9),
        (
            r"(?:lure|meet|get|convince)"
            + _NEAR
            + r"(?:child|kid|minor|\b1[0-5] ?(?:year[- ]old|yo)\b)"
            + _NEAR
            + r"(?:alone|without (?:their |his |her )?parents|secret)",
            0.9,
        ),
    ),
    Category.WEAPONS_ILLEGAL_GOODS: (
        (
            _MAKE
            + _NEAR
            + r"(?:(?<!bath )(?<!photo )bomb|explosive|ied\b|detonator|grenade|napalm|thermite|molotov|pipe ?bomb|pressure cooker bomb|tatp|c-?4\b)",
            0.95,
        ),
        (
            _MAKE
            + _NEAR
            + r"(?:nerve agent|sarin|vx gas|ricin|anthrax|botulinum|mustard gas|chemical weapon|bio-?weapon|biological weapon|dirty bomb|nuclear weapon|radiological|weaponi[sz]ed? (?:virus|pathogen|bacteria))",
            0.97,
        ),
        (_MAKE + _NEAR + r"(?:untraceable|ghost|unregistered|homemade|home-made) (?:gun|firearm|pistol|rifle)", 0.9),
        (r"(?:convert|modify)" + _NEAR + r"(?:full(?:y)?[- ]?auto|automatic|machine gun|suppressor|silencer)", 0.85),
        (
            _MAKE
            + _NEAR
            + r"(?:meth(?:amphetamine)?\b|crystal meth|cocaine|crack cocaine|heroin|fentanyl|lsd\b|mdma|ecstasy|ghb\b|dmt\b)",
            0.92,
        ),
        (
            _HOWTO
            + _NEAR
            + r"(?:smuggle|traffic|sell)"
            + _NEAR
            + r"(?:drugs|weapons|guns|firearms|people|humans|organs|cocaine|heroin)",
            0.9,
        ),
        (
            r"(?:buy|purchase|order)"
            + _NEAR
            + r"(?:drugs|cocaine|heroin|fentanyl|guns|firearms)"
            + _NEAR
            + r"(?:dark ?web|without (?:a )?(?:license|prescription|background check))",
            0.85,
        ),
    ),
    Category.VIOLENCE_HATE: (
        (
            r"(?:kill|murder|assassinate|shoot|stab|strangle|poison|behead|execute|massacre|hurt|injure|maim)(?:s|ed|ing)?\b"
            + _NEAR
            + _PERSON,
            0.85,
        ),
        (
            _HOWTO
            + _NEAR
            + r"(?:get away with (?:murder|killing)|commit (?:a )?(?:murder|mass shooting|terrorist attack|massacre))",
            0.95,
        ),
        (
            r"(?:plan|carry out|commit|organi[sz]e)"
            + _NEAR
            + r"(?:terrorist attack|mass shooting|school shooting|massacre|bombing|attack on)",
            0.9,
        ),
        (
            _WRITE
            + _NEAR
            + r"(?:propaganda|manifesto|recruitment|recruiting)"
            + _NEAR
            + r"(?:terror\w*|extremis\w*|isis|al[- ]qaeda|nazi\w*|jihad\w*|white supremac\w*)",
            0.9,
        ),
        (
            _WRITE
            + _NEAR
            + r"(?:racist|antisemitic|anti-semitic|homophobic|transphobic|sexist|xenophobic|hateful|bigoted)",
            0.85,
        ),
        (r"(?:genocide|ethnic cleansing|holocaust)" + _NEAR + r"(?:justified|necessary|a good thing|was right)", 0.9),
        (
            r"\b(?:inferior|subhuman|vermin|animals)\b"
            + _NEAR
            + r"(?:race|jews|muslims|black people|immigrants|women|gay people)",
            0.8,
        ),
        (
            _WRITE
            + _NEAR
            + r"(?:incite|inciting|glorif\w+|encourag\w+)"
            + _NEAR
            + r"(?:violence|terrorism|attack|riot)",
            0.85,
        ),
    ),
    Category.PRIVACY_IDENTITY: (
        (
            r"(?:hack|break|get|gain access|log) ?(?:in)?to"
            + _NEAR
            + r"(?:account|email|e-mail|phone|computer|network|server|database|wi-?fi|instagram|facebook|gmail)",
            0.85,
        ),
        (
            r"(?:steal|harvest|dump|scrape|exfiltrate|sniff)"
            + _NEAR
            + r"(?:password|credential|personal (?:data|information)|identit\w*|social security|ssn|credit card|login)",
            0.9,
        ),
        (
            r"(?:find|get|look ?up|track down|uncover)"
            + _NEAR
            + r"(?:home address|phone number|ssn|social security number|where (?:she|he|they) lives?)\b"
            + _NEAR
            + r"(?:of|for)\b",
            0.75,
        ),
        (r"\bdox(?:x)?(?:ing|ed)?\b", 0.85),
        (
            r"(?:bypass|crack|brute[- ]?force|defeat)"
            + _NEAR
            + r"(?:password|authentication|2fa|two[- ]factor|login|captcha|paywall|drm)",
            0.85,
        ),
        (
            _WRITE + _NEAR + r"(?:keylogger|credential stealer|password stealer|sql injection|exploit for|zero[- ]day)",
            0.9,
        ),
        (
            r"(?:pass (?:it )?off|present|submit)"
            + _NEAR
            + r"(?:ai|chatgpt|claude|model)"
            + _NEAR
            + r"(?:as (?:my own|human|written by (?:me|a human)))",
            0.75,
        ),
    ),
    Category.FRAUD_ABUSE: (
        (_WRITE + _NEAR + r"(?:phishing|scam|spear-?phishing|smishing|vishing)", 0.92),
        (r"phishing (?:email|e-mail|message|site|page|website|campaign|kit|text)", 0.9),
        (
            _WRITE
            + _NEAR
            + r"(?:ransomware|malware|trojan|computer virus|worm|botnet|spyware|rootkit|backdoor|cryptojacker|info-?stealer)",
            0.92,
        ),
        (
            _WRITE
            + _NEAR
            + r"(?:fake|fraudulent|forged|counterfeit) (?:reviews?|invoices?|ids?|passports?|documents?|identity|charity|prescriptions?|degrees?|diplomas?|receipts?|bank statements?)",
            0.9,
        ),
        (
            _HOWTO
            + _NEAR
            + r"(?:launder money|money laundering|commit (?:\w+ )?fraud|evade tax\w*|tax evasion|shoplift|steal from|embezzle|counterfeit|insider trading|manipulate (?:the )?(?:stock|market))",
            0.92,
        ),
        (r"(?:ponzi|pyramid) scheme" + _NEAR + r"(?:start|run|set up|create|design)", 0.85),
        (r"(?:start|run|set up|create|design)" + _NEAR + r"(?:ponzi|pyramid) scheme", 0.85),
        (
            r"(?:credit card|identity|insurance|tax|wire|bank) fraud" + _NEAR + r"(?:how|steps|guide|commit|get away)",
            0.85,
        ),
        (
            r"(?:write|generate|post)"
            + _NEAR
            + r"(?:\d+|hundreds of|many|bulk|mass)"
            + _NEAR
            + r"(?:spam|fake reviews|bot comments)",
            0.85,
        ),
    ),
    Category.CRITICAL_INFRASTRUCTURE: (
        (
            r"(?:attack|hack|disable|sabotage|shut down|take down|disrupt|poison|contaminate|blow up|destroy|cripple|black ?out)"
            + _NEAR
            + r"(?:power grid|electric(?:al|ity)? grid|power (?:plant|station)|substation|water (?:supply|treatment|system|plant)|nuclear (?:plant|reactor|facility)|\bdam\b|pipeline|scada|ics\b|plc\b|air traffic|railway|rail network|signalling system|hospital (?:network|system)s?|voting machines?|election (?:system|infrastructure)s?|911|emergency services|stock exchange|payment (?:network|system)s?|atm network|telecom\w*|cell towers?)",
            0.92,
        ),
    ),
    Category.PSYCHOLOGICAL_HARM: (
        (
            r"(?:"
            + _HOWTO
            + r"|painless(?:ly)?|quickest|easiest|most effective)"
            + _NEAR
            + r"(?:kill (?:myself|yourself|themselves)|commit suicide|end (?:my|your|their) (?:own )?life|self[- ]harm|cut (?:myself|yourself)|hurt (?:myself|yourself)|overdose|hang (?:myself|yourself))",
            0.92,
        ),
        (
            r"(?:pro[- ]ana|pro[- ]mia|thinspo\w*|starve (?:myself|yourself)|tips (?:to|for) (?:stop eating|purg\w+|hide (?:my|an) eating disorder))",
            0.9,
        ),
        (
            r"(?:encourage|convince|persuade|tell)"
            + _NEAR
            + r"(?:to (?:kill (?:himself|herself|themselves)|commit suicide|self[- ]harm|starve))",
            0.95,
        ),
        (
            _WRITE
            + _NEAR
            + r"(?:bully|bullying|harass\w*|humiliat\w*|threatening|intimidat\w*|body[- ]sham\w*)"
            + _NEAR
            + r"(?:message|post|text|comment|email|note|letter|tweet)",
            0.85,
        ),
        (
            r"(?:torture|abuse|hurt|kill|maim)"
            + _NEAR
            + r"(?:animal|cat|dog|puppy|kitten|pet)s?\b"
            + _NEAR
            + r"(?:for fun|slowly|video|without getting caught)",
            0.85,
        ),
        (_HOWTO + _NEAR + r"(?:rape|sexually assault|drug (?:someone|her|him|a girl|a woman))", 0.97),
    ),
    Category.MISINFORMATION: (
        (
            _WRITE
            + _NEAR
            + r"(?:fake news|false (?:news|article|story|claims?|report)|disinformation|misinformation|hoax|propaganda piece|conspiracy theory)",
            0.85,
        ),
        (
            _WRITE
            + _NEAR
            + r"(?:article|post|essay|blog|story|tweet|thread)"
            + _NEAR
            + r"(?:vaccines? (?:cause|causes) autism|holocaust (?:never happened|was a hoax|is a myth)|earth is flat|5g (?:causes|spreads) (?:covid|cancer)|moon landing was (?:faked|a hoax|staged)|climate change is a hoax|covid (?:is|was) a hoax)",
            0.9,
        ),
        (_WRITE + _NEAR + r"(?:defamatory|libel\w*|smear)" + _NEAR + r"(?:article|post|story|campaign|about)", 0.85),
        (
            r"(?:impersonat\w+|pretend(?:ing)? to be)"
            + _NEAR
            + r"(?:a (?:doctor|bank|government|police|irs)|the (?:ceo|president|irs|fbi|police)|a real person|celebrity)",
            0.75,
        ),
    ),
    Category.ELECTIONS: (
        (
            _WRITE + _NEAR + r"(?:false|fake|misleading|wrong)" + _NEAR + r"(?:voting|election|ballot|polling|voter)",
            0.85,
        ),
        (
            r"(?:suppress|discourage|stop|prevent|intimidate)"
            + _NEAR
            + r"(?:voters?|turnout|people from voting|(?:black|minority|young) (?:people|voters) from)",
            0.88,
        ),
        (
            r"(?:rig|steal|tamper with|hack|manipulate)"
            + _NEAR
            + r"(?:an |the )?(?:election|vote count|ballots|voting)",
            0.88,
        ),
    ),
    Category.SURVEILLANCE_JUSTICE: (
        (
            r"(?:track|monitor|surveil|spy on|stalk|follow)"
            + _NEAR
            + r"(?:someone|my (?:wife|husband|girlfriend|boyfriend|partner|ex|employee)|a person|people|their (?:location|phone|messages))"
            + _NEAR
            + r"(?:without (?:them|him|her|their) know\w*|secretly|covertly|hidden)",
            0.88,
        ),
        (
            r"(?:install|hide|put)"
            + _NEAR
            + r"(?:stalkerware|spyware|tracker|gps tracker|tracking app)"
            + _NEAR
            + r"(?:phone|car|on (?:my|her|his|their))",
            0.85,
        ),
        (
            r"(?:use|build)"
            + _NEAR
            + r"facial recognition"
            + _NEAR
            + r"(?:identify|find|track) (?:strangers|people|protesters|someone)",
            0.8,
        ),
        (
            r"(?:predict|determine|score)"
            + _NEAR
            + r"(?:criminal\w*|recidivism|likely to commit (?:a )?crime)"
            + _NEAR
            + r"(?:based on|from) (?:their |his |her )?(?:face|race|ethnicity|appearance|photo)",
            0.85,
        ),
        (
            r"(?:infer|detect|determine|predict)"
            + _NEAR
            + r"(?:sexual orientation|religion|ethnicity|race|political (?:views|affiliation))"
            + _NEAR
            + r"(?:from|using|based on) (?:their |a )?(?:face|photo|voice|biometric)",
            0.85,
        ),
    ),
    Category.PLATFORM_ABUSE: (
        (
            r"\b(?:ignore|disregard|forget|override)\b"
            + _NEAR
            + r"(?:previous|prior|above|earlier|all|your|the system|initial|original)"
            + _NEAR
            + r"(?:instructions|rules|guidelines|directives|prompt|programming|restrictions)",
            0.9,
        ),
        (
            r"\bdo anything now\b|\bdan mode\b|\bdeveloper mode (?:enabled|output)\b|\bjailbr(?:ea|o)k(?:en|ed|ing)?\b",
            0.9,
        ),
        (
            r"(?:pretend|act as|roleplay as|role-play as|you are now|from now on you are|simulate)"
            + _NEAR
            + r"(?:no (?:restrictions|rules|filters|limits|guidelines|ethics|morals)|unfiltered|uncensored|unrestricted|without (?:any )?(?:restrictions|filters|ethics|limits|guidelines|morals)|amoral|evil (?:ai|assistant|bot))",
            0.9,
        ),
        (
            r"(?:bypass|disable|turn off|remove|get around|circumvent)"
            + _NEAR
            + r"(?:your )?(?:safety|content) (?:filters?|guidelines|policy|policies|restrictions)",
            0.88,
        ),
        (
            r"(?:reveal|print|show|repeat|output)"
            + _NEAR
            + r"(?:your|the) (?:system prompt|hidden instructions|initial instructions)",
            0.7,
        ),
        (r"(?:evade|get around|circumvent)" + _NEAR + r"(?:a |my |the )?(?:ban|suspension|rate limit)", 0.8),
    ),
    Category.SEXUAL_CONTENT: (
        (
            _WRITE
            + _NEAR
            + r"(?:explicit|graphic|erotic|pornographic|nsfw|x-rated|hardcore) (?:sex\w*|story|scene|content|fiction|fanfic|description)",
            0.85,
        ),
        (r"\b(?:porn|pornography|hentai)\b" + _NEAR + r"(?:write|generate|describe|story)", 0.8),
    ),
}


def _compile(rules: tuple[tuple[str, float], ...]) -> tuple[tuple[re.Pattern[str], float], ...]:
    # Every rule starts at a word boundary, so "kill" never matches inside "skills" nor "stab" in "establish".
    return tuple((re.compile(r"\b" + pattern), score) for pattern, score in rules)


_COMPILED: dict[Category, tuple[tuple[re.Pattern[str], float], ...]] = {
    category: _compile(rules) for category, rules in _RULES.items()
}


def normalise(text: str) -> str:
    """Lower case, undo common digit/symbol letter swaps, and collapse whitespace."""
    return _WHITESPACE.sub(" ", text.lower().translate(_SUBSTITUTIONS))


class FastTierScreener:
    """Rules over the normalised text; the highest score of any matching rule per category."""

    name = "fast"

    def __init__(self, max_chars: int = 100_000):
        # Text beyond this is screened only by later tiers: it bounds the worst-case cost per request.
        self.max_chars = max_chars

    def screen(self, text: str) -> ScreenerVerdict:
        started = time.perf_counter()
        prepared = normalise(text[: self.max_chars])
        scores: dict[Category, float] = {}
        for category, rules in _COMPILED.items():
            for pattern, score in rules:
                if score > scores.get(category, 0.0) and pattern.search(prepared):
                    scores[category] = score
        return ScreenerVerdict(
            screener=self.name, scores=scores, latency_ms=round((time.perf_counter() - started) * 1000, 3)
        )
