// The room's WebSocket client (docs/protocol.md), apart from any interface.
//
//   const conn = new RoomConnection(roomId);
//   conn.on("state", (state) => ...);          // full snapshot; replace, never merge
//   conn.on("status", (s) => ...);             // "connecting" | "open" | "reconnecting", or for good:
//                                              // "noaccess" | "gone" | "removed" | "renewed" | "replaced"
//   conn.on("media", (msg) => ...);            // every media.* message (also emitted under its own type)
//   conn.on("error", (err) => ...);            // errors that answer no command of ours
//   await conn.command("step.next", {});       // resolves with the result, rejects with an Error {status, code}
//   conn.send({type: "media.join"});           // raw message (media signalling); false when not connected
//   await conn.probe();                        // true when the socket answers a ping; else a new one is opening
//   conn.connect();
//
// The cookie set by /r/<room>/k/<token> or the join/create API authenticates the socket.
// A dropped connection comes back by itself with backoff; a refused one (the
// cookie is missing or belongs to another room) ends in "noaccess". The server's
// own close codes (docs/protocol.md) end it too, never in a reconnect loop:
// 4404 "gone", 4403 "removed" (the facilitator took this person out), 4409
// "replaced" (a newer page of the same person took this one's place: reconnecting
// would push that page out in turn), 4401 "renewed" (the personal link was
// renewed; unless this browser holds the new cookie, as a facilitator who renewed
// their own link does, then it reconnects).

// The protocol this client speaks (docs/protocol.md). A server that speaks another one was upgraded
// while this page was open: the page loads itself again, once per version, for the client that goes with it.
export const PROTOCOL = 3;
const RELOADED_FOR = "companion-reloaded-for-protocol";

const BACKOFF_MS = [500, 1000, 2000, 4000, 8000];
const MAX_BACKOFF_MS = 10000;
const COMMAND_TIMEOUT_MS = 10000;
// After a network change: a socket whose ping gets no pong within this is replaced.
const PROBE_TIMEOUT_MS = 2000;
// Close codes after which the page must not come back by itself.
const FINAL_CLOSE = { 4404: "gone", 4403: "removed", 4409: "replaced" };
const LINK_RENEWED = 4401;

/** Load the page again for a server that speaks ``version``; false when this page already did (a cached
 * client that is still old must not reload without end: it goes on, as well as it can). */
function reloadFor(version) {
  try {
    if (sessionStorage.getItem(RELOADED_FOR) === String(version)) return false;
    sessionStorage.setItem(RELOADED_FOR, String(version));
  } catch {
    return false; // no storage (a locked-down browser): never risk a reload loop
  }
  location.reload();
  return true;
}

/** The server's message in the page's language (it sends Dutch and message_en). */
export function localMessage(info) {
  const english = document.documentElement.lang === "en";
  return (english && info.message_en) || info.message || (english ? "Error" : "Fout");
}

export class CommandError extends Error {
  constructor(message, status, code) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

export class RoomConnection {
  constructor(roomId, { url } = {}) {
    this.roomId = roomId;
    const scheme = location.protocol === "https:" ? "wss:" : "ws:";
    this.url = url || `${scheme}//${location.host}/r/${encodeURIComponent(roomId)}/ws`;
    this.ws = null;
    this.status = "idle";
    this.you = null;
    this.state = null;
    this.attempt = 0;
    this.nextId = 1;
    this.pending = new Map();
    this.listeners = new Map();
    this.stopped = false;
    this.retryTimer = null;
    this._onOnline = () => this.probe({ reopen: true });
    this._probing = null;
    this.renewed = false; // closed with 4401: a later refusal means the link was renewed
  }

  on(type, fn) {
    if (!this.listeners.has(type)) this.listeners.set(type, new Set());
    this.listeners.get(type).add(fn);
    return () => this.listeners.get(type).delete(fn);
  }

  emit(type, value) {
    for (const fn of this.listeners.get(type) || []) {
      try { fn(value); } catch (err) { console.error(`listener for ${type} failed`, err); }
    }
  }

  setStatus(status) {
    if (status === this.status) return;
    this.status = status;
    this.emit("status", status);
  }

  connect() {
    this.stopped = false;
    window.addEventListener("online", this._onOnline);
    this.open();
  }

  close() {
    this.stopped = true;
    window.removeEventListener("online", this._onOnline);
    clearTimeout(this.retryTimer);
    if (this.ws) this.ws.close(1000);
  }

  open() {
    clearTimeout(this.retryTimer);
    this.setStatus(this.attempt === 0 ? "connecting" : "reconnecting");
    let ws;
    try {
      ws = new WebSocket(this.url);
    } catch {
      this.scheduleRetry();
      return;
    }
    this.ws = ws;
    let welcomed = false;
    ws.addEventListener("message", (event) => {
      if (this.ws !== ws) return; // a socket we gave up on (probe): its late messages are old news
      let msg;
      try { msg = JSON.parse(event.data); } catch { return; }
      if (!msg || typeof msg !== "object") return;
      if (msg.type === "welcome") {
        if (msg.protocol !== PROTOCOL && reloadFor(msg.protocol)) return;
        welcomed = true;
        this.attempt = 0;
        this.renewed = false;
        this.you = msg.you;
        this.setStatus("open");
        this.emit("welcome", msg);
      }
      this.dispatch(msg);
    });
    ws.addEventListener("close", (event) => {
      if (this.ws !== ws) return;
      this.ws = null;
      this.failPending();
      if (this.stopped) return;
      if (FINAL_CLOSE[event.code]) {
        this.finish(FINAL_CLOSE[event.code]);
        return;
      }
      if (event.code === LINK_RENEWED) this.renewed = true;
      if (!welcomed || event.code === LINK_RENEWED) {
        // The handshake tells a page nothing about why it failed: ask the API.
        this.checkAccess().then((access) => {
          if (access === "noaccess" || access === "gone") {
            this.finish(access === "noaccess" && this.renewed ? "renewed" : access);
          } else {
            this.scheduleRetry();
          }
        });
        return;
      }
      this.scheduleRetry();
    });
  }

  /** The server ended this page's part in the room: no more reconnecting. */
  finish(status) {
    this.stopped = true;
    window.removeEventListener("online", this._onOnline);
    clearTimeout(this.retryTimer);
    this.setStatus(status);
  }

  async checkAccess() {
    try {
      const response = await fetch(`/api/rooms/${encodeURIComponent(this.roomId)}/state`, { credentials: "same-origin" });
      if (response.status === 401 || response.status === 403) return "noaccess";
      if (response.status === 404) return "gone";
      return "ok";
    } catch {
      return "down";
    }
  }

  // Is the socket alive? After a network change it can look open while its TCP
  // connection died with the old network, and a retry may be seconds away: find out
  // now. Resolves true on a pong; otherwise opens a new socket at once and resolves
  // false ("status" goes to "open" again when it is up). The new socket arrives before
  // the server notices the old one gone, so the person's presence does not blink.
  // With reopen (the browser just came back online) a socket that is between retries
  // is opened now instead of after its backoff.
  probe({ reopen = false } = {}) {
    if (!this._probing) this._probing = this._probe(reopen).finally(() => { this._probing = null; });
    return this._probing;
  }

  async _probe(reopen) {
    if (this.stopped) return false;
    const ws = this.ws;
    if (!ws) {
      if (reopen) {
        clearTimeout(this.retryTimer);
        this.open();
      }
      return false;
    }
    if (ws.readyState !== WebSocket.OPEN) return false;
    const alive = await Promise.race([
      this.ping().then(() => true, () => false),
      new Promise((resolve) => setTimeout(() => resolve(false), PROBE_TIMEOUT_MS)),
    ]);
    if (alive || this.ws !== ws || this.stopped) return alive;
    this.ws = null;
    this.failPending();
    try { ws.close(); } catch { /* already going */ }
    this.open();
    return false;
  }

  scheduleRetry() {
    this.setStatus("reconnecting");
    const base = BACKOFF_MS[Math.min(this.attempt, BACKOFF_MS.length - 1)];
    const delay = Math.min(MAX_BACKOFF_MS, base * (0.8 + Math.random() * 0.4));
    this.attempt += 1;
    this.retryTimer = setTimeout(() => this.open(), delay);
  }

  failPending() {
    for (const { reject, timer } of this.pending.values()) {
      clearTimeout(timer);
      reject(new CommandError("De verbinding viel weg.", 0, "disconnected"));
    }
    this.pending.clear();
  }

  dispatch(msg) {
    const type = String(msg.type || "");
    if (type === "state") {
      this.state = msg;
      this.emit("state", msg);
    } else if (type === "result" || type === "error" || type === "pong") {
      const waiter = msg.id !== null && msg.id !== undefined ? this.pending.get(msg.id) : undefined;
      if (waiter) {
        this.pending.delete(msg.id);
        clearTimeout(waiter.timer);
        if (type === "error") waiter.reject(new CommandError(localMessage(msg), msg.status, msg.code));
        else waiter.resolve(msg);
      } else if (type === "error") {
        this.emit("error", new CommandError(localMessage(msg), msg.status, msg.code));
      }
    } else if (type.startsWith("media.")) {
      this.emit("media", msg);
      this.emit(type, msg);
    } else if (type !== "welcome") {
      this.emit("message", msg);
    }
  }

  send(message) {
    if (!this.ws || this.ws.readyState !== WebSocket.OPEN) return false;
    this.ws.send(JSON.stringify(message));
    return true;
  }

  request(message) {
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      if (!this.send({ ...message, id })) {
        reject(new CommandError("Geen verbinding met de server.", 0, "disconnected"));
        return;
      }
      const timer = setTimeout(() => {
        this.pending.delete(id);
        reject(new CommandError("De server antwoordt niet.", 0, "timeout"));
      }, COMMAND_TIMEOUT_MS);
      this.pending.set(id, { resolve, reject, timer });
    });
  }

  command(command, args = {}) {
    return this.request({ type: "command", command, args });
  }

  ping() {
    return this.request({ type: "ping" });
  }
}
