"""From a step's media policy to one gate per (source, subscriber, kind).

The phase engine builds a ``MediaView`` after every change of room state;
the forwarding layer asks ``gate_open`` for each path.  Keeping the rule in
one pure function means the roddelfase is enforced the same way everywhere.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from ..methods import OPEN_POLICY, MediaPolicy

Kind = Literal["audio", "video"]


@dataclass(frozen=True)
class MediaView:
    room_id: str
    # Everyone who belongs to the room, connected or not.
    participants: tuple[str, ...] = ()
    inbrenger_id: str | None = None
    policy: MediaPolicy = OPEN_POLICY
    # Microphones the facilitator closed (until the participant reopens them,
    # if the step allows).
    mic_muted: frozenset[str] = field(default_factory=frozenset)
    # Cameras the facilitator switched off towards the group.
    camera_off: frozenset[str] = field(default_factory=frozenset)
    # A running session; before start and after the end the room is a plain call.
    running: bool = False
    step_id: str | None = None

    @property
    def effective_policy(self) -> MediaPolicy:
        return self.policy if self.running and self.inbrenger_id else OPEN_POLICY


def gate_open(view: MediaView, source: str, subscriber: str, kind: Kind) -> bool:
    """May media of ``kind`` from ``source`` reach ``subscriber`` now?"""
    if source == subscriber:
        return False
    policy = view.effective_policy
    inbrenger = view.inbrenger_id
    if kind == "video":
        if source in view.camera_off:
            return False
        if source == inbrenger and not policy.group_sees_inbrenger:
            return False
        if subscriber == inbrenger and not policy.inbrenger_sees_group:
            return False
        return True
    if source in view.mic_muted:
        return False
    return mic_open_by_policy(view, source)


def mic_open_by_policy(view: MediaView, source: str) -> bool:
    """Does the step let this person's microphone be heard at all?"""
    policy = view.effective_policy
    if source == view.inbrenger_id:
        return policy.inbrenger_heard
    return policy.group_heard


def transcribed(view: MediaView, source: str) -> bool:
    """Is this person's audio to be transcribed now?"""
    policy = view.effective_policy
    return policy.transcribe and source not in view.mic_muted and mic_open_by_policy(view, source)
