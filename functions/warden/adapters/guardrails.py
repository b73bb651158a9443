"""Amazon Bedrock Guardrails as a screener: `ApplyGuardrail` on the end user's text, findings mapped to categories.

Only what the guardrail found counts: a content filter that blocked (or detected, in detect mode) at some
confidence, a denied topic, a blocked word, a blocked piece of sensitive information. Warden's own per-category
thresholds and actions then decide, exactly as for the other screeners; the guardrail's overall verdict
(`GUARDRAIL_INTERVENED`) and its masked output are not used. The mapping table is in docs/guardrails.md.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import Any, Literal

from botocore.exceptions import BotoCoreError, ClientError

from warden.adapters import aws
from warden.errors import ScreenerFailedError
from warden.models import ScreenerVerdict, UserTurn, inline_data, turns_text
from warden.taxonomy import Category

SCREENER_NAME = "guardrails"

CONFIDENCE_SCORES: Mapping[str, float] = {"NONE": 0.0, "LOW": 0.35, "MEDIUM": 0.65, "HIGH": 0.9}
BLOCKED_SCORE = 0.9
DETECTED_SCORE = 0.65

FILTER_CATEGORIES: Mapping[str, Category] = {
    "HATE": Category.VIOLENCE_HATE,
    "VIOLENCE": Category.VIOLENCE_HATE,
    # The policy files harassment and bullying under psychological harm.
    "INSULTS": Category.PSYCHOLOGICAL_HARM,
    "SEXUAL": Category.SEXUAL_CONTENT,
    # Bedrock: "seeking or providing information about criminal activity or harming, defrauding or taking
    # advantage of" people or institutions; weapons and drugs are the moderator's to catch.
    "MISCONDUCT": Category.FRAUD_ABUSE,
    "PROMPT_ATTACK": Category.PLATFORM_ABUSE,
}
PROFANITY_CATEGORY = Category.PSYCHOLOGICAL_HARM
PII_CATEGORY = Category.PRIVACY_IDENTITY
# A rule the deployer wrote into an existing guardrail (an unlisted denied topic, a custom word) is not one of
# the policy's categories; it is use of the service outside what this deployment permits.
DEPLOYER_RULE_CATEGORY = Category.PLATFORM_ABUSE

_BLOCKED = "BLOCKED"


def _rule_score(finding: Mapping[str, Any]) -> float:
    """Score of a topic / word / sensitive-information finding: blocked is certain, detect mode a bit less."""
    if finding.get("action") == _BLOCKED:
        return BLOCKED_SCORE
    return DETECTED_SCORE if finding.get("detected") else 0.0


def _findings(
    assessment: Mapping[str, Any], topic_categories: Mapping[str, Category]
) -> Iterator[tuple[Category, float]]:
    for content_filter in (assessment.get("contentPolicy") or {}).get("filters", ()):
        category = FILTER_CATEGORIES.get(content_filter.get("type", ""))
        if category and (content_filter.get("action") == _BLOCKED or content_filter.get("detected")):
            yield category, CONFIDENCE_SCORES.get(content_filter.get("confidence", "NONE"), 0.0)
    for topic in (assessment.get("topicPolicy") or {}).get("topics", ()):
        yield topic_categories.get(topic.get("name", ""), DEPLOYER_RULE_CATEGORY), _rule_score(topic)
    words = assessment.get("wordPolicy") or {}
    for word in words.get("customWords", ()):
        yield DEPLOYER_RULE_CATEGORY, _rule_score(word)
    for word in words.get("managedWordLists", ()):
        yield PROFANITY_CATEGORY, _rule_score(word)
    sensitive = assessment.get("sensitiveInformationPolicy") or {}
    for match in (*sensitive.get("piiEntities", ()), *sensitive.get("regexes", ())):
        # Personal data in a user's own prompt is normal; only what the guardrail is set to block counts.
        if match.get("action") == _BLOCKED:
            yield PII_CATEGORY, BLOCKED_SCORE


def scores_from_assessments(
    assessments: Iterable[Mapping[str, Any]], topic_categories: Mapping[str, Category]
) -> dict[Category, float]:
    """The highest score per category over every finding of every assessment (categories scoring 0 left out)."""
    scores: dict[Category, float] = {}
    for assessment in assessments:
        for category, score in _findings(assessment, topic_categories):
            if score > scores.get(category, 0.0):
                scores[category] = score
    return scores


GuardrailSource = Literal["INPUT", "OUTPUT"]

# What Bedrock's image filters take: PNG and JPEG bytes, at most 4 MB an image and 20 images a call.
IMAGE_FORMATS: Mapping[str, str] = {"image/png": "png", "image/jpeg": "jpeg"}
MAX_IMAGE_BYTES = 4 * 1024 * 1024
MAX_IMAGES = 20


def _image_block(attachment: Mapping[str, Any]) -> dict[str, Any] | None:
    """The attachment as the guardrail's image content block, or None when it cannot take it."""
    source = attachment.get("source")
    if attachment.get("type") != "image" or not isinstance(source, Mapping):
        return None
    image_format = IMAGE_FORMATS.get(str(source.get("media_type")))
    data = inline_data(attachment) if image_format else None
    if not data or len(data) > MAX_IMAGE_BYTES:
        return None
    return {"image": {"format": image_format, "source": {"bytes": data}}}


def image_blocks(turns: Sequence[UserTurn]) -> list[dict[str, Any]]:
    """The end user's images the guardrail can take, as its content blocks, oldest first, at most `MAX_IMAGES`:
    not images of other formats or by URL, not images over 4 MB, and not documents."""
    blocks: list[dict[str, Any]] = []
    for turn in turns:
        for attachment in turn.attachments:
            if len(blocks) == MAX_IMAGES:
                return blocks
            block = _image_block(attachment)
            if block is not None:
                blocks.append(block)
    return blocks


class BedrockGuardrailScreener:
    """Screens text with one version of a Bedrock guardrail (`bedrock:ApplyGuardrail`), and with `read_images` the
    end user's PNG and JPEG images with it (`guardrails.screen_images`)."""

    name = SCREENER_NAME

    def __init__(
        self,
        guardrail_id: str,
        guardrail_version: str,
        topic_categories: Mapping[str, Category] | None = None,
        *,
        source: GuardrailSource = "INPUT",
        read_images: bool = False,
        bedrock_runtime: Any | None = None,
    ):
        # INPUT screens the end user's prompt; OUTPUT screens Claude's answer (the guardrail's output filters).
        self.source = source
        self.guardrail_id = guardrail_id
        self.guardrail_version = guardrail_version
        self.topic_categories = dict(topic_categories or {})
        self.read_images = read_images
        self._client = bedrock_runtime if bedrock_runtime is not None else aws.client("bedrock-runtime")

    def screen(self, text: str) -> ScreenerVerdict:
        return self._apply(text, [])

    def screen_turns(self, turns: Sequence[UserTurn]) -> ScreenerVerdict:
        """The end user's turns: their text, and with `read_images` their images the guardrail can take. The
        verdict counts the images the guardrail says it guarded, and says what it did not read."""
        text = turns_text(turns)
        if not self.read_images:
            return self.screen(text)
        images = image_blocks(turns)
        verdict = self._apply(text, images)
        attachments = sum(len(turn.attachments) for turn in turns)
        read = verdict.attachments
        if read == attachments:
            return verdict
        return verdict.model_copy(
            update={
                "unread": f"{attachments - read} of the {attachments} images and documents (the guardrail reads "
                f"PNG and JPEG images of up to 4 MB, {MAX_IMAGES} a request)"
            }
        )

    def _apply(self, text: str, images: list[dict[str, Any]]) -> ScreenerVerdict:
        content = [{"text": {"text": text}}] if text.strip() else []
        content.extend(images)
        if not content:
            return ScreenerVerdict(screener=self.name)
        try:
            response = self._client.apply_guardrail(
                guardrailIdentifier=self.guardrail_id,
                guardrailVersion=self.guardrail_version,
                source=self.source,
                content=content,
            )
        except ClientError as error:
            code = error.response.get("Error", {}).get("Code", "ClientError")
            raise ScreenerFailedError(f"guardrail call failed: {code}") from error
        except BotoCoreError as error:
            raise ScreenerFailedError(f"guardrail call failed: {type(error).__name__}") from error
        usage = response.get("usage") or {}
        return ScreenerVerdict(
            screener=self.name,
            scores=scores_from_assessments(response.get("assessments") or (), self.topic_categories),
            usage={key: value for key, value in usage.items() if isinstance(value, int) and value} or None,
            attachments=_images_guarded(response, len(images)),
        )


def _images_guarded(response: Mapping[str, Any], sent: int) -> int:
    """How many of the images sent the guardrail screened: its coverage report when it gives one (a guardrail
    whose filters lack the image modality screens none), else all of them."""
    coverage = (response.get("guardrailCoverage") or {}).get("images") or {}
    guarded = coverage.get("guarded")
    return min(guarded, sent) if isinstance(guarded, int) and sent else sent
