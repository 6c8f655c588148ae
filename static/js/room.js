// The room page: one connection, one snapshot at a time, small views that each draw their part.
import { $, clear, copyText, h, paragraphs, personalLinkKey } from "./dom.js";
import { applyStatic, initLang, lang, langButton, onLangChange, pick, t } from "./i18n.js";
import { RoomConnection } from "./protocol.js";
import { StepTimer } from "./timer.js";
import { renderStepText, renderStepsList, stepLabel } from "./steps.js";
import { CasesView } from "./cases.js";
import { TakeawaysView } from "./takeaways.js";
import { AdviceView } from "./advice.js";
import { FollowupView } from "./followup.js";
import { ConsoleView } from "./console.js";
import { TilesView, renderPeople } from "./tiles.js";
import { icon } from "./icons.js";
import { DevicePicker, LevelMeter, openDevice, openLocalMedia } from "./devices.js";
import { SoundGate } from "./sound.js";

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

const ctx = { conn, run, toast };
const timer = new StepTimer({ timer: $("#timer"), message: $("#overtime-msg"), extra: [] },
  () => Boolean(state && state.you.role === "facilitator"));
const cases = new CasesView(ctx, {
  cases: $("#cases-panel"), question: $("#question-panel"), golden: $("#golden-panel"), reformulate: $("#reformulate-panel"),
});
const takeaways = new TakeawaysView(ctx, $("#takeaway-panel"));
const advice = new AdviceView(ctx, $("#advice-panel"));
const followup = new FollowupView(ctx, $("#followup-panel"));
const consoleView = new ConsoleView(ctx, $("#console"), $("#console-more"));
const tiles = new TilesView($("#tiles"), $("#stage"));
tiles.onModeChange = () => renderOwnControls();

// ------------------------------------------------------------ out of sight
const oosClock = h("div", { class: "oos-timer", id: "oos-timer" });
timer.els.extra.push(oosClock);

// The inbrenger's own check that sound arrives: the loudest remote voice, from the media client.
const oosSound = {
  meter: new LevelMeter(),
  heardAt: 0,
  text: h("span", { class: "oos-sound-text" }),
};
const oosLang = langButton();
const oosHelp = h("button", { type: "button", id: "oos-help", class: "oos-help" });
const oosHelpNote = h("p", { class: "oos-help-note", role: "status" });
oosHelp.addEventListener("click", () => {
  const on = !(state && state.you.help);
  run("help.signal", { on });
});

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
  // Promise that they hear the group only while the server sees group audio reach them.
  const self = state.media_self;
  const hearing = !self || !self.label;
  const lead = !media.active ? t("oos.lead.nomedia") : hearing ? t("oos.lead") : t("oos.lead.nosound");
  const sound = h("div", { class: "oos-sound", id: "oos-sound" }, icon("sound", { size: 22 }), oosSound.text, oosSound.meter.el);
  oosHelp.textContent = state.you.help ? t("oos.help.cancel") : t("oos.help");
  oosHelpNote.textContent = state.you.help ? t("oos.help.sent") : "";
  const lang = h("div", { class: "oos-lang" }, oosLang);
  const inner = h("div", { class: "oos-inner" },
    lang,
    h("p", { class: "muted", text: `${stepLabel(state)}` }),
    h("h1", { text: t("oos.title") }),
    h("p", { class: `oos-lead${hearing ? "" : " warn"}`, id: "oos-lead", text: lead }),
    media.active ? sound : null,
    oosClock,
    h("div", { class: "step-text" }, paragraphs(pick(state.step.text))));
  if (question) inner.append(h("div", { class: "question-box" }, h("div", { class: "small muted", text: t("question.title") }), h("p", { class: "q", text: question })));
  inner.append(h("div", { class: "oos-help-box" }, oosHelp, oosHelpNote));
  // The screen covers the room: what is being written down for the inbrenger comes along onto it.
  inner.append(...OOS_GUESTS.map(([el]) => el));
  clear(box).append(inner);
  paintOosSound();
  timer.paint();
}

function paintOosSound() {
  const arriving = performance.now() - oosSound.heardAt < 2500;
  oosSound.text.textContent = arriving ? t("oos.sound.on") : t("oos.sound.quiet");
  oosSound.meter.el.setAttribute("aria-label", t("oos.sound.meter"));
  oosSound.text.parentElement && oosSound.text.parentElement.classList.toggle("arriving", arriving);
}
setInterval(() => { if (document.body.classList.contains("is-out-of-sight")) paintOosSound(); }, 500);

// Panels that belong on the out-of-sight screen while it is up, with the place they return to.
const OOS_GUESTS = [[$("#asr-status"), $("#asr-status").nextElementSibling], [$("#advice-panel"), $("#advice-panel").nextElementSibling],
  [$("#notes-panel"), $("#notes-panel").nextElementSibling]];

function returnOutOfSightGuests() {
  for (const [el, before] of OOS_GUESTS) {
    if (el.closest("#oos")) $("#side-scroll").insertBefore(el, before);
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
let lastStep = null;
function render() {
  if (!state) return;
  // A new step starts at the top of the side column: its text first.
  const stepKey = `${state.room.status}:${state.step ? state.step.index : ""}`;
  if (stepKey !== lastStep) {
    lastStep = stepKey;
    $("#side-scroll").scrollTop = 0;
  }
  const caseNo = state.meeting && state.meeting.cases > 1 ? ` · ${t("case.label", { n: state.meeting.case_no })}` : "";
  $("#group-name").textContent = state.room.name + caseNo;
  document.title = `${state.room.name} · companion`;
  $("#step-label").textContent = stepLabel(state);
  for (const cls of [...document.body.classList]) if (cls.startsWith("step-kind-")) document.body.classList.remove(cls);
  if (state.step) document.body.classList.add(`step-kind-${state.step.kind}`);
  document.body.classList.toggle("room-ended", state.room.status === "ended");
  document.body.classList.toggle("role-facilitator", state.you.role === "facilitator");
  renderStepText(state, $("#step-title"), $("#step-text"));
  renderInbrengerHearing();
  renderStepsList(state, $("#steps-list"));
  renderPeople(state, $("#people"));
  tiles.render(state);
  cases.render(state);
  takeaways.render(state);
  advice.render(state);
  followup.render(state);
  consoleView.render(state);
  timer.update(state);
  media.apply(state);
  renderOwnControls();
  renderAlerts();
  renderEnd();
  renderEarlierLists();
  notes.render(state);
  renderOutOfSight();
  renderTranscription();
  renderOwnLink();
}

// For the facilitator and the inbrenger: is the advice being written down, and how far behind.
function renderTranscription() {
  const box = $("#asr-status");
  const tr = state.transcription;
  let text = "";
  const transcribedStep = Boolean(state.step && state.step.media && state.step.media.transcribe);
  // The inbrenger cannot write in the list: they are told who does.
  const who = state.you.role === "facilitator" ? "" : ".inbrenger";
  if (tr && !tr.available && transcribedStep) text = tr.error ? t(`asr.failed${who}`) : t(`asr.off${who}`);
  else if (tr && tr.active) text = tr.backlog_seconds >= 2 ? t("asr.behind", { seconds: Math.round(tr.backlog_seconds) }) : t("asr.live");
  if (tr && tr.available && tr.restarts > 0 && state.you.role === "facilitator") text += " " + t("asr.restarted", { n: tr.restarts });
  box.textContent = text.trim();
  box.classList.toggle("hidden", !text.trim());
  box.classList.toggle("warn", Boolean(tr && !tr.available));
}

// ------------------------------------------------------------ own controls
function me() {
  return state && state.participants.find((p) => p.id === state.you.id);
}

/** A toggle button: icon and a state sentence ("Je microfoon staat uit"), the action in its label. */
function setToggle(button, { iconName, text, action, off }) {
  clear(button).append(icon(iconName, { size: 18 }), h("span", { class: "ctl-text", text }));
  button.setAttribute("aria-label", `${text}. ${action}`);
  button.title = action;
  button.setAttribute("aria-pressed", off ? "true" : "false");
  button.classList.add("toggle-off");
}

function renderOwnControls() {
  if (!state) return;
  const p = me();
  const ended = state.room.status === "ended";
  const running = state.room.status === "running";
  const mic = $("#mic-self");
  const hasMic = Boolean(media.local && media.local.getAudioTracks().length);
  const muted = Boolean(p && p.mic_muted_by);
  const stepClosed = Boolean(p && !muted && state.step && state.step.media && state.inbrenger && p.role !== "facilitator" && running
    && (p.role === "inbrenger" ? state.step.media.inbrenger_heard === false : state.step.media.group_heard === false));
  setToggle(mic, {
    iconName: muted || stepClosed ? "mic-off" : "mic",
    text: p && p.mic_muted_by === "facilitator" ? t("room.mic.state.fac") : stepClosed ? t("room.mic.state.step") : muted ? t("room.mic.state.off") : t("room.mic.state.on"),
    action: muted ? t("room.mic.unmute") : t("room.mic.mute"),
    off: muted || stepClosed,
  });
  mic.disabled = Boolean(p && p.mic_muted_by === "facilitator") || stepClosed;
  mic.classList.toggle("hidden", !media.active || !hasMic || ended);

  const cam = $("#cam-self");
  const hasCam = Boolean(media.local && media.local.getVideoTracks().length);
  const camOff = Boolean(p && (p.camera_self_off || p.camera_off));
  setToggle(cam, {
    iconName: camOff ? "cam-off" : "cam",
    text: p && p.camera_off ? t("room.cam.state.fac") : camOff ? t("room.cam.state.off") : t("room.cam.state.on"),
    action: camOff ? t("room.cam.on") : t("room.cam.off"),
    off: camOff,
  });
  cam.disabled = Boolean(p && p.camera_off);
  cam.classList.toggle("hidden", !media.active || !hasCam || ended);

  const hand = $("#hand-self");
  const up = Boolean(p && p.hand);
  clear(hand).append(icon("hand", { size: 18 }), h("span", { class: "ctl-text", text: up ? t("hand.lower.self") : t("hand.raise") }));
  hand.setAttribute("aria-pressed", up ? "true" : "false");
  hand.classList.toggle("hand-up", up);
  hand.classList.toggle("hidden", !running || state.you.role === "facilitator");

  const devices = $("#devices-open");
  clear(devices).append(icon("gear", { size: 18 }));
  devices.setAttribute("aria-label", t("devices.title"));
  devices.title = t("devices.title");
  devices.classList.toggle("hidden", !media.active || ended);

  const view = $("#view-toggle");
  const { mode } = tiles.mode();
  clear(view).append(icon(mode === "gallery" ? "focus" : "grid", { size: 18 }));
  view.setAttribute("aria-label", mode === "gallery" ? t("view.speaker") : t("view.gallery"));
  view.title = view.getAttribute("aria-label");
  view.classList.toggle("hidden", ended);

  const leave = $("#leave");
  clear(leave).append(icon("leave", { size: 18 }), h("span", { class: "ctl-text", text: t("room.leave") }));
}

$("#mic-self").addEventListener("click", () => {
  const p = me();
  if (p) run("mic.self", { muted: !p.mic_muted_by });
});
$("#cam-self").addEventListener("click", () => {
  const p = me();
  if (p) run("camera.self", { off: !p.camera_self_off });
});
$("#hand-self").addEventListener("click", () => {
  const p = me();
  if (p) run("hand.raise", { up: !p.hand });
});
$("#view-toggle").addEventListener("click", () => tiles.setMode(tiles.mode().mode === "gallery" ? "speaker" : "gallery"));
$("#leave").addEventListener("click", () => {
  media.hangUp();
  conn.close();
  $("#room").classList.add("hidden");
  $("#oos").classList.add("hidden");
  document.body.classList.remove("in-room");
  $("#left-screen").classList.remove("hidden");
});
$("#rejoin").addEventListener("click", () => location.reload());

// ------------------------------------------------------------ devices
const picker = new DevicePicker(async (kind, id) => {
  if (kind === "audiooutput") {
    media.setSpeaker(id);
    return;
  }
  await media.switchDevice(kind, id);
  picker.refresh(media.local);
});
{
  const dialog = $("#devices");
  const title = h("h2", { id: "devices-title" });
  const close = h("button", { type: "button", class: "primary", id: "devices-close" });
  close.addEventListener("click", () => dialog.close());
  dialog.append(title, picker.el, h("div", { class: "row" }, close));
  dialog.addEventListener("close", () => picker.meter.detach());
  $("#devices-open").addEventListener("click", () => {
    title.textContent = t("devices.title");
    close.textContent = t("devices.close");
    dialog.showModal();
    picker.refresh(media.local);
  });
}

// ------------------------------------------------------------ the facilitator's alerts
// Within a second or two of the server knowing: who dropped, who hears nothing, who asks for help.
function renderAlerts() {
  const box = $("#alerts");
  clear(box);
  if (!state || state.you.role !== "facilitator" || state.room.status !== "running") return;
  const status = state.media_status || {};
  const members = state.participants.filter((p) => p.role !== "facilitator");
  // The inbrenger first: losing them in the roddelfase is what must never go unnoticed.
  members.sort((a, b) => (b.role === "inbrenger") - (a.role === "inbrenger"));
  for (const request of state.help || []) {
    const p = state.participants.find((x) => x.id === request.id);
    const done = h("button", { type: "button", class: "help-clear", text: t("alert.help.clear") });
    done.addEventListener("click", () => run("help.clear", { participant_id: request.id }));
    box.append(h("div", { class: "alert danger alert-help", dataset: { pid: request.id } }, icon("alert", { size: 18 }),
      h("span", { text: t(p && p.role === "inbrenger" ? "alert.help.inbrenger" : "alert.help", { name: request.name }) }), done));
  }
  // The inbrenger each on a line of their own; the others grouped by problem, so seven people fit.
  const grouped = new Map();
  for (const p of members) {
    const ms = status[p.id];
    let key = null;
    if (!p.online) key = "offline";
    else if (ms && ms.label) key = ms.label;
    if (!key) continue;
    if (p.role === "inbrenger") {
      box.append(h("div", { class: "alert danger alert-media", dataset: { pid: p.id, problem: key } },
        icon("alert", { size: 18 }), h("span", { text: t(`alert.${key}`, { who: t("alert.who.inbrenger", { name: p.name }) }) })));
    } else {
      if (!grouped.has(key)) grouped.set(key, []);
      grouped.get(key).push(p);
    }
  }
  for (const [key, list] of grouped) {
    const who = list.map((p) => p.name).join(", ");
    box.append(h("div", { class: "alert warn alert-media", dataset: { pid: list.map((p) => p.id).join(" "), problem: key } },
      icon("alert", { size: 18 }), h("span", { text: list.length > 1 ? t(`alert.many.${key}`, { who }) : t(`alert.${key}`, { who }) })));
  }
}

// The step text may say the inbrenger hears everything; while the server sees otherwise, say so first.
function renderInbrengerHearing() {
  if (!state.step || !state.inbrenger || state.you.role !== "facilitator") return;
  const inb = state.participants.find((p) => p.id === state.inbrenger.id);
  const ms = (state.media_status || {})[state.inbrenger.id];
  const problem = inb && (!inb.online ? "offline" : ms && ms.label);
  if (!problem || state.step.media.inbrenger_sees_group !== false) return;
  $("#step-text").prepend(h("p", { class: "notice warn", id: "step-hearing", text: t("step.inbrenger.nosound", { name: inb.name }) }));
}

// ------------------------------------------------------------ the end
function renderEnd() {
  const panel = $("#end-panel");
  const ended = state.room.status === "ended";
  panel.classList.toggle("hidden", !ended);
  if (!ended) return;
  clear(panel).append(h("h2", { text: t("end.title") }), h("p", { text: t(`end.text.${state.you.role}`) }), h("p", { class: "muted", text: t("end.close") }));
  // A meeting may treat another case: the facilitator opens the next round, everyone goes along.
  if (state.you.role === "facilitator" && state.meeting && !state.meeting.next_room) {
    panel.append(h("p", { class: "hint", text: t("case.next.hint") }),
      h("p", {}, h("button", { type: "button", class: "primary", id: "case-next", text: t("case.next"),
        onclick: (e) => { if (window.confirm(t("case.next.confirm"))) { e.currentTarget.disabled = true; run("case.next"); } } })));
  }
  // A group that meets again: each member's own page (history, record of hours) is one click away.
  if (state.meeting && !state.meeting.one_off) {
    panel.append(h("p", {}, h("a", { href: `/r/${encodeURIComponent(roomId)}/mijn`, id: "end-mypage", text: t("end.mypage") })));
  }
}

/** The advice lists of this meeting's earlier cases that are yours (or, for the facilitator, all):
 * they stay in their own case room, downloaded from there with this browser's session. */
function renderEarlierLists() {
  let panel = $("#earlier-lists");
  const lists = (state.meeting && state.meeting.earlier_lists) || [];
  if (!panel) {
    panel = h("section", { id: "earlier-lists", class: "panel hidden" });
    $("#side-scroll").insertBefore(panel, $("#own-link"));
  }
  panel.classList.toggle("hidden", lists.length === 0);
  clear(panel);
  if (!lists.length) return;
  panel.append(h("h2", { text: t("case.earlier.title") }));
  for (const list of lists) {
    const base = `/api/rooms/${encodeURIComponent(list.room_id)}/advice/export`;
    panel.append(h("p", {},
      t("case.earlier.item", { n: list.case_no, name: list.inbrenger }), " ",
      h("a", { href: `${base}.html?lang=${lang()}`, target: "_blank", rel: "noopener", text: t("case.earlier.open") }), " · ",
      h("a", { href: `${base}.md?lang=${lang()}`, text: t("case.earlier.download") })));
  }
}

/** The meeting went on to its next case (event ``moved``, or ``meeting.next_room`` when this page loads
 * later): this page follows, and the browser session is already valid there. */
let moving = false;
function followMeeting() {
  const next = state && state.meeting && state.meeting.next_room;
  if (!next || moving) return false;
  moving = true;
  toast(t("case.moving"));
  media.hangUp();
  try {
    const link = sessionStorage.getItem(personalLinkKey(roomId));
    if (link) sessionStorage.setItem(personalLinkKey(next), link);
  } catch { /* nothing kept */ }
  location.replace(`/r/${encodeURIComponent(next)}`);
  return true;
}

// ------------------------------------------------------------ a private notepad (this browser only)
const notes = {
  area: h("textarea", { id: "notes-text", rows: 4, maxlength: 8000 }),
  heading: h("h2"),
  hint: h("p", { class: "hint" }),
  // Steps whose texts ask people to note something for themselves.
  kinds: new Set(["explanation", "questions", "roddelfase", "free", "reaction"]),
  key() { return `companion.notes.${roomId}`; },
  init() {
    try { this.area.value = localStorage.getItem(this.key()) || ""; } catch { /* nothing kept */ }
    this.area.addEventListener("input", () => { try { localStorage.setItem(this.key(), this.area.value); } catch { /* private mode */ } });
    $("#notes-panel").append(this.heading, this.hint, this.area);
  },
  render(s) {
    // In the advice round only the inbrenger's text asks them to note what touches them.
    const asked = s.step && (this.kinds.has(s.step.kind) || (s.step.kind === "advice" && s.you.role === "inbrenger"));
    const show = s.room.status === "running" && asked && s.you.role !== "facilitator";
    $("#notes-panel").classList.toggle("hidden", !show);
    this.heading.textContent = t("notes.title");
    this.hint.textContent = t("notes.hint");
    this.area.setAttribute("aria-label", t("notes.title"));
  },
};
notes.init();

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
      // The browser, not the server: say so, and tell the facilitator through the server.
      this.note("video.nowebrtc");
      conn.command("media.report", { webrtc: false }).catch(() => {});
      return;
    }
    const local = await this.capture();
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
        if (this.speaker && el.setSinkId) el.setSinkId(this.speaker).catch(() => {});
        sound.play(el);
      }
    });
    client.addEventListener("trackremoved", (e) => {
      const { participant, kind } = e.detail;
      if (!participant) return;
      if (kind === "video") tiles.setStream(participant, null);
      else {
        const el = this.audio.get(participant);
        if (el) { el.srcObject = null; el.remove(); this.audio.delete(participant); sound.forget(el); }
      }
    });
    client.addEventListener("state", (e) => this.onState(e.detail.state));
    client.addEventListener("level", (e) => {
      let loudest = 0;
      const speaking = e.detail.speaking || new Map();
      for (const [who, level] of e.detail.levels) {
        tiles.setLevel(who === "self" && state ? state.you.id : who, level, speaking.get(who));
        if (who !== "self") loudest = Math.max(loudest, level);
      }
      oosSound.meter.set(loudest);
      if (loudest >= 0.04) oosSound.heardAt = performance.now();
    });
    if (local && state) tiles.setStream(state.you.id, local.getVideoTracks().length ? new MediaStream(local.getVideoTracks()) : null);
    this.local = local;
    await client.start(local);
    if (state) render();
  },

  async capture() {
    let local = null;
    if (navigator.mediaDevices && navigator.mediaDevices.getUserMedia) {
      try { local = await openLocalMedia(); } catch { local = null; }
    }
    if (!local) this.note("media.denied");
    return local;
  },

  // Another page of this person took the call: say so, and let go of the camera here.
  onState(mediaState) {
    const away = mediaState === "elsewhere";
    $("#media-elsewhere").classList.toggle("hidden", !away);
    if (!away || !this.local) return;
    for (const track of this.local.getTracks()) track.stop();
    this.local = null;
    if (state) tiles.setStream(state.you.id, null);
  },

  async takeBack() {
    if (!this.client) return;
    $("#media-elsewhere").classList.add("hidden");
    this.local = await this.capture();
    if (this.local && state) tiles.setStream(state.you.id, this.local.getVideoTracks().length ? new MediaStream(this.local.getVideoTracks()) : null);
    this.client.takeBack(this.local);
    if (state) render();
  },

  apply(s) {
    if (!this.client) return;
    const me = s.participants.find((p) => p.id === s.you.id);
    if (!me) return;
    this.client.setMicEnabled(!me.mic_muted_by);
    this.client.setCameraEnabled(!me.camera_off && !me.camera_self_off);
    if (this.local && this.local.getVideoTracks().length && !tiles.streams.has(s.you.id)) {
      tiles.setStream(s.you.id, new MediaStream(this.local.getVideoTracks()));
    }
    if (s.room.status === "ended") {
      this.hangUp();
      tiles.setStream(s.you.id, null);
    }
  },

  /** Another camera or microphone: the new track replaces the old one on the connection. */
  async switchDevice(kind, id) {
    if (!this.local) return;
    let track;
    try { track = await openDevice(kind, id); } catch (err) { toast(t("devices.failed")); return; }
    const old = kind === "videoinput" ? this.local.getVideoTracks()[0] : this.local.getAudioTracks()[0];
    if (old) { this.local.removeTrack(old); old.stop(); }
    this.local.addTrack(track);
    if (this.client && this.client.replaceLocalTrack) await this.client.replaceLocalTrack(track);
    if (track.kind === "video") tiles.setStream(state.you.id, new MediaStream([track]));
    if (state) this.apply(state);
  },

  setSpeaker(id) {
    this.speaker = id;
    for (const el of this.audio.values()) if (el.setSinkId) el.setSinkId(id || "").catch(() => {});
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

  // ``key``: an i18n key, kept on the element so that the language switch redraws the note too.
  note(key) {
    const el = $("#media-note");
    el.dataset.i18n = key;
    el.textContent = t(key);
    el.classList.remove("hidden");
  },
};

const sound = new SoundGate($("#sound-gate"), () => [media.client && media.client.audioContext]);
$("#media-take-back").addEventListener("click", () => media.takeBack());

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
  else if (ENDED_SCREENS[status]) showEndedScreen(status);
});

// The server ended this page's part in the room (protocol.js): say why, in words that follow the language switch.
const ENDED_SCREENS = {
  noaccess: ["room.noaccess.title", "room.noaccess.text"],
  gone: ["room.noaccess.title", "room.deleted"],
  removed: ["room.removed.title", "room.removed.text"],
  renewed: ["room.renewed.title", "room.renewed.text"],
  replaced: ["room.replaced.title", "room.replaced.text"],
};

function showEndedScreen(status) {
  showBanner("");
  media.hangUp();
  $("#room").classList.add("hidden");
  $("#oos").classList.add("hidden");
  document.body.classList.remove("in-room");
  const box = $("#noaccess");
  box.classList.remove("hidden");
  box.dataset.reason = status;
  if (!$(".lang-switch", box)) box.prepend(h("div", { class: "noaccess-lang" }, langButton()));
  const [title, text] = ENDED_SCREENS[status];
  const heading = $("h1", box);
  heading.dataset.i18n = title;
  heading.textContent = t(title);
  $("#noaccess-text").dataset.i18n = text;
  $("#noaccess-text").textContent = t(text);
  // Only this page stepped aside; coming back here pushes the newer page out instead.
  if (status === "replaced" && !$("#noaccess-back")) {
    box.append(h("button", { type: "button", class: "primary", id: "noaccess-back", "data-i18n": "room.replaced.back",
      text: t("room.replaced.back"), onclick: () => location.reload() }));
  }
}

let mediaStarted = false;
conn.on("state", (snapshot) => {
  state = snapshot;
  if (followMeeting()) return;
  if (!langInitialised) {
    initLang(state.room.language);
    applyStatic();
    langInitialised = true;
  }
  $("#room").classList.remove("hidden");
  document.body.classList.add("in-room");
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
