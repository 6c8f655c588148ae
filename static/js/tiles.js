// Video tiles and the participants list. Works without media: a tile then shows the
// person's initial. A media client plugs in through setStream() and setLevel().
//
// Two layouts share the stage: a gallery (every tile as large as the stage allows)
// and a speaker focus (one tile large, the others in a strip). During the explanation
// and the reactions the inbrenger is the focus; otherwise the person who speaks.
import { clear, h } from "./dom.js";
import { icon } from "./icons.js";
import { t } from "./i18n.js";

const TALK_THRESHOLD = 0.04;
const TALK_HOLD_MS = 600;
const SERVER_TALK_VALID_MS = 300;
// A new speaker takes the focus only after speaking this long, so a cough does not flip the view.
const FOCUS_SWITCH_MS = 1200;
const GAP = 8;
const MODE_KEY = "companion.view";
// Steps in which everyone should watch the inbrenger.
const INBRENGER_FOCUS_KINDS = new Set(["explanation", "reaction", "reformulate"]);

/** Best tile width for n 16:9 tiles in a w x h box: [columns, tile width]. */
export function galleryFit(n, width, height, gap = GAP) {
  let best = [1, 0];
  for (let c = 1; c <= Math.max(1, n); c += 1) {
    const r = Math.ceil(n / c);
    const w = Math.min((width - (c - 1) * gap) / c, ((height - (r - 1) * gap) / r) * 16 / 9);
    if (w > best[1]) best = [c, w];
  }
  return best;
}

export class TilesView {
  constructor(container, stage) {
    this.container = container;
    this.stage = stage || container.parentElement;
    this.tiles = new Map(); // participant id -> {el, video, name, initial, badges, status}
    this.streams = new Map();
    this.talkingUntil = new Map();
    this.talkingSince = new Map();
    this.speaker = null; // who has the focus in speaker mode (when the step does not decide)
    this.state = null;
    let stored = null;
    try { stored = localStorage.getItem(MODE_KEY); } catch { stored = null; }
    this.chosen = stored === "speaker" || stored === "gallery" ? stored : null;
    this.chosenForStep = null;
    this.onModeChange = null;
    if (window.ResizeObserver) new ResizeObserver(() => this.layout()).observe(this.stage);
    window.addEventListener("resize", () => this.layout());
  }

  /** "gallery" or "speaker", and who is in focus. */
  mode() {
    const s = this.state;
    const step = s && s.step;
    const stepKey = step ? `${step.index}` : "";
    // A choice made in a step where the inbrenger is focused holds for that step only.
    if (this.chosenForStep !== null && this.chosenForStep !== stepKey) this.chosenForStep = null;
    const inb = s && s.inbrenger && this.visibleIds().includes(s.inbrenger.id) ? s.inbrenger.id : null;
    if (step && INBRENGER_FOCUS_KINDS.has(step.kind) && inb && s.room.status === "running") {
      if (this.chosenForStep === stepKey && this.chosen === "gallery") return { mode: "gallery", focus: null, auto: true };
      return { mode: "speaker", focus: inb, auto: true };
    }
    if (this.chosen === "speaker") {
      const ids = this.visibleIds();
      const others = ids.filter((id) => id !== (s && s.you.id));
      const focus = this.speaker && ids.includes(this.speaker) ? this.speaker : others[0] || ids[0] || null;
      return { mode: "speaker", focus, auto: false };
    }
    return { mode: "gallery", focus: null, auto: false };
  }

  setMode(mode) {
    this.chosen = mode;
    const step = this.state && this.state.step;
    this.chosenForStep = step ? `${step.index}` : "";
    try { localStorage.setItem(MODE_KEY, mode); } catch { /* the choice lasts this page */ }
    this.layout();
    if (this.onModeChange) this.onModeChange();
  }

  visibleIds() {
    return this.state ? this.state.participants.filter((p) => !this.isOutOfSight(p)).map((p) => p.id) : [];
  }

  isOutOfSight(p) {
    return Boolean(p.hidden);
  }

  render(state) {
    this.state = state;
    const ended = state.room.status === "ended";
    // After the end there is no call: no black tiles, no speaking borders.
    const wanted = ended ? [] : state.participants;
    const keep = new Set(wanted.map((p) => p.id));
    for (const [pid, tile] of this.tiles) {
      if (!keep.has(pid)) {
        tile.el.remove();
        this.tiles.delete(pid);
      }
    }
    const status = state.media_status || {};
    for (const p of wanted) {
      let tile = this.tiles.get(p.id);
      if (!tile) {
        const video = h("video", { autoplay: true, playsinline: true });
        if (p.id === state.you.id) video.muted = true; // never play yourself back
        const name = h("span", { class: "tile-name" });
        const badges = h("span", { class: "tile-badges" });
        const initial = h("span", { class: "tile-initial", "aria-hidden": "true" });
        const statusEl = h("span", { class: "tile-status hidden" });
        const el = h("div", { class: "tile", dataset: { pid: p.id } }, initial, video, statusEl, h("div", { class: "tile-label" }, badges, name));
        tile = { el, video, name, initial, badges, status: statusEl };
        this.tiles.set(p.id, tile);
        const stream = this.streams.get(p.id);
        if (stream) video.srcObject = stream;
      }
      const self = p.id === state.you.id;
      tile.name.textContent = self ? `${p.name} (${t("video.self")})` : p.name;
      tile.initial.textContent = (p.name || "?").trim().charAt(0).toUpperCase();
      tile.el.classList.toggle("self", self);
      tile.el.classList.toggle("inbrenger", p.role === "inbrenger");

      const outOfSight = this.isOutOfSight(p);
      const lost = !p.online || (status[p.id] && status[p.id].media === "lost");
      const muted = Boolean(p.mic_muted_by) || stepCloses(state, p);
      const cameraOff = Boolean(p.camera_off || p.camera_self_off);
      clear(tile.badges);
      if (p.hand) tile.badges.append(h("span", { class: "tile-badge hand", title: t("hand.up") }, icon("hand", { size: 16, label: t("hand.up") })));
      if (muted) tile.badges.append(h("span", { class: "tile-badge muted" }, icon("mic-off", { size: 16, label: t("tile.muted") })));
      if (cameraOff && !outOfSight) tile.badges.append(h("span", { class: "tile-badge cam-off" }, icon("cam-off", { size: 16, label: t("tile.camera.off") })));
      let note = "";
      if (outOfSight) note = t("video.hidden");
      else if (lost) note = self ? "" : t("tile.lost");
      tile.status.textContent = note;
      tile.status.classList.toggle("hidden", !note);
      tile.el.classList.toggle("away", outOfSight);
      tile.el.classList.toggle("lost", Boolean(lost) && !outOfSight);
      tile.el.classList.toggle("offline", !p.online);
      tile.el.dataset.muted = muted ? "1" : "";
      tile.el.dataset.cameraOff = cameraOff ? "1" : "";
      const showVideo = this.streams.has(p.id) && !cameraOff && !outOfSight;
      tile.video.classList.toggle("hidden", !showVideo);
      tile.initial.classList.toggle("hidden", showVideo || outOfSight);
      // The server's order; a video element is moved only when it must (moving one restarts it).
      const at = this.container.children[wanted.indexOf(p)];
      if (at !== tile.el) this.container.insertBefore(tile.el, at || null);
    }
    this.layout();
  }

  /** Size every tile for the current mode and the stage's size. */
  layout() {
    if (!this.state) return;
    const tiles = [...this.tiles.values()];
    const n = tiles.length;
    const width = this.container.clientWidth;
    const height = this.container.clientHeight;
    if (!n || !width || !height) return;
    const { mode, focus } = this.mode();
    this.container.classList.toggle("speaker", mode === "speaker");
    this.container.classList.toggle("gallery", mode === "gallery");
    this.container.dataset.mode = mode;
    if (mode === "gallery") {
      const [, w] = galleryFit(n, width, height);
      for (const tile of tiles) {
        tile.el.classList.remove("focus");
        tile.el.style.order = "";
        tile.el.style.marginLeft = "";
        tile.el.style.marginRight = "";
        size(tile.el, w);
      }
      return;
    }
    const others = tiles.filter((tile) => tile.el.dataset.pid !== focus);
    const strip = others.length ? Math.max(72, Math.min(130, height * 0.2)) : 0;
    const focusW = Math.min(width, ((height - (strip ? strip + GAP : 0)) * 16) / 9);
    for (const tile of tiles) {
      const isFocus = tile.el.dataset.pid === focus;
      tile.el.classList.toggle("focus", isFocus);
      tile.el.style.order = isFocus ? "-1" : "";
      // The focus fills its own line (centred), the strip goes below it.
      const side = isFocus ? `${Math.max(0, Math.floor((width - Math.floor(focusW)) / 2) - 1)}px` : "";
      tile.el.style.marginLeft = side;
      tile.el.style.marginRight = side;
      if (isFocus) size(tile.el, focusW);
    }
    const stripW = Math.min((strip * 16) / 9, (width - (others.length - 1) * GAP) / Math.max(1, others.length));
    for (const tile of others) size(tile.el, stripW);
  }

  /** Called by the media client: a participant's stream (or null when it went away). */
  setStream(pid, stream) {
    if (stream) this.streams.set(pid, stream);
    else this.streams.delete(pid);
    const tile = this.tiles.get(pid);
    if (tile && tile.video.srcObject !== (stream || null)) {
      tile.video.srcObject = stream || null;
      if (this.state) this.render(this.state);
    }
  }

  /** Called by the media client with an audio level 0..1 per participant, about 10 times a second;
   *  `speaking` (true/false) where the server decided it, with its own onset and hangover. */
  setLevel(pid, level, speaking) {
    const now = performance.now();
    if (typeof speaking === "boolean") {
      if (speaking && !((this.talkingUntil.get(pid) || 0) > now)) this.talkingSince.set(pid, now);
      // Until the next call: talking ends when the server says so, or when its word stops coming.
      this.talkingUntil.set(pid, speaking ? now + SERVER_TALK_VALID_MS : 0);
    } else if (level >= TALK_THRESHOLD) {
      if (!((this.talkingUntil.get(pid) || 0) > now)) this.talkingSince.set(pid, now);
      this.talkingUntil.set(pid, now + TALK_HOLD_MS);
    }
    const talking = (this.talkingUntil.get(pid) || 0) > now;
    const tile = this.tiles.get(pid);
    if (tile) tile.el.classList.toggle("talking", talking);
    const row = document.querySelector(`#people li[data-pid="${CSS.escape(pid)}"]`);
    if (row) row.classList.toggle("talking", talking);
    const you = this.state && this.state.you.id;
    if (talking && pid !== you && pid !== this.speaker && now - (this.talkingSince.get(pid) || now) >= FOCUS_SWITCH_MS) {
      this.speaker = pid;
      if (this.chosen === "speaker") this.layout();
    }
  }
}

function size(el, width) {
  const w = `${Math.max(0, Math.floor(width))}px`;
  const hgt = `${Math.floor((Math.max(0, Math.floor(width)) * 9) / 16)}px`;
  if (el.style.width !== w) el.style.width = w;
  if (el.style.height !== hgt) el.style.height = hgt;
}

/** Does the step itself keep this person's microphone closed (the inbrenger's or the group's)? */
function stepCloses(state, p) {
  const media = state.step && state.step.media;
  if (!media || !state.inbrenger || p.role === "facilitator" || state.room.status !== "running") return false;
  const heard = p.role === "inbrenger" ? media.inbrenger_heard : media.group_heard;
  return heard === false;
}

export function renderPeople(state, listEl) {
  clear(listEl);
  const status = state.media_status || {};
  for (const p of state.participants) {
    const notes = [];
    if (p.mic_muted_by === "facilitator") notes.push(t("room.muted.fac"));
    else if (p.mic_muted_by === "self") notes.push(t("room.muted.self"));
    if (p.camera_off || p.camera_self_off) notes.push(t("room.camera.off"));
    // The step itself closes the inbrenger's microphone (or the group's); say so, so no one waits for an answer.
    if (!p.mic_muted_by && stepCloses(state, p)) notes.push(t("room.muted.step"));
    const ms = status[p.id];
    if (ms && p.online && ms.label) notes.push(t(`media.status.${ms.label}`));
    const you = p.id === state.you.id ? ` (${t("room.you")})` : "";
    listEl.append(h("li", { class: p.online ? "online" : "offline", dataset: { pid: p.id } },
      h("span", {},
        h("span", { class: "dot", title: p.online ? t("room.online") : t("room.offline") }),
        h("span", { class: "person-name", text: `${p.name}${you}` }),
        p.hand ? h("span", { class: "hand-mark" }, " ", icon("hand", { size: 14, label: t("hand.up") })) : null,
        notes.length ? h("span", { class: "muted small", text: ` · ${notes.join(", ")}` }) : null,
        h("span", { class: "offscreen", text: p.online ? t("room.online") : t("room.offline") })),
      h("span", { class: `badge role-${p.role}`, text: t(`role.${p.role}`) })));
  }
}
