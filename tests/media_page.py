"""A participant's page for tests: the package's RoomPage on a test harness's server and session."""

from __future__ import annotations

from aiortc.mediastreams import MediaStreamTrack

from companion.media.page import RoomPage
from companion.media.peer import PatternTrack


def small_camera(fps: float = 5.0) -> PatternTrack:
    """A camera that costs little, for tests with many peers or a speech model on two cores."""
    return PatternTrack(width=64, height=48, fps=fps)


class MediaPage(RoomPage):
    def __init__(
        self, harness, person, audio: MediaStreamTrack | None = None, video: MediaStreamTrack | None = None, camera: bool = True
    ):
        self.h = harness
        self.person = person
        super().__init__(
            harness.http, harness.url(f"/r/{person.room_id}/ws"), person.headers, person.id, audio=audio, video=video, camera=camera
        )
