// The facilitator's group page (/groups): their lasting groups, members and their links, the group's
// invite, second facilitators, and starting or entering a meeting. The server keeps only hashes of
// links: a link is shown once, right after it is made.
import { $, h, api, clear, copyText } from "./dom.js";
import { initLang, applyStatic, langButton, onLangChange, t, pick, lang } from "./i18n.js";

let methods = [];
let groups = [];
let detail = null;
let shownLink = null; // {label, url}: the link made last, shown until another is made

function showError(selector, message) {
  const box = $(selector);
  box.textContent = message || "";
  box.classList.toggle("hidden", !message);
}

function errorText(err) {
  return err.status ? err.message : t("error.network");
}

function when(ts) {
  if (!ts) return "";
  return new Date(ts * 1000).toLocaleDateString(lang() === "en" ? "en-GB" : "nl-NL",
    { day: "numeric", month: "long", year: "numeric" });
}

function methodTitle(id) {
  const found = methods.find((m) => m.id === id);
  return found ? pick(found.title) : id;
}

function fillMethods(select, chosen) {
  clear(select);
  for (const m of methods) select.append(h("option", { value: m.id, text: pick(m.title) }));
  if (chosen && methods.some((m) => m.id === chosen)) select.value = chosen;
  else if (methods.some((m) => m.id === "roddelmodel")) select.value = "roddelmodel";
}

// ------------------------------------------------------------ overview
function renderOverview() {
  const list = clear($("#group-list"));
  for (const g of groups) {
    const status = g.current ? t("groups.meeting.running") : "";
    list.append(h("li", {},
      h("a", { href: `#${encodeURIComponent(g.id)}`, text: g.name }),
      " ", h("span", { class: "muted", text: [methodTitle(g.method), status].filter(Boolean).join(" · ") })));
  }
  $("#group-none").classList.toggle("hidden", groups.length > 0);
  fillMethods($("#group-method"), $("#group-method").value);
}

async function loadGroups() {
  const data = await api("/api/groups");
  groups = data.groups || [];
  renderOverview();
}

async function createGroup(event) {
  event.preventDefault();
  showError("#group-form-error", "");
  const number = (sel, fallback) => {
    const value = parseInt($(sel).value, 10);
    return Number.isFinite(value) ? value : fallback;
  };
  try {
    const group = await api("/api/groups", {
      method: "POST",
      body: {
        name: $("#group-name-input").value,
        method: $("#group-method").value,
        language: $("#group-language").value,
        content_retention_days: number("#group-content-days", 30),
        record_retention_days: number("#group-record-days", 730),
      },
    });
    $("#group-name-input").value = "";
    location.hash = encodeURIComponent(group.id);
  } catch (err) {
    showError("#group-form-error", errorText(err));
  }
}

// ------------------------------------------------------------ one group
function renderDetail() {
  const g = detail;
  $("#detail-name").textContent = g.name;
  $("#detail-info").textContent = t("groups.info", {
    method: methodTitle(g.method), language: g.language === "en" ? "English" : "Nederlands",
    content: g.content_retention_days, record: g.record_retention_days,
  });

  const current = clear($("#meeting-current"));
  if (g.current) {
    current.append(h("p", { class: "notice", text: t("groups.meeting.running") }),
      h("p", {}, h("a", { class: "button primary", id: "meeting-enter", href: g.current.enter_url, text: t("groups.meeting.enter") })));
  } else {
    const select = h("select", { id: "meeting-method", "aria-label": t("landing.method") });
    fillMethods(select, g.method);
    current.append(h("label", { for: "meeting-method", text: t("groups.meeting.method") }), select);
    if (!g.meetings.length && methods.some((m) => m.id === "kennismaking")) {
      // A group's first meeting often has no case yet: point to the method made for it, without choosing it.
      current.append(h("p", { class: "hint", id: "meeting-first-hint",
        text: t("groups.meeting.firsthint", { method: methodTitle("kennismaking") }) }));
    }
    current.append(
      h("div", { id: "meeting-error", class: "notice error hidden", role: "alert" }),
      h("p", {}, h("button", { type: "button", class: "primary", id: "meeting-start", text: t("groups.meeting.start"),
        onclick: startMeeting })));
  }
  if (g.meetings.some((m) => m.ended_at)) {
    current.append(h("p", {}, h("a", { id: "attendance-csv", href: groupApi("/attendance.csv"), text: t("groups.attendance") })));
  }
  const meetings = clear($("#meeting-list"));
  for (const m of g.meetings) {
    const date = m.started_at ? when(m.started_at) : t("groups.meeting.notstarted");
    meetings.append(h("li", { text: t("groups.meeting.row", { n: m.number, date, method: methodTitle(m.method), cases: m.cases }) }));
  }

  const members = clear($("#member-list"));
  for (const m of g.members) {
    const row = h("li", { class: "member-row" }, h("strong", { text: m.name }), " ");
    if (m.facilitator) {
      row.append(h("span", { class: "muted", text: t("role.facilitator") }));
    } else {
      row.append(h("span", { class: "muted", text: m.has_link ? t("groups.member.haslink") : t("groups.member.nolink") }), " ",
        h("button", { type: "button", class: "small", text: t("groups.member.renew"), onclick: () => renewLink(m) }));
      if (m.has_link) row.append(" ", h("button", { type: "button", class: "small", text: t("groups.member.revoke"), onclick: () => revokeLink(m) }));
      row.append(" ", h("button", { type: "button", class: "small", text: t("groups.member.delete"), onclick: () => deleteMember(m) }));
    }
    row.append(" ", h("a", { href: groupApi(`/members/${encodeURIComponent(m.id)}/hours.html`), target: "_blank", rel: "noopener",
      text: t("groups.member.hours") }));
    members.append(row);
  }
  $("#new-link").classList.toggle("hidden", !shownLink);
  if (shownLink) {
    $("#new-link-label").textContent = shownLink.label;
    $("#new-link-url").value = shownLink.url;
  }

  if (!$("#settings-panel").open) fillSettings();

  const facs = clear($("#facilitator-list"));
  for (const f of g.facilitators) {
    const row = h("li", {}, f.name);
    if (g.facilitators.length > 1) {
      row.append(" ", h("button", { type: "button", class: "small", text: t("groups.facilitator.remove"),
        onclick: () => removeFacilitator(f) }));
    }
    facs.append(row);
  }
}

function fillSettings() {
  $("#settings-name").value = detail.name;
  fillMethods($("#settings-method"), detail.method);
  $("#settings-language").value = detail.language;
  $("#settings-content-days").value = detail.content_retention_days;
  $("#settings-record-days").value = detail.record_retention_days;
}

async function saveSettings(event) {
  event.preventDefault();
  showError("#settings-error", "");
  $("#settings-saved").classList.add("hidden");
  const number = (sel) => {
    const value = parseInt($(sel).value, 10);
    return Number.isFinite(value) ? value : null;
  };
  try {
    await api(groupApi(), {
      method: "PATCH",
      body: {
        name: $("#settings-name").value,
        method: $("#settings-method").value,
        language: $("#settings-language").value,
        content_retention_days: number("#settings-content-days"),
        record_retention_days: number("#settings-record-days"),
      },
    });
    await loadDetail(detail.id);
    $("#settings-saved").classList.remove("hidden");
  } catch (err) {
    showError("#settings-error", errorText(err));
  }
}

async function loadDetail(groupId) {
  detail = await api(`/api/groups/${encodeURIComponent(groupId)}`);
  renderDetail();
}

function groupApi(path = "") {
  return `/api/groups/${encodeURIComponent(detail.id)}${path}`;
}

async function addMember(event) {
  event.preventDefault();
  showError("#member-error", "");
  const name = $("#member-name").value;
  try {
    const data = await api(groupApi("/members"), { method: "POST", body: { name } });
    shownLink = { label: t("groups.link.made", { name: name.trim() }), url: data.personal_url };
    $("#member-name").value = "";
    await loadDetail(detail.id);
  } catch (err) {
    showError("#member-error", errorText(err));
  }
}

async function renewLink(member) {
  if (member.has_link && !window.confirm(t("groups.member.renew.confirm", { name: member.name }))) return;
  try {
    const data = await api(groupApi(`/members/${encodeURIComponent(member.id)}/link`), { method: "POST" });
    shownLink = { label: t("groups.link.made", { name: member.name }), url: data.personal_url };
    await loadDetail(detail.id);
  } catch (err) {
    showError("#member-error", errorText(err));
  }
}

async function revokeLink(member) {
  if (!window.confirm(t("groups.member.revoke.confirm", { name: member.name }))) return;
  try {
    await api(groupApi(`/members/${encodeURIComponent(member.id)}/link`), { method: "DELETE" });
    shownLink = null;
    await loadDetail(detail.id);
  } catch (err) {
    showError("#member-error", errorText(err));
  }
}

async function deleteMember(member) {
  if (!window.confirm(t("groups.member.delete.confirm", { name: member.name }))) return;
  try {
    await api(groupApi(`/members/${encodeURIComponent(member.id)}`), { method: "DELETE", body: { confirm: true } });
    shownLink = null;
    await loadDetail(detail.id);
  } catch (err) {
    showError("#member-error", errorText(err));
  }
}

async function renewInvite() {
  if (detail.has_invite && !window.confirm(t("groups.invite.confirm"))) return;
  try {
    const data = await api(groupApi("/invite"), { method: "POST" });
    $("#invite-url").value = data.invite_url;
    $("#invite-box").classList.remove("hidden");
    detail.has_invite = true;
  } catch (err) {
    showError("#page-error", errorText(err));
  }
}

async function addFacilitator(event) {
  event.preventDefault();
  showError("#facilitator-error", "");
  try {
    await api(groupApi("/facilitators"), { method: "POST", body: { name: $("#facilitator-name").value } });
    $("#facilitator-name").value = "";
    await loadDetail(detail.id);
  } catch (err) {
    showError("#facilitator-error", errorText(err));
  }
}

async function removeFacilitator(facilitator) {
  if (!window.confirm(t("groups.facilitator.remove.confirm", { name: facilitator.name }))) return;
  try {
    await api(groupApi(`/facilitators/${encodeURIComponent(facilitator.id)}`), { method: "DELETE" });
    try {
      await loadDetail(detail.id);
    } catch (err) {
      if (err.status === 404) location.hash = ""; // you took yourself off: the group is no longer yours
      else throw err;
    }
  } catch (err) {
    showError("#facilitator-error", errorText(err));
  }
}

async function startMeeting() {
  const button = $("#meeting-start");
  button.disabled = true;
  try {
    const data = await api(groupApi("/meetings"), { method: "POST", body: { method: $("#meeting-method").value } });
    location.assign(data.room_url); // the answer set this browser's cookie for the room
  } catch (err) {
    showError("#meeting-error", errorText(err));
    button.disabled = false;
  }
}

// ------------------------------------------------------------ navigation
async function route() {
  showError("#page-error", "");
  const groupId = decodeURIComponent(location.hash.slice(1));
  try {
    if (groupId) {
      if (!detail || detail.id !== groupId) {
        shownLink = null;
        $("#settings-panel").open = false;
        $("#invite-box").classList.add("hidden");
      }
      await loadDetail(groupId);
      $("#overview").classList.add("hidden");
      $("#detail").classList.remove("hidden");
    } else {
      detail = null;
      await loadGroups();
      $("#detail").classList.add("hidden");
      $("#overview").classList.remove("hidden");
    }
  } catch (err) {
    if (err.status === 401) {
      $("#no-facilitator").classList.remove("hidden");
      $("#overview").classList.add("hidden");
      $("#detail").classList.add("hidden");
      return;
    }
    showError("#page-error", errorText(err));
  }
}

async function start() {
  try {
    methods = (await api("/api/methods")).methods || [];
  } catch (err) {
    showError("#page-error", errorText(err));
  }
  await route();
}

initLang("nl");
applyStatic();
$("#lang-slot").append(langButton());
onLangChange(() => { if (detail) renderDetail(); else renderOverview(); });
window.addEventListener("hashchange", route);
$("#back-link").addEventListener("click", (e) => { e.preventDefault(); location.hash = ""; });
$("#group-form").addEventListener("submit", createGroup);
$("#member-form").addEventListener("submit", addMember);
$("#facilitator-form").addEventListener("submit", addFacilitator);
$("#settings-form").addEventListener("submit", saveSettings);
$("#invite-renew").addEventListener("click", renewInvite);
$("#invite-copy").addEventListener("click", (e) => copyText($("#invite-url").value, e.currentTarget, t("copied")));
$("#new-link-copy").addEventListener("click", (e) => copyText($("#new-link-url").value, e.currentTarget, t("copied")));
start();
