"""A video path held back waiting for a keyframe is reported in the operator's log, once per wait."""

from __future__ import annotations

import logging
import re
import time

from companion.media import service
from companion.media.service import MediaService, PathStats, _Peer


def test_a_long_wait_for_a_keyframe_is_logged_once_with_the_requests_sent(caplog, monkeypatch):
    monkeypatch.setattr(service, "WAITING_REPORT_S", 0.05)
    path, source = PathStats(), _Peer("r1", "anne", pc=None, upstream={})
    source.plis = 7
    caplog.set_level(logging.WARNING, logger=service.log.name)

    def held_back(times: int) -> None:
        for _ in range(times):
            path.dropped_waiting += 1
            MediaService._note_waiting(path, "r1", "anne", "bas", source)
            time.sleep(0.02)

    held_back(2)
    assert not caplog.records  # a short wait is normal: the keyframe is on its way
    held_back(6)
    assert len(caplog.records) == 1
    assert "anne -> bas" in caplog.text and "7 keyframe requests" in caplog.text
    assert re.search(r"\b[3-8] frames held back", caplog.text), caplog.text
    held_back(6)
    assert len(caplog.records) == 1  # once per wait
    # The gate shut for a while (no frames held back), then a new wait: reported again when it lasts.
    time.sleep(1.1)
    held_back(6)
    assert len(caplog.records) == 2
