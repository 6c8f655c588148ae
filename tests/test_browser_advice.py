"""The advice list panel in real headless Chromium against `companion serve`.

Three people (facilitator, one deelnemer, the inbrenger) click through a
roddelmodel opening to the advice round. Without transcription the list is
filled by hand: the facilitator adds and corrects items, the inbrenger marks
them and writes notes, the deelnemer only reads. Roles are enforced by the
server; this checks that each page offers exactly its own buttons, that a
state pushed by someone else leaves a half-written note alone, and that the
downloaded document holds what was clicked. Screenshots: artifacts/screenshots/advice-*.png.
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest
from served import CHROMIUM, CHROMIUM_ARGS, SHOTS

playwright_api = pytest.importorskip("playwright.async_api")

ARGS = CHROMIUM_ARGS
VIEWPORT = {"width": 1280, "height": 800}
TIMEOUT_MS = 30000  # generous: the machine is shared with other test runs and three video peers
ADVICE_STEP = 5  # 0-based index of "Adviesronde" in the roddelmodel
REACTION_STEP = 6

pytestmark = pytest.mark.skipif(not shutil.which(CHROMIUM), reason="no Chromium")


def expect(locator):
    return playwright_api.expect(locator)


async def shot(page, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    await page.screenshot(path=str(SHOTS / f"advice-{name}.png"), full_page=True, timeout=60000)


async def new_person(browser):
    context = await browser.new_context(viewport=VIEWPORT, locale="nl-NL", accept_downloads=True)
    page = await context.new_page()
    page.set_default_timeout(TIMEOUT_MS)
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    return context, page, errors


async def join(browser, invite_url: str, name: str):
    context, page, errors = await new_person(browser)
    await page.goto(invite_url)
    await page.get_by_label("Jouw naam").fill(name)
    await page.get_by_role("button", name="Meedoen").click()
    await page.wait_for_url("**/r/*")
    await page.locator("#group-name", has_text="Team Zuid").wait_for()
    return context, page, errors


async def goto_step(fac, index: int, pages, label: str, nudge=None) -> None:
    await fac.locator("#console-goto").select_option(str(index))
    if nudge is not None:
        # The facilitator picks a step and tabs on to "Ga"; meanwhile someone raises and lowers a hand, so
        # state updates redraw the console: the pick must hold (it once fell back to "the next step").
        await fac.locator("#console-goto").evaluate("(el) => el.blur()")
        await nudge.get_by_role("button", name="Hand opsteken").click()
        await expect(fac.locator("#console-hands li")).to_have_count(1)
        await nudge.get_by_role("button", name="Hand laten zakken").click()
        await expect(fac.locator("#console-hands li")).to_have_count(0)
    await fac.get_by_role("button", name="Ga", exact=True).click()
    for page in pages:
        await expect(page.locator("#step-label")).to_contain_text(label)


async def test_advice_panel_per_role(server):
    playwright_api.expect.set_options(timeout=TIMEOUT_MS)
    async with playwright_api.async_playwright() as p:
        browser = await p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        try:
            await run_advice(browser, server.base, server.facilitator_url)
        finally:
            await browser.close()


async def run_advice(browser, base: str, facilitator_url: str) -> None:
    fac_ctx, fac, fac_errors = await new_person(browser)
    await fac.goto(facilitator_url)
    await fac.get_by_label("Naam van de groep").fill("Team Zuid")
    await fac.get_by_label("Methode").select_option("roddelmodel")
    await fac.get_by_label("Jouw naam (begeleider)").fill("Fleur")
    await fac.get_by_role("button", name="Kamer maken").click()
    await expect(fac.locator("#invite-url")).to_have_value(re.compile("/i/"))
    invite_url = await fac.locator("#invite-url").input_value()
    await fac.get_by_role("link", name="Naar de kamer").click()
    await fac.wait_for_url("**/r/*")

    a_ctx, ahmed, a_errors = await join(browser, invite_url, "Ahmed")
    b_ctx, bea, b_errors = await join(browser, invite_url, "Bea")
    everyone = (fac, ahmed, bea)
    for page in everyone:
        await expect(page.locator("#people li")).to_have_count(3)
        # Before the advice round there is nothing to show.
        await expect(page.locator("#advice-panel")).to_be_hidden()

    # Case round and vote by clicks; Bea's case wins and she becomes the inbrenger.
    await fac.get_by_role("button", name="Sessie starten").click()
    await bea.get_by_label("Korte titel").fill("Nee zeggen")
    await bea.get_by_label("Je vraag").fill("Hoe zeg ik op tijd nee tegen extra werk?")
    await bea.get_by_role("button", name="Casus opslaan").click()
    await expect(fac.locator("#case-list li.case")).to_have_count(1)
    # Ahmed wrote no case: the first click warns, the second moves on.
    await fac.get_by_role("button", name="Volgende stap").click()
    await expect(fac.locator("#console-warning")).to_contain_text("Ahmed")
    await fac.get_by_role("button", name="Volgende stap").click()
    for page in everyone:
        await expect(page.locator("#step-label")).to_contain_text("Stap 2/9")
        await page.locator("#case-list li.case", has_text="Nee zeggen").get_by_role("button", name="Stem hierop").click()
    await fac.get_by_role("button", name="Stemming sluiten").click()
    await expect(fac.locator("#people li", has_text="Bea")).to_contain_text("inbrenger")

    # ---------------------------------------------------------------- advice round
    await goto_step(fac, ADVICE_STEP, everyone, "Stap 6/9", nudge=ahmed)
    panel = fac.locator("#advice-panel")
    await expect(panel).to_be_visible()
    await expect(panel).to_contain_text("Nog geen adviezen")
    await panel.get_by_label("Nieuw advies").fill("Zeg eerst: ik kom erop terug, en beslis pas na een nacht slapen.")
    # One click on the speaker's name adds the advice, credited to them.
    await panel.locator(".advice-add").get_by_role("button", name="Ahmed", exact=True).click()
    await expect(panel.locator("#advice-list li.advice-item")).to_have_count(1)
    await expect(panel.locator("#advice-add-text")).to_have_value("")
    await panel.get_by_label("Nieuw advies").fill("Maak een lijstje van wat je nu al doet.")
    await panel.locator(".advice-add").get_by_role("button", name="Onbekend", exact=True).click()
    items = panel.locator("#advice-list li.advice-item")
    await expect(items).to_have_count(2)
    await expect(items.nth(0)).to_contain_text("Ahmed")
    await expect(items.nth(0)).to_contain_text("met de hand toegevoegd")
    await expect(items.nth(1)).to_contain_text("Onbekend")

    # The deelnemer reads the same list, without any of the editing or marking buttons.
    a_items = ahmed.locator("#advice-list li.advice-item")
    await expect(a_items).to_have_count(2)
    await expect(a_items.nth(0)).to_contain_text("beslis pas na een nacht slapen")
    await expect(ahmed.locator("#advice-panel button:visible")).to_have_count(0)
    await expect(ahmed.locator("#advice-panel textarea:visible")).to_have_count(0)
    await expect(ahmed.locator("#advice-download-md")).to_be_hidden()
    await shot(ahmed, "01-advice-round-participant")
    await shot(fac, "02-advice-round-facilitator")

    # Delete is undone with one click.
    await items.nth(1).get_by_role("button", name="Verwijderen").click()
    await expect(items).to_have_count(1)
    await expect(a_items).to_have_count(1)
    await panel.get_by_role("button", name="Ongedaan maken").click()
    await expect(items).to_have_count(2)
    await expect(a_items).to_have_count(2)

    # Order, merge and split: the corrections a transcript needs, everyone sees the result.
    first_text = "Zeg eerst: ik kom erop terug, en beslis pas na een nacht slapen."
    await items.nth(0).get_by_role("button", name="Omlaag").click()
    await expect(a_items.nth(1)).to_contain_text("nacht slapen")
    await items.nth(1).get_by_role("button", name="Omhoog").click()
    await expect(a_items.nth(0)).to_contain_text("nacht slapen")
    await items.nth(0).get_by_role("button", name="Samenvoegen met het volgende").click()
    await expect(a_items).to_have_count(1)
    await expect(a_items.nth(0)).to_contain_text("slapen. Maak een lijstje")
    await items.nth(0).get_by_role("button", name="Aanpassen").click()
    editor = items.nth(0).get_by_label("Advies")
    await editor.click()
    # The cursor goes where the second advice starts (a click at a character, without pixel arithmetic).
    await editor.evaluate("(el, at) => el.setSelectionRange(at, at)", len(first_text) + 1)
    await items.nth(0).get_by_role("button", name="Splitsen bij de cursor").click()
    await expect(a_items).to_have_count(2)
    await expect(a_items.nth(0)).to_have_text(re.compile(re.escape(first_text)))
    await expect(a_items.nth(1)).to_contain_text("Maak een lijstje van wat je nu al doet.")
    await expect(a_items.nth(1)).not_to_contain_text("slapen")

    # ---------------------------------------------------------------- reaction: the inbrenger marks
    await goto_step(fac, REACTION_STEP, everyone, "Stap 7/9")
    b_panel = bea.locator("#advice-panel")
    b_items = b_panel.locator("#advice-list li.advice-item")
    await expect(b_items).to_have_count(2)
    first = b_items.nth(0)
    await first.get_by_role("button", name="Bruikbaar").click()
    await expect(first.get_by_role("button", name="Bruikbaar")).to_have_attribute("aria-pressed", "true")
    await expect(fac.locator("#advice-list li.advice-item").nth(0)).to_contain_text("Inbrenger: Bruikbaar")
    # The group does not see how the inbrenger judged the advice.
    await expect(a_items.nth(0)).not_to_contain_text("Bruikbaar")

    # A half-written note survives the facilitator's edit arriving meanwhile.
    await first.get_by_label("Notitie").fill("Dit ga ik maandag proberen")
    await items.nth(0).get_by_role("button", name="Aanpassen").click()
    await items.nth(0).get_by_label("Advies").fill("Zeg eerst: ik kom erop terug. Beslis pas de volgende dag.")
    await items.nth(0).get_by_role("button", name="Opslaan").click()
    await expect(b_items.nth(0)).to_contain_text("Beslis pas de volgende dag")
    await expect(b_items.nth(0)).to_contain_text("aangepast")
    await expect(first.get_by_label("Notitie")).to_have_value("Dit ga ik maandag proberen")
    await first.get_by_role("button", name="Notitie opslaan").click()
    await expect(first).to_contain_text("Opgeslagen.")
    await expect(items.nth(0)).to_contain_text("Notitie: Dit ga ik maandag proberen")
    await expect(a_items.nth(0)).not_to_contain_text("maandag")

    await b_items.nth(1).get_by_role("button", name="Wil ik naar vragen").click()
    await expect(b_items.nth(1).get_by_role("button", name="Wil ik naar vragen")).to_have_attribute("aria-pressed", "true")
    await b_panel.get_by_label("Jouw notitie bij de adviezen").fill("Vooral: niet meteen ja zeggen.")
    await b_panel.locator(".advice-overall").get_by_role("button", name="Opslaan").click()
    await expect(fac.locator("#advice-panel")).to_contain_text("Vooral: niet meteen ja zeggen.")
    await shot(bea, "03-reaction-inbrenger")
    await shot(fac, "04-reaction-facilitator")

    # A reload keeps marks and notes: they live on the server.
    await bea.reload()
    await expect(b_items.nth(0).get_by_role("button", name="Bruikbaar")).to_have_attribute("aria-pressed", "true")
    await expect(b_items.nth(0).get_by_label("Notitie")).to_have_value("Dit ga ik maandag proberen")

    # The inbrenger downloads the document; it holds the corrected text, the speaker and the note.
    async with bea.expect_download() as info:
        await bea.locator("#advice-download-md").click()
    download = await info.value
    text = Path(await download.path()).read_text(encoding="utf-8")
    assert "Beslis pas de volgende dag" in text
    assert "Ahmed" in text
    assert "Dit ga ik maandag proberen" in text
    assert download.suggested_filename.endswith(".md")

    # In English the same panel speaks English.
    await ahmed.get_by_role("button", name="English").click()
    await expect(ahmed.locator("#advice-panel h2")).to_have_text("Advice")
    await shot(ahmed, "05-english-participant")

    # Only after the end may the inbrenger delete everything; every open page then says so.
    await expect(bea.locator("#advice-delete-now")).to_be_hidden()
    fac.once("dialog", lambda dialog: dialog.accept())
    await fac.get_by_role("button", name="Sessie beëindigen").click()
    await expect(bea.locator("#advice-delete-now")).to_be_visible()
    await expect(ahmed.locator("#advice-delete-now")).to_be_hidden()
    await shot(bea, "06-ended-inbrenger")
    bea.once("dialog", lambda dialog: dialog.accept())
    await bea.locator("#advice-delete-now").click()
    for page in (fac, bea):
        await expect(page.get_by_text("Deze sessie is verwijderd.")).to_be_visible()
    await expect(ahmed.get_by_text("This session was deleted.")).to_be_visible()
    response = await fac.request.get(base + "/api/rooms/" + fac.url.rstrip("/").split("/")[-1] + "/advice")
    assert response.status in (401, 403, 404), response.status

    assert not fac_errors and not a_errors and not b_errors, (fac_errors, a_errors, b_errors)
    for context in (fac_ctx, a_ctx, b_ctx):
        await context.close()
