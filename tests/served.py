"""`companion serve` in a subprocess, as an operator starts it, and the Chromium set-up the browser tests share."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

from companion.serve_process import ServerProcess

ROOT = Path(__file__).resolve().parent.parent
SHOTS = ROOT / "artifacts" / "screenshots"
CHROMIUM = "/usr/bin/chromium"
# Headless as root on a closed network; fake camera and microphone, no permission prompt.
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--use-fake-ui-for-media-stream", "--use-fake-device-for-media-stream",
]


# Every RTCPeerConnection a page makes, for getStats from the test (add with context.add_init_script).
TRACK_PCS = """
(() => {
  const Original = window.RTCPeerConnection;
  window.__pcs = [];
  window.RTCPeerConnection = function (...args) {
    const pc = new Original(...args);
    window.__pcs.push(pc);
    return pc;
  };
  window.RTCPeerConnection.prototype = Original.prototype;
  Object.setPrototypeOf(window.RTCPeerConnection, Original);
})();
"""

# What the page's newest peer connection receives and sends (page.evaluate(INBOUND)).
INBOUND = """
async () => {
  const pc = window.__pcs[window.__pcs.length - 1];
  if (!pc) return null;
  const out = { pcs: window.__pcs.length, state: pc.connectionState, video: [], audioBytes: 0, audioStreams: 0, sentFrames: 0, sentWidth: 0 };
  (await pc.getStats()).forEach((s) => {
    if (s.type === "inbound-rtp" && s.kind === "video") out.video.push({ mid: s.mid, decoded: s.framesDecoded || 0 });
    if (s.type === "inbound-rtp" && s.kind === "audio") { out.audioBytes += s.bytesReceived || 0; out.audioStreams += 1; }
    if (s.type === "outbound-rtp" && s.kind === "video") { out.sentFrames = s.framesEncoded || 0; out.sentWidth = s.frameWidth || 0; }
  });
  return out;
}
"""



async def poll_stats(page, predicate, timeout: float = 30.0, script: str | None = None) -> dict:
    """Evaluate a stats snippet in the page until ``predicate`` holds; the last reading in the failure."""
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        last = await page.evaluate(script or INBOUND)
        if last and predicate(last):
            return last
        await asyncio.sleep(0.5)
    raise AssertionError(f"page stats never matched; last: {last}")

class ServedCompanion(ServerProcess):
    """A server on a fresh data folder; restartable on the same port."""

    def __init__(self, tmp_path: Path, *extra_args: str, transcription: bool = False):
        # With transcription the server loads the bundled Whisper model, as `companion serve` does by default.
        extra = list(extra_args) if transcription else [*extra_args, "--no-transcription"]
        super().__init__(tmp_path / "data", tmp_path / "server.log", extra)
        self.tmp = tmp_path

    def start(self, timeout: float = 60.0) -> None:
        try:
            super().start(timeout)
        except RuntimeError as exc:
            raise AssertionError(str(exc)) from None

    def children(self) -> list[tuple[int, str]]:
        """(pid, command line) of the server's child processes: the speech worker is one."""
        assert self.proc is not None
        out = []
        for task in Path(f"/proc/{self.proc.pid}/task").iterdir():
            for pid in (task / "children").read_text().split():
                try:
                    cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
                except OSError:
                    continue  # gone meanwhile
                out.append((int(pid), cmdline))
        return out

    def kill(self) -> None:
        """SIGKILL, as a crash or an out-of-memory kill leaves it: no shutdown code runs."""
        if self.proc is None:
            return
        self.proc.kill()
        self.proc.wait()
        self.proc = None

    def close(self) -> None:
        self.stop()
