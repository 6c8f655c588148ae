"""Accessibility in real headless Chromium against `companion serve`.

axe-core (npm, pinned in tests/firefox/package.json, installed by the README's test command) runs on
the landing page, the join page and the room page of each role (facilitator, deelnemer, inbrenger)
before the start, in an open step and in the roddelfase: no violation of impact "serious" or
"critical". Then the facilitator makes a room and runs a whole roddelmodel session with the keyboard
only (Tab, Enter, Space, arrow keys; no clicks), and a deelnemer joins and switches the microphone
off and on the same way.
"""

from __future__ import annotations

import asyncio
import os
import re
import shutil
from pathlib import Path

import aiohttp
import pytest
from browser_helpers import RoomApi
from served import CHROMIUM, CHROMIUM_ARGS

playwright_api = pytest.importorskip("playwright.async_api")
expect = playwright_api.expect

pytestmark = pytest.mark.skipif(not shutil.which(CHROMIUM), reason="no Chromium")

AXE = Path(__file__).resolve().parent / "firefox" / "node_modules" / "axe-core" / "axe.min.js"
ARGS = [*CHROMIUM_ARGS, "--autoplay-policy=no-user-gesture-required"]
VIEWPORT = {"width": 1280, "height": 800}
TIMEOUT_MS = 60000  # generous: two cores shared with the other test runs
SMALL_CAMERA = """
(() => {
  const md = navigator.mediaDevices;
  if (!md) return;
  const gum = md.getUserMedia.bind(md);
  const SMALL = { width: { ideal: 160, max: 160 }, height: { ideal: 90, max: 90 }, frameRate: { ideal: 5, max: 5 } };
  md.getUserMedia = (c) => gum(c && c.video ? { ...c, video: SMALL } : c);
})();
"""
SERIOUS = """
async () => {
  const result = await axe.run(document, { resultTypes: ["violations"] });
  return result.violations.filter((v) => v.impact === "serious" || v.impact === "critical")
    .map((v) => `${v.id} (${v.impact}): ${v.help} at ${v.nodes.slice(0, 3).map((n) => n.target.join(" ")).join(", ")}`);
}
"""


def axe_missing() -> str | None:
    if AXE.exists():
        return None
    reason = "axe-core missing (npm ci --prefix tests/firefox)"
    # CI installs it with the README's test command: a skip there would hide a broken install.
    (pytest.fail if os.environ.get("CI") == "true" else pytest.skip)(reason)
    return reason


async def person(browser, **options):
    # bypass_csp: the page's Content-Security-Policy would refuse the injected axe-core script.
    context = await browser.new_context(viewport=VIEWPORT, locale="nl-NL", bypass_csp=True, **options)
    await context.add_init_script(SMALL_CAMERA)
    page = await context.new_page()
    page.set_default_timeout(TIMEOUT_MS)
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    return page, errors


async def violations(page, where: str) -> list[str]:
    if not await page.evaluate("() => typeof axe !== 'undefined'"):
        await page.add_script_tag(content=AXE.read_text(encoding="utf-8"))
    return [f"{where}: {v}" for v in await page.evaluate(SERIOUS)]


async def test_no_serious_accessibility_violations_on_any_page(server):
    axe_missing()
    expect.set_options(timeout=TIMEOUT_MS)
    found: list[str] = []
    async with aiohttp.ClientSession() as http, playwright_api.async_playwright() as p:
        post = RoomApi(http, server).post

        browser = await p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        try:
            fac, fac_errors = await person(browser)
            await fac.goto(server.facilitator_url, wait_until="commit")
            await expect(fac.locator("#method option")).not_to_have_count(0)
            found += await violations(fac, "landing page")

            room = await post("/api/rooms", {"name": "Team Noord", "method": "roddelmodel", "language": "nl",
                                             "facilitator_name": "Fleur"}, server.facilitator_token)
            room_id, invite = room["room_id"], room["invite_url"].rsplit("/", 1)[1]
            anne_page, anne_errors = await person(browser)
            await anne_page.goto(room["invite_url"], wait_until="commit")
            await expect(anne_page.locator("#join-panel")).to_be_visible()
            found += await violations(anne_page, "join page")

            anne, bas = [await post(f"/api/invites/{invite}/join", {"name": n}) for n in ("Anne", "Bas")]
            bas_page, bas_errors = await person(browser)
            await fac.goto(room["facilitator_url"], wait_until="commit")
            await anne_page.goto(f"{server.base}/k/{anne['token']}", wait_until="commit")
            await bas_page.goto(f"{server.base}/k/{bas['token']}", wait_until="commit")
            pages = {"facilitator": fac, "deelnemer": anne_page, "inbrenger": bas_page}
            for page in pages.values():
                await expect(page.locator("#people li")).to_have_count(3)

            async def command(token, name, **args):
                return (await post(f"/api/rooms/{room_id}/commands", {"command": name, "args": args}, token))["state"]

            async def look(label: str, moment: str):
                for role, page in pages.items():
                    await expect(page.locator("#step-label")).to_contain_text(label)
                    await asyncio.sleep(0.5)  # the rest of the snapshot lands
                    nonlocal found
                    found += await violations(page, f"room, {role}, {moment}")

            await look("", "before the start")
            await command(room["token"], "session.start")
            await command(bas["token"], "case.submit", title="Nee zeggen", question="Hoe zeg ik op tijd nee?")
            await look("Stap 1/9", "an open step (the case round)")
            state = await command(room["token"], "step.next")
            case = state["cases"][0]["id"]
            for who in (room, anne, bas):
                await command(who["token"], "vote.cast", case_id=case)
            await command(room["token"], "vote.close")
            while state["step"]["kind"] != "roddelfase":
                state = await command(room["token"], "step.next")
            await expect(bas_page.locator("#oos")).to_be_visible()
            await look(f"Stap {state['step']['index'] + 1}/9", "the roddelfase")
            for who, errors in (("Fleur", fac_errors), ("Anne", anne_errors), ("Bas", bas_errors)):
                assert errors == [], (who, errors)
        finally:
            await browser.close()
    assert found == [], "\n".join(found)


async def tab_to(page, selector: str, limit: int = 80) -> None:
    """Press Tab until ``selector`` has the focus (as a keyboard user does); fails past ``limit``."""
    path = []
    for _ in range(limit):
        if await page.evaluate("(sel) => Boolean(document.activeElement && document.activeElement.matches(sel))", selector):
            return
        await page.keyboard.press("Tab")
        path.append(await page.evaluate("() => { const e = document.activeElement; return e ? e.tagName + (e.id ? '#' + e.id : '') : ''; }"))
    raise AssertionError(f"{selector} never got the focus with Tab; the focus went {path}")


async def test_facilitator_runs_a_session_by_keyboard_only(server):
    expect.set_options(timeout=TIMEOUT_MS)
    async with aiohttp.ClientSession() as http, playwright_api.async_playwright() as p:
        post = RoomApi(http, server).post

        browser = await p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        try:
            fac, fac_errors = await person(browser)
            keys = fac.keyboard
            # The native "really end?" question is the browser's, not the page's: accepted as Enter would.
            fac.on("dialog", lambda dialog: asyncio.ensure_future(dialog.accept()))
            await fac.goto(server.facilitator_url, wait_until="commit")
            await expect(fac.locator("#method option")).not_to_have_count(0)
            await tab_to(fac, "#group")
            await keys.type("Team Oost")
            await tab_to(fac, "#method")
            for _ in range(5):
                if await fac.locator("#method").input_value() == "roddelmodel":
                    break
                await keys.press("ArrowDown")
            assert await fac.locator("#method").input_value() == "roddelmodel"
            await tab_to(fac, "#facilitator")
            await keys.type("Fleur")
            await keys.press("Enter")
            await expect(fac.locator("#invite-url")).to_have_value(re.compile("/i/"))
            invite = (await fac.locator("#invite-url").input_value()).rsplit("/", 1)[1]
            await tab_to(fac, "#enter-room")
            await keys.press("Enter")
            await fac.wait_for_url("**/r/*", wait_until="commit")
            room_id = fac.url.rsplit("/", 1)[1]

            # A deelnemer joins with the keyboard and switches the microphone off and on.
            anne, anne_errors = await person(browser)
            await anne.goto(f"{server.base}/i/{invite}", wait_until="commit")
            await expect(anne.locator("#join-panel")).to_be_visible()
            await tab_to(anne, "#name")
            await anne.keyboard.type("Anne")
            await anne.keyboard.press("Enter")
            await anne.wait_for_url("**/r/*", wait_until="commit")
            mic = anne.locator("#mic-self")
            await expect(mic).to_be_visible()
            before = await mic.get_attribute("aria-pressed")
            await tab_to(anne, "#mic-self")
            await anne.keyboard.press("Space")
            await expect(mic).not_to_have_attribute("aria-pressed", before or "")
            await expect(fac.locator("#tiles .tile", has_text="Anne").locator(".tile-badge.muted")).to_be_visible()
            await anne.keyboard.press("Enter")
            await expect(mic).to_have_attribute("aria-pressed", before or "")
            bas = await post(f"/api/invites/{invite}/join", {"name": "Bas"})
            await expect(fac.locator("#people li")).to_have_count(3)

            async def command(token, name, **args):
                return (await post(f"/api/rooms/{room_id}/commands", {"command": name, "args": args}, token))["state"]

            # The facilitator's own microphone, by keyboard too.
            await tab_to(fac, "#mic-self")
            fac_mic = await fac.locator("#mic-self").get_attribute("aria-pressed")
            await keys.press("Space")
            await expect(fac.locator("#mic-self")).not_to_have_attribute("aria-pressed", fac_mic or "")
            await keys.press("Space")

            await tab_to(fac, "#console-start")
            await keys.press("Enter")
            await expect(fac.locator("#step-label")).to_contain_text("Stap 1/9")
            await command(bas["token"], "case.submit", title="Nee zeggen", question="Hoe zeg ik op tijd nee?")
            await expect(fac.locator("#case-list li.case")).to_have_count(1)
            await tab_to(fac, "#console-next")
            await keys.press("Enter")  # Anne wrote no case: the page warns first
            await expect(fac.locator("#console-warning")).to_contain_text("Anne")
            await keys.press("Enter")
            await expect(fac.locator("#step-label")).to_contain_text("Stap 2/9")
            # The facilitator votes by keyboard too; the others through the API.
            await tab_to(fac, "#case-list li.case button.vote-button")
            await keys.press("Enter")
            await expect(fac.locator("#case-list li.case")).to_contain_text("Jouw stem")
            async with http.get(f"{server.base}/api/rooms/{room_id}/state", headers={"Authorization": f"Bearer {bas['token']}"}) as r:
                cases = (await r.json())["cases"]
            await command(bas["token"], "vote.cast", case_id=cases[0]["id"])
            await tab_to(fac, "#console-vote-close")
            await keys.press("Enter")
            await expect(fac.locator("#people li", has_text="Bas")).to_contain_text("inbrenger")
            for number in range(3, 10):
                await tab_to(fac, "#console-next")
                await keys.press("Enter")
                await expect(fac.locator("#step-label")).to_contain_text(f"Stap {number}/9")
            await tab_to(fac, "#console-end")
            await keys.press("Enter")
            await expect(fac.locator("#end-panel")).to_be_visible()
            for who, errors in (("Fleur", fac_errors), ("Anne", anne_errors)):
                assert errors == [], (who, errors)
        finally:
            await browser.close()
