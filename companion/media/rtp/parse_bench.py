"""``companion bench rtp-parse [--rounds N] [--json]``: parsing one received RTP packet, aiortc's
``RtpPacket.parse`` against companion.media.rtp.parse, on the packets a room carries.

Two shapes: a 1100-byte VP8 packet with MID and abs-send-time, a 100-byte
Opus packet with MID and audio level (RFC 6464), written as browsers write
them (one-byte extensions, ids as aiortc offers them).  Each parser runs
``--rounds`` times 1000 calls, the two interleaved so that a busy machine
slows both alike; the figure is the fastest round, in microseconds per
packet.  Before timing, both parses of each packet are checked equal.
"""

from __future__ import annotations

import argparse
import json
import os
import timeit
from typing import Any

from aiortc.rtcrtpparameters import RTCRtpHeaderExtensionParameters, RTCRtpParameters
from aiortc.rtp import HeaderExtensionsMap, RtpPacket

from .packet import ABS_SEND_TIME_URI, AUDIO_LEVEL_URI, MID_URI, PacketWriter
from .parse import rtp_parser

CALLS = 1000


def shapes() -> dict[str, tuple[dict[str, int], bytes]]:
    """Name -> (extension URI -> id, packet)."""
    rng = os.urandom
    video_ids = {MID_URI: 1, ABS_SEND_TIME_URI: 3}
    audio_ids = {MID_URI: 1, AUDIO_LEVEL_URI: 2}
    video = PacketWriter(video_ids, "1").write(96, True, 1234, 987654321, 0x12345678, rng(1100 - 24),
                                               abs_send_time=0x123456)
    audio = PacketWriter(audio_ids, "0").write(111, False, 4321, 123456789, 0x87654321, rng(100 - 20),
                                               audio_level=(True, 42))
    return {"vp8_1100B_mid_abs_send_time": (video_ids, video), "opus_100B_mid_audio_level": (audio_ids, audio)}


def measure(rounds: int) -> dict[str, Any]:
    results: dict[str, Any] = {}
    for name, (uris, data) in shapes().items():
        extensions_map = HeaderExtensionsMap()
        extensions_map.configure(RTCRtpParameters(headerExtensions=[
            RTCRtpHeaderExtensionParameters(id=x_id, uri=uri) for uri, x_id in uris.items()]))
        ids = {"mid": uris.get(MID_URI), "abs_send_time": uris.get(ABS_SEND_TIME_URI),
               "audio_level": uris.get(AUDIO_LEVEL_URI)}
        fast = rtp_parser(ids, lambda data, m=extensions_map: RtpPacket.parse(data, m))
        ours, theirs = fast(data), RtpPacket.parse(data, extensions_map)
        if {**vars(ours), "extensions": vars(ours.extensions)} != {**vars(theirs), "extensions": vars(theirs.extensions)}:
            raise AssertionError(f"{name}: the two parses differ")
        timers = {"aiortc_us": timeit.Timer(lambda: RtpPacket.parse(data, extensions_map)),
                  "companion_us": timeit.Timer(lambda: fast(data))}
        best = {key: float("inf") for key in timers}
        for _ in range(rounds):
            for key, timer in timers.items():
                best[key] = min(best[key], timer.timeit(CALLS) / CALLS * 1e6)
        results[name] = {"bytes": len(data), **{k: round(v, 2) for k, v in best.items()},
                         "aiortc_over_companion": round(best["aiortc_us"] / best["companion_us"], 2)}
    return results


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="companion bench rtp-parse", description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=100, help="timed rounds of 1000 calls per parser (default 100)")
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    args = parser.parse_args(argv)
    results = measure(max(1, args.rounds))
    if args.json:
        print(json.dumps(results, indent=2))
    else:
        for name, row in results.items():
            print(f"{name:30s} aiortc {row['aiortc_us']:.2f} us  companion {row['companion_us']:.2f} us"
                  f"  ({row['aiortc_over_companion']:.1f}x)")
    return 0
