"""Fault: the speech worker dies in the middle of the advice round.

test_speech_service kills the worker of a bare TranscriptionService; this does
it inside a running server, with three speakers talking through aiortc at the
same moment so their utterances queue behind the one model.  The worker is
frozen first (SIGSTOP) so the queue is certain, then killed (SIGKILL) by its
pid.  Every queued utterance comes back once, stored and turned into advice for
the right speaker, and the facilitator's page is told of the restart at once
and keeps being told.
"""

from __future__ import annotations

import os
import signal
import sqlite3

from conftest import SpeechHarness
from media_page import MediaPage

from companion.media.loopback import wait_for
from companion.media.peer import SpeakingTrack
from companion.speech.audiofile import espeak
from companion.speech.wer import wer
from companion.web import LIVE

# English: espeak-ng's Dutch voice is too poor for Whisper base (see test_live_path); similar lengths.
SAID = {
    "Sam": "Maybe you can ask a colleague for help.",
    "Noor": "Make sure you take enough rest after work.",
    "Lea": "My advice is to plan a fixed moment every week.",
}


async def test_killed_speech_worker_loses_and_doubles_nothing_and_the_facilitator_sees_it(speech_server):
    h: SpeechHarness = speech_server
    service = h.server.app[LIVE].transcription
    assert service is not None, "the speech model did not load"
    fac, invite, _ = await h.create_room(method="basismodel", language="en")
    inbrenger = await h.join(invite, "Ilse")
    speakers = {name: await h.join(invite, name) for name in SAID}
    voices = {name: SpeakingTrack() for name in SAID}
    pages = [MediaPage(h, speakers[name], voices[name]) for name in SAID]
    try:
        for page in pages:
            await page.open()
        await fac.ok("inbrenger.set", participant_id=inbrenger.id)
        await fac.ok("session.start")
        steps = (await fac.state())["room"]["method"]["steps"]
        await fac.ok("step.goto", index=next(i for i, s in enumerate(steps) if s["media"]["transcribe"]))
        await fac.connect()
        await inbrenger.connect()
        ids = [p.id for p in speakers.values()]
        # Each speaker's audio reaches the others before anyone speaks.
        await wait_for(lambda: all(pg.peer.received[(i, "audio")] > 25 for pg in pages for i in ids if i != pg.person.id), 30)
        assert fac.states[-1]["transcription"] == {"available": True, "active": True, "backlog_seconds": 0.0, "restarts": 0}

        # The model is frozen mid-round; all three speak at once and their utterances queue.
        old_pid = service.worker_pid
        os.kill(old_pid, signal.SIGSTOP)
        try:
            for name, text in SAID.items():
                voices[name].say(espeak(text, voice="en"))
            await wait_for(lambda: service.pending_count == len(SAID), 60)
            queued = service.pending_ids
        finally:
            os.kill(old_pid, signal.SIGKILL)
        # The facilitator is told as soon as the worker is back, not at the next advice.
        restarted = await fac.wait_state(lambda s: s["transcription"]["restarts"] == 1, timeout=30)
        assert "transcription" in restarted["events"]
        await service.wait_idle(timeout=300)
        assert service.worker_pid not in (None, old_pid)

        # Every queued utterance came back exactly once, for the one who said it.
        conn = sqlite3.connect(h.data_dir / "companion.sqlite3")
        rows = conn.execute("SELECT id, participant_id, text FROM utterances WHERE room_id = ?", (fac.room_id,)).fetchall()
        conn.close()
        assert sorted(r[0] for r in rows) == sorted(queued)
        by_speaker = {pid: text for _, pid, text in rows}
        assert sorted(by_speaker) == sorted(ids)
        for name, text in SAID.items():
            assert wer(text, by_speaker[speakers[name].id]) < 0.35, (text, by_speaker[speakers[name].id])

        # The advice list: each speaker's advice once, nothing doubled.
        def items(state: dict) -> list[dict]:
            return state.get("advice", {}).get("items", [])

        latest = await fac.wait_state(lambda s: {i["speaker"] for i in items(s)} == set(SAID), timeout=30)
        texts = [i["text"] for i in items(latest)]
        assert len(texts) == len(set(texts))
        for name in SAID:
            theirs = " ".join(i["text"] for i in items(latest) if i["speaker"] == name)
            assert wer(SAID[name], theirs) < 0.35, (name, theirs)
        # The count stays with the facilitator (and the inbrenger) after the results came in.
        assert latest["transcription"]["restarts"] == 1 and latest["transcription"]["available"]
        assert (await inbrenger.state())["transcription"]["restarts"] == 1
        assert "transcription" not in (await speakers["Sam"].state())
    finally:
        for page in pages:
            await page.close()
