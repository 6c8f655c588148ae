"""A whole roddelmodel session opening in real headless Chromium against a real server.

The facilitator creates the room on the landing page, two participants join
through the invite link, everyone clicks through the case round and the vote,
and the facilitator leads into the roddelfase, where the inbrenger's page shows
the out-of-sight screen and the others' pages drop the inbrenger's tile.
Screenshots of every stage go to artifacts/screenshots/.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from browser_helpers import vote_for, write_case
from served import CHROMIUM, CHROMIUM_ARGS, ROOT, SHOTS, ServedCompanion

playwright_api = pytest.importorskip("playwright.async_api")

ARGS = CHROMIUM_ARGS
VIEWPORT = {"width": 1280, "height": 800}
TIMEOUT_MS = 15000

pytestmark = pytest.mark.skipif(not Path(CHROMIUM).exists() or not shutil.which(CHROMIUM), reason="no Chromium")


class Server(ServedCompanion):
    """The operator's server, with an own method of theirs in the data folder."""

    def __init__(self, tmp_path: Path):
        super().__init__(tmp_path)
        self.write_short_method()

    def write_short_method(self) -> None:
        """An operator's own method (data-dir/methods/): the roddelmodel with a vote of three seconds, to see overtime."""
        text = (ROOT / "prompts" / "methods" / "roddelmodel.toml").read_text(encoding="utf-8")
        text = text.replace('id = "roddelmodel"', 'id = "roddelmodel-kort"', 1)
        text = text.replace('nl = "Roddelmodel (9 stappen)"', 'nl = "Roddelmodel, korte stemming (test)"', 1)
        short = text.replace('id = "stemmen"\nkind = "vote"\nminutes = 5', 'id = "stemmen"\nkind = "vote"\nminutes = 0.05', 1)
        assert short != text, "the roddelmodel's vote step changed shape"
        (self.tmp / "data" / "methods").mkdir(parents=True, exist_ok=True)
        (self.tmp / "data" / "methods" / "kort.toml").write_text(short, encoding="utf-8")


@pytest.fixture
def server(tmp_path):
    srv = Server(tmp_path)
    srv.start()
    yield srv
    srv.close()


async def shot(page, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    await page.evaluate("window.scrollTo(0, 0)")
    await page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True, timeout=60000)


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


# The machine is shared and runs aiortc for three people: allow for slow moments.
playwright_api.expect.set_options(timeout=TIMEOUT_MS)


def expect(locator):
    return playwright_api.expect(locator)


async def test_roddelmodel_opening_in_the_browser(server):
    async with playwright_api.async_playwright() as p:
        browser = await p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        try:
            await run_session(browser, server.base, server.facilitator_url)
        finally:
            await browser.close()


async def run_session(browser, base: str, facilitator_url: str) -> None:
    # ---------------------------------------------------------------- landing
    fac_ctx, fac, fac_errors = await new_person(browser)
    await fac.goto(facilitator_url)  # the operator's link for her: it leads to the landing page
    await fac.get_by_label("Naam van de groep").fill("Team Noord")
    await expect(fac.locator("#method option", has_text="Roddelmodel (9 stappen)")).to_have_count(1)
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
    await expect(fac.locator("#step-title")).to_have_text("De groep komt binnen")
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
    # Tiles stay as placeholders that say "uit beeld", without any video.
    await expect(bea.locator("#tiles .tile.away", has_text="Ahmed")).to_have_count(1)
    for page in (fac, ahmed):
        await expect(page.locator("#oos")).to_be_hidden()
        await expect(page.locator("#tiles .tile.away", has_text="Bea")).to_contain_text("uit beeld")
        await expect(page.locator("#tiles .tile", has_text="Bea").locator("video")).to_be_hidden()
        await expect(page.locator("#tiles .tile", has_text="Ahmed")).to_have_count(1)
    await expect(ahmed.locator("#people li", has_text="Bea")).to_contain_text("niet hoorbaar in deze stap")
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
    await expect(ahmed.locator("#tiles .tile.away", has_text="Bea")).to_have_count(1)
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


async def enter_by_api(browser, base: str, path: str, body: dict, headers: dict | None = None):
    """Set-up shortcut for the second test: the context's own request API, so the cookie lands in that browser."""
    context, page, errors = await new_person(browser)
    response = await context.request.post(base + path, data=body, headers=headers)
    assert response.status == 201, await response.text()
    data = await response.json()
    await page.goto(data["room_url"])
    await page.locator("#group-name", has_text="Team Zuid").wait_for()
    return context, page, errors, data


async def test_tie_overtime_and_reconnect_in_the_browser(server):
    base = server.base
    async with playwright_api.async_playwright() as p:
        browser = await p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        try:
            fac_ctx, fac, fac_errors, created = await enter_by_api(
                browser, base, "/api/rooms",
                {"name": "Team Zuid", "method": "roddelmodel-kort", "language": "nl", "facilitator_name": "Fleur"},
                server.facilitator_headers)
            invite = created["invite_url"].rsplit("/", 1)[1]
            _, ahmed, a_errors, _ = await enter_by_api(browser, base, f"/api/invites/{invite}/join", {"name": "Ahmed"})
            _, bea, b_errors, _ = await enter_by_api(browser, base, f"/api/invites/{invite}/join", {"name": "Bea"})

            await fac.get_by_role("button", name="Sessie starten").click()
            await expect(ahmed.locator("#step-label")).to_contain_text("Stap 1/9")
            await write_case(ahmed, "Overleg loopt uit", "Hoe houd ik het overleg kort?")
            await write_case(bea, "Nee zeggen", "Hoe zeg ik op tijd nee?")
            # Withdrawing and writing again works from the same form.
            await ahmed.get_by_role("button", name="Intrekken").click()
            await expect(fac.locator("#case-list li.case")).to_have_count(1)
            await write_case(ahmed, "Overleg loopt uit", "Hoe houd ik het overleg kort?")
            await fac.get_by_role("button", name="Volgende stap").click()
            await vote_for(ahmed, "Overleg loopt uit")
            await vote_for(bea, "Nee zeggen")
            await fac.get_by_role("button", name="Stemming sluiten").click()

            # A tie: the group waits, the facilitator chooses.
            try:
                await expect(ahmed.get_by_text("Gelijke stand: de begeleider kiest.")).to_be_visible()
            except AssertionError:
                for page in (fac, ahmed):
                    print("toast:", await page.locator("#toast").inner_text(), "cases:", await page.locator("#cases-panel").inner_text())
                raise
            await expect(fac.locator(".decide-button")).to_have_count(2)
            await expect(ahmed.locator("#case-list .vote-count")).to_have_count(2)
            await shot(fac, "20-tie-facilitator")
            await fac.locator("#case-list li.case", has_text="Overleg loopt uit").get_by_role("button", name="Kies deze").click()
            await expect(bea.locator("#case-list li.case.chosen")).to_contain_text("Overleg loopt uit")
            await expect(bea.locator("#people li", has_text="Ahmed")).to_contain_text("inbrenger")

            # Overtime: this method's vote lasts three seconds, long gone by now.
            for page in (fac, ahmed):
                await expect(page.locator("#timer")).to_have_class("timer overtime")
                await expect(page.locator("#overtime-msg")).to_be_visible()
            await expect(ahmed.locator("#overtime-msg")).to_have_text("De tijd voor deze stap is om. Rond rustig af.")
            await expect(fac.locator("#overtime-msg")).to_contain_text("geef er wat minuten bij")
            await shot(ahmed, "21-overtime-participant")

            # The server goes away and comes back: the pages say so, then carry on by themselves.
            server.stop()
            for page in (fac, bea):
                await expect(page.locator("#conn-banner")).to_have_text("Verbinding verbroken, opnieuw verbinden...")
            await shot(bea, "22-reconnecting")
            server.start()
            for page in (fac, ahmed, bea):
                await expect(page.locator("#conn-banner")).to_be_hidden(timeout=20000)
                await expect(page.locator("#step-label")).to_contain_text("Stap 2/9")
            await fac.get_by_role("button", name="Volgende stap").click()
            await expect(bea.locator("#step-label")).to_contain_text("Stap 3/9")
            assert not fac_errors and not a_errors and not b_errors, (fac_errors, a_errors, b_errors)
        finally:
            await browser.close()
