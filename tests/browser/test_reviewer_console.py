"""The reviewer console in a real headless browser against the local stack: a blocked request becomes a case
in the queue, a reviewer opens and dismisses it, and the user's strike is lifted."""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, Page, Route, expect

from tests.e2e.conftest import RunningStack
from tests.support.pictures import image_block
from tests.support.review_cases import BLOCKED_CATEGORY, BLOCKED_PROMPT, REVIEWER_KEY, block_and_wait_for_case

pytestmark = pytest.mark.browser

# The tenant's system prompt is not screened, so it can carry markup that must reach the reviewer as text.
HOSTILE_SYSTEM = 'You are a helpful assistant. <img src=x onerror="window.__injected = true"><b>bold</b>'


def _watch_for_trouble(page: Page) -> list[str]:
    """Script errors and dialogs (an injected alert) on the page, collected for the final assertion."""
    trouble: list[str] = []
    page.on("pageerror", lambda error: trouble.append(f"page error: {error}"))
    page.on("dialog", lambda dialog: (trouble.append(f"dialog: {dialog.message}"), dialog.dismiss()))
    return trouble


def _sign_in(page: Page, url: str) -> None:
    page.goto(url)
    page.get_by_label("Reviewer key").fill(REVIEWER_KEY)
    page.get_by_test_id("signin-submit").click()


def test_reviewer_dismisses_a_blocked_case_and_the_users_strike_is_lifted(
    standin_stack: RunningStack, browser: Browser, artifacts: Path
) -> None:
    # Given a request the offline fast tier blocks, listed as an open case
    blocked = block_and_wait_for_case(standin_stack, "console-test-user", system=HOSTILE_SYSTEM)
    case_id = blocked.case_id
    # The figure for the note: `pytest -s` shows it.
    print(f"\nblocked → case listed as open: {blocked.visible_ms:.0f} ms (403 after {blocked.refused_ms:.0f} ms)")
    (artifacts / "timings.json").write_text(
        json.dumps({"blocked_to_case_visible_ms": blocked.visible_ms, "blocked_response_ms": blocked.refused_ms})
    )
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    trouble = _watch_for_trouble(page)

    # When the reviewer signs in with the local key, the queue shows the case
    console_url = f"{standin_stack.api_url}/review/console"
    page.goto(console_url)
    page.get_by_label("Reviewer key").fill("not-the-reviewer-key")
    page.get_by_test_id("signin-submit").click()
    expect(page.get_by_test_id("error-message")).to_contain_text("(401 authentication_error)")
    expect(page.get_by_test_id("nav-queue")).to_be_hidden()
    _sign_in(page, console_url)
    expect(page.get_by_test_id("error-message")).to_be_empty()
    row = page.locator(f'[data-testid="queue-row"][data-case-id="{case_id}"]')
    expect(row).to_be_visible()
    expect(row.get_by_test_id("category")).to_have_text([BLOCKED_CATEGORY])
    expect(page.get_by_test_id("reviewer")).to_contain_text("local-reviewer")
    page.screenshot(path=artifacts / "queue.png")

    # and opens it from the keyboard (j selects the first row, Enter opens it)
    page.keyboard.press("j")
    expect(row.get_by_test_id("case-link")).to_be_focused()
    page.keyboard.press("Enter")

    # Then the case shows the prompt as text, and the fast tier's verdict on it
    expect(page.get_by_test_id("case-status")).to_have_text("open")
    expect(page.get_by_test_id("prompt-message")).to_have_text(BLOCKED_PROMPT)
    expect(page.get_by_test_id("prompt-system")).to_have_text(HOSTILE_SYSTEM)
    expect(page.get_by_test_id("case-prompt").locator("img, b")).to_have_count(0)
    verdict = page.locator('[data-testid="verdict"][data-screener="fast"]')
    expect(verdict).to_contain_text(BLOCKED_CATEGORY)
    expect(page.get_by_test_id("case-user-status")).to_have_text("warned")

    # and the user's page (u) shows the strike the block cost them
    page.keyboard.press("u")
    expect(page.get_by_test_id("user-active-strikes")).to_have_text("1")
    expect(page.get_by_test_id("user-status")).to_have_text("warned")
    expect(page.get_by_test_id("strike-row")).to_contain_text(BLOCKED_CATEGORY)
    page.go_back()
    expect(page.get_by_test_id("case-status")).to_have_text("open")

    # When the reviewer claims it (c) and tries to dismiss it without a note, the console asks for one
    page.keyboard.press("c")
    expect(page.get_by_test_id("case-status")).to_have_text("claimed")
    page.screenshot(path=artifacts / "case.png", full_page=True)
    page.get_by_test_id("decision-dismiss").click()
    expect(page.get_by_test_id("decision-note")).to_have_attribute("aria-invalid", "true")
    expect(page.locator("#decision-note-error")).to_have_text("Note is required.")

    # and with a note, the case is decided and the user's standing comes back with it
    stale = browser.new_page(viewport={"width": 1280, "height": 900})
    _sign_in(stale, f"{console_url}#/cases/{case_id}")
    expect(stale.get_by_test_id("case-status")).to_have_text("claimed")
    page.get_by_label("Note (required)").fill("A chemistry teacher's question, not a threat.")
    page.get_by_test_id("decision-dismiss").click()
    expect(page.get_by_test_id("status-message")).to_contain_text(f"Dismissed {case_id}")
    expect(page.get_by_test_id("case-outcome")).to_have_text("dismiss")
    expect(page.get_by_test_id("actions-table")).to_contain_text("A chemistry teacher's question, not a threat.")

    # A second tab still showing the case gets the API's refusal, said plainly
    stale.get_by_label("Note (required)").fill("Confirming from a stale tab.")
    stale.get_by_test_id("decision-confirm").click()
    expect(stale.get_by_test_id("error-message")).to_have_text(
        f"case {case_id} is already decided (dismiss) (409 conflict_error)"
    )
    stale.close()

    # Then the user's page shows the strike lifted: 0 active strikes, status back to active
    page.get_by_test_id("case-user-link").click()
    expect(page.get_by_test_id("user-active-strikes")).to_have_text("0")
    expect(page.get_by_test_id("user-status")).to_have_text("active")
    expect(page.locator(f'[data-testid="user-case-row"][data-case-id="{case_id}"]')).to_contain_text("dismiss")
    page.screenshot(path=artifacts / "user.png", full_page=True)

    injected: Any = page.evaluate("window.__injected")
    assert injected is None
    assert trouble == []


COGNITO_REGION = "eu-west-1"
COGNITO_URL = f"https://cognito-idp.{COGNITO_REGION}.amazonaws.com/"
COGNITO_CONFIG = {"auth": "cognito", "region": COGNITO_REGION, "user_pool_id": "pool", "client_id": "console-client"}


TOKENS = (200, {"AuthenticationResult": {"IdToken": REVIEWER_KEY, "AccessToken": "a", "ExpiresIn": 3600}})


class FakeCognito:
    """Cognito's user-pool endpoint as the browser sees it (there is no network here), answering with `replies` in
    order; the last gives tokens whose ID token is the local reviewer key, so the real local API accepts the
    console's calls made with it. By default: wrong password first, then a new password, then an authenticator
    code."""

    def __init__(self, replies: list[tuple[int, dict[str, Any]]] | None = None) -> None:
        self.calls: list[tuple[str, str, dict[str, Any]]] = []
        self.replies: list[tuple[int, dict[str, Any]]] = replies or [
            (400, {"__type": "NotAuthorizedException", "message": "Incorrect username or password."}),
            (200, {"ChallengeName": "NEW_PASSWORD_REQUIRED", "Session": "s1", "ChallengeParameters": {}}),
            (200, {"ChallengeName": "SOFTWARE_TOKEN_MFA", "Session": "s2", "ChallengeParameters": {}}),
            TOKENS,
        ]

    def __call__(self, route: Route) -> None:
        request = route.request
        self.calls.append((request.headers["x-amz-target"], request.headers["content-type"], request.post_data_json))
        status, body = self.replies.pop(0)
        route.fulfill(status=status, content_type="application/x-amz-json-1.1", body=json.dumps(body))


def test_a_case_shows_the_images_blurred_until_asked_and_offers_the_pdf_without_dumping_base64(
    standin_stack: RunningStack, browser: Browser, artifacts: Path
) -> None:
    # Given a blocked request that came with a picture, a PDF, a picture by URL, and a text document (shown as text)
    picture = image_block("a note in the picture")
    notes = {"type": "document", "source": {"type": "text", "media_type": "text/plain", "data": "Shopping: " * 40}}
    pdf_data = base64.b64encode(b"%PDF-1.4\n" + b"0" * 3000).decode()
    pdf = {"type": "document", "source": {"type": "base64", "media_type": "application/pdf", "data": pdf_data}}
    by_url = {"type": "image", "source": {"type": "url", "url": "https://images.example/cat.png"}}
    blocked = block_and_wait_for_case(standin_stack, "console-picture-user", attachments=[picture, pdf, by_url, notes])
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    trouble = _watch_for_trouble(page)
    requested: list[str] = []
    page.on("request", lambda request: requested.append(request.url))

    # When the reviewer opens its case
    _sign_in(page, f"{standin_stack.api_url}/review/console#/cases/{blocked.case_id}")
    expect(page.get_by_test_id("case-status")).to_have_text("open")

    # Then the text is shown as text, a text document's whole, with no base64 in it
    message = page.get_by_test_id("prompt-message")
    expect(message).to_contain_text(BLOCKED_PROMPT)
    expect(message).to_contain_text("Shopping: " * 40)
    expect(message).not_to_contain_text("iVBOR")
    # and the picture is shown blurred, until the reviewer chooses to see it
    image = page.get_by_test_id("attachment-image")
    expect(image).to_have_count(1)
    expect(image).to_have_class("attachment blurred")
    assert image.evaluate("node => node.naturalWidth") == 1  # the PNG decoded
    page.get_by_test_id("attachment-reveal").click()
    expect(image).to_have_class("attachment")
    expect(page.get_by_test_id("attachment-reveal")).to_have_attribute("aria-pressed", "true")
    # and the PDF is offered for download, the picture by URL named but never fetched
    download = page.get_by_test_id("attachment-download")
    expect(download).to_have_attribute("href", f"data:application/pdf;base64,{pdf_data}")
    expect(download).to_contain_text("Download the PDF the end user sent (3 KiB)")
    expect(page.get_by_test_id("attachment-link")).to_have_text(
        "Image by URL, not loaded here: https://images.example/cat.png"
    )
    assert not [url for url in requested if "images.example" in url]
    # and the record's note says that no screener read them (the local stack's fast tier reads text only)
    expect(page.get_by_test_id("record-notes")).to_have_text(
        "Notes: not screened: document (application/pdf) 1, image 2"
    )
    page.screenshot(path=artifacts / "case-with-attachments.png", full_page=True)
    assert trouble == []
    page.close()


def test_cognito_sign_in_answers_the_new_password_and_authenticator_code_challenges(
    standin_stack: RunningStack, browser: Browser
) -> None:
    # Given a console configured for Cognito (as deployed)
    cognito = FakeCognito()
    page = browser.new_page()
    page.route("**/review/console/config", lambda route: route.fulfill(json=COGNITO_CONFIG))
    page.route(COGNITO_URL, cognito)
    page.goto(f"{standin_stack.api_url}/review/console")

    # When the reviewer mistypes the password, Cognito's refusal is shown
    page.get_by_label("Username").fill("ana")
    page.get_by_label("Password").fill("wrong")
    page.get_by_test_id("signin-submit").click()
    expect(page.get_by_test_id("error-message")).to_have_text(
        "Incorrect username or password. (400 NotAuthorizedException)"
    )

    # and then signs in, choosing a new password and giving an authenticator code when asked
    page.get_by_label("Password").fill("temporary-Passw0rd")
    page.get_by_test_id("signin-submit").click()
    page.get_by_label("New password").fill("chosen-Passw0rd!")
    page.get_by_test_id("signin-submit").click()
    page.get_by_label("Code from your authenticator app").fill("123456")
    page.get_by_test_id("signin-submit").click()

    # Then the ID token is the console's bearer, and Cognito was asked exactly as its API wants
    expect(page.get_by_test_id("queue-table")).to_be_visible()
    expect(page.get_by_test_id("reviewer")).to_contain_text("local-reviewer")
    initiate = "AWSCognitoIdentityProviderService.InitiateAuth"
    respond = "AWSCognitoIdentityProviderService.RespondToAuthChallenge"
    json_1_1 = "application/x-amz-json-1.1"
    client = COGNITO_CONFIG["client_id"]
    assert cognito.calls[1:] == [
        (
            initiate,
            json_1_1,
            {
                "AuthFlow": "USER_PASSWORD_AUTH",
                "ClientId": client,
                "AuthParameters": {"USERNAME": "ana", "PASSWORD": "temporary-Passw0rd"},
            },
        ),
        (
            respond,
            json_1_1,
            {
                "ChallengeName": "NEW_PASSWORD_REQUIRED",
                "ClientId": client,
                "Session": "s1",
                "ChallengeResponses": {"USERNAME": "ana", "NEW_PASSWORD": "chosen-Passw0rd!"},
            },
        ),
        (
            respond,
            json_1_1,
            {
                "ChallengeName": "SOFTWARE_TOKEN_MFA",
                "ClientId": client,
                "Session": "s2",
                "ChallengeResponses": {"USERNAME": "ana", "SOFTWARE_TOKEN_MFA_CODE": "123456"},
            },
        ),
    ]
    page.close()


def test_a_first_sign_in_enrols_an_authenticator_app_when_mfa_is_required(
    standin_stack: RunningStack, browser: Browser
) -> None:
    # Given a reviewer pool that requires MFA and a reviewer without an authenticator yet
    cognito = FakeCognito(
        [
            (200, {"ChallengeName": "MFA_SETUP", "Session": "s1", "ChallengeParameters": {}}),
            (200, {"SecretCode": "JBSWY3DPEHPK3PXP", "Session": "s2"}),
            (200, {"Status": "SUCCESS", "Session": "s3"}),
            TOKENS,
        ]
    )
    page = browser.new_page()
    page.route("**/review/console/config", lambda route: route.fulfill(json=COGNITO_CONFIG))
    page.route(COGNITO_URL, cognito)
    page.goto(f"{standin_stack.api_url}/review/console")

    # When they sign in, add the shown key to their app and enter its code
    page.get_by_label("Username").fill("ana")
    page.get_by_label("Password").fill("chosen-Passw0rd!")
    page.get_by_test_id("signin-submit").click()
    expect(page.get_by_test_id("mfa-secret")).to_have_text("JBSWY3DPEHPK3PXP")
    expect(page.get_by_test_id("mfa-uri")).to_contain_text("otpauth://totp/")
    page.get_by_label("Code from your authenticator app").fill("654321")
    page.get_by_test_id("signin-submit").click()

    # Then they are signed in, and Cognito was asked to associate, verify and finish the MFA_SETUP challenge
    expect(page.get_by_test_id("queue-table")).to_be_visible()
    targets = [target.rsplit(".", 1)[-1] for target, _, _ in cognito.calls]
    assert targets == ["InitiateAuth", "AssociateSoftwareToken", "VerifySoftwareToken", "RespondToAuthChallenge"]
    assert cognito.calls[1][2] == {"Session": "s1"}
    assert cognito.calls[2][2] == {"Session": "s2", "UserCode": "654321", "FriendlyDeviceName": "Warden review"}
    assert cognito.calls[3][2] == {
        "ChallengeName": "MFA_SETUP",
        "ClientId": COGNITO_CONFIG["client_id"],
        "Session": "s3",
        "ChallengeResponses": {"USERNAME": "ana"},
    }
    page.close()
