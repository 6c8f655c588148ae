"""Speech through the whole live path: aiortc peers speak real Dutch recordings in the
advice step of a real server, the server forwards and taps the audio, Whisper
transcribes it in its worker, the utterances are stored and reach the inbrenger's page.

The same recordings transcribed offline (``companion transcribe``'s path, with the
server's own model options) are the baseline: the live path may not lose words, and
every word goes to who said it.
"""

from __future__ import annotations

import asyncio
import os
import sqlite3
import time

import numpy as np
import pytest
from media_page import MediaPage

from companion.media.loopback import wait_for
from companion.media.peer import SpeakingTrack
from companion.speech import realvoices
from companion.speech.asr import load_transcriber
from companion.speech.cli import transcribe_with
from companion.speech.service import TURN_PAUSE
from companion.speech.wer import word_errors
from companion.web import LIVE

# Five long recordings of each speaker, ten different sentences: 120 words, 42 s of speech.
SAM = ("flemishguy_p0904.wav", "flemishguy_p0940.wav", "flemishguy_p0121.wav", "flemishguy_p0902.wav", "flemishguy_p0434.wav")
NOOR = ("nathalie_p0458.flac", "nathalie_p1065.flac", "nathalie_p0762.flac", "nathalie_p0067.flac", "nathalie_p0629.flac")
# The bound: live word error rate at most the offline one plus 0.01.  Over 120 words that is
# one word more wrong than offline (1/120 = 0.008), no more: Opus and the live cutting may cost one word.
TOLERANCE = 0.01
# Silence after each recording before the other speaker starts: more than the VAD's 0.6 s that ends an
# utterance, less than the service's TURN_PAUSE, so the same speaker's next recording (after the other's
# turn) is a turn of its own.
GAP = 1.5
# The offline baseline hears each clip after GAP of silence, as the live cutter does, shifted by these
# whole 20 ms audio frames (ms).
SHIFTS_MS = (0, 20, 40, 60, 80, 100)


def real_recordings() -> dict[str, realvoices.Recording]:
    try:
        return {r.name: r for r in realvoices.load()}
    except FileNotFoundError as exc:
        if os.environ.get("CI") == "true":
            pytest.fail(f"the real-voice test set must be there in CI: {exc}")
        pytest.skip(str(exc))


def rate(pairs: list[tuple[str, str]]) -> float:
    """Word error rate over all pairs (reference, heard) together."""
    errors = words = 0
    for reference, text in pairs:
        e, n = word_errors(reference, text)
        errors, words = errors + e, words + n
    return errors / words


async def test_real_voices_reach_the_inbrenger_as_text_without_losing_words(speech_server, tmp_path):
    recordings = real_recordings()
    live = speech_server
    facilitator, invite, _ = await live.create_room(method="basismodel", language="nl")
    speaker = await live.join(invite, "Sam")
    inbrenger = await live.join(invite, "Ilse")
    other = await live.join(invite, "Noor")
    voice, other_voice = SpeakingTrack(), SpeakingTrack()
    # Cameras off: what is measured is speech, and the model shares two cores with four peers and the server.
    pages = [
        MediaPage(live, speaker, voice, camera=False),
        MediaPage(live, inbrenger, SpeakingTrack(), camera=False),
        MediaPage(live, facilitator, SpeakingTrack(), camera=False),
        MediaPage(live, other, other_voice, camera=False),
    ]
    try:
        for page in pages:
            await page.open()
        await facilitator.ok("inbrenger.set", participant_id=inbrenger.id)
        await facilitator.ok("session.start")
        method_steps = (await facilitator.state())["room"]["method"]["steps"]
        advice_index = next(i for i, s in enumerate(method_steps) if s["media"]["transcribe"])
        await facilitator.ok("step.goto", index=advice_index)
        # Media flows to the inbrenger before anyone speaks.
        await wait_for(lambda: pages[1].peer.received[(speaker.id, "audio")] > 25, timeout=60)
        await wait_for(lambda: pages[1].peer.received[(other.id, "audio")] > 25, timeout=60)

        status = (await inbrenger.state())["transcription"]
        assert status["available"] and status["active"]
        # Turns alternate, Sam, Noor, Sam, ..., as in an advice round: each recording (16 kHz) is
        # resampled to 48 kHz by the peer and goes through Opus, the server's tap and its VAD, as a
        # microphone's would.
        turns = [(name, who) for pair in zip(SAM, NOOR) for name, who in zip(pair, ("Sam", "Noor"))]
        tracks = {"Sam": voice, "Noor": other_voice}
        service = live.server.app[LIVE].transcription
        names = {speaker.id: "Sam", other.id: "Noor"}

        def stored_rows() -> list[tuple[str, str]]:
            conn = sqlite3.connect(live.data_dir / "companion.sqlite3")
            try:
                return conn.execute(
                    "SELECT participant_id, text FROM utterances WHERE room_id = ? ORDER BY start_s", (speaker.room_id,)
                ).fetchall()
            finally:
                conn.close()

        def speaker_order() -> list[str]:
            # Who spoke, in order; a recording the VAD cut in two gives one name twice in a row.
            order = [names.get(pid, pid) for pid, _ in stored_rows()]
            return [who for i, who in enumerate(order) if i == 0 or order[i - 1] != who]

        def explain() -> str:
            heard = {who: pages[1].peer.received[(pid, "audio")] for pid, who in names.items()}
            return f"stored {stored_rows()}; pending {service.pending_count}; audio frames at the inbrenger {heard}"

        t0 = time.monotonic()
        for name, who in turns:
            track = tracks[who]
            duration = track.say(recordings[name].audio)
            # The next speaker starts when this one has finished (the track's clock, not the test's).
            await wait_for(lambda: not track.speaking, timeout=duration + 60, explain=explain)
            await asyncio.sleep(GAP)
            # The test's peers and server share two cores with the model: let each turn be transcribed
            # before the next one speaks, so what is measured is the path, not a starved event loop.
            await service.wait_idle(timeout=120)
            print(f"{time.monotonic() - t0:5.1f} s: {who} said {name}; {explain()}")
        spoken = time.monotonic() - t0
        # Every turn is in, and no more comes: the last one's pieces (if the VAD cut it) are decoded again
        # once its speaker has been silent for the service's TURN_PAUSE.
        await wait_for(lambda: len(speaker_order()) >= len(turns), timeout=300, explain=explain)
        for _ in range(10):
            await service.wait_idle(timeout=300)
            before = stored_rows()
            await asyncio.sleep(TURN_PAUSE + 1.0)
            if service.pending_count == 0 and stored_rows() == before:
                break
        else:
            pytest.fail(f"the transcripts kept changing: {explain()}")
        print(f"\n{spoken:.0f} s of turns, all transcribed {time.monotonic() - t0 - spoken:.0f} s after the last one")

        stored = stored_rows()
        assert {row[0] for row in stored} == set(names), explain()
        assert speaker_order() == [who for _, who in turns], explain()
        live_text = {who: " ".join(text for pid, text in stored if names[pid] == who) for who in ("Sam", "Noor")}

        # Offline: each recording through companion transcribe's path, with the server's model options.
        # Whisper's answer on the same clip moves with where it starts: shifting a clip by a whole number of
        # 20 ms audio frames (an Opus frame; the live path starts a clip wherever the stream happens to be)
        # flipped "Hoewel ... aankijkt" to "Hoe wel ... aan kijkt" in 8 of 16 shifts offline, 0-4 word errors
        # on one sentence (CI once saw live 0.117 against offline 0.083 from that alone).  So "the offline
        # one" is the model's range over a few frame shifts, and the live path may be at most one word per
        # hundred worse than the worst of them: what it must not do is lose words the model hears anyway.
        transcriber = load_transcriber(service.options)
        reference = {who: " ".join(recordings[name].transcript for name in clips) for who, clips in (("Sam", SAM), ("Noor", NOOR))}
        per_shift = []
        for shift_ms in SHIFTS_MS:
            lead = np.zeros(int(GAP * 16_000) + shift_ms * 16, dtype=np.float32)
            per_shift.append({
                name: " ".join(u.text for u in transcribe_with(transcriber, np.concatenate([lead, recordings[name].audio]), "x", "nl"))
                for name in SAM + NOOR
            })
        worst_errors = sum(max(word_errors(recordings[name].transcript, run[name])[0] for run in per_shift) for name in SAM + NOOR)
        words = sum(word_errors(recordings[name].transcript, "")[1] for name in SAM + NOOR)
        offline_worst = worst_errors / words
        offline_text = {who: " ".join(per_shift[0][name] for name in clips) for who, clips in (("Sam", SAM), ("Noor", NOOR))}
        offline = rate([(reference[who], offline_text[who]) for who in reference])
        live_rate = rate([(reference[who], live_text[who]) for who in reference])
        print(f"real voices, WER offline {offline:.3f} (worst over shifts of {SHIFTS_MS} ms: {offline_worst:.3f}), live {live_rate:.3f}")
        for who in reference:
            print(f" {who} offline: {offline_text[who]}\n {who} live:    {live_text[who]}")
        assert offline < 0.3  # the model hears these voices: the comparison means something
        assert live_rate <= offline_worst + TOLERANCE
        # Each speaker's words are theirs: the other speaker's sentences match far worse.
        for who, them in (("Sam", "Noor"), ("Noor", "Sam")):
            assert rate([(reference[who], live_text[who])]) < 0.5 < rate([(reference[them], live_text[who])])

        # The inbrenger's page shows all of it under the right names: as advice, or set aside with a
        # reason (these sentences are no advice, so the splitter may set some aside; nothing is dropped).
        def on_page() -> dict[str, str]:
            advice = pages[1].states[-1].get("advice", {}) if pages[1].states else {}
            pieces = sorted(advice.get("items", []) + advice.get("set_aside", []), key=lambda p: p["start"] or 0)
            return {who: " ".join(p["text"] for p in pieces if p["speaker"] == who) for who in ("Sam", "Noor", "Ilse")}

        await wait_for(lambda: all(on_page()[who] for who in ("Sam", "Noor")), timeout=30, explain=lambda: str(on_page()))
        page = on_page()
        assert not page["Ilse"], page
        for who, them in (("Sam", "Noor"), ("Noor", "Sam")):
            assert rate([(reference[who], page[who])]) <= rate([(reference[who], live_text[who])]) + TOLERANCE, page
            assert rate([(reference[them], page[who])]) > 0.5, page

        # Nothing of the audio touched the disk: only the database and the model folder are in the data dir.
        names_on_disk = {p.name for p in live.data_dir.iterdir()}
        assert names_on_disk <= {"companion.sqlite3", "companion.sqlite3-wal", "companion.sqlite3-shm", "methods", "models"}
    finally:
        for page in pages:
            await page.close()
