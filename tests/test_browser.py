"""A whole roddelmodel session opening in real headless Chromium against a real server.

The facilitator creates the room on the landing page, two participants join
through the invite link, everyone clicks through the case round and the vote,
and the facilitator leads into the roddelfase, where the inbrenger's page shows
the out-of-sight screen and the others' pages drop the inbrenger's tile.
Screenshots of every stage go to artifacts/screenshots/.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

playwright_api = pytest.importorskip("playwright.async_api")

CHROMIUM = "/usr/bin/chromium"
ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--use-fake-ui-for-media-stream", "--use-fake-device-for-media-stream",
]
ROOT = Path(__file__).resolve().parent.parent
SHOTS = ROOT / "artifacts" / "screenshots"
VIEWPORT = {"width": 1280, "height": 800}
TIMEOUT_MS = 15000

pytestmark = pytest.mark.skipif(not Path(CHROMIUM).exists() or not shutil.which(CHROMIUM), reason="no Chromium")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def server(tmp_path):
    """`companion serve` as an operator starts it, on a fresh data folder."""
    port = free_port()
    log = open(tmp_path / "server.log", "wb")
    proc = subprocess.Popen(
        [sys.executable, "-m", "companion", "serve", "--port", str(port), "--data-dir", str(tmp_path / "data"),
         "--no-transcription"],
        cwd=ROOT, stdout=log, stderr=subprocess.STDOUT, env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while True:
        try:
            with urllib.request.urlopen(base + "/healthz", timeout=1) as r:
                if r.status == 200:
                    break
        except OSError:
            pass
        if proc.poll() is not None or time.monotonic() > deadline:
            proc.kill()
            raise AssertionError((tmp_path / "server.log").read_text(errors="replace"))
        time.sleep(0.2)
    yield base
    proc.terminate()
    try:
        proc.wait(10)
    except subprocess.TimeoutExpired:
        proc.kill()
    log.close()


async def shot(page, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    await page.evaluate("window.scrollTo(0, 0)")
    await page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)


async def new_person(browser):
    context = await browser.new_context(viewport=VIEWPORT, locale="nl-NL")
    page = await context.new_page()
    page.set_default_timeout(TIMEOUT_MS)
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    return context, page, errors


async def join(browser, invite_url: str, name: str, screenshot: str | None = None):
    context, page, errors = await new_person(browser)
    await page.goto(invite_url)
    await page.get_by_text("Team Noord").wait_for()
    await page.get_by_label("Jouw naam").fill(name)
    # The fake camera answers: the preview says so and joining is one click away.
    await page.get_by_text("Camera en microfoon werken.").wait_for()
    if screenshot:
        await shot(page, screenshot)
    await page.get_by_role("button", name="Meedoen").click()
    await page.wait_for_url("**/r/*")
    await page.locator("#group-name", has_text="Team Noord").wait_for()
    return context, page, errors


async def write_case(page, title: str, question: str) -> None:
    await page.get_by_label("Korte titel").fill(title)
    await page.get_by_label("Je vraag").fill(question)
    await page.get_by_role("button", name="Casus opslaan").click()
    await page.get_by_role("button", name="Wijziging opslaan").wait_for()


async def vote_for(page, title: str) -> None:
    case = page.locator("#case-list li.case", has_text=title)
    await case.get_by_role("button", name="Stem hierop").click()
    await case.get_by_text("Jouw stem").wait_for()


def expect(locator):
    return playwright_api.expect(locator)


async def test_roddelmodel_opening_in_the_browser(server):
    async with playwright_api.async_playwright() as p:
        browser = await p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        try:
            await run_session(browser, server)
        finally:
            await browser.close()


async def run_session(browser, base: str) -> None:
    # ---------------------------------------------------------------- landing
    fac_ctx, fac, fac_errors = await new_person(browser)
    await fac.goto(base + "/")
    await fac.get_by_label("Naam van de groep").fill("Team Noord")
    await expect(fac.locator("#method option", has_text="Roddelmodel")).to_have_count(1)
    await fac.get_by_label("Methode").select_option("roddelmodel")
    await expect(fac.locator("#method-info")).to_contain_text("9 stappen")
    await fac.get_by_label("Jouw naam (begeleider)").fill("Fleur")
    await shot(fac, "01-landing")
    await fac.get_by_role("button", name="Kamer maken").click()
    await fac.get_by_text("De kamer staat klaar").wait_for()
    invite_url = await fac.locator("#invite-url").input_value()
    secret_url = await fac.locator("#secret-url").input_value()
    assert "/i/" in invite_url and "/k/" in secret_url
    await expect(fac.get_by_text("Houd deze link voor jezelf")).to_be_visible()
    await shot(fac, "02-landing-links")
    await fac.get_by_role("link", name="Naar de kamer").click()
    await fac.wait_for_url("**/r/*")
    room_url = fac.url
    await expect(fac.locator("#step-title")).to_have_text("Wachten tot de begeleider de sessie start")
    await expect(fac.locator("#console")).to_be_visible()

    # ---------------------------------------------------------------- joining
    a_ctx, ahmed, a_errors = await join(browser, invite_url, "Ahmed", screenshot="03-join-preview")
    b_ctx, bea, b_errors = await join(browser, invite_url, "Bea")
    for page in (fac, ahmed, bea):
        await expect(page.locator("#people li")).to_have_count(3)
    # A taken name is refused with a clear message, and the invite page stays usable.
    c_ctx, carla, _ = await new_person(browser)
    await carla.goto(invite_url)
    await carla.get_by_label("Jouw naam").fill("bea")
    await carla.get_by_role("button", name="Meedoen").click()
    await expect(carla.locator("#join-error")).to_have_text("Die naam is al in gebruik in deze groep. Kies een andere.")
    await c_ctx.close()
    await shot(fac, "04-room-waiting-facilitator")

    # ---------------------------------------------------------------- case round
    await fac.get_by_role("button", name="Sessie starten").click()
    for page in (fac, ahmed, bea):
        await expect(page.locator("#step-label")).to_contain_text("Stap 1/9")
    await expect(ahmed.locator("#step-text p").first).to_contain_text("concrete situatie")
    await write_case(ahmed, "Overleg loopt uit", "Hoe houd ik het teamoverleg binnen de tijd zonder iemand af te kappen?")
    await write_case(bea, "Nee zeggen", "Hoe zeg ik op tijd nee als mijn leidinggevende extra werk vraagt?")
    await expect(fac.locator("#case-list li.case")).to_have_count(2)
    await shot(bea, "05-case-round-participant")

    # ---------------------------------------------------------------- vote
    await fac.get_by_role("button", name="Volgende stap").click()
    for page in (fac, ahmed, bea):
        await expect(page.locator("#step-label")).to_contain_text("Stap 2/9")
    await vote_for(ahmed, "Overleg loopt uit")
    await vote_for(ahmed, "Nee zeggen")  # a vote can be changed
    await vote_for(bea, "Nee zeggen")
    await vote_for(fac, "Nee zeggen")
    # Counts stay hidden from the group while the vote is open; the facilitator sees them.
    await expect(ahmed.locator("#case-list .vote-count")).to_have_count(0)
    await expect(fac.locator("#case-list li.case", has_text="Nee zeggen")).to_contain_text("3 stemmen")
    await shot(ahmed, "06-vote-participant")
    await shot(fac, "07-vote-facilitator")
    await fac.get_by_role("button", name="Stemming sluiten").click()
    for page in (fac, ahmed, bea):
        chosen = page.locator("#case-list li.case.chosen")
        await expect(chosen).to_contain_text("Nee zeggen")
        await expect(chosen).to_contain_text("Gekozen")
        await expect(page.locator("#people li", has_text="Bea")).to_contain_text("inbrenger")
    await expect(ahmed.locator("#case-list li.case", has_text="Nee zeggen")).to_contain_text("3 stemmen")
    await shot(bea, "08-vote-closed-inbrenger")

    # ---------------------------------------------------------------- explanation
    await fac.get_by_role("button", name="Volgende stap").click()
    for page in (fac, ahmed, bea):
        await expect(page.locator("#step-label")).to_contain_text("Stap 3/9")
        await expect(page.locator("#question-panel")).to_contain_text("Hoe zeg ik op tijd nee")
    await expect(ahmed.locator("#tiles .tile", has_text="Bea")).to_have_count(1)
    await shot(ahmed, "09-explanation-participant")

    # ---------------------------------------------------------------- roddelfase
    await fac.get_by_role("button", name="Volgende stap").click()
    for page in (fac, ahmed, bea):
        await expect(page.locator("#step-label")).to_contain_text("Stap 4/9")
    oos = bea.locator("#oos")
    await expect(oos).to_be_visible()
    await expect(oos).to_contain_text("Je bent uit beeld")
    await expect(oos).to_contain_text("Blijf luisteren")
    await expect(oos).to_contain_text("Hoe zeg ik op tijd nee")
    await expect(bea.locator("#tiles .tile", has_text="Ahmed")).to_have_count(0)
    for page in (fac, ahmed):
        await expect(page.locator("#oos")).to_be_hidden()
        await expect(page.locator("#tiles .tile", has_text="Bea")).to_have_count(0)
        await expect(page.locator("#tiles .tile", has_text="Ahmed")).to_have_count(1)
    await shot(bea, "10-roddelfase-inbrenger-out-of-sight")
    await shot(ahmed, "11-roddelfase-participant")
    await shot(fac, "12-roddelfase-facilitator")

    # A reload comes back as the same person, in the same role and step.
    await bea.reload()
    await expect(bea.locator("#oos")).to_be_visible()
    await expect(bea.locator("#oos")).to_contain_text("Je bent uit beeld")
    await expect(bea.locator("#step-label")).to_contain_text("Stap 4/9")
    await ahmed.reload()
    await expect(ahmed.locator("#step-label")).to_contain_text("Stap 4/9")
    await expect(ahmed.locator("#people li", has_text="Ahmed")).to_contain_text("deelnemer")
    await expect(ahmed.locator("#tiles .tile", has_text="Bea")).to_have_count(0)
    await shot(bea, "13-roddelfase-inbrenger-after-reload")

    # ---------------------------------------------------------------- reformulate
    await fac.get_by_role("button", name="Volgende stap").click()
    await expect(bea.locator("#oos")).to_be_hidden()
    await expect(bea.locator("#step-label")).to_contain_text("Stap 5/9")
    await bea.locator("#reformulate-text").fill("Hoe bewaak ik mijn grenzen als er extra werk komt?")
    await bea.get_by_role("button", name="Vraag opslaan").click()
    for page in (fac, ahmed, bea):
        await expect(page.locator("#question-panel")).to_contain_text("Hoe bewaak ik mijn grenzen")
    await expect(ahmed.locator("#tiles .tile", has_text="Bea")).to_have_count(1)
    await shot(ahmed, "14-reformulated-participant")

    # The facilitator gives the step more time; the switch to English is the page's own.
    before = await fac.locator("#timer").inner_text()
    await fac.get_by_role("button", name="+5 min").click()
    await expect(fac.locator("#timer")).not_to_contain_text(before.split(":")[0] + ":", timeout=5000)
    await ahmed.get_by_role("button", name="English").click()
    await expect(ahmed.locator("#step-label")).to_contain_text("Step 5/9")
    await expect(ahmed.locator("#question-panel")).to_contain_text("This session's question")
    await expect(bea.locator("#step-label")).to_contain_text("Stap 5/9")
    await shot(ahmed, "15-english-participant")

    # ---------------------------------------------------------------- no access
    stranger_ctx, stranger, _ = await new_person(browser)
    await stranger.goto(room_url)
    await expect(stranger.get_by_text("Geen toegang tot deze kamer")).to_be_visible()
    await expect(stranger.get_by_text("Open je persoonlijke link opnieuw", exact=False)).to_be_visible()
    await shot(stranger, "16-no-access")
    await stranger_ctx.close()

    assert not fac_errors and not a_errors and not b_errors, (fac_errors, a_errors, b_errors)
    for context in (fac_ctx, a_ctx, b_ctx):
        await context.close()
