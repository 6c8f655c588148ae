// The call in the browser: one RTCPeerConnection to the server, media.*
// signalling over the room's WebSocket (docs/protocol.md, "Media"). No interface
// here; the page listens to events and draws tiles.
//
//   import { MediaClient } from "./media.js";
//   const media = new MediaClient((msg) => conn.send(msg), { probe: () => conn.probe() });
//                                                        // send(obj) -> puts JSON on the room WebSocket;
//                                                        // probe() -> Promise<bool>: is that socket alive
//   conn.on("media", (msg) => media.handleMessage(msg));       // feed every media.* message
//   conn.on("status", (s) => { if (s === "open") media.rejoin(); });  // the server drops media with the last socket
//   media.addEventListener("track", (e) => ...);         // e.detail = {participant, kind, track, stream, mid}
//   media.addEventListener("trackremoved", (e) => ...);  // e.detail = {participant, kind, mid}: hide the tile,
//                                                        //   also when a gate closes (roddelfase): no frozen frame
//   media.addEventListener("state", (e) => ...);         // e.detail = {state}: "idle" | "connecting" |
//                                                        //   "connected" | "reconnecting" | "closed" |
//                                                        //   "elsewhere" (another page of this person took the call)
//   media.addEventListener("level", (e) => ...);         // e.detail = {levels: Map(participant|"self" -> 0..1)}, ~10/s,
//                                                        //   speaking: Map(participant -> bool) where the server decided
//                                                        //   (media.levels; no analyser runs for those)
//   media.addEventListener("restart", (e) => ...);       // e.detail = {reason}: the page asks for a fresh connection
//                                                        //   (ICE restart) after a failure or a network change
//   await media.start(localStream);                       // a getUserMedia stream; may lack audio or video
//   media.setMicEnabled(false); media.setCameraEnabled(false);  // local mute (the server may mute too)
//   media.slots                                           // Map(mid -> {mid, kind, participant, open})
//   media.takeBack(localStream);                          // "elsewhere": take the call back to this page
//   media.stop();                                         // hang up
//
// What we send is capped (no simulcast on the server: every subscriber gets
// what we send): 640x360, 24 fps, 600 kbps, VP8.

const MAX_WIDTH = 640;
const MAX_HEIGHT = 360;
const MAX_FPS = 24;
const MAX_VIDEO_BITRATE = 600_000;
const MAX_AUDIO_BITRATE = 48_000;
const LEVEL_INTERVAL_MS = 100;
// A "disconnected" connection often comes back by itself; after this long we rebuild it
// (a loaded machine flaps between "disconnected" and "connected": shorter rebuilds too often).
const DISCONNECTED_GRACE_MS = 5000;
const REJOIN_BACKOFF_MS = [500, 1000, 2000, 4000, 8000];
// One restart for a burst of network events ("online" plus a connection change or two).
const NETWORK_SETTLE_MS = 100;

export class MediaClient extends EventTarget {
  constructor(send, { rtcConfig = {}, probe = null } = {}) {
    super();
    this._send = send;
    // probe() -> Promise<bool>: is the signalling socket alive (false: a new one is opening,
    // and the page calls rejoin() when it is up).
    this._probe = probe;
    this._rtcConfig = { bundlePolicy: "max-bundle", ...rtcConfig };
    this.pc = null;
    this.localStream = null;
    this.slots = new Map();
    this.state = "idle";
    this._remote = new Map(); // mid -> {track, stream}
    this._shown = new Map(); // mid -> {participant, kind} as last announced with "track"
    this._queue = Promise.resolve(); // offers are handled one at a time, in order
    this._disconnectedTimer = null;
    this._rejoinAttempt = 0;
    this._rejoinTimer = null;
    this._audioCtx = null;
    this._meters = new Map(); // key (participant | "self") -> {source, analyser, data, trackId}
    this._serverLevels = new Map(); // participant -> {level, speaking}: what the server hears (media.levels)
    this._levelTimer = null;
    this._iceServers = [];
    this.restarts = []; // [{at: performance.now(), reason}], newest last
    this._networkTimer = null;
    this._onNetwork = (event) => this._networkChanged(event);
    // This page among the person's pages (tabs, devices): the server tells a reconnect of the
    // page with the call from another page.
    this._pageId = Math.random().toString(36).slice(2) + Date.now().toString(36);
    // Until the server's first offer, every join of ours is the person's own wish (a new page,
    // "take the call back here"), also when it is repeated after a dropped socket.
    this._hadCall = false;
  }

  // ------------------------------------------------------------ public
  async start(localStream) {
    this.localStream = localStream || null;
    for (const track of this._localTracks()) {
      if (track.kind === "video") {
        // Ask the camera itself for no more than we send; cheaper than scaling down later.
        try {
          await track.applyConstraints({ width: { max: MAX_WIDTH }, height: { max: MAX_HEIGHT }, frameRate: { max: MAX_FPS } });
        } catch (err) {
          console.warn("media: camera constraints refused", err);
        }
      }
    }
    this._meter("self", this._localTrack("audio"));
    this._startLevels();
    // The browser knows about a new network (cable, wifi, VPN) before ICE does.
    window.addEventListener("online", this._onNetwork);
    if (navigator.connection) navigator.connection.addEventListener("change", this._onNetwork);
    this.join();
  }

  // Where the level meters run; null until the first one. Suspended while autoplay is refused.
  get audioContext() {
    return this._audioCtx;
  }

  // resume: we come back by ourselves (dropped socket or connection); the server refuses it
  // with media.moved when another page of this person has taken the call meanwhile.
  join(resume = false) {
    if (!resume) this._hadCall = false;
    this._closePc();
    this._setState("connecting");
    this._send(this._joinMessage());
  }

  _joinMessage() {
    return { type: "media.join", page: this._pageId, resume: this._hadCall };
  }

  // The room's WebSocket came back: the server dropped our media with it.
  rejoin() {
    if (this.state === "idle" || this.state === "closed" || this.state === "elsewhere") return;
    this.join(true);
  }

  // Only on the person's say-so (a click): two pages taking the call from each other by
  // themselves would cut the group's picture of them again and again.
  takeBack(localStream) {
    if (localStream !== undefined) {
      this.localStream = localStream || null;
      this._meter("self", this._localTrack("audio"));
    }
    clearTimeout(this._rejoinTimer);
    this._rejoinAttempt = 0;
    this.join();
  }

  stop() {
    window.removeEventListener("online", this._onNetwork);
    if (navigator.connection) navigator.connection.removeEventListener("change", this._onNetwork);
    clearTimeout(this._networkTimer);
    this._send({ type: "media.leave" });
    this._closePc();
    clearTimeout(this._rejoinTimer);
    clearInterval(this._levelTimer);
    this._levelTimer = null;
    for (const key of [...this._meters.keys()]) this._unmeter(key);
    if (this._audioCtx) this._audioCtx.close();
    this._audioCtx = null;
    this._setState("closed");
  }

  setMicEnabled(on) {
    const track = this._localTrack("audio");
    if (track) track.enabled = !!on;
  }

  setCameraEnabled(on) {
    const track = this._localTrack("video");
    if (track) track.enabled = !!on;
  }

  /** Another camera or microphone in the same stream: swapped on the live connection, or
   *  the connection is set up again when there was no such track before. */
  async replaceLocalTrack(track) {
    const mid = this._upstream && this._upstream[track.kind];
    const transceiver = this.pc && this.pc.getTransceivers().find((tr) => tr.mid === mid);
    if (track.kind === "audio") this._meter("self", track);
    if (!transceiver || !transceiver.sender.track) {
      this.join();
      return;
    }
    await transceiver.sender.replaceTrack(track);
    await this._capSender(transceiver.sender);
  }

  // Returns true when the message was a media message (consumed).
  handleMessage(msg) {
    if (!msg || typeof msg.type !== "string" || !msg.type.startsWith("media.")) return false;
    if (msg.type === "media.offer") {
      this._queue = this._queue.then(() => this._onOffer(msg)).catch((err) => {
        console.error("media: offer failed", err);
        this._scheduleRejoin();
      });
    } else if (msg.type === "media.slots") {
      this._setSlots(msg.slots || [], true);
      this._publish();
    } else if (msg.type === "media.closed") {
      this._scheduleRejoin();
    } else if (msg.type === "media.levels") {
      this._setServerLevels(msg.levels);
    } else if (msg.type === "media.moved") {
      // Another page of this person sent media.join: the server talks to that page now.
      clearTimeout(this._rejoinTimer);
      clearTimeout(this._networkTimer);
      this._closePc();
      this._unmeter("self");
      this._setState("elsewhere");
    }
    return true;
  }

  // ------------------------------------------------------------ signalling
  _newPc() {
    // The relay (TURN) comes with the server's offer, with credentials for this person.
    const iceServers = [...this._iceServers, ...(this._rtcConfig.iceServers || [])];
    const pc = new RTCPeerConnection({ ...this._rtcConfig, iceServers });
    pc.ontrack = (e) => {
      const mid = e.transceiver.mid;
      this._remote.set(mid, { track: e.track, stream: e.streams[0] || new MediaStream([e.track]) });
      this._publish();
    };
    pc.onconnectionstatechange = () => this._onConnectionState(pc);
    return pc;
  }

  async _onOffer(msg) {
    if (this.state === "elsewhere" || this.state === "closed") return;
    if (Array.isArray(msg.ice_servers)) this._iceServers = msg.ice_servers;
    // seq 1 is a new connection on the server (after a media.join): it never continues an
    // older one, even when several joins crossed their offers on the way.
    if (this.pc && msg.seq === 1) this._closePc();
    if (!this.pc) this.pc = this._newPc();
    this._hadCall = true;
    const pc = this.pc;
    this._setSlots(msg.slots || [], true);
    await pc.setRemoteDescription({ type: "offer", sdp: msg.sdp });
    const upstream = msg.upstream || {};
    this._upstream = upstream;
    for (const transceiver of pc.getTransceivers()) {
      const mid = transceiver.mid;
      if (mid === upstream.audio || mid === upstream.video) {
        const kind = mid === upstream.audio ? "audio" : "video";
        const track = this._localTrack(kind);
        if (transceiver.sender.track !== track) await transceiver.sender.replaceTrack(track);
        transceiver.direction = track ? "sendonly" : "inactive";
      }
      if (transceiver.receiver.track && transceiver.receiver.track.kind === "video") this._preferVp8(transceiver);
    }
    await pc.setLocalDescription(await pc.createAnswer());
    if (pc !== this.pc) return; // the call moved to another page meanwhile
    this._send({ type: "media.answer", seq: msg.seq, sdp: pc.localDescription.sdp });
    for (const transceiver of pc.getTransceivers()) {
      if (transceiver.mid === upstream.audio || transceiver.mid === upstream.video) await this._capSender(transceiver.sender);
    }
    this._publish();
  }

  _preferVp8(transceiver) {
    if (!transceiver.setCodecPreferences || !window.RTCRtpReceiver || !RTCRtpReceiver.getCapabilities) return;
    const codecs = RTCRtpReceiver.getCapabilities("video").codecs;
    const vp8 = codecs.filter((c) => c.mimeType.toLowerCase() === "video/vp8");
    const rest = codecs.filter((c) => c.mimeType.toLowerCase() !== "video/vp8");
    try {
      transceiver.setCodecPreferences([...vp8, ...rest]);
    } catch (err) {
      // The server offers VP8 only, so the answer is VP8 either way.
    }
  }

  async _capSender(sender) {
    const track = sender.track;
    if (!track) return;
    const params = sender.getParameters();
    if (!params.encodings || !params.encodings.length) params.encodings = [{}];
    const enc = params.encodings[0];
    if (track.kind === "video") {
      const settings = track.getSettings ? track.getSettings() : {};
      const scale = Math.max(1, (settings.width || MAX_WIDTH) / MAX_WIDTH, (settings.height || MAX_HEIGHT) / MAX_HEIGHT);
      enc.maxBitrate = MAX_VIDEO_BITRATE;
      enc.maxFramerate = MAX_FPS;
      enc.scaleResolutionDownBy = scale;
      params.degradationPreference = "maintain-framerate";
    } else {
      enc.maxBitrate = MAX_AUDIO_BITRATE;
    }
    try {
      await sender.setParameters(params);
    } catch (err) {
      console.warn("media: could not cap the sender", err);
    }
  }

  // ------------------------------------------------------------ connection state
  _onConnectionState(pc) {
    if (pc !== this.pc) return;
    const s = pc.connectionState;
    clearTimeout(this._disconnectedTimer);
    if (s === "connected") {
      this._rejoinAttempt = 0;
      this._setState("connected");
    } else if (s === "disconnected") {
      this._setState("reconnecting");
      this._disconnectedTimer = setTimeout(() => this._restart("disconnected"), DISCONNECTED_GRACE_MS);
    } else if (s === "failed") {
      this._restart("failed");
    }
  }

  // ICE restart. aiortc cannot restart ICE inside a connection, so the page asks the
  // server for a fresh one on the same WebSocket (media.join): new ICE credentials, new
  // candidates (relay included), new DTLS. Presence and role live on the WebSocket and
  // are not touched. Back-to-back restarts back off.
  _restart(reason) {
    if (this.state === "closed" || this.state === "idle" || this.state === "elsewhere") return;
    const now = performance.now();
    const last = this.restarts[this.restarts.length - 1];
    if (last && now - last.at > 15000) this._rejoinAttempt = 0;
    this.restarts.push({ at: now, reason });
    if (this.restarts.length > 20) this.restarts.shift();
    this.dispatchEvent(new CustomEvent("restart", { detail: { reason } }));
    if (this._rejoinAttempt === 0) {
      this._rejoinAttempt = 1;
      this._closePc();
      this._setState("connecting");
      this._joinWhenHeard();
    } else {
      this._scheduleRejoin();
    }
  }

  // A join sent into a socket that died with the old network would arrive much later
  // and start yet another connection then: ask on a socket that answers, or on the new
  // one (rejoin() when it opens).
  async _joinWhenHeard() {
    const alive = this._probe ? await this._probe() : true;
    if (alive && this.state === "connecting" && !this.pc) this._send(this._joinMessage());
  }

  // The browser is back online (after "offline": the network went and came back, or
  // another one took over). The old candidate pair, and a TCP or TLS relay connection
  // with it, is usually dead even while ICE still says "connected": start over at once
  // instead of waiting seconds for ICE or TCP to notice.
  _networkChanged(event) {
    if (this.state === "closed" || this.state === "idle" || this.state === "elsewhere" || !navigator.onLine) return;
    const online = event && event.type === "online";
    if (!online && !this._networkTimer && this.pc && this.pc.connectionState === "connected") return;
    clearTimeout(this._networkTimer);
    this._networkTimer = setTimeout(() => {
      this._networkTimer = null;
      this._rejoinAttempt = 0;
      this._restart("network");
    }, NETWORK_SETTLE_MS);
  }

  _scheduleRejoin() {
    if (this.state === "closed" || this.state === "idle" || this.state === "elsewhere") return;
    this._closePc();
    this._setState("reconnecting");
    clearTimeout(this._rejoinTimer);
    const delay = REJOIN_BACKOFF_MS[Math.min(this._rejoinAttempt, REJOIN_BACKOFF_MS.length - 1)];
    this._rejoinAttempt += 1;
    this._rejoinTimer = setTimeout(() => {
      this._setState("connecting");
      this._joinWhenHeard();
    }, delay);
  }

  _closePc() {
    clearTimeout(this._disconnectedTimer);
    if (this.pc) {
      this.pc.ontrack = null;
      this.pc.onconnectionstatechange = null;
      this.pc.close();
      this.pc = null;
    }
    this._remote.clear();
    this.slots.clear();
    this._serverLevels.clear();
    this._publish();
  }

  _setState(state) {
    if (state === this.state) return;
    this.state = state;
    this.dispatchEvent(new CustomEvent("state", { detail: { state } }));
  }

  // ------------------------------------------------------------ slots and tracks
  _setSlots(list, replace) {
    if (replace) this.slots.clear();
    for (const slot of list) {
      if (slot && typeof slot.mid === "string") this.slots.set(slot.mid, slot);
    }
  }

  // Announce what changed since the last call: a tile shows a participant's
  // track only while the slot is theirs and its gate is open.
  _publish() {
    const wanted = new Map();
    for (const [mid, slot] of this.slots) {
      const remote = this._remote.get(mid);
      if (slot.participant && slot.open && remote) wanted.set(mid, { participant: slot.participant, kind: slot.kind, ...remote });
    }
    for (const [mid, shown] of [...this._shown]) {
      const now = wanted.get(mid);
      if (!now || now.participant !== shown.participant) {
        this._shown.delete(mid);
        if (shown.kind === "audio") this._unmeter(shown.participant);
        this.dispatchEvent(new CustomEvent("trackremoved", { detail: { participant: shown.participant, kind: shown.kind, mid } }));
      }
    }
    for (const [mid, now] of wanted) {
      if (this._shown.has(mid)) continue;
      this._shown.set(mid, { participant: now.participant, kind: now.kind });
      if (now.kind === "audio" && !this._serverLevels.has(now.participant)) this._meter(now.participant, now.track);
      this.dispatchEvent(
        new CustomEvent("track", { detail: { participant: now.participant, kind: now.kind, track: now.track, stream: now.stream, mid } }),
      );
    }
  }

  _localTracks() {
    return this.localStream ? this.localStream.getTracks() : [];
  }

  _localTrack(kind) {
    return this._localTracks().find((t) => t.kind === kind) || null;
  }

  // ------------------------------------------------------------ audio levels
  // Chrome only feeds WebAudio from a remote track that also plays in a media
  // element: the page must attach remote audio to <audio> elements anyway.
  _meter(key, track) {
    this._unmeter(key);
    if (!track || !window.AudioContext) return;
    if (!this._audioCtx) this._audioCtx = new AudioContext();
    const source = this._audioCtx.createMediaStreamSource(new MediaStream([track]));
    const analyser = this._audioCtx.createAnalyser();
    analyser.fftSize = 512;
    source.connect(analyser);
    this._meters.set(key, { source, analyser, data: new Float32Array(analyser.fftSize), trackId: track.id });
  }

  _unmeter(key) {
    const meter = this._meters.get(key);
    if (!meter) return;
    meter.source.disconnect();
    this._meters.delete(key);
  }

  // The server tells who speaks where it can (docs/protocol.md, "Audio levels"): no analyser runs
  // for those participants. One it stops knowing is measured here again.
  _setServerLevels(levels) {
    const next = new Map();
    for (const [pid, value] of Object.entries(levels && typeof levels === "object" ? levels : {})) {
      if (value && typeof value.level === "number") next.set(pid, { level: value.level, speaking: !!value.speaking });
    }
    const before = this._serverLevels;
    this._serverLevels = next;
    for (const pid of next.keys()) if (!before.has(pid)) this._unmeter(pid);
    for (const pid of before.keys()) {
      if (next.has(pid)) continue;
      const shown = [...this._shown].find(([, s]) => s.participant === pid && s.kind === "audio");
      const remote = shown && this._remote.get(shown[0]);
      if (remote) this._meter(pid, remote.track);
    }
  }

  // Participants whose level this page measures itself ("self" included).
  get meteredLocally() {
    return [...this._meters.keys()];
  }

  _startLevels() {
    if (this._levelTimer) return;
    this._levelTimer = setInterval(() => {
      if (!this._meters.size && !this._serverLevels.size) return;
      if (this._audioCtx && this._audioCtx.state === "suspended") this._audioCtx.resume().catch(() => {});
      const levels = new Map();
      for (const [key, meter] of this._meters) {
        meter.analyser.getFloatTimeDomainData(meter.data);
        let sum = 0;
        for (const v of meter.data) sum += v * v;
        const rms = Math.sqrt(sum / meter.data.length);
        // About -50 dBFS reads as silence, -10 dBFS and louder as full.
        const db = 20 * Math.log10(rms + 1e-9);
        levels.set(key, Math.max(0, Math.min(1, (db + 50) / 40)));
      }
      const speaking = new Map();
      for (const [pid, value] of this._serverLevels) {
        levels.set(pid, value.level);
        speaking.set(pid, value.speaking);
      }
      this.dispatchEvent(new CustomEvent("level", { detail: { levels, speaking } }));
    }, LEVEL_INTERVAL_MS);
  }
}
