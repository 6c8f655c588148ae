// Landing page: create a room, then show the invite link and the facilitator's own link.
import { $, h, api, clear, copyText } from "./dom.js";
import { inviteKey } from "./console.js";
import { initLang, applyStatic, langButton, onLangChange, t, pick } from "./i18n.js";

let methods = [];

function showMethodInfo() {
  const chosen = methods.find((m) => m.id === $("#method").value);
  const info = $("#method-info");
  clear(info);
  if (!chosen) return;
  info.append(t("landing.method.info", { steps: chosen.steps, minutes: Math.round(chosen.minutes) }));
  const description = pick(chosen.description);
  if (description) info.append(h("br"), description);
}

function fillMethods() {
  const select = $("#method");
  const before = select.value;
  clear(select);
  for (const m of methods) select.append(h("option", { value: m.id, text: pick(m.title) }));
  if (before && methods.some((m) => m.id === before)) select.value = before;
  else if (methods.some((m) => m.id === "roddelmodel")) select.value = "roddelmodel";
  showMethodInfo();
}

async function loadMethods() {
  const select = $("#method");
  clear(select).append(h("option", { value: "", text: t("landing.method.loading") }));
  try {
    const data = await api("/api/methods");
    methods = data.methods || [];
    fillMethods();
    const errors = data.errors || [];
    const box = $("#method-errors");
    if (errors.length) {
      // For the operator, out of the way: a folded list under the form.
      const list = clear($("ul", box));
      for (const e of errors) list.append(h("li", { text: `${e.file}${e.line ? `:${e.line}` : ""}: ${e.message}` }));
      box.classList.remove("hidden");
    }
  } catch (err) {
    showError(err.status ? err.message : t("error.network"));
  }
}

function showError(message) {
  const box = $("#form-error");
  box.textContent = message;
  box.classList.toggle("hidden", !message);
}

async function submit(event) {
  event.preventDefault();
  showError("");
  const button = $("#create-button");
  button.disabled = true;
  button.textContent = t("landing.creating");
  const capacity = parseInt($("#capacity").value, 10);
  try {
    const data = await api("/api/rooms", {
      method: "POST",
      body: {
        name: $("#group").value,
        method: $("#method").value,
        language: $("#language").value,
        facilitator_name: $("#facilitator").value,
        capacity: Number.isFinite(capacity) ? capacity : 7,
      },
    });
    $("#invite-url").value = data.invite_url;
    // The server keeps only a hash of the invite: remember it here so the console can offer it again.
    try { localStorage.setItem(inviteKey(data.room_id), data.invite_url); } catch { /* shown on this page only */ }
    $("#secret-url").value = data.facilitator_url;
    // The facilitator link sets the cookie again, so it also works on another device.
    $("#enter-room").href = data.room_url;
    $("#create-form").classList.add("hidden");
    $("#created").classList.remove("hidden");
    $("#enter-room").focus();
  } catch (err) {
    showError(err.status ? err.message : t("error.network"));
  } finally {
    button.disabled = false;
    button.textContent = t("landing.create");
  }
}

/** Without a facilitator link in this browser the form cannot work: say how to get one instead. */
async function checkFacilitator() {
  try {
    await api("/api/facilitator");
  } catch (err) {
    if (err.status !== 401) return;
    $("#create-form").classList.add("hidden");
    $("#no-facilitator").classList.remove("hidden");
  }
}

initLang("nl");
applyStatic();
$("#lang-slot").append(langButton());
$("#language").value = document.documentElement.lang === "en" ? "en" : "nl";
onLangChange(fillMethods);
$("#create-form").addEventListener("submit", submit);
$("#method").addEventListener("change", showMethodInfo);
$("#copy-invite").addEventListener("click", (e) => copyText($("#invite-url").value, e.currentTarget, t("copied")));
$("#copy-secret").addEventListener("click", (e) => copyText($("#secret-url").value, e.currentTarget, t("copied")));
loadMethods();
checkFacilitator();
