"""The follow-up step in real headless Chromium: the second meeting of a group opens with the look back.

Anne was inbrenger in the first meeting: her page shows her own advice list with the marks and notes she
gave, she sets what she did with an advice (kept after a reload) and shares an update. Cor had no case:
his page shows who had one, Anne's shared update, and nothing of her list. The server decides all of
this (tests/test_followup.py); this checks the page shows it and its buttons work.
Screenshots: artifacts/screenshots/followup-*.png, and docs/screenshots/14-terugblik-inbrenger.png for the README.
"""

from __future__ import annotations

import shutil

import pytest
from served import CHROMIUM, CHROMIUM_ARGS, ROOT, SHOTS
from test_browser_access import axe_missing, violations
from test_followup import ANNE_ADVICE, BAS_ADVICE, Group, advice_list

playwright_api = pytest.importorskip("playwright.async_api")

pytestmark = pytest.mark.skipif(not shutil.which(CHROMIUM), reason="no Chromium")
VIEWPORT = {"width": 1366, "height": 768}
DOCS = ROOT / "docs" / "screenshots"
TIMEOUT_MS = 30000


def expect(locator):
    return playwright_api.expect(locator)


async def open_page(browser, harness, person):
    # bypass_csp: the page's Content-Security-Policy would refuse the injected axe-core script.
    context = await browser.new_context(viewport=VIEWPORT, locale="nl-NL", bypass_csp=True)
    page = await context.new_page()
    page.set_default_timeout(TIMEOUT_MS)
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    # The personal link sets the browser's session for the room and goes on to the room page.
    await page.goto(harness.url(f"/r/{person.room_id}/k/{person.token}"))
    await page.wait_for_url("**/r/*")
    return context, page, errors


async def test_the_look_back_in_the_room_page(media_server):
    # With the media layer on, as a real server runs: the pages start their call and show no error.
    harness = media_server
    axe_missing()
    group = Group(harness)
    first = group.new_meeting()
    fac1, p1 = await group.case_room(first, 1)
    await advice_list(harness, fac1, p1["Anne"], [(t, p) for t, p in zip(ANNE_ADVICE, (p1["Bas"], p1["Cor"], p1["Dewi"]))],
                      {0: ("useful", "Eerst agenda maken.")})
    await fac1.ok("session.end")
    fac2, p2 = await group.case_room(first, 2)
    await advice_list(harness, fac2, p2["Bas"], [(t, p) for t, p in zip(BAS_ADVICE, (p2["Anne"], p2["Dewi"]))], {})
    await fac2.ok("session.end")
    fac, people = await group.case_room(group.new_meeting(), 1)
    await fac.ok("session.start")

    async with playwright_api.async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            anne_ctx, anne, anne_errors = await open_page(browser, harness, people["Anne"])
            panel = anne.locator("#followup-panel")
            await expect(panel.get_by_role("heading", name="Terugblik op bijeenkomst 1")).to_be_visible()
            items = panel.locator(".followup-item")
            await expect(items).to_have_count(3)
            await expect(items.nth(0)).to_contain_text(ANNE_ADVICE[0])
            await expect(items.nth(0)).to_contain_text("van Bas")
            await expect(items.nth(0)).to_contain_text("Je vond het bruikbaar")
            await expect(items.nth(0)).to_contain_text("Eerst agenda maken.")
            await expect(panel).not_to_contain_text(BAS_ADVICE[0])

            helped = items.nth(0).get_by_role("button", name="Geholpen")
            await helped.click()
            await expect(helped).to_have_attribute("aria-pressed", "true")
            await items.nth(2).get_by_role("button", name="Laten vallen").click()
            await expect(items.nth(2).get_by_role("button", name="Laten vallen")).to_have_attribute("aria-pressed", "true")
            await anne.reload()
            await expect(anne.locator("#followup-panel .followup-item").nth(0).get_by_role("button", name="Geholpen")) \
                .to_have_attribute("aria-pressed", "true")

            update = "Het gesprek met mijn teamleider hielp; nee zeggen lukt steeds beter."
            await anne.locator("#followup-update-text").fill(update)
            await anne.locator("#followup-update-share").check()
            await anne.locator("#followup-update-save").click()
            await expect(anne.locator("#followup-panel")).to_contain_text("Opgeslagen.")
            await expect(anne.locator("#followup-shared")).to_contain_text(update)
            SHOTS.mkdir(parents=True, exist_ok=True)
            await anne.screenshot(path=str(SHOTS / "followup-inbrenger.png"), full_page=True, timeout=60000)
            await anne.locator("#followup-panel .followup-item").nth(0).scroll_into_view_if_needed()
            await anne.screenshot(path=str(DOCS / "14-terugblik-inbrenger.png"), timeout=60000)

            cor_ctx, cor, cor_errors = await open_page(browser, harness, people["Cor"])
            cor_panel = cor.locator("#followup-panel")
            await expect(cor_panel).to_contain_text("De vorige keer brachten Anne en Bas een casus in.")
            await expect(cor.locator("#followup-shared")).to_contain_text(f"Anne: {update}")
            await expect(cor_panel.locator(".followup-item")).to_have_count(0)
            await expect(cor_panel.locator("#followup-update-text")).to_be_hidden()
            for text in ANNE_ADVICE + BAS_ADVICE + ["Eerst agenda maken."]:
                assert text not in await cor.content()
            await cor.screenshot(path=str(SHOTS / "followup-deelnemer.png"), full_page=True, timeout=60000)
            # Accessibility (axe-core): no serious or critical finding on either page of the look back.
            assert await violations(anne, "look back, inbrenger") + await violations(cor, "look back, deelnemer") == []
            await cor.get_by_role("button", name="English").first.click()
            await expect(cor_panel.get_by_role("heading", name="Looking back on meeting 1")).to_be_visible()
            await expect(cor_panel).to_contain_text("Last time Anne and Bas brought in a case.")

            # The step over, the panel goes.
            await fac.ok("step.next")
            await expect(anne.locator("#followup-panel")).to_be_hidden()
            assert anne_errors == [] and cor_errors == []
            await anne_ctx.close()
            await cor_ctx.close()
        finally:
            await browser.close()
