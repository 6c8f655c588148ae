"""A standing group in real headless Chromium against `python -m companion serve`: the facilitator makes the
group and its members' links on the group page, starts a meeting, a member comes in with her own link, and
after the first case the facilitator's "Volgende casus beginnen" takes every page to the next case room, where
the group votes for the second case; the group's next meeting opens with the inbrenger's look back.

Two pages (the facilitator and Anne); Bas is a plain client with his own cookie and WebSocket, as a page is.
Screenshots go to artifacts/screenshots/ (groepen-*.png)."""

from __future__ import annotations

import asyncio
import json
import shutil

import aiohttp
import pytest
from browser_helpers import screenshot, vote_for, write_case
from served import CHROMIUM, CHROMIUM_ARGS, SHOTS
from test_browser_access import axe_missing, violations

playwright_api = pytest.importorskip("playwright.async_api")
expect = playwright_api.expect

pytestmark = pytest.mark.skipif(not shutil.which(CHROMIUM), reason="no Chromium")

VIEWPORT = {"width": 1280, "height": 800}


async def _command(page, room_id: str, command: str, **args) -> dict:
    """A command from the page's own session (the facilitator's cookie), as its console sends it over HTTP."""
    result = await page.evaluate(
        """async ([room, command, args]) => {
             const r = await fetch(`/api/rooms/${room}/commands`, {method: "POST", credentials: "same-origin",
               headers: {"Content-Type": "application/json"}, body: JSON.stringify({command, args})});
             return {status: r.status, body: await r.json()};
           }""",
        [room_id, command, args],
    )
    assert result["status"] == 200, result
    return result["body"]["state"]


async def test_the_group_page_a_meeting_and_the_move_to_the_next_case(server):
    axe_missing()
    expect.set_options(timeout=30000)
    found: list[str] = []  # accessibility: axe-core's serious and critical findings
    async with playwright_api.async_playwright() as p:
        browser = await p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        bas = aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True))
        bas_ws = None
        try:
            # bypass_csp: the pages' Content-Security-Policy would refuse the injected axe-core script.
            fac_context = await browser.new_context(viewport=VIEWPORT, locale="nl-NL", bypass_csp=True)
            fac = await fac_context.new_page()
            errors: list[str] = []
            fac.on("pageerror", lambda exc: errors.append(str(exc)))
            fac.on("dialog", lambda dialog: asyncio.ensure_future(dialog.accept()))
            await fac.goto(server.facilitator_url)
            await fac.get_by_role("link", name="Naar je groepen").click()
            await expect(fac.get_by_role("heading", name="Je intervisiegroepen")).to_be_visible()
            found += await violations(fac, "group page, no group yet")

            # A group with two members; each link is shown once, to hand over.
            await fac.locator("#group-name-input").fill("Intervisie Oost")
            await fac.get_by_role("button", name="Groep maken").click()
            await expect(fac.locator("#detail-name")).to_have_text("Intervisie Oost")
            links = {}
            for name in ("Anne", "Bas"):
                await fac.get_by_label("Naam van een nieuw lid").fill(name)
                await fac.get_by_role("button", name="Lid toevoegen").click()
                await expect(fac.locator("#new-link-label")).to_have_text(f"De persoonlijke link van {name}")
                links[name] = await fac.locator("#new-link-url").input_value()
                assert f"/g/" in links[name] and "/m/" in links[name]
            await expect(fac.locator("#member-list li")).to_have_count(3)  # the facilitator is a member too
            await fac.get_by_role("button", name="Nieuwe uitnodigingslink maken").click()
            await fac.locator("#invite-box").wait_for()
            group_invite = await fac.locator("#invite-url").input_value()
            assert "/i/" in group_invite
            # Settings change later (here: content kept 60 days instead of 30).
            await fac.get_by_text("Instellingen van de groep").click()
            await fac.locator("#settings-content-days").fill("60")
            await fac.get_by_role("button", name="Opslaan").click()
            await expect(fac.locator("#detail-info")).to_contain_text("inhoud 60 dagen")
            await screenshot(fac, SHOTS, "groepen-groep")
            found += await violations(fac, "a group's page")
            # English as a switch.
            await fac.get_by_role("button", name="English").click()
            await expect(fac.get_by_role("button", name="Add member")).to_be_visible()
            await fac.locator(".lang-switch").click()
            await expect(fac.get_by_role("button", name="Lid toevoegen")).to_be_visible()

            # The meeting: the facilitator lands in its first case room. Before a group's first meeting the page
            # points to the first-meeting method, without choosing it.
            await expect(fac.locator("#meeting-first-hint")).to_contain_text("Eerste bijeenkomst: kennismaken")
            await expect(fac.locator("#meeting-method")).not_to_have_value("kennismaking")
            await fac.get_by_role("button", name="Bijeenkomst beginnen").click()
            await fac.wait_for_url("**/r/*")
            room1 = fac.url.rsplit("/", 1)[1]

            anne_context = await browser.new_context(viewport=VIEWPORT, locale="nl-NL", bypass_csp=True)
            anne = await anne_context.new_page()
            anne.on("pageerror", lambda exc: errors.append(str(exc)))
            # The group's invite page, as a newcomer sees it (Anne has her link already: she only looks).
            await anne.goto(group_invite)
            await expect(anne.locator("#group-name")).to_have_text("Intervisie Oost")
            found += await violations(anne, "the group's invite page")
            await anne.goto(links["Anne"])
            await anne.wait_for_url(f"**/r/{room1}")
            await expect(anne.locator("#group-name")).to_have_text("Intervisie Oost")
            async with bas.get(links["Bas"]) as r:
                assert r.status == 200 and r.url.path == f"/r/{room1}"
            bas_ws = await bas.ws_connect(server.base + f"/r/{room1}/ws")
            await expect(fac.locator("#people li")).to_have_count(3)

            # Case 1: both bring in a question; Bas's is treated.
            await _command(fac, room1, "session.start")
            await write_case(anne, "Grenzen", "Hoe zeg ik nee tegen extra werk?")
            async with bas.post(server.base + f"/api/rooms/{room1}/commands",
                                json={"command": "case.submit", "args": {"title": "Overleg", "question": "Hoe leid ik het overleg?"}}) as r:
                assert r.status == 200
                bas_id = (await r.json())["state"]["you"]["id"]
            await _command(fac, room1, "inbrenger.set", participant_id=bas_id)
            await fac.get_by_role("button", name="Sessie beëindigen").click()
            next_button = fac.get_by_role("button", name="Volgende casus beginnen")
            await expect(next_button).to_be_visible()
            await expect(anne.get_by_role("button", name="Volgende casus beginnen")).to_have_count(0)
            await screenshot(fac, SHOTS, "groepen-einde-casus-1")
            found += await violations(fac, "the end of a case, facilitator")

            # The next case: every page goes along by itself.
            await next_button.click()
            await fac.wait_for_url(lambda url: f"/r/{room1}" not in url)
            room2 = fac.url.rsplit("/", 1)[1]
            await anne.wait_for_url(f"**/r/{room2}")
            moved = None
            async with asyncio.timeout(10):
                async for msg in bas_ws:
                    data = json.loads(msg.data)
                    if "moved" in data.get("events", ()):
                        moved = data
                        break
            assert moved["meeting"]["next_room"] == room2
            for page in (fac, anne):
                await expect(page.locator("#group-name")).to_have_text("Intervisie Oost · Casus 2")
            # The first case's advice list stays reachable for the facilitator (and for Bas, its inbrenger).
            await expect(fac.locator("#earlier-lists")).to_contain_text("Casus 1, inbrenger Bas")
            await expect(anne.locator("#earlier-lists")).to_be_hidden()
            # Anne's question is there again to vote on; Bas's was treated.
            await _command(fac, room2, "session.start")
            await expect(anne.locator("#case-list li.case")).to_have_count(1)
            await expect(anne.locator("#case-list li.case")).to_contain_text("Grenzen")
            await screenshot(anne, SHOTS, "groepen-casus-2")
            # The vote: Anne's question wins this time, and she gets an advice from Bas.
            await _command(fac, room2, "step.next")
            await vote_for(anne, "Grenzen")
            async with bas.get(server.base + f"/api/rooms/{room2}/state") as r:
                bas_state = await r.json()
            async with bas.post(server.base + f"/api/rooms/{room2}/commands",
                                json={"command": "vote.cast", "args": {"case_id": bas_state["cases"][0]["id"]}}) as r:
                assert r.status == 200
            state = await _command(fac, room2, "vote.close")
            assert state["inbrenger"]["name"] == "Anne"
            added = await fac.evaluate(
                """async ([room, who]) => (await fetch(`/api/rooms/${room}/advice`, {method: "POST",
                     credentials: "same-origin", headers: {"Content-Type": "application/json"},
                     body: JSON.stringify({text: "Zeg eerst tegen jezelf wat je wilt.", participant_id: who})})).status""",
                [room2, bas_state["you"]["id"]])
            assert added == 201

            # After the meeting the group page offers the attendance list and each member's record of hours.
            await _command(fac, room2, "session.end")
            await fac.goto(server.base + "/groups")
            await fac.get_by_role("link", name="Intervisie Oost").click()
            await expect(fac.locator("#meeting-list li")).to_have_count(1)
            await expect(fac.locator("#meeting-list li")).to_contain_text("Bijeenkomst 1")
            csv = await fac.request.get(server.base + await fac.locator("#attendance-csv").get_attribute("href"))
            assert csv.status == 200 and "Anne" in await csv.text()
            hours = fac.locator("#member-list li", has_text="Anne").get_by_role("link", name="Uren")
            response = await fac.request.get(server.base + await hours.get_attribute("href"))
            assert response.status == 200 and "Anne" in await response.text()

            # The next meeting opens with the look back: Anne sees her own list of last time.
            await expect(fac.locator("#meeting-first-hint")).to_have_count(0)
            await fac.get_by_role("button", name="Bijeenkomst beginnen").click()
            await fac.wait_for_url("**/r/*")
            room3 = fac.url.rsplit("/", 1)[1]
            assert room3 not in (room1, room2)
            await anne.goto(links["Anne"])
            await anne.wait_for_url(f"**/r/{room3}")
            await _command(fac, room3, "session.start")
            panel = anne.locator("#followup-panel")
            await expect(panel.get_by_role("heading", name="Terugblik op bijeenkomst 1")).to_be_visible()
            await expect(panel).to_contain_text("Zeg eerst tegen jezelf wat je wilt.")
            await screenshot(anne, SHOTS, "groepen-terugblik")
            assert errors == []
            assert found == [], "\n".join(found)
        finally:
            if bas_ws is not None:
                await bas_ws.close()
            await bas.close()
            await browser.close()
