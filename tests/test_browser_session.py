"""A whole roddelmodel session, five people in five real Chromium processes, against
`python -m companion serve` with transcription on and the bundled Whisper model.

Each browser has a fake camera and a microphone that plays a Dutch WAV made with
espeak-ng, once. The facilitator clicks the method from the case round to the end;
the three deelnemers speak their advice in the advice round, one after the other
(a fresh microphone track at that moment restarts the file). What is checked comes
from the browsers: getStats per participant (everyone sees and hears everyone in
the open steps; the roddelfase cuts the inbrenger's video both ways and keeps the
group's audio coming in), the advice list on the inbrenger's page (each advice,
fuzzy-matched, under the right name) and the Markdown the inbrenger downloads.

In the middle of the roddelfase a deelnemer's browser is closed and started again
on the same profile (the room cookie brings them back), and the inbrenger's browser
is closed and opened on a new profile with their personal /k/ link: both are back in
their role within seconds, and the gates hold for them. At the end every page has let
go of its camera and microphone.

The browsers stand for five people's own computers: they run only on CPU the server
leaves (SCHED_IDLE), and the person speaking at the server's (two shared cores would
otherwise starve the server and the speaker's microphone in a way no real session
does). Cameras are asked for 320x180 at 5 fps for the same reason.

Screenshots: artifacts/screenshots/session/.
"""

from __future__ import annotations

import asyncio
import difflib
import os
import re
import shutil
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from browser_helpers import (
    SLOT_MAP, decoded_total, idle_chromium, inbound, poll_inbound, received, screenshot, vote_for, write_case,
)
from served import CHROMIUM, CHROMIUM_ARGS, SHOTS, TRACK_PCS, ServedCompanion

playwright_api = pytest.importorskip("playwright.async_api")

pytestmark = pytest.mark.skipif(
    not shutil.which(CHROMIUM) or not shutil.which("chrt") or not shutil.which("espeak-ng") or not shutil.which("sox"),
    reason="needs Chromium, chrt, espeak-ng and sox",
)

FOLDER = SHOTS / "session"
VIEWPORT = {"width": 1280, "height": 800}
TIMEOUT_MS = 30000  # five browsers, the server and Whisper share two cores
ARGS = [*CHROMIUM_ARGS, "--autoplay-policy=no-user-gesture-required"]
GROUP = "Team Oost"
# Cheap video for five browsers on two cores: the camera is asked for 320x180 at 5 fps,
# whatever the page asks. The page's own getUserMedia stream is kept for the test.
SMALL_CAMERA = """
(() => {
  const md = navigator.mediaDevices;
  if (!md) return;
  const gum = md.getUserMedia.bind(md);
  window.__gum = gum;
  const SMALL = { width: { ideal: 320, max: 320 }, height: { ideal: 180, max: 180 }, frameRate: { ideal: 5, max: 5 } };
  md.getUserMedia = async (c) => {
    const stream = await gum(c && c.video ? { ...c, video: SMALL } : c);
    if (!window.__local && stream.getAudioTracks().length) window.__local = stream;
    return stream;
  };
  const apply = MediaStreamTrack.prototype.applyConstraints;
  MediaStreamTrack.prototype.applyConstraints = function (c) { return apply.call(this, this.kind === "video" ? SMALL : c); };
})();
"""
# The person starts speaking now: a fresh microphone capture plays the WAV from its start.
# It goes where the page's microphone was (its stream and the RTP sender), so the page's
# own mute and re-offers carry on with it.
SPEAK = """
async () => {
  const local = window.__local;
  const old = local.getAudioTracks()[0];
  const enabled = old ? old.enabled : true;
  if (old) { old.stop(); local.removeTrack(old); }
  const fresh = (await window.__gum({ audio: { echoCancellation: false, noiseSuppression: false, autoGainControl: false } })).getAudioTracks()[0];
  fresh.enabled = enabled;
  local.addTrack(fresh);
  const pc = window.__pcs[window.__pcs.length - 1];
  const sender = pc.getSenders().find((s) => s.track === old) || pc.getSenders().find((s) => s.track && s.track.kind === "audio");
  await sender.replaceTrack(fresh);
  return fresh.readyState;
}
"""

# Whisper base on espeak-ng's Dutch is rough; these sentences come through it well enough
# (checked on the clips alone), and share no content word.
SAYS = {
    "Fleur": ("Welkom allemaal bij de intervisie van vandaag.", 150),
    "Bea": ("Mijn vraag gaat over nee zeggen tegen extra werk.", 150),
    "Anne": ("Mijn advies is om elke vrijdag een uur te plannen voor je eigen werk.", 140),
    "Daan": ("Probeer eens om elke avond te schrijven wat goed ging.", 130),
    "Sem": ("Mijn advies is om je agenda elke week samen met je team te bekijken.", 130),
}
ADVISERS = ("Anne", "Daan", "Sem")
# Share of the content words said that the list must hold. Espeak's Dutch through Whisper base
# loses a word or two of five even on an idle machine.
MATCH = 0.4
STOPWORDS = frozenset(
    "mijn advies is om elke een te voor je en wat op de het met ik dat van in zou je jij wil".split()
)


def content_words(text: str) -> set[str]:
    return {w for w in re.findall(r"\w+", text.lower()) if w not in STOPWORDS and len(w) > 2}


def overlap(said: str, heard: str) -> float:
    """The share of the content words said that were heard, a word counting when spelled nearly
    alike ("planen" for "plannen")."""
    want, got = content_words(said), content_words(heard)
    near = [w for w in want if any(difflib.SequenceMatcher(None, w, g).ratio() >= 0.8 for g in got)]
    return len(near) / len(want)


def make_voice(folder: Path, name: str) -> Path:
    """espeak-ng's Dutch, as 48 kHz mono WAV with a little silence before and a second after."""
    text, speed = SAYS[name]
    raw = folder / f"{name}-raw.wav"
    wav = folder / f"{name}.wav"
    subprocess.run(["espeak-ng", "-v", "nl", "-s", str(speed), "-w", str(raw), text], check=True)
    subprocess.run(["sox", str(raw), "-r", "48000", "-c", "1", "-b", "16", str(wav), "pad", "0.3", "1.0"], check=True)
    return wav


@dataclass
class Person:
    name: str
    wav: Path
    profile: Path
    chromium: Path
    context: object = None
    page: object = None
    errors: list = field(default_factory=list)
    pid: str = ""


def expect(locator):
    return playwright_api.expect(locator)


@pytest.fixture
def server(tmp_path):
    # As the README starts it: transcription on, with the bundled model.
    served = ServedCompanion(tmp_path, transcription=True)
    served.start()
    yield served
    served.close()


async def open_browser(p, person: Person, url: str) -> float:
    """One Chromium process per person, on their own profile, with their own voice. Returns the
    monotonic time the page starts loading ``url``: how long the browser took to start (in the
    idle class, on a busy machine) is not the room's doing."""
    person.context = await p.chromium.launch_persistent_context(
        str(person.profile), executable_path=person.chromium,
        args=[*ARGS, f"--use-file-for-fake-audio-capture={person.wav}%noloop"],
        viewport=VIEWPORT, locale="nl-NL", accept_downloads=True,
    )
    await person.context.add_init_script(TRACK_PCS + SLOT_MAP + SMALL_CAMERA)
    person.page = person.context.pages[0] if person.context.pages else await person.context.new_page()
    person.page.set_default_timeout(TIMEOUT_MS)
    person.page.on("pageerror", lambda exc, errors=person.errors: errors.append(str(exc)))
    loading = time.monotonic()
    await person.page.goto(url)
    return loading


def browser_processes(person: Person) -> list[int]:
    """The person's Chromium: the process started on their profile and everything under it."""
    parents: dict[int, int] = {}
    roots = []
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            parents[int(proc.name)] = int((proc / "stat").read_text().rsplit(")", 1)[1].split()[1])
            if f"--user-data-dir={person.profile}".encode() in (proc / "cmdline").read_bytes():
                roots.append(int(proc.name))
        except (OSError, IndexError, ValueError):
            continue
    tree = set(roots)
    while True:
        more = {pid for pid, ppid in parents.items() if ppid in tree} - tree
        if not more:
            return sorted(tree)
        tree |= more


def set_speaking(person: Person, speaking: bool) -> None:
    """While someone speaks, their browser runs in the normal class, as on their own computer:
    the microphone is not starved by the four other browsers or by Whisper."""
    policy = os.SCHED_OTHER if speaking else os.SCHED_IDLE
    for pid in browser_processes(person):
        try:
            os.sched_setscheduler(pid, policy, os.sched_param(0))
        except OSError:
            pass


async def close_browser(person: Person) -> None:
    if person.context is not None:
        await person.context.close()
        person.context = person.page = None


async def names_to_ids(page) -> dict[str, str]:
    rows = await page.eval_on_selector_all(
        "#people li", "els => els.map((e) => [e.querySelector('.person-name').textContent, e.dataset.pid])")
    return {name.split(" (")[0]: pid for name, pid in rows}


async def sample(people: list[Person], seconds: float = 3.0) -> dict[str, tuple]:
    """Per page, over a few seconds: frames decoded and audio packets received per source, all frames
    decoded, audio packets and video frames sent. A page that rebuilt its connection meanwhile
    (it does so by itself after a stall) is sampled again."""
    for _ in range(4):
        before = await asyncio.gather(*(inbound(p.page) for p in people))
        await asyncio.sleep(seconds)
        after = await asyncio.gather(*(inbound(p.page) for p in people))
        if all(a["pcs"] == b["pcs"] for a, b in zip(after, before)):
            break
    else:
        raise AssertionError("pages keep rebuilding their connections")
    return {
        p.name: (received(b, a, "video"), received(b, a, "audio"), decoded_total(a) - decoded_total(b),
                 a["sentAudioPackets"] - b["sentAudioPackets"], a["sentVideoFrames"] - b["sentVideoFrames"])
        for p, b, a in zip(people, before, after)
    }


# Seeing is at least a few new frames decoded, hearing a stream of audio packets, in one window.
# Windows are repeated (a shared two-core machine stalls now and then): each pair must pass in one.
MIN_FRAMES, MIN_PACKETS, WINDOWS = 2, 15, 4


async def dump(people: list[Person]) -> str:
    """What each page knows of its connection, for the failure message."""
    out = {p.name: await p.page.evaluate("""() => ({
      pcs: window.__pcs.length, log: window.__mediaLog,
      slots: Object.values(window.__slots).map((s) => [s.mid, s.kind, s.participant, s.open]),
      mids: window.__pcs[window.__pcs.length - 1].getTransceivers().map((t) => [t.mid, t.currentDirection, t.receiver.track.kind]),
    })""") for p in people}
    return f"; pages: {out}; ids: {[(p.name, p.pid) for p in people]}"


async def check_open(people: list[Person]) -> None:
    """Everyone decodes everyone's video and receives everyone's audio."""
    missing = {(p.name, q.name, kind) for p in people for q in people if q is not p for kind in ("video", "audio")}
    for _ in range(WINDOWS):
        window = await sample(people)
        for p in people:
            video, audio, *_ = window[p.name]
            for q in people:
                if video.get(q.pid, 0) >= MIN_FRAMES:
                    missing.discard((p.name, q.name, "video"))
                if audio.get(q.pid, 0) >= MIN_PACKETS:
                    missing.discard((p.name, q.name, "audio"))
        if not missing:
            return
    raise AssertionError(f"not seen/heard (page, source, kind): {sorted(missing)}; last window: {window}" + await dump(people))


def gated(window: dict, people: list[Person], inbrenger: Person) -> int:
    """What the out-of-sight gates must hold at zero: the inbrenger's decoded frames, and the
    inbrenger's frames and audio packets on everyone else's page."""
    total = window[inbrenger.name][2]
    for p in people:
        if p is not inbrenger:
            video, audio, *_ = window[p.name]
            total += video.get(inbrenger.pid, 0) + audio.get(inbrenger.pid, 0)
    return total


async def check_out_of_sight(people: list[Person], inbrenger: Person) -> None:
    """The inbrenger decodes no video and keeps receiving the group's audio; nobody decodes the
    inbrenger's video or hears the inbrenger; the group still sees each other.

    Frames already on their way when the gates closed may still be decoded by a page that runs
    behind (five browsers on two cores): first the counters must come to a stop, within seconds;
    a leaking gate never lets them. From then on the zeros hold in every window."""
    deadline = time.monotonic() + 20
    while gated(await sample(people, 2.0), people, inbrenger):
        assert time.monotonic() < deadline, "video or audio keeps crossing the out-of-sight gates"
    group = [p for p in people if p is not inbrenger]
    missing = {(inbrenger.name, q.name, "audio") for q in group}
    missing |= {(p.name, q.name, "video") for p in group for q in group if q is not p}
    for _ in range(WINDOWS):
        window = await sample(people)
        _, audio, frames, *_ = window[inbrenger.name]
        assert frames == 0, f"the inbrenger's page decoded {frames} new frames: {window}"
        for q in group:
            if audio.get(q.pid, 0) >= MIN_PACKETS:
                missing.discard((inbrenger.name, q.name, "audio"))
        for p in group:
            video, audio, *_ = window[p.name]
            assert video.get(inbrenger.pid, 0) == 0, f"{p.name} decodes the inbrenger's video: {window}"
            assert audio.get(inbrenger.pid, 0) == 0, f"{p.name} hears the inbrenger's closed microphone: {window}"
            for q in group:
                if video.get(q.pid, 0) >= MIN_FRAMES:
                    missing.discard((p.name, q.name, "video"))
        if not missing:
            return
    raise AssertionError(f"not seen/heard (page, source, kind): {sorted(missing)}; last window: {window}" + await dump(people))


async def until_all_flowing(people: list[Person], timeout: float = 90.0) -> None:
    """Every page decodes video from all the others (the connection is up and keyframes have come)."""
    for p in people:
        others = {q.pid for q in people if q is not p}
        await poll_inbound(
            p.page,
            lambda s, others=others: s["state"] == "connected"
            and others <= {x["who"] for x in s["streams"] if x["kind"] == "video" and x["count"] > 0},
            timeout,
        )


async def first_frames(page, sources: list[Person], since: float, timeout: float = 90.0) -> dict[str, float]:
    """Seconds from ``since`` until the page decoded video from each source."""
    seen: dict[str, float] = {}
    deadline = time.monotonic() + timeout
    while len(seen) < len(sources):
        stats = await inbound(page)
        if stats:
            for x in stats["streams"]:
                name = next((q.name for q in sources if q.pid == x["who"]), None)
                if name and x["kind"] == "video" and x["count"] > 0 and name not in seen:
                    seen[name] = time.monotonic() - since
        assert time.monotonic() < deadline, f"no video from {[q.name for q in sources if q.name not in seen]}: {stats}"
        await asyncio.sleep(0.3)
    return seen


async def step(fac: Person, people: list[Person], label: str) -> None:
    await fac.page.get_by_role("button", name="Volgende stap").click()
    for p in people:
        await expect(p.page.locator("#step-label")).to_contain_text(label)


async def not_covered(page, selector: str) -> bool:
    """Is the element on top where it is drawn (not under the out-of-sight screen)?"""
    return await page.eval_on_selector(selector, """(el) => {
      el.scrollIntoView({ block: "start" });
      const r = el.getBoundingClientRect();
      const top = document.elementFromPoint(r.left + r.width / 2, Math.max(r.top, 0) + 5);
      return Boolean(top) && (el === top || el.contains(top));
    }""")


# OPT-IN (COMPANION_FIVE_BROWSERS=1), not in the default run: it does not yet pass on two cores, and as a
# non-strict xfail it could not fail, cost CI 4-10 minutes and showed nothing. What is known (2026-11-30):
# - the starvation of the server by the browsers' threads is gone (SCHED_IDLE, see idle_chromium; the
#   kernel dropped no UDP packet in a whole run);
# - video paths then wait for keyframes: the server's log ("no keyframe for 5 s ...") shows sources that
#   got 20-90 keyframe requests (PLI) and answered only some of them, so a page that (re)joins sees a
#   frozen tile for up to a minute (one run failed at "Stap 5/9" that way);
# - in a run that got past that, Daan's espeak advice said twice did not reach the list within 2 x 120 s.
# The room test (six people in one browser) and the live-path test (real voices through aiortc peers)
# cover the room, the gates and the advice path in the default run meanwhile.
@pytest.mark.skipif(os.environ.get("COMPANION_FIVE_BROWSERS") != "1", reason="opt-in: COMPANION_FIVE_BROWSERS=1 (see the comment above)")
async def test_five_browsers_run_a_roddelmodel_session(server, tmp_path):
    playwright_api.expect.set_options(timeout=TIMEOUT_MS)
    voices = tmp_path / "voices"
    voices.mkdir()
    chromium = idle_chromium(tmp_path)
    people = {n: Person(n, make_voice(voices, n), tmp_path / "profiles" / n, chromium) for n in SAYS}
    started = time.monotonic()
    async with playwright_api.async_playwright() as p:
        try:
            await run_session(p, server.base, people, tmp_path, server.facilitator_url)
        finally:
            for person in people.values():
                try:
                    await close_browser(person)
                except Exception:
                    pass
    print(f"session test: {time.monotonic() - started:.0f} s")


async def run_session(p, base: str, people: dict[str, Person], tmp_path: Path, facilitator_url: str) -> None:
    fac, bea, anne, daan, sem = (people[n] for n in ("Fleur", "Bea", "Anne", "Daan", "Sem"))
    everyone = [fac, bea, anne, daan, sem]

    # ---------------------------------------------------------------- the facilitator makes the room
    await open_browser(p, fac, facilitator_url)  # the operator's link for her leads to the landing page
    page = fac.page
    await page.get_by_label("Naam van de groep").fill(GROUP)
    await page.get_by_label("Methode").select_option("roddelmodel")
    await page.get_by_label("Jouw naam (begeleider)").fill("Fleur")
    await page.get_by_role("button", name="Kamer maken").click()
    await expect(page.locator("#invite-url")).to_have_value(re.compile("/i/"))
    invite_url = await page.locator("#invite-url").input_value()
    await screenshot(page, FOLDER, "01-room-created")
    await page.get_by_role("link", name="Naar de kamer").click()
    await page.wait_for_url("**/r/*")
    room_url = page.url

    # ---------------------------------------------------------------- four people join by the invite
    for person in (bea, anne, daan, sem):
        await open_browser(p, person, invite_url)
        await person.page.get_by_label("Jouw naam").fill(person.name)
        await person.page.get_by_text("Camera en microfoon werken.").wait_for()
        await person.page.get_by_role("button", name="Meedoen").click()
        await person.page.wait_for_url("**/r/*")
    # Right after joining, everyone sees their own link to come back with; Bea keeps hers.
    await expect(bea.page.locator("#own-link")).to_contain_text("Jouw persoonlijke link")
    bea_link = await bea.page.get_by_label("Jouw persoonlijke link").input_value()
    assert "/k/" in bea_link, bea_link
    await expect(fac.page.locator("#own-link")).to_be_hidden()
    for person in everyone:
        await expect(person.page.locator("#people li")).to_have_count(5)
    ids = await names_to_ids(fac.page)
    for person in everyone:
        person.pid = ids[person.name]
    await until_all_flowing(everyone)
    await check_open(everyone)
    await screenshot(anne.page, FOLDER, "02-waiting-participant")

    # ---------------------------------------------------------------- case round and vote, by clicks
    await fac.page.get_by_role("button", name="Sessie starten").click()
    for person in everyone:
        await expect(person.page.locator("#step-label")).to_contain_text("Stap 1/9")
    await write_case(bea.page, "Nee zeggen", "Hoe zeg ik op tijd nee als er extra werk bij komt?")
    await write_case(daan.page, "Overleg loopt uit", "Hoe houd ik het teamoverleg binnen de tijd?")
    await expect(fac.page.locator("#case-list li.case")).to_have_count(2)
    await screenshot(bea.page, FOLDER, "03-case-round-participant")
    # Anne and Sem wrote no case: the first click only warns the facilitator.
    await fac.page.get_by_role("button", name="Volgende stap").click()
    await expect(fac.page.locator("#console-warning")).to_contain_text("Anne")
    await step(fac, everyone, "Stap 2/9")
    for person in (bea, anne, sem):
        await vote_for(person.page, "Nee zeggen")
    await vote_for(daan.page, "Overleg loopt uit")
    await expect(fac.page.locator("#case-list li.case", has_text="Nee zeggen")).to_contain_text("3 stemmen")
    await screenshot(fac.page, FOLDER, "04-vote-facilitator")
    await fac.page.get_by_role("button", name="Stemming sluiten").click()
    for person in everyone:
        await expect(person.page.locator("#people li", has_text="Bea")).to_contain_text("inbrenger")

    # ---------------------------------------------------------------- explanation: an open step
    await step(fac, everyone, "Stap 3/9")
    await check_open(everyone)
    await screenshot(anne.page, FOLDER, "05-explanation-participant")

    # ---------------------------------------------------------------- roddelfase
    await step(fac, everyone, "Stap 4/9")
    await expect(bea.page.locator("#oos")).to_contain_text("Je bent uit beeld")
    await check_out_of_sight(everyone, bea)
    await screenshot(bea.page, FOLDER, "06-roddelfase-inbrenger", full_page=False)
    await screenshot(anne.page, FOLDER, "07-roddelfase-participant")

    # A deelnemer's browser goes away and is started again: the room cookie brings Daan back.
    await close_browser(daan)
    await expect(fac.page.locator("#people li.offline", has_text="Daan")).to_have_count(1)
    back = await open_browser(p, daan, room_url)
    await expect(daan.page.locator("#people li", has_text="Daan (jij)")).to_contain_text("deelnemer")
    await expect(daan.page.locator("#step-label")).to_contain_text("Stap 4/9")
    daan_role_s = time.monotonic() - back
    daan_media = await first_frames(daan.page, [fac, anne, sem], back)
    await expect(fac.page.locator("#people li.online", has_text="Daan")).to_have_count(1)

    # The inbrenger's browser goes away; Bea comes back on a fresh profile with her own link.
    await close_browser(bea)
    await expect(fac.page.locator("#people li.offline", has_text="Bea")).to_have_count(1)
    shutil.rmtree(bea.profile)
    back = await open_browser(p, bea, bea_link)
    await bea.page.wait_for_url("**/r/*")
    await expect(bea.page.locator("#oos")).to_contain_text("Je bent uit beeld")
    await expect(bea.page.locator("#people li", has_text="Bea (jij)")).to_contain_text("inbrenger")
    bea_role_s = time.monotonic() - back
    # Connected, and hearing the group again (audio from all four others arrives).
    await poll_inbound(bea.page, lambda s: s["state"] == "connected"
                       and len({x["who"] for x in s["streams"] if x["kind"] == "audio" and x["count"] > 50}) >= 4, 60)
    bea_audio_s = time.monotonic() - back
    await check_out_of_sight(everyone, bea)
    assert decoded_total(await inbound(bea.page)) == 0, "the returning inbrenger decoded video"
    await screenshot(bea.page, FOLDER, "08-roddelfase-inbrenger-returned", full_page=False)
    # Back in their role within seconds; media takes a little longer on a loaded machine.
    returns = {"deelnemer role": daan_role_s, "deelnemer sees each of the group": max(daan_media.values()),
               "inbrenger role": bea_role_s, "inbrenger hears the group": bea_audio_s}
    print("back after a closed browser (s):", {k: round(v, 1) for k, v in returns.items()}, daan_media)
    assert daan_role_s < 15 and bea_role_s < 15, returns

    # ---------------------------------------------------------------- reformulate: back in view
    await step(fac, everyone, "Stap 5/9")
    await expect(bea.page.locator("#oos")).to_be_hidden()
    await bea.page.locator("#reformulate-text").fill("Hoe bewaak ik mijn grenzen als er extra werk komt?")
    await bea.page.get_by_role("button", name="Vraag opslaan").click()
    for person in everyone:
        await expect(person.page.locator("#question-panel")).to_contain_text("Hoe bewaak ik mijn grenzen")
    await until_all_flowing(everyone, 60)
    await check_open(everyone)
    await screenshot(fac.page, FOLDER, "09-reformulate-facilitator")

    # ---------------------------------------------------------------- advice round: each deelnemer speaks in turn
    await step(fac, everyone, "Stap 6/9")
    await expect(bea.page.locator("#oos")).to_be_visible()
    items = bea.page.locator("#advice-list li.advice-item")
    spoken: dict[str, float] = {}
    repeated: list[str] = []
    for name in ADVISERS:
        person = people[name]
        mine = items.filter(has_text=name)
        set_speaking(person, True)
        # Espeak through Whisper base on a machine shared with four other browsers is rough:
        # when the list did not catch it, the speaker says it once more, as people do.
        for attempt in (1, 2):
            before = await mine.count()
            t0 = time.monotonic()
            assert await person.page.evaluate(SPEAK) == "live"
            await expect(mine).not_to_have_count(before, timeout=120000)
            spoken.setdefault(name, time.monotonic() - t0)
            if await advice_settles(bea.page, name) or attempt == 2:
                break
            repeated.append(name)
        set_speaking(person, False)
    heard = await advice_by_speaker(bea.page)
    print("said twice:", repeated)
    print("advice list on the inbrenger's page:", heard)
    for name in ADVISERS:
        said = SAYS[name][0]
        assert name in heard, (name, heard)
        assert overlap(said, heard[name]) >= MATCH, f"{name} said {said!r}, the list has {heard[name]!r}"
        # ...and nobody else is credited with it.
        for other, text in heard.items():
            if other != name:
                assert overlap(said, text) < MATCH, (name, other, heard)
    assert set(heard) <= set(ADVISERS), heard
    # The inbrenger, out of sight, sees the list grow on the out-of-sight screen.
    assert await not_covered(bea.page, "#advice-list li.advice-item"), "the advice list is hidden under the out-of-sight screen"
    await screenshot(bea.page, FOLDER, "10-advice-round-inbrenger", full_page=False)
    await screenshot(fac.page, FOLDER, "11-advice-round-facilitator")

    # ---------------------------------------------------------------- the rest of the method
    await step(fac, everyone, "Stap 7/9")
    await expect(bea.page.locator("#oos")).to_be_hidden()
    await bea.page.locator("#advice-list li.advice-item").first.get_by_role("button", name="Bruikbaar").click()
    await screenshot(bea.page, FOLDER, "12-reaction-inbrenger")
    await step(fac, everyone, "Stap 8/9")
    await step(fac, everyone, "Stap 9/9")
    await bea.page.locator("#takeaway-text").fill("Op vrijdag een uur voor mezelf plannen.")
    await bea.page.locator("#takeaway-share").check()
    await bea.page.locator("#takeaway-save").click()
    await expect(anne.page.locator("#takeaways-shared")).to_contain_text("Op vrijdag een uur")
    await screenshot(anne.page, FOLDER, "13-evaluation-participant")
    fac.page.once("dialog", lambda dialog: dialog.accept())
    await fac.page.get_by_role("button", name="Sessie beëindigen").click()
    for person in everyone:
        await expect(person.page.locator("#step-label")).not_to_contain_text("Stap 9/9")

    # ---------------------------------------------------------------- the inbrenger's document
    async with bea.page.expect_download() as info:
        await bea.page.locator("#advice-download-md").click()
    download = await info.value
    markdown = Path(await download.path()).read_text(encoding="utf-8")
    (tmp_path / "advies.md").write_text(markdown, encoding="utf-8")
    in_document: dict[str, str] = {}
    for speaker, text in re.findall(r"^\d+\. \*\*(.+?)\*\*[^:]*: (.*)$", markdown, re.M):
        in_document[speaker] = (in_document.get(speaker, "") + " " + text.replace("\\", "")).strip()
    for name in ADVISERS:
        assert overlap(SAYS[name][0], in_document.get(name, "")) >= MATCH, (name, in_document, markdown)
    await screenshot(bea.page, FOLDER, "14-ended-inbrenger")
    # The session is over: every page has let go of its camera and microphone.
    for person in everyone:
        assert await person.page.evaluate("window.__local.getTracks().every((t) => t.readyState === 'ended')"), person.name

    for person in everyone:
        assert person.errors == [], (person.name, person.errors)
    print(f"advice on the inbrenger's page after speaking: {', '.join(f'{k} {v:.1f} s' for k, v in spoken.items())}")


async def advice_settles(page, name: str, quiet: float = 8.0, timeout: float = 60.0) -> bool:
    """Speech cut into several utterances arrives as several items: wait until what the list holds
    for this speaker matches what they said (True), or has not changed for a while (False)."""
    said = SAYS[name][0]
    last, changed = None, time.monotonic()
    deadline = changed + timeout
    while time.monotonic() < deadline:
        text = (await advice_by_speaker(page)).get(name, "")
        if overlap(said, text) >= MATCH:
            return True
        if text != last:
            last, changed = text, time.monotonic()
        elif time.monotonic() - changed > quiet:
            return False
        await asyncio.sleep(1.0)
    return False


async def advice_by_speaker(page) -> dict[str, str]:
    rows = await page.eval_on_selector_all(
        "#advice-list li.advice-item",
        "els => els.map((e) => [e.querySelector('.advice-speaker').textContent, e.querySelector('.advice-text').textContent])")
    out: dict[str, str] = {}
    for speaker, text in rows:
        out[speaker] = (out.get(speaker, "") + " " + text).strip()
    return out
