"""Speech in another language than the room's: heard, transcribed in its own language, marked.

Each utterance is decoded in the room's language first (forcing the language
keeps Whisper from drifting on short or accented Dutch).  When that decode
looks poor, Whisper's own language probabilities for the utterance are asked;
when they clearly say another language and hardly the room's, the utterance
is decoded again in that language and the better of the two decodes is kept,
its ``Transcript.language`` saying which.  Asking costs one encoder pass, so
it is only done for poor decodes: good Dutch in a Dutch room pays nothing.

Measured with the bundled base on the real recordings in shared/data/speech/nl-real
(Flemish and Dutch voices): the room language's probability was 0.81-1.00 and
no forced decode scored below 0.64 confidence; English (espeak-ng) forced to
Dutch scored 0.36-0.68, and English had 0.74-0.97 probability with Dutch 0.00.
espeak-ng's robotic Dutch is detected as anything (Thai 0.77, English 0.64,
Latin 0.29) with Dutch at 0.00-0.14, which is why a switch also needs the
other decode to be clearly more confident than the forced one (``BETTER_BY``):
Thai 0.45 against Dutch 0.36 stays Dutch, English 0.73 against a forced
0.36 ("Ik wil de eerste first talk to your manager") is taken.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .filters import LOW_CONFIDENCE, SILENCE

# Below this confidence (exp of the mean token log-probability) the forced decode is checked.
CHECK_BELOW_CONFIDENCE = 0.6
# Another language must have at least this probability, and the room's at most the next one.
OTHER_LANGUAGE_AT_LEAST = 0.6
ROOM_LANGUAGE_AT_MOST = 0.05
# The other decode must be this much more confident than the forced one: Whisper base's language
# detector is unreliable on accented or robotic speech (espeak-ng's Dutch came out Thai at 0.77).
BETTER_BY = 0.15


def worth_checking(transcript: Any) -> bool:
    """A decode that may be another language forced into the room's: poor confidence, or words set aside as guesses."""
    if transcript.text and transcript.confidence >= CHECK_BELOW_CONFIDENCE:
        return False
    return bool(transcript.text) or any(a.reason in (LOW_CONFIDENCE, SILENCE) for a in transcript.set_aside)


def other_language(probabilities: dict[str, float], language: str) -> str | None:
    """The language Whisper clearly hears instead of ``language``, or None."""
    if not probabilities:
        return None
    top = max(probabilities, key=probabilities.get)
    if top == language or probabilities[top] < OTHER_LANGUAGE_AT_LEAST:
        return None
    if probabilities.get(language, 0.0) > ROOM_LANGUAGE_AT_MOST:
        return None
    return top


def transcribe_heard_language(transcriber: Any, samples: np.ndarray, language: str, first: Any = None) -> Any:
    """``transcriber.transcribe`` in the room's ``language``, or in the language the speaker used instead.

    ``first``: the decode in the room's language when it was already made (a packed window), or None.
    """
    if first is None:
        first = transcriber.transcribe(samples, language)
    probe = getattr(transcriber, "language_probabilities", None)
    if probe is None or not worth_checking(first):
        return first
    heard = other_language(probe(samples), language)
    if heard is None:
        return first
    second = transcriber.transcribe(samples, heard)
    if second.text and (not first.text or second.confidence >= first.confidence + BETTER_BY):
        return second
    return first
