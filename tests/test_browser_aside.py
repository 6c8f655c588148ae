"""The "niet opgenomen" part of the advice list in real headless Chromium against `companion serve`.

Set-aside speech is written into the server's SQLite file as the speech
pipeline would leave it (the server runs without a model here); the
facilitator sees it collapsed under the list with its reason, opens it and
puts one piece back with one click; the deelnemer never sees it.
Screenshot: artifacts/screenshots/advice-aside.png.
"""

from __future__ import annotations

import re
import shutil
import sqlite3
import time

import pytest
from served import CHROMIUM, CHROMIUM_ARGS, SHOTS, ServedCompanion

playwright_api = pytest.importorskip("playwright.async_api")
pytestmark = pytest.mark.skipif(not shutil.which(CHROMIUM), reason="no Chromium")
TIMEOUT_MS = 30000


def expect(locator):
    return playwright_api.expect(locator)


@pytest.fixture
def served(tmp_path):
    s = ServedCompanion(tmp_path)
    s.start()
    yield s
    s.close()


def _set_aside(db_path, room_id: str, rows: list[tuple[str, str, str, float]]) -> None:
    conn = sqlite3.connect(str(db_path), timeout=10)
    with conn:
        for aside_id, text, reason, language, start in rows:
            conn.execute(
                """INSERT INTO set_aside (id, room_id, participant_id, start_s, end_s, text, reason, language,
                                          utterance_ids, created_at) VALUES (?, ?, NULL, ?, ?, ?, ?, ?, '[]', ?)""",
                (aside_id, room_id, start, start + 2, text, reason, language, time.time()),
            )
    conn.close()


async def test_facilitator_sees_set_aside_speech_and_puts_it_back(served):
    playwright_api.expect.set_options(timeout=TIMEOUT_MS)
    async with playwright_api.async_playwright() as p:
        browser = await p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            fac_ctx = await browser.new_context(locale="nl-NL")
            fac = await fac_ctx.new_page()
            errors: list[str] = []
            fac.on("pageerror", lambda exc: errors.append(str(exc)))
            await fac.goto(served.facilitator_url)
            await fac.get_by_label("Naam van de groep").fill("Team Zuid")
            await fac.get_by_label("Jouw naam (begeleider)").fill("Fleur")
            await fac.get_by_role("button", name="Kamer maken").click()
            await expect(fac.locator("#invite-url")).to_have_value(re.compile("/i/"))
            invite_url = await fac.locator("#invite-url").input_value()
            await fac.get_by_role("link", name="Naar de kamer").click()
            await fac.wait_for_url("**/r/*")
            room_id = re.search(r"/r/([^/?#]+)", fac.url).group(1)
            _set_aside(served.tmp / "data" / "companion.sqlite3", room_id, [
                ("a1", "Dank je wel, Ahmed.", "no_advice", None, 3.0),
                ("a2", "Ask her what she needs first.", "low_confidence", "en", 5.0),
            ])

            # Someone joining pushes a new state to the facilitator, with the set-aside speech in it.
            ahmed_ctx = await browser.new_context(locale="nl-NL")
            ahmed = await ahmed_ctx.new_page()
            await ahmed.goto(invite_url)
            await ahmed.get_by_label("Jouw naam").fill("Ahmed")
            await ahmed.get_by_role("button", name="Meedoen").click()
            await ahmed.wait_for_url("**/r/*")

            aside = fac.locator("#advice-aside")
            await expect(aside).to_be_visible()
            summary = aside.locator("summary")
            await expect(summary).to_have_text("Niet opgenomen (2)")
            # Collapsed until opened: the list itself stays the advice.
            await expect(aside.locator("li").first).to_be_hidden()
            await summary.click()
            first = aside.locator("li", has_text="Dank je wel, Ahmed.")
            await expect(first).to_contain_text("geen advies")
            second = aside.locator("li", has_text="Ask her what she needs first.")
            await expect(second).to_contain_text("slecht verstaan")
            await expect(second).to_contain_text("in het Engels")
            await second.get_by_role("button", name=re.compile("Terugzetten in de lijst")).click()
            items = fac.locator("#advice-list li.advice-item")
            await expect(items).to_have_count(1)
            await expect(items.first).to_contain_text("Ask her what she needs first.")
            await expect(items.first).to_contain_text("teruggezet")
            await expect(items.first).to_contain_text("in het Engels")
            await expect(summary).to_have_text("Niet opgenomen (1)")
            SHOTS.mkdir(parents=True, exist_ok=True)
            await fac.screenshot(path=str(SHOTS / "advice-aside.png"), full_page=True, timeout=60000)

            # The deelnemer reads the list but not what was set aside.
            await expect(ahmed.locator("#advice-list li.advice-item")).to_have_count(1)
            await expect(ahmed.locator("#advice-aside")).to_be_hidden()
            assert not errors
        finally:
            await browser.close()
