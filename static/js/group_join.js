// The group's invite page (/g/<group>/i/<invite>): type a name, become a member, keep the personal link.
import { $, api, copyText } from "./dom.js";
import { initLang, applyStatic, langButton, t } from "./i18n.js";

const [, groupId = "", , invite = ""] = location.pathname.split("/").filter(Boolean).map(decodeURIComponent);
const inviteApi = `/api/groups/${encodeURIComponent(groupId)}/invites/${encodeURIComponent(invite)}`;

function showJoinError(message) {
  const box = $("#join-error");
  box.textContent = message;
  box.classList.toggle("hidden", !message);
}

async function load() {
  let info;
  try {
    info = await api(inviteApi);
  } catch (err) {
    const box = $("#invite-error");
    box.textContent = err.status === 404 ? t("join.unknown") : err.status ? err.message : t("error.network");
    box.classList.remove("hidden");
    return;
  }
  initLang(info.group.language);
  applyStatic();
  $("#group-name").textContent = info.group.name;
  $("#join-panel").classList.remove("hidden");
  $("#name").focus();
}

async function join(event) {
  event.preventDefault();
  showJoinError("");
  const button = $("#join-button");
  button.disabled = true;
  try {
    const data = await api(`${inviteApi}/join`, { method: "POST", body: { name: $("#name").value } });
    $("#own-url").value = data.personal_url;
    $("#open-own").href = data.personal_url;
    $("#join-panel").classList.add("hidden");
    $("#done-panel").classList.remove("hidden");
    $("#copy-own").focus();
  } catch (err) {
    showJoinError(err.code === "name_taken" ? t("gjoin.taken") : err.status ? err.message : t("error.network"));
    button.disabled = false;
  }
}

initLang("nl");
applyStatic();
$("#lang-slot").append(langButton());
$("#join-form").addEventListener("submit", join);
$("#copy-own").addEventListener("click", (e) => copyText($("#own-url").value, e.currentTarget, t("copied")));
load();
