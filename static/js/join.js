// Invite page: show the room, preview camera and microphone, join with a name.
import { $, api, personalLinkKey } from "./dom.js";
import { initLang, applyStatic, langButton, onLangChange, t, pick } from "./i18n.js";
import { DevicePicker, openLocalMedia } from "./devices.js";

// The invite link is /r/<room>/i/<invite> (protocol 2): the room's id travels in every path.
const [, roomId = "", , invite = ""] = location.pathname.split("/").filter(Boolean).map(decodeURIComponent);
const inviteApi = `/api/rooms/${encodeURIComponent(roomId)}/invites/${encodeURIComponent(invite)}`;
let info = null;
let previewState = "join.preview.ask";
let previewStream = null;
// Camera, microphone and speaker chosen here are kept for the room page.
const picker = new DevicePicker(async (kind) => {
  if (kind === "audiooutput") return;
  await startPreview();
});

function setPreview(key) {
  previewState = key;
  $("#preview-status").textContent = t(key);
}

async function startPreview() {
  if (!navigator.mediaDevices || !navigator.mediaDevices.getUserMedia) {
    setPreview("join.preview.unsupported");
    return;
  }
  setPreview("join.preview.ask");
  if (previewStream) for (const track of previewStream.getTracks()) track.stop();
  try {
    previewStream = await openLocalMedia();
    $("#preview").srcObject = previewStream;
    setPreview(previewStream.getVideoTracks().length ? "join.preview.ok" : "join.preview.audio");
    if (!$("#devices-slot").contains(picker.el)) $("#devices-slot").append(picker.el);
    picker.refresh(previewStream);
  } catch (err) {
    const name = err && err.name;
    if (name === "NotAllowedError" || name === "SecurityError") setPreview("join.preview.denied");
    else setPreview("join.preview.absent");
  }
}

function showRoom() {
  if (!info) return;
  $("#room-name").textContent = info.room.name;
  $("#room-method").textContent = pick(info.room.method);
}

function showJoinError(message) {
  const box = $("#join-error");
  box.textContent = message;
  box.classList.toggle("hidden", !message);
}

async function load() {
  try {
    info = await api(inviteApi);
  } catch (err) {
    const box = $("#invite-error");
    box.textContent = err.status === 404 ? t("join.unknown") : err.status ? err.message : t("error.network");
    box.classList.remove("hidden");
    return;
  }
  // Without a stored choice the page speaks the room's language.
  initLang(info.room.language);
  applyStatic();
  showRoom();
  $("#join-panel").classList.remove("hidden");
  if (info.room.status === "ended") {
    showJoinError(t("join.ended"));
    $("#join-button").disabled = true;
    return;
  }
  if (info.room.locked) {
    showJoinError(t("join.locked"));
    $("#join-button").disabled = true;
    return;
  }
  if (info.full) {
    showJoinError(t("join.full"));
    $("#join-button").disabled = true;
  }
  startPreview();
  $("#name").focus();
}

async function join(event) {
  event.preventDefault();
  showJoinError("");
  const button = $("#join-button");
  button.disabled = true;
  try {
    const data = await api(`${inviteApi}/join`, {
      method: "POST",
      body: { name: $("#name").value },
    });
    if (previewStream) for (const track of previewStream.getTracks()) track.stop();
    picker.meter.detach();
    // The room page shows the personal link once, in this tab, to keep for coming back.
    try { sessionStorage.setItem(personalLinkKey(data.room_id), data.personal_url); } catch { /* private mode */ }
    location.assign(data.room_url);
  } catch (err) {
    let message = err.status ? err.message : t("error.network");
    if (err.code === "name_taken") message = t("join.taken");
    else if (err.code === "room_full") message = t("join.full");
    else if (err.code === "ended") message = t("join.ended");
    else if (err.code === "locked") message = t("join.locked");
    showJoinError(message);
    button.disabled = false;
  }
}

initLang("nl");
applyStatic();
$("#lang-slot").append(langButton());
onLangChange(() => { showRoom(); $("#preview-status").textContent = t(previewState); picker.labelTexts(); });
$("#join-form").addEventListener("submit", join);
load();
