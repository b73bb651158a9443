"""The policy taxonomy: the category ids used by every screener, record, strike and report.

Descriptions are Warden's own summary of the usage policy (see docs/policy.md): what is prohibited,
and the nearby things that are fine, so that screeners and reviewers draw the line in one place.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Category(StrEnum):
    CHILD_SAFETY = "child_safety"
    CRITICAL_INFRASTRUCTURE = "critical_infrastructure"
    VIOLENCE_HATE = "violence_hate"
    PRIVACY_IDENTITY = "privacy_identity"
    WEAPONS_ILLEGAL_GOODS = "weapons_illegal_goods"
    PSYCHOLOGICAL_HARM = "psychological_harm"
    MISINFORMATION = "misinformation"
    ELECTIONS = "elections"
    SURVEILLANCE_JUSTICE = "surveillance_justice"
    FRAUD_ABUSE = "fraud_abuse"
    PLATFORM_ABUSE = "platform_abuse"
    SEXUAL_CONTENT = "sexual_content"


class HighRiskDomain(StrEnum):
    """Not violations: domains where a tenant switches on human review of output and disclosure."""

    LEGAL = "legal"
    HEALTHCARE = "healthcare"
    INSURANCE = "insurance"
    FINANCE = "finance"
    EMPLOYMENT_HOUSING = "employment_housing"
    ACADEMIC_TESTING = "academic_testing"
    MEDIA = "media"


@dataclass(frozen=True)
class CategoryDescription:
    prohibited: str
    fine: str


DESCRIPTIONS: dict[Category, CategoryDescription] = {
    Category.CHILD_SAFETY: CategoryDescription(
        prohibited="Any sexualised content involving minors, grooming or luring a child, helping anyone gain "
        "unsupervised access to children for abuse, or material that exploits or endangers children.",
        fine="Parenting and child-development questions, age-appropriate sex education, recognising and "
        "reporting abuse, support for survivors.",
    ),
    Category.CRITICAL_INFRASTRUCTURE: CategoryDescription(
        prohibited="Planning or enabling attacks on or disruption of power grids, water treatment, "
        "telecommunications, transport, voting machines, hospitals or financial clearing systems.",
        fine="How the grid or water treatment works, public history of incidents, defensive hardening and "
        "resilience planning by operators.",
    ),
    Category.VIOLENCE_HATE: CategoryDescription(
        prohibited="Inciting or planning violence, supporting terrorist or violent extremist groups, "
        "recruitment propaganda, and content that demeans or discriminates against people for who they are.",
        fine="History of wars and atrocities, analysis of extremism for research or moderation, fiction with "
        "violence but no real-world instructions, self-defence basics.",
    ),
    Category.PRIVACY_IDENTITY: CategoryDescription(
        prohibited="Breaking into accounts or systems without authorisation, doxxing, collecting or trading "
        "personal data unlawfully, and presenting AI output as written by a human to deceive.",
        fine="Securing one's own accounts, authorised penetration testing concepts, privacy law questions, "
        "explaining how data breaches happen.",
    ),
    Category.WEAPONS_ILLEGAL_GOODS: CategoryDescription(
        prohibited="Making or acquiring weapons, explosives, chemical, biological, radiological or nuclear "
        "agents, synthesising illegal drugs, and trafficking in goods or people.",
        fine="Hunting and sport-shooting safety, how explosives are regulated, drug harm reduction and "
        "treatment, chemistry coursework, killing a process in an operating system.",
    ),
    Category.PSYCHOLOGICAL_HARM: CategoryDescription(
        prohibited="Encouraging self-harm, suicide or eating disorders, body shaming, harassment and bullying, "
        "sexual violence, gratuitous gore and cruelty to animals.",
        fine="Seeking help or support, mental-health information, recovery stories, writing about hard "
        "experiences without glorifying harm.",
    ),
    Category.MISINFORMATION: CategoryDescription(
        prohibited="Deliberately deceptive content about people, groups or institutions, false health or "
        "science claims meant to mislead, and impersonating real people or organisations.",
        fine="Fact-checking, explaining why a claim is false, clearly labelled satire and fiction, debate "
        "practice with both sides.",
    ),
    Category.ELECTIONS: CategoryDescription(
        prohibited="Political campaigning or lobbying at scale, voter suppression, false information about "
        "how, when or where to vote, and interfering with elections.",
        fine="How elections and voting systems work, neutral summaries of party platforms, civics education.",
    ),
    Category.SURVEILLANCE_JUSTICE: CategoryDescription(
        prohibited="Making criminal-justice determinations about individuals, covert tracking of people, "
        "social scoring, emotion recognition at work or school, censorship, and inferring sensitive traits "
        "from biometrics.",
        fine="Explaining legal processes, public-policy debate about surveillance, how to detect stalkerware "
        "on one's own phone.",
    ),
    Category.FRAUD_ABUSE: CategoryDescription(
        prohibited="Scams, phishing, writing or spreading malware, spam, fake reviews, predatory lending "
        "schemes, counterfeit documents and academic plagiarism.",
        fine="Recognising scams and phishing, malware analysis for defence, writing honest marketing, citation help.",
    ),
    Category.PLATFORM_ABUSE: CategoryDescription(
        prohibited="Jailbreaks and prompt injection that try to switch off the model's safeguards, evading "
        "bans or limits, and scraping the model to train competing models.",
        fine="Asking how prompt injection works in order to defend against it, role-play that does not try to "
        "remove safeguards.",
    ),
    Category.SEXUAL_CONTENT: CategoryDescription(
        prohibited="Sexually explicit material and pornographic content.",
        fine="Sexual health and education, relationships advice, romance without explicit content.",
    ),
}

CATEGORY_IDS: tuple[str, ...] = tuple(c.value for c in Category)
HIGH_RISK_DOMAIN_IDS: tuple[str, ...] = tuple(d.value for d in HighRiskDomain)
