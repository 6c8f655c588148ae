// Camera, microphone and speaker: the person's choice (kept in localStorage), the
// getUserMedia call that honours it, a level meter, and the picker shown on the join
// page and in the room's "Apparaten" dialog.
import { clear, h } from "./dom.js";
import { t } from "./i18n.js";

const KEY = "companion.devices";
const KINDS = ["videoinput", "audioinput", "audiooutput"];

export function chosenDevices() {
  try {
    const value = JSON.parse(localStorage.getItem(KEY) || "{}");
    return value && typeof value === "object" ? value : {};
  } catch {
    return {};
  }
}

function saveDevice(kind, id) {
  const all = chosenDevices();
  if (id) all[kind] = id;
  else delete all[kind];
  try { localStorage.setItem(KEY, JSON.stringify(all)); } catch { /* the choice lasts this page */ }
}

function trackConstraint(id) {
  return id ? { deviceId: { exact: id } } : true;
}

/** Camera and microphone as chosen; a chosen device that is gone falls back to the default. */
export async function openLocalMedia({ video = true, audio = true } = {}) {
  const chosen = chosenDevices();
  const attempts = [
    { video: video && trackConstraint(chosen.videoinput), audio: audio && trackConstraint(chosen.audioinput) },
    { video, audio },
    { video: false, audio },
  ];
  let lastError = null;
  for (const c of attempts) {
    if (!c.video && !c.audio) continue;
    try {
      return await navigator.mediaDevices.getUserMedia(c);
    } catch (err) {
      lastError = err;
      if (err && (err.name === "NotAllowedError" || err.name === "SecurityError")) throw err;
    }
  }
  throw lastError || new Error("no media");
}

/** One new track of a kind from a chosen device ("audioinput" | "videoinput"). */
export async function openDevice(kind, id) {
  const stream = await navigator.mediaDevices.getUserMedia(kind === "videoinput" ? { video: trackConstraint(id) } : { audio: trackConstraint(id) });
  return stream.getTracks()[0];
}

/** A horizontal bar that follows a microphone track's loudness (0..1). */
export class LevelMeter {
  constructor() {
    this.bar = h("span", { class: "level-bar" });
    this.el = h("span", { class: "level-meter", role: "meter", "aria-valuemin": "0", "aria-valuemax": "100", "aria-valuenow": "0" }, this.bar);
    this.ctx = null;
    this.source = null;
    this.timer = null;
  }

  attach(track) {
    this.detach();
    if (!track || !window.AudioContext) return;
    this.ctx = this.ctx || new AudioContext();
    const analyser = this.ctx.createAnalyser();
    analyser.fftSize = 512;
    this.source = this.ctx.createMediaStreamSource(new MediaStream([track]));
    this.source.connect(analyser);
    const data = new Float32Array(analyser.fftSize);
    this.timer = setInterval(() => {
      if (this.ctx.state === "suspended") this.ctx.resume().catch(() => {});
      analyser.getFloatTimeDomainData(data);
      let sum = 0;
      for (const v of data) sum += v * v;
      const db = 20 * Math.log10(Math.sqrt(sum / data.length) + 1e-9);
      this.set(Math.max(0, Math.min(1, (db + 55) / 45)));
    }, 100);
  }

  set(level) {
    this.bar.style.width = `${Math.round(level * 100)}%`;
    this.el.setAttribute("aria-valuenow", String(Math.round(level * 100)));
  }

  detach() {
    clearInterval(this.timer);
    this.timer = null;
    if (this.source) this.source.disconnect();
    this.source = null;
    this.set(0);
  }
}

/** Three labelled lists (camera, microphone, speaker) and a meter; onChange(kind, deviceId). */
export class DevicePicker {
  constructor(onChange) {
    this.onChange = onChange;
    this.meter = new LevelMeter();
    this.selects = new Map();
    this.labels = new Map();
    this.el = h("div", { class: "device-picker" });
    for (const kind of KINDS) {
      const id = `device-${kind}`;
      const select = h("select", { id });
      select.addEventListener("change", () => {
        saveDevice(kind, select.value);
        if (this.onChange) this.onChange(kind, select.value);
      });
      const label = h("label", { for: id });
      this.selects.set(kind, select);
      this.labels.set(kind, label);
      const row = h("div", { class: `device-row device-${kind}` }, label, select);
      if (kind === "audioinput") {
        // The words beside the bar name it for a screen reader too.
        this.meter.el.setAttribute("aria-labelledby", "device-level-label");
        row.append(h("div", { class: "level-row" }, h("span", { class: "small muted level-label", id: "device-level-label" }), this.meter.el));
      }
      this.el.append(row);
    }
    this.labelTexts();
    if (navigator.mediaDevices && navigator.mediaDevices.addEventListener) {
      navigator.mediaDevices.addEventListener("devicechange", () => this.refresh());
    }
  }

  labelTexts() {
    this.labels.get("videoinput").textContent = t("devices.camera");
    this.labels.get("audioinput").textContent = t("devices.mic");
    this.labels.get("audiooutput").textContent = t("devices.speaker");
    const level = this.el.querySelector(".level-label");
    if (level) level.textContent = t("devices.level");
  }

  /** Fill the lists; the stream in use marks what is selected. */
  async refresh(stream = null) {
    this.labelTexts();
    if (!navigator.mediaDevices || !navigator.mediaDevices.enumerateDevices) return;
    let devices = [];
    try { devices = await navigator.mediaDevices.enumerateDevices(); } catch { devices = []; }
    const chosen = chosenDevices();
    const inUse = {};
    for (const track of stream ? stream.getTracks() : []) {
      const settings = track.getSettings ? track.getSettings() : {};
      inUse[track.kind === "video" ? "videoinput" : "audioinput"] = settings.deviceId;
    }
    for (const kind of KINDS) {
      const select = this.selects.get(kind);
      const list = devices.filter((d) => d.kind === kind);
      clear(select);
      if (!list.length) select.append(h("option", { value: "", text: t("devices.none") }));
      list.forEach((d, i) => select.append(h("option", { value: d.deviceId, text: d.label || `${t(`devices.${kind}`)} ${i + 1}` })));
      const want = inUse[kind] || chosen[kind] || "";
      if (list.some((d) => d.deviceId === want)) select.value = want;
      select.disabled = list.length <= 1;
      // Speaker choice needs setSinkId (not in every browser).
      if (kind === "audiooutput") select.closest(".device-row").classList.toggle("hidden", !("setSinkId" in HTMLMediaElement.prototype) || !list.length);
    }
    const mic = stream && stream.getAudioTracks()[0];
    if (mic) this.meter.attach(mic);
  }
}
