// Video tiles and the participants list. Works without media: a tile then shows the
// person's initial. A media client plugs in through setStream() and setLevel().
import { clear, h } from "./dom.js";
import { t } from "./i18n.js";

const TALK_THRESHOLD = 0.04;
const TALK_HOLD_MS = 600;

export class TilesView {
  constructor(container) {
    this.container = container;
    this.tiles = new Map(); // participant id -> {el, video, name}
    this.streams = new Map();
    this.talkingUntil = new Map();
  }

  render(state) {
    const wanted = state.participants.filter((p) => !p.hidden);
    const keep = new Set(wanted.map((p) => p.id));
    for (const [pid, tile] of this.tiles) {
      if (!keep.has(pid)) {
        tile.el.remove();
        this.tiles.delete(pid);
      }
    }
    for (const p of wanted) {
      let tile = this.tiles.get(p.id);
      if (!tile) {
        const video = h("video", { autoplay: true, playsinline: true });
        if (p.id === state.you.id) video.muted = true; // never play yourself back
        const name = h("span", { class: "tile-name" });
        const initial = h("span", { class: "tile-initial", "aria-hidden": "true" });
        const el = h("div", { class: "tile", dataset: { pid: p.id } }, initial, video, name);
        tile = { el, video, name, initial };
        this.tiles.set(p.id, tile);
        const stream = this.streams.get(p.id);
        if (stream) video.srcObject = stream;
      }
      const you = p.id === state.you.id ? ` (${t("video.self")})` : "";
      tile.name.textContent = `${p.name}${you}`;
      tile.initial.textContent = (p.name || "?").trim().charAt(0).toUpperCase();
      tile.el.classList.toggle("offline", !p.online);
      const showVideo = this.streams.has(p.id) && !p.camera_off;
      tile.video.classList.toggle("hidden", !showVideo);
      tile.initial.classList.toggle("hidden", showVideo);
      this.container.append(tile.el); // keeps the server's order
    }
  }

  /** Called by the media client: a participant's stream (or null when it went away). */
  setStream(pid, stream) {
    if (stream) this.streams.set(pid, stream);
    else this.streams.delete(pid);
    const tile = this.tiles.get(pid);
    if (tile) {
      tile.video.srcObject = stream || null;
      tile.video.classList.toggle("hidden", !stream);
      tile.initial.classList.toggle("hidden", Boolean(stream));
    }
  }

  /** Called by the media client with an audio level 0..1 per participant. */
  setLevel(pid, level) {
    const now = performance.now();
    if (level >= TALK_THRESHOLD) this.talkingUntil.set(pid, now + TALK_HOLD_MS);
    const talking = (this.talkingUntil.get(pid) || 0) > now;
    const tile = this.tiles.get(pid);
    if (tile) tile.el.classList.toggle("talking", talking);
    const row = document.querySelector(`#people li[data-pid="${CSS.escape(pid)}"]`);
    if (row) row.classList.toggle("talking", talking);
  }
}

export function renderPeople(state, listEl) {
  clear(listEl);
  for (const p of state.participants) {
    const notes = [];
    if (p.mic_muted_by === "facilitator") notes.push(t("room.muted.fac"));
    else if (p.mic_muted_by === "self") notes.push(t("room.muted.self"));
    if (p.camera_off) notes.push(t("room.camera.off"));
    // The step itself closes the inbrenger's microphone (or the group's); say so, so no one waits for an answer.
    const media = state.step && state.step.media;
    if (media && state.inbrenger && !p.mic_muted_by && p.role !== "facilitator") {
      const heard = p.role === "inbrenger" ? media.inbrenger_heard : media.group_heard;
      if (heard === false) notes.push(t("room.muted.step"));
    }
    const you = p.id === state.you.id ? ` (${t("room.you")})` : "";
    listEl.append(h("li", { class: p.online ? "online" : "offline", dataset: { pid: p.id } },
      h("span", {},
        h("span", { class: "dot", title: p.online ? t("room.online") : t("room.offline") }),
        h("span", { class: "person-name", text: `${p.name}${you}` }),
        notes.length ? h("span", { class: "muted small", text: ` · ${notes.join(", ")}` }) : null,
        h("span", { class: "offscreen", text: p.online ? t("room.online") : t("room.offline") })),
      h("span", { class: `badge role-${p.role}`, text: t(`role.${p.role}`) })));
  }
}
