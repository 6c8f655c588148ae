"""What the speech filters take out is kept with its reason; loops collapse; phrase lists match whole sentences."""

from __future__ import annotations

import asyncio
import math

import numpy as np
import pytest

from companion.speech.asr import Segment, _assemble
from companion.speech.filters import collapse_loops, is_known_hallucination, split_phrases
from companion.speech.service import TranscriptionService, _Job
from companion.speech.options import AsrOptions


def seg(text, start=0.0, end=3.0, logprob=-0.3, no_speech=0.05, ratio=1.3):
    return Segment(start, end, text, logprob, no_speech, ratio)


# ------------------------------------------------------------------ phrase lists: whole sentences only
@pytest.mark.parametrize(
    "text",
    [
        "Ik zou het gesprek niet uitstellen tot de volgende keer.",
        "Bedankt voor het kijken naar mijn casus, ik zou het zo doen.",
        "Abonneer je op een nieuwsbrief over leiderschap.",
        "Zeg tegen haar: thanks for watching out for me.",
        "Muziek maken helpt mij om te ontspannen.",
        "Ondertiteling is heel belangrijk voor de doven in je team.",
        "Wacht met beslissen tot volgende week.",
    ],
)
def test_a_phrase_inside_a_real_sentence_is_speech(text):
    assert split_phrases(text) == (text, [])
    assert not is_known_hallucination(text)
    result = _assemble([seg(text)], "nl")
    assert result.text == text and result.set_aside == ()


@pytest.mark.parametrize(
    "text, kept, removed",
    [
        ("Tot de volgende keer.", "", ["Tot de volgende keer."]),
        ("Bedankt voor het kijken en tot de volgende keer!", "", ["Bedankt voor het kijken en tot de volgende keer!"]),
        ("Ik zou dat doen. Ondertiteling door TV Gelderland.", "Ik zou dat doen.", ["Ondertiteling door TV Gelderland."]),
        ("Zoek een maatje ondertiteld door de Amara.org gemeenschap", "Zoek een maatje", ["ondertiteld door de Amara.org gemeenschap"]),
        ("Thanks for watching. Try to plan ahead.", "Try to plan ahead.", ["Thanks for watching."]),
        ("[muziek] Praat met je baas.", "Praat met je baas.", ["[muziek]"]),
        ("Dank je wel voor het luisteren.", "", ["Dank je wel voor het luisteren."]),
    ],
)
def test_a_sentence_that_is_wholly_a_known_phrase_is_set_aside_alone(text, kept, removed):
    assert split_phrases(text) == (kept, removed)
    result = _assemble([seg(text, 2.0, 5.0)], "nl")
    assert result.text == kept
    assert [(a.text, a.reason, a.start, a.end) for a in result.set_aside] == [(r, "phrase_list", 2.0, 5.0) for r in removed]


# ------------------------------------------------------------------ loops: one copy, never dropped
@pytest.mark.parametrize(
    "text, once",
    [
        ("Zoek een maatje in het team en zoek een maatje in het team en zoek een maatje in het team.",
         "Zoek een maatje in het team."),
        ("Zoek een maatje. Zoek een maatje. Zoek een maatje.", "Zoek een maatje."),
        ("Ik zou met haar praten over wat je voelt dat je dat je dat je dat je dat je dat je",
         "Ik zou met haar praten over wat je voelt dat je"),
        ("Plan een vast moment in de week, in de week, in de week, in de week, in de week.",
         "Plan een vast moment in de week."),
        ("Probeer het gewoon ja ja ja ja ja ja ja ja", "Probeer het gewoon ja"),
        ("I would talk to her and talk to her and talk to her and talk to her.", "I would talk to her."),
    ],
)
def test_a_loop_collapses_to_one_copy_and_keeps_the_words_before_it(text, once):
    assert collapse_loops(text) == once
    # Whisper's own signs of a loop (a high compression ratio, or the token cap hit) no longer drop it.
    for ratio in (1.4, 2.9, math.inf):
        result = _assemble([seg(text, ratio=ratio)], "nl")
        assert result.text == once and result.set_aside == () and result.collapsed >= 1


@pytest.mark.parametrize(
    "text",
    [
        "Het is heel heel belangrijk.",
        "Ik denk dat dat dat helpt.",
        "Ik zou zeggen: doe het, doe het gewoon, en kijk wat er gebeurt.",
        "Ja, ja.",
        "Vraag het haar, vraag het hem.",
    ],
)
def test_speech_that_merely_repeats_a_little_is_left_alone(text):
    assert collapse_loops(text) == text


def test_segments_that_repeat_each_other_are_kept_once():
    result = _assemble([seg("Zoek een maatje in het team.", 0, 2), seg("Zoek een maatje in het team.", 2, 4),
                        seg("zoek een maatje in het team", 4, 6), seg("Vraag wat zij wil.", 6, 8)], "nl")
    assert result.text == "Zoek een maatje in het team. Vraag wat zij wil."
    assert result.set_aside == ()


# ------------------------------------------------------------------ scores: set aside with a reason
@pytest.mark.parametrize(
    "logprob, no_speech, reason",
    [(-1.2, 0.8, "silence"), (-1.05, 0.95, "silence"), (-1.8, 0.1, "low_confidence"), (-2.5, 0.3, "low_confidence")],
)
def test_a_segment_the_scores_refuse_is_kept_aside_with_its_reason(logprob, no_speech, reason):
    result = _assemble([seg("Ik zou het proberen.", 0.0, 2.0),
                        seg("Misschien een coach.", 2.0, 4.0, logprob=logprob, no_speech=no_speech)], "nl")
    assert result.text == "Ik zou het proberen."
    assert [(a.text, a.reason, a.start) for a in result.set_aside] == [("Misschien een coach.", reason, 2.0)]
    assert result.dropped == 1


def test_nothing_kept_still_returns_what_was_set_aside():
    result = _assemble([seg("Bedankt voor het kijken!", logprob=-0.4), seg("Eh", logprob=-2.0)], "nl")
    assert result.text == "" and result.confidence == 0.0
    assert [a.reason for a in result.set_aside] == ["phrase_list", "low_confidence"]


# ------------------------------------------------------------------ the service hands them on
def test_the_service_delivers_set_aside_pieces_in_step_time_even_without_text():
    got = []

    async def run():
        service = TranscriptionService(AsrOptions(), got.append)
        service._loop = asyncio.get_running_loop()
        for job_id, start in (("a", 10.0), ("b", 20.0), ("c", 30.0)):
            service._pending[job_id] = _Job(job_id, "r", "s", "p", "nl", start, start + 3, np.zeros(16), 0.0, 0.0)
        extra = {"set_aside": [(0.5, 1.5, "Ondertiteling door TV Gelderland.", "phrase_list")], "language": "nl"}
        service._handle(("result", "a", "", 0.0, [], None, extra))
        service._handle(("result", "b", "Ik zou het doen.", 0.8, [], None, {"set_aside": [], "language": "en"}))
        service._handle(("result", "c", "", 0.0, [], None, {}))  # nothing at all: nothing delivered
        await asyncio.sleep(0.01)
        assert service.pending_ids == []

    asyncio.run(run())
    assert [u.id for u in got] == ["a", "b"]
    assert got[0].text == "" and got[0].set_aside == (
        {"text": "Ondertiteling door TV Gelderland.", "reason": "phrase_list", "start": 10.5, "end": 11.5},)
    assert got[1].language == "en" and got[1].set_aside == ()
