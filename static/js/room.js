// The room page: one connection, one snapshot at a time, small views that each draw their part.
import { $, clear, copyText, h, paragraphs, personalLinkKey } from "./dom.js";
import { applyStatic, initLang, langButton, onLangChange, pick, t } from "./i18n.js";
import { RoomConnection } from "./protocol.js";
import { StepTimer } from "./timer.js";
import { renderStepText, renderStepsList, stepLabel } from "./steps.js";
import { CasesView } from "./cases.js";
import { TakeawaysView } from "./takeaways.js";
import { AdviceView } from "./advice.js";
import { ConsoleView } from "./console.js";
import { TilesView, renderPeople } from "./tiles.js";

const roomId = decodeURIComponent(location.pathname.split("/").filter(Boolean)[1] || "");
const conn = new RoomConnection(roomId);
let state = null;
let langInitialised = false;
let toastTimer = null;

function toast(message) {
  const box = $("#toast");
  box.textContent = message;
  box.classList.toggle("hidden", !message);
  clearTimeout(toastTimer);
  if (message) toastTimer = setTimeout(() => box.classList.add("hidden"), 6000);
}

/** Run a command; errors are shown to the person, never thrown at the caller. Resolves true on success. */
async function run(command, args = {}) {
  try {
    await conn.command(command, args);
    toast("");
    return true;
  } catch (err) {
    toast(err.message || String(err));
    return false;
  }
}

const ctx = { conn, run };
const timer = new StepTimer({ timer: $("#timer"), message: $("#overtime-msg"), extra: [] },
  () => Boolean(state && state.you.role === "facilitator"));
const cases = new CasesView(ctx, {
  cases: $("#cases-panel"), question: $("#question-panel"), golden: $("#golden-panel"), reformulate: $("#reformulate-panel"),
});
const takeaways = new TakeawaysView(ctx, $("#takeaway-panel"));
const advice = new AdviceView(ctx, $("#advice-panel"));
const consoleView = new ConsoleView(ctx, $("#console"));
const tiles = new TilesView($("#tiles"));

// ------------------------------------------------------------ out of sight
const oosClock = h("div", { class: "oos-timer", id: "oos-timer" });
timer.els.extra.push(oosClock);

function renderOutOfSight() {
  const box = $("#oos");
  const away = Boolean(state.step && state.step.out_of_sight && state.room.status === "running");
  box.classList.toggle("hidden", !away);
  document.body.classList.toggle("is-out-of-sight", away);
  if (!away) {
    returnOutOfSightGuests();
    return;
  }
  const question = state.question.reformulated || state.question.original;
  const inner = h("div", { class: "oos-inner" },
    h("p", { class: "muted", text: `${stepLabel(state)}` }),
    h("h1", { text: t("oos.title") }),
    h("p", { class: "oos-lead", text: t("oos.lead") }),
    oosClock,
    h("div", { class: "step-text" }, paragraphs(pick(state.step.text))));
  if (question) inner.append(h("div", { class: "question-box" }, h("div", { class: "small muted", text: t("question.title") }), h("p", { class: "q", text: question })));
  // The screen covers the room: what is being written down for the inbrenger comes along onto it.
  inner.append(...OOS_GUESTS.map(([el]) => el));
  clear(box).append(inner);
  timer.paint();
}

// Panels that belong on the out-of-sight screen while it is up, with the place they return to.
const OOS_GUESTS = [[$("#asr-status"), $("#asr-status").nextElementSibling], [$("#advice-panel"), null]];

function returnOutOfSightGuests() {
  for (const [el, before] of OOS_GUESTS) {
    if (el.closest("#oos")) $(".room-center").insertBefore(el, before);
  }
}

// ------------------------------------------------------------ the personal link, right after joining
function renderOwnLink() {
  let link = null;
  try { link = sessionStorage.getItem(personalLinkKey(roomId)); } catch { link = null; }
  $("#own-link").classList.toggle("hidden", !link);
  $("#own-link-url").value = link || "";
}

$("#own-link-copy").addEventListener("click", (e) => copyText($("#own-link-url").value, e.currentTarget, t("copied")));
$("#own-link-hide").addEventListener("click", () => {
  try { sessionStorage.removeItem(personalLinkKey(roomId)); } catch { /* nothing kept */ }
  renderOwnLink();
});

// ------------------------------------------------------------ render
function render() {
  if (!state) return;
  $("#group-name").textContent = state.room.name;
  document.title = `${state.room.name} · companion`;
  $("#step-label").textContent = stepLabel(state);
  document.body.className = state.step ? `step-kind-${state.step.kind}` : "";
  renderStepText(state, $("#step-title"), $("#step-text"));
  renderStepsList(state, $("#steps-list"));
  renderPeople(state, $("#people"));
  tiles.render(state);
  cases.render(state);
  takeaways.render(state);
  advice.render(state);
  consoleView.render(state);
  timer.update(state);
  renderMic();
  renderOutOfSight();
  renderTranscription();
  renderOwnLink();
  media.apply(state);
}

// For the facilitator and the inbrenger: is the advice being written down, and how far behind.
function renderTranscription() {
  const box = $("#asr-status");
  const tr = state.transcription;
  let text = "";
  const transcribedStep = Boolean(state.step && state.step.media && state.step.media.transcribe);
  if (tr && !tr.available && transcribedStep) text = t("asr.off");
  else if (tr && tr.active) text = tr.backlog_seconds >= 2 ? t("asr.behind", { seconds: Math.round(tr.backlog_seconds) }) : t("asr.live");
  if (tr && tr.available && tr.restarts > 0 && state.you.role === "facilitator") text += " " + t("asr.restarted", { n: tr.restarts });
  box.textContent = text.trim();
  box.classList.toggle("hidden", !text.trim());
}

function renderMic() {
  const me = state.participants.find((p) => p.id === state.you.id);
  const button = $("#mic-self");
  const muted = Boolean(me && me.mic_muted_by);
  button.textContent = muted ? t("room.mic.unmute") : t("room.mic.mute");
  button.setAttribute("aria-pressed", muted ? "true" : "false");
  button.disabled = Boolean(me && me.mic_muted_by === "facilitator");
  button.classList.toggle("hidden", !media.active || state.room.status === "ended");
}

$("#mic-self").addEventListener("click", () => {
  const me = state && state.participants.find((p) => p.id === state.you.id);
  if (me) run("mic.self", { muted: !me.mic_muted_by });
});

// ------------------------------------------------------------ media (optional)
const media = {
  client: null,
  active: false,
  audio: new Map(),
  audioBox: h("div", { class: "offscreen", "aria-hidden": "true" }),

  async start() {
    let mod;
    try {
      mod = await import("./media.js");
    } catch {
      mod = null;
    }
    if (!mod || !mod.MediaClient || !window.RTCPeerConnection) {
      this.note(t("video.none"));
      return;
    }
    let local = null;
    if (navigator.mediaDevices && navigator.mediaDevices.getUserMedia) {
      try {
        local = await navigator.mediaDevices.getUserMedia({ video: true, audio: true });
      } catch {
        try { local = await navigator.mediaDevices.getUserMedia({ audio: true }); } catch { local = null; }
      }
    }
    if (!local) this.note(t("media.denied"));
    const client = new mod.MediaClient((msg) => conn.send(msg), { probe: () => conn.probe() });
    this.client = client;
    this.active = true;
    document.body.append(this.audioBox);
    conn.on("media", (msg) => client.handleMessage(msg));
    conn.on("status", (s) => { if (s === "open") client.rejoin(); });
    client.addEventListener("track", (e) => {
      const { participant, kind, track } = e.detail;
      if (!participant) return;
      if (kind === "video") {
        tiles.setStream(participant, new MediaStream([track]));
      } else {
        // Sound plays apart from the tiles: a hidden tile (roddelfase) must still be heard.
        let el = this.audio.get(participant);
        if (!el) {
          el = h("audio", { autoplay: true });
          this.audio.set(participant, el);
          this.audioBox.append(el);
        }
        el.srcObject = new MediaStream([track]);
        el.play().catch(() => {});
      }
    });
    client.addEventListener("trackremoved", (e) => {
      const { participant, kind } = e.detail;
      if (!participant) return;
      if (kind === "video") tiles.setStream(participant, null);
      else {
        const el = this.audio.get(participant);
        if (el) { el.srcObject = null; el.remove(); this.audio.delete(participant); }
      }
    });
    client.addEventListener("level", (e) => {
      for (const [who, level] of e.detail.levels) tiles.setLevel(who === "self" && state ? state.you.id : who, level);
    });
    if (local && state) tiles.setStream(state.you.id, local.getVideoTracks().length ? new MediaStream(local.getVideoTracks()) : null);
    this.local = local;
    await client.start(local);
    if (state) render();
  },

  apply(s) {
    if (!this.client) return;
    const me = s.participants.find((p) => p.id === s.you.id);
    if (!me) return;
    this.client.setMicEnabled(!me.mic_muted_by);
    this.client.setCameraEnabled(!me.camera_off);
    if (this.local && this.local.getVideoTracks().length && !tiles.streams.has(s.you.id)) {
      tiles.setStream(s.you.id, new MediaStream(this.local.getVideoTracks()));
    }
    if (s.room.status === "ended") {
      this.hangUp();
      tiles.setStream(s.you.id, null);
    }
  },

  // The call is over: the camera and microphone are let go too, not only the connection
  // (a camera light that stays on after the session is a worry no one should have).
  hangUp() {
    if (this.client) this.client.stop();
    if (this.local) for (const track of this.local.getTracks()) track.stop();
    this.client = null;
    this.local = null;
    this.active = false;
  },

  note(text) {
    const el = $("#media-note");
    el.textContent = text;
    el.classList.remove("hidden");
  },
};

// ------------------------------------------------------------ connection
function showBanner(text) {
  const banner = $("#conn-banner");
  banner.textContent = text;
  banner.classList.toggle("hidden", !text);
}

conn.on("status", (status) => {
  if (status === "open") showBanner("");
  else if (status === "connecting") showBanner(t("room.connecting"));
  else if (status === "reconnecting") showBanner(t("room.reconnecting"));
  else if (status === "noaccess" || status === "gone") {
    showBanner("");
    media.hangUp();
    $("#room").classList.add("hidden");
    $("#oos").classList.add("hidden");
    $("#noaccess").classList.remove("hidden");
    $("#noaccess-text").textContent = status === "gone" ? t("room.deleted") : t("room.noaccess.text");
  }
});

let mediaStarted = false;
conn.on("state", (snapshot) => {
  state = snapshot;
  if (!langInitialised) {
    initLang(state.room.language);
    applyStatic();
    langInitialised = true;
  }
  $("#room").classList.remove("hidden");
  render();
  if (!mediaStarted && state.room.status !== "ended") {
    mediaStarted = true;
    media.start();
  }
});

conn.on("error", (err) => toast(err.message));

onLangChange(() => {
  render();
  if (conn.status === "reconnecting") showBanner(t("room.reconnecting"));
});

initLang("nl");
applyStatic();
$("#lang-slot").append(langButton());
if (!roomId) {
  $("#noaccess").classList.remove("hidden");
  showBanner("");
} else {
  conn.connect();
}
