"""A member's own page in real headless Chromium: their meetings, hours, own advice list and downloads, in Dutch
and English, and nothing of another member's. Screenshot: docs/screenshots/eigen-pagina.png (README)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from served import CHROMIUM, CHROMIUM_ARGS

from test_member_history import member_tokens, recent

playwright_api = pytest.importorskip("playwright.async_api")
pytestmark = pytest.mark.skipif(not shutil.which(CHROMIUM), reason="no Chromium")
SCREENSHOT = Path(__file__).resolve().parent.parent / "docs" / "screenshots" / "eigen-pagina.png"


async def test_a_member_sees_their_own_page_between_meetings(harness):
    from companion import tokens
    from companion.web import ENGINE

    conn = harness.server.app[ENGINE].conn
    recent(conn)
    tok = member_tokens(conn)
    async with playwright_api.async_playwright() as p:
        browser = await p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            page = await browser.new_page(viewport={"width": 900, "height": 1000})
            errors: list[str] = []
            page.on("pageerror", lambda exc: errors.append(str(exc)))
            # Every request of the page answered (the browser's own favicon request aside).
            page.on("response", lambda r: errors.append(f"{r.status} {r.url}")
                    if r.status >= 400 and not r.url.endswith("/favicon.ico") else None)
            await page.goto(harness.url(f"/g/g1/m/{tok['anne']}"))
            expect = playwright_api.expect
            await expect(page.locator("#member-title")).to_have_text("Jouw intervisie, Anne", timeout=15000)
            meetings = page.locator("#meetings li")
            await expect(meetings).to_have_count(2)
            await expect(meetings.nth(0)).to_contain_text("Bijeenkomst 2")
            await expect(meetings.nth(0)).to_contain_text("deelnemer")
            await expect(meetings.nth(1)).to_contain_text("inbrenger")
            await expect(meetings.nth(1)).to_contain_text("180 min aanwezig")
            await expect(meetings.nth(1)).to_contain_text("inhoud bewaard tot")
            await expect(page.locator("#hours-total")).to_contain_text("2 afgeronde bijeenkomsten, samen 4 uur en 40 minuten")
            lists = page.locator("#lists article")
            await expect(lists).to_have_count(1)
            await expect(lists.first).to_contain_text("Hoe zeg ik nee tegen extra werk?")
            await expect(lists.first).to_contain_text("Spreek een vast moment af")
            await expect(lists.first).to_contain_text("hielp")
            await expect(page.locator("#takeaways")).to_contain_text("Ik mag ook nee zeggen")
            body = await page.locator("body").inner_text()
            for other in ("overdrachtsdocument", "Vaker vragen", "feedback aan mijn leidinggevende"):
                assert other not in body, other
            SCREENSHOT.parent.mkdir(parents=True, exist_ok=True)
            await page.screenshot(path=str(SCREENSHOT), full_page=True)

            # The record to print opens from the page's own link.
            async with page.expect_popup() as popup_info:
                await page.click("#hours-html")
            record = await popup_info.value
            await expect(record.locator("h1")).to_have_text("Overzicht van intervisie-uren")
            await expect(record.locator("tbody tr")).to_have_count(2)
            await record.close()

            await page.click(".lang-switch")
            await expect(page.locator("#member-title")).to_have_text("Your peer consultation, Anne")
            await expect(meetings.nth(1)).to_contain_text("case owner")

            # Carla, in the case room of meeting 2 that has ended: its end screen links to her own page.
            carla = tokens.new_token()
            conn.execute("UPDATE participants SET token_hash = ? WHERE id = 'r3-carla'", (tokens.token_hash(carla),))
            room = await browser.new_page(viewport={"width": 900, "height": 1000})
            room.on("response", lambda r: errors.append(f"{r.status} {r.url}")
                    if r.status >= 400 and not r.url.endswith("/favicon.ico") else None)
            await room.goto(harness.url(f"/r/r3/k/{carla}"))
            await room.click("#end-mypage", timeout=15000)
            await expect(room.locator("#member-title")).to_have_text("Jouw intervisie, Carla", timeout=15000)
            await expect(room.locator("#lists article")).to_have_count(1)
            await expect(room.locator("#lists article").first).to_contain_text("Begin met wat goed gaat.")
            assert "nee tegen extra werk" not in await room.locator("body").inner_text()
            assert errors == []
        finally:
            await browser.close()
