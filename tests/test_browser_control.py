"""The facilitator's control over who is in, clicked in real headless Chromium against
`python -m companion serve` (and, first, the landing page for someone without a facilitator
link): a new personal link for one person, removing someone, locking
the room, a new invite link; and what the pages on the other side then show.

Checked from the pages: each weighty action asks for a confirmation first; a person whose
link was renewed or who was removed sees why (in Dutch, in English after the switch) and the
page stops reconnecting; their old link gives the "unknown link" page; the renewed link opens
the room; a locked room's invite page says it is locked and refuses the join; after a new
invite link the old one is unknown and the new one lets people in; a person's fourth page
pushes their oldest one out, which stays out until its button is clicked (no loop).

No calls: WebRTC is switched off in these pages (the media tests cover what removal does to a
call); what is tested here is the console, the server's answers and the close codes.
"""

from __future__ import annotations

import asyncio
import shutil

import pytest
from served import CHROMIUM, CHROMIUM_ARGS, SHOTS

playwright_api = pytest.importorskip("playwright.async_api")
expect = playwright_api.expect

pytestmark = pytest.mark.skipif(not shutil.which(CHROMIUM), reason="no Chromium")

# The machine may be shared by several browsers at once: generous, as every wait ends at its condition.
TIMEOUT_MS = 60000
VIEWPORT = {"width": 1366, "height": 900}
# No WebRTC (the page reports it and goes on without a call), and a count of the sockets it opens.
NO_CALLS = """
(() => {
  delete window.RTCPeerConnection;
  window.__sockets = 0;
  const OriginalWS = window.WebSocket;
  window.WebSocket = function (...args) { window.__sockets += 1; return new OriginalWS(...args); };
  window.WebSocket.prototype = OriginalWS.prototype;
  Object.setPrototypeOf(window.WebSocket, OriginalWS);
})();
"""


class Browser:
    """One person's browser (a context of its own, so a cookie of its own)."""

    def __init__(self, browser):
        self.browser = browser
        self.context = None
        self.errors: list[str] = []
        self.dialogs: list[str] = []

    async def open(self):
        self.context = await self.browser.new_context(viewport=VIEWPORT, locale="nl-NL")
        await self.context.add_init_script(NO_CALLS)
        return self

    async def page(self, url: str | None = None):
        page = await self.context.new_page()
        page.set_default_timeout(TIMEOUT_MS)
        page.on("pageerror", lambda exc: self.errors.append(str(exc)))

        async def on_dialog(dialog):
            self.dialogs.append(dialog.message)
            await dialog.accept()

        page.on("dialog", on_dialog)
        if url:
            await page.goto(url, wait_until="domcontentloaded")
        return page

    async def post(self, base: str, path: str, body: dict, headers: dict | None = None) -> dict:
        response = await self.context.request.post(base + path, data=body, headers=headers)
        assert response.status == 201, await response.text()
        return await response.json()


async def shot(page, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    await page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True, timeout=60000)


async def confirmed(b: Browser, before: int) -> str:
    """The text of the confirmation the page asked (accepted by the handler), once it was asked."""
    for _ in range(300):
        if len(b.dialogs) > before:
            return b.dialogs[-1]
        await asyncio.sleep(0.1)
    raise AssertionError("the page asked for no confirmation")


async def sockets_opened(page) -> int:
    return await page.evaluate("window.__sockets")


async def stays_stopped(page, seconds: float = 3.0) -> None:
    """The page opens no new socket for a while: it does not try to come back by itself."""
    before = await sockets_opened(page)
    await asyncio.sleep(seconds)
    assert await sockets_opened(page) == before, "the page kept reconnecting"


async def test_facilitator_removes_locks_and_renews_links(server):
    base = server.base
    expect.set_options(timeout=TIMEOUT_MS)
    async with playwright_api.async_playwright() as p:
        browser = await p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        people: list[Browser] = []

        async def person() -> Browser:
            b = await Browser(browser).open()
            people.append(b)
            return b

        try:
            # Without a facilitator link the landing page says how to get one, and offers no form.
            stranger_b = await person()
            stranger = await stranger_b.page(base + "/")
            await expect(stranger.get_by_text("Een kamer maken kan alleen met een begeleiderslink")).to_be_visible()
            await expect(stranger.get_by_text("vraag de beheerder van deze server")).to_be_visible()
            await expect(stranger.locator("#create-button")).to_be_hidden()
            await stranger_b.context.close()

            fac_b = await person()
            created = await fac_b.post(base, "/api/rooms", {
                "name": "Team Oost", "method": "roddelmodel", "language": "nl", "facilitator_name": "Fleur", "capacity": 5},
                server.facilitator_headers)
            fac = await fac_b.page(created["room_url"])
            invite_url = created["invite_url"]
            invite = invite_url.rsplit("/", 1)[1]
            anne_b, bas_b, chris_b = await person(), await person(), await person()
            anne_data = await anne_b.post(base, f"/api/invites/{invite}/join", {"name": "Anne"})
            bas_data = await bas_b.post(base, f"/api/invites/{invite}/join", {"name": "Bas"})
            await chris_b.post(base, f"/api/invites/{invite}/join", {"name": "Chris"})
            anne = await anne_b.page(anne_data["room_url"])
            bas = await bas_b.page(bas_data["room_url"])
            for page in (fac, anne, bas):
                await expect(page.locator("#group-name")).to_have_text("Team Oost")

            # Before the start there is nothing to lock yet.
            await expect(fac.locator("#console-lock")).to_be_hidden()
            await fac.get_by_role("button", name="Sessie starten").click()
            await expect(anne.locator("#step-label")).to_contain_text("Stap 1/")
            await expect(fac.locator("#console-lock-text")).to_have_text("Wie de uitnodigingslink heeft, kan nog binnenkomen.")

            # ---------------------------------------------------- a new personal link for Bas
            row = fac.locator("#console-people li", has_text="Bas")
            await row.get_by_label("Meer voor Bas").click()
            await row.get_by_role("button", name="Nieuwe persoonlijke link: Bas").click()
            asked = await confirmed(fac_b, 0)
            assert "Bas" in asked and "oude link werkt daarna niet meer" in asked
            box = fac.locator("#console-link-renewed")
            await expect(box).to_contain_text("Nieuwe persoonlijke link voor Bas")
            new_bas_url = await fac.locator("#console-link-url").input_value()
            await shot(fac, "control-renewed-link")
            assert new_bas_url.startswith(f"{base}/r/{anne_data['room_id']}/k/") and new_bas_url != bas_data["personal_url"]
            await expect(bas.locator("#noaccess h1")).to_have_text("Je link is vervangen")
            await expect(bas.locator("#noaccess-text")).to_contain_text("Vraag de begeleider om de nieuwe link")
            await stays_stopped(bas)
            # The old link is unknown now; the new one opens the room, in another browser too.
            old = await bas_b.page(bas_data["personal_url"])
            await expect(old.locator("body")).to_contain_text("Deze link is onbekend")
            await bas_b.context.close()  # fewer pages for the shared machine
            bas2_b = await person()
            bas2 = await bas2_b.page(new_bas_url)
            await expect(bas2.locator("#group-name")).to_have_text("Team Oost")
            await expect(bas2.locator("#noaccess")).to_be_hidden()
            await fac.get_by_role("button", name="Doorgegeven, verbergen").click()
            await expect(box).to_be_hidden()

            # ---------------------------------------------------- remove Anne
            dialogs_before = len(fac_b.dialogs)
            row = fac.locator("#console-people li", has_text="Anne")
            await row.get_by_label("Meer voor Anne").click()
            await shot(fac, "control-person-menu")
            await row.get_by_role("button", name="Uit de kamer halen: Anne").click()
            assert "Anne uit de kamer halen?" in await confirmed(fac_b, dialogs_before)
            await expect(anne.locator("#noaccess h1")).to_have_text("Je bent uit de kamer gehaald")
            await expect(anne.locator("#noaccess-text")).to_contain_text("Je link werkt niet meer")
            await expect(anne.locator("#room")).to_be_hidden()
            await shot(anne, "control-removed")
            await expect(fac.locator("#console-people li", has_text="Anne")).to_have_count(0)
            await expect(bas2.locator("#people li", has_text="Anne")).to_have_count(0)
            await stays_stopped(anne)
            # The screen follows the language switch.
            await anne.locator("#noaccess .lang-switch").click()
            await expect(anne.locator("#noaccess h1")).to_have_text("You were removed from the room")
            await expect(anne.locator("#noaccess-text")).to_contain_text("Your link no longer works")
            # Her link and her browser no longer open the room.
            old = await anne_b.page(anne_data["personal_url"])
            await expect(old.locator("body")).to_contain_text("Deze link is onbekend")
            response = await anne_b.context.request.get(f"{base}/api/rooms/{anne_data['room_id']}/state")
            assert response.status in (401, 403)
            await anne_b.context.close()

            # ---------------------------------------------------- lock the room
            await fac.get_by_role("button", name="Kamer op slot doen").click()
            await expect(fac.locator("#console-lock-text")).to_have_text("De kamer is op slot: er kan niemand nieuw meer binnenkomen.")
            late_b = await person()
            late = await late_b.page(invite_url)
            await expect(late.locator("#join-error")).to_contain_text("op slot gedaan")
            await expect(late.get_by_role("button", name="Meedoen")).to_be_disabled()
            response = await late_b.context.request.post(f"{base}/api/invites/{invite}/join", data={"name": "Laat"})
            assert response.status == 409 and (await response.json())["error"]["code"] == "locked"
            await late.close()
            await fac.get_by_role("button", name="Kamer van het slot halen").click()
            await expect(fac.locator("#console-lock-text")).to_have_text("Wie de uitnodigingslink heeft, kan nog binnenkomen.")

            # ---------------------------------------------------- a new invite link
            # The room was made through the API, so this browser never saw its invite link: a new one is the way.
            await expect(fac.locator("#console-invite")).to_be_hidden()
            dialogs_before = len(fac_b.dialogs)
            await fac.get_by_role("button", name="Nieuwe uitnodigingslink maken").click()
            assert "huidige werkt daarna niet meer" in await confirmed(fac_b, dialogs_before)
            await expect(fac.locator("#toast")).to_contain_text("De oude werkt niet meer")
            await expect(fac.locator("#console-invite")).to_be_visible()
            new_invite_url = await fac.locator("#console-invite").input_value()
            assert new_invite_url.startswith(f"{base}/r/{anne_data['room_id']}/i/") and new_invite_url != invite_url
            old_invite = await late_b.page(invite_url)
            await expect(old_invite.locator("#invite-error")).to_contain_text("onbekend of verlopen")
            await old_invite.close()
            joining = await late_b.page(new_invite_url)
            await joining.get_by_label("Jouw naam").fill("Dewi")
            await joining.get_by_role("button", name="Meedoen").click()
            await joining.wait_for_url("**/r/*")
            await expect(joining.locator("#group-name")).to_have_text("Team Oost")
            await expect(fac.locator("#console-people li", has_text="Dewi")).to_have_count(1)
            await late_b.context.close()
            await bas2_b.context.close()

            # ---------------------------------------------------- four pages of one person
            pages = []
            for _ in range(4):
                page = await chris_b.page(created["room_url"])
                pages.append(page)
                await expect(page.locator("#group-name")).to_have_text("Team Oost")
            first = pages[0]
            await expect(first.locator("#noaccess h1")).to_have_text("Verder in een ander venster")
            await stays_stopped(first)
            for page in pages[1:]:
                await expect(page.locator("#noaccess")).to_be_hidden()
            # Coming back on purpose takes the place back: now the oldest of the others steps aside.
            await first.get_by_role("button", name="Hier verder gaan").click()
            await expect(first.locator("#group-name")).to_have_text("Team Oost")
            await expect(first.locator("#noaccess")).to_be_hidden()
            await expect(pages[1].locator("#noaccess h1")).to_have_text("Verder in een ander venster")
            for page in pages[2:]:
                await expect(page.locator("#noaccess")).to_be_hidden()
        finally:
            await browser.close()
        for b in people:
            assert not b.errors, b.errors
