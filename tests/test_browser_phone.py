"""Phones and tablets: the landing page, the join page, the room (facilitator, deelnemer and the
inbrenger out of sight) and the advice list in Chromium's device emulation with touch, at
360x780 (portrait phone) and 768x1024 (tablet), against `companion serve`.

On every screen: no horizontal scrolling; every visible control lies inside the screen's width,
is at least 44 CSS px high (the touch-target size of WCAG 2.5.5 and Apple's guidelines) and is
the element a finger reaches at its centre once scrolled to (nothing covers it); the step text
is at least 16 px; every video tile at least 128 px wide with its name shown. Screenshots of
both sizes: docs/screenshots/ (the README shows them).
"""

from __future__ import annotations

import asyncio
import re
import shutil

import pytest
from served import CHROMIUM, CHROMIUM_ARGS, ROOT

playwright_api = pytest.importorskip("playwright.async_api")
expect = playwright_api.expect

pytestmark = pytest.mark.skipif(not shutil.which(CHROMIUM), reason="no Chromium")

ARGS = [*CHROMIUM_ARGS, "--autoplay-policy=no-user-gesture-required"]
DOCS = ROOT / "docs" / "screenshots"
TIMEOUT_MS = 60000  # generous: two cores shared with the other test runs
SIZES = {"phone": (360, 780), "tablet": (768, 1024)}
ADVICE_STEP = 5  # 0-based index of "Adviesronde" in the roddelmodel
# Three cameras in one browser on two cores: small frames are enough for the layout.
SMALL_CAMERA = """
(() => {
  const md = navigator.mediaDevices;
  if (!md) return;
  const gum = md.getUserMedia.bind(md);
  const SMALL = { width: { ideal: 160, max: 160 }, height: { ideal: 90, max: 90 }, frameRate: { ideal: 5, max: 5 } };
  md.getUserMedia = (c) => gum(c && c.video ? { ...c, video: SMALL } : c);
})();
"""

# Everything wrong with the screen as a finger meets it, as a list of sentences (empty: all fine).
# ``root``: the layer the person can touch (the out-of-sight screen covers the room beneath it).
LAYOUT = """
async (root) => {
  const problems = [];
  const width = document.documentElement.clientWidth;
  if (document.documentElement.scrollWidth > width + 1) problems.push(`scrolls sideways: ${document.documentElement.scrollWidth} > ${width}`);
  const name = (el) => `${el.tagName.toLowerCase()}${el.id ? "#" + el.id : ""} "${(el.innerText || el.value || el.getAttribute("aria-label") || "").trim().slice(0, 30)}"`;
  const scope = document.querySelector(root) || document.body;
  const controls = [...scope.querySelectorAll("button, a[href], input:not([type=hidden]), select, textarea, summary")]
    .filter((el) => el.getClientRects().length && getComputedStyle(el).visibility !== "hidden");
  let replaced = 0;
  for (const el of controls) {
    // A snapshot that arrived meanwhile rebuilt part of the page: judged again on the next try.
    if (!el.isConnected) { replaced += 1; continue; }
    // A checkbox is touched through its label.
    const target = (el.type === "checkbox" || el.type === "radio") && el.closest("label") ? el.closest("label") : el;
    let r, hit, reached = false;
    // Twice: a snapshot arriving between the scroll and the look may move the page under the finger.
    for (let attempt = 0; attempt < 2 && !reached; attempt++) {
      target.scrollIntoView({ block: "center", inline: "nearest" });
      await new Promise((done) => requestAnimationFrame(done));
      r = target.getBoundingClientRect();
      hit = document.elementFromPoint(Math.min(Math.max(r.left + r.width / 2, 0), width - 1), r.top + r.height / 2);
      reached = Boolean(hit && (target.contains(hit) || hit.contains(target) || (hit.closest("label") && hit.closest("label").contains(el))));
    }
    if (!el.isConnected) { replaced += 1; continue; }
    if (r.height < 44 - 0.5) problems.push(`${name(el)} is ${Math.round(r.height)} px high`);
    if (r.left < -1 || r.right > width + 1) problems.push(`${name(el)} sticks out: ${Math.round(r.left)}..${Math.round(r.right)} of ${width}`);
    if (!reached) problems.push(`${name(el)} is covered by ${hit ? name(hit) : "nothing"}`);
  }
  window.scrollTo(0, 0);
  return { controls: controls.length, problems, replaced };
}
"""

READABLE = """
() => {
  const problems = [];
  const text = document.querySelector("#step-text");
  if (text && text.getClientRects().length && parseFloat(getComputedStyle(text).fontSize) < 16)
    problems.push(`step text ${getComputedStyle(text).fontSize}`);
  for (const tile of document.querySelectorAll("#tiles .tile")) {
    const r = tile.getBoundingClientRect();
    const label = tile.querySelector(".tile-name");
    if (r.width < 128) problems.push(`tile ${label && label.textContent} is ${Math.round(r.width)} px wide`);
    if (!label || label.getBoundingClientRect().width < 30) problems.push(`tile ${label && label.textContent} hides its name`);
  }
  return problems;
}
"""


async def device(browser, size: str):
    width, height = SIZES[size]
    context = await browser.new_context(viewport={"width": width, "height": height}, device_scale_factor=2,
                                        is_mobile=True, has_touch=True, locale="nl-NL")
    await context.add_init_script(SMALL_CAMERA)
    page = await context.new_page()
    page.set_default_timeout(TIMEOUT_MS)
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    return page, errors


async def check(page, where: str, root: str = "body", shot: str | None = None, shown: str | None = None) -> None:
    """``shot``: a screenshot of the screen as the person sees it, scrolled to ``shown`` if given."""
    for _ in range(3):
        layout = await page.evaluate(LAYOUT, root)
        if layout["controls"] and not layout["replaced"]:
            break
        await asyncio.sleep(1)
    readable = await page.evaluate(READABLE)
    assert layout["controls"] > 0, where
    assert not layout["problems"] and not readable, f"{where}: {layout['problems'] + readable}"
    if shot:
        DOCS.mkdir(parents=True, exist_ok=True)
        if shown:
            await page.evaluate("(sel) => document.querySelector(sel).scrollIntoView({ block: 'start' })", shown)
        await page.screenshot(path=str(DOCS / f"{shot}.png"), timeout=60000)


@pytest.mark.parametrize("size", list(SIZES))
async def test_pages_work_on_phones_and_tablets(server, size):
    expect.set_options(timeout=TIMEOUT_MS)
    async with playwright_api.async_playwright() as p:
        browser = await p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        try:
            await run(browser, server, size)
        finally:
            await browser.close()


async def run(browser, server, size: str) -> None:
    fac, fac_errors = await device(browser, size)
    await fac.goto(server.facilitator_url, wait_until="commit")
    await expect(fac.locator("#method option")).not_to_have_count(0)
    await check(fac, "landing page")
    await fac.get_by_label("Naam van de groep").fill("Team Oost")
    await fac.get_by_label("Methode").select_option("roddelmodel")
    await fac.get_by_label("Jouw naam (begeleider)").fill("Fleur")
    await fac.get_by_role("button", name="Kamer maken").tap()
    await expect(fac.locator("#invite-url")).to_have_value(re.compile("/i/"))
    await check(fac, "landing page, room made")
    invite_url = await fac.locator("#invite-url").input_value()
    await fac.get_by_role("link", name="Naar de kamer").tap()
    await fac.wait_for_url("**/r/*", wait_until="commit")

    people = {}
    for name in ("Anne", "Bas"):
        page, errors = await device(browser, size)
        await page.goto(invite_url, wait_until="commit")
        await expect(page.locator("#join-panel")).to_be_visible()
        await expect(page.get_by_role("button", name="Meedoen")).to_be_visible()
        if name == "Anne":
            await check(page, "join page", shot=f"{size}-meedoen")
        await page.get_by_label("Jouw naam").fill(name)
        await page.get_by_role("button", name="Meedoen").tap()
        await page.wait_for_url("**/r/*", wait_until="commit")
        people[name] = (page, errors)
    anne, bas = people["Anne"][0], people["Bas"][0]
    everyone = (fac, anne, bas)
    for page in everyone:
        await expect(page.locator("#tiles .tile video")).to_have_count(3)
    await check(fac, "the facilitator before the start")
    await check(anne, "a deelnemer before the start")

    # An open step: the case round, with its form.
    await fac.get_by_role("button", name="Sessie starten").tap()
    await expect(anne.get_by_label("Korte titel")).to_be_visible()
    await bas.get_by_label("Korte titel").fill("Nee zeggen")
    await bas.get_by_label("Je vraag").fill("Hoe zeg ik op tijd nee tegen extra werk?")
    await bas.get_by_role("button", name="Casus opslaan").tap()
    await expect(fac.locator("#case-list li.case")).to_have_count(1)
    await check(anne, "a deelnemer in the case round", shot=f"{size}-kamer")
    await check(fac, "the facilitator in the case round")

    # Bas's case wins; the advice round with two advices, Bas out of sight.
    await fac.get_by_role("button", name="Volgende stap").tap()
    await fac.get_by_role("button", name="Volgende stap").tap()
    for page in everyone:
        await expect(page.locator("#step-label")).to_contain_text("Stap 2/9")
        await page.locator("#case-list li.case", has_text="Nee zeggen").get_by_role("button", name="Stem hierop").tap()
    await fac.get_by_role("button", name="Stemming sluiten").tap()
    await expect(fac.locator("#people li", has_text="Bas")).to_contain_text("inbrenger")
    await fac.locator("#console-goto").select_option(str(ADVICE_STEP))
    await fac.get_by_role("button", name="Ga", exact=True).tap()
    panel = fac.locator("#advice-panel")
    await expect(panel).to_be_visible()
    for text, who in (("Zeg eerst: ik kom erop terug, en beslis pas na een nacht slapen.", "Anne"),
                      ("Maak een lijstje van wat je nu al doet.", "Fleur")):
        await panel.get_by_label("Nieuw advies").fill(text)
        await panel.locator(".advice-add").get_by_role("button", name=who, exact=True).tap()
    await expect(panel.locator("#advice-list li.advice-item")).to_have_count(2)
    await expect(anne.locator("#advice-list li.advice-item")).to_have_count(2)
    await check(fac, "the facilitator's advice list", shot=f"{size}-adviezen", shown="#advice-panel")
    await check(anne, "a deelnemer's advice list")
    await expect(bas.locator("#oos")).to_be_visible()
    await check(bas, "the inbrenger out of sight", root="#oos")

    for who, errors in (("Fleur", fac_errors), *((n, e) for n, (_, e) in people.items())):
        assert errors == [], (who, errors)
