// A member's own page (/g/<group>/m/<token>) while no meeting of the group is open: their meetings,
// their record of hours, their own advice lists, questions and take-aways. Only the member's own things;
// the personal link in the address is the credential (sent as a Bearer token, never to another site).
import { $, h, clear } from "./dom.js";
import { initLang, applyStatic, langButton, onLangChange, t, lang } from "./i18n.js";

// Two addresses: the personal link /g/<group>/m/<token> (the token is the credential), or /r/<room>/mijn from a
// case room's end screen (the room's session cookie is).
const parts = location.pathname.split("/").filter(Boolean).map(decodeURIComponent);
const inRoom = parts[0] === "r";
const [, groupId = "", , token = ""] = parts;
const apiBase = inRoom ? `/api/rooms/${encodeURIComponent(parts[1] || "")}/me` : `/api/groups/${encodeURIComponent(groupId)}/me`;
const linkBase = inRoom ? apiBase : `/g/${encodeURIComponent(groupId)}/m/${encodeURIComponent(token)}`;
let data = null;

async function call(method = "GET", body) {
  const headers = body ? { "Content-Type": "application/json" } : {};
  if (!inRoom) headers.Authorization = `Bearer ${token}`;
  const response = await fetch(apiBase, {
    method,
    headers,
    body: body ? JSON.stringify(body) : undefined,
    credentials: inRoom ? "same-origin" : "omit",
  });
  let answer = null;
  try { answer = await response.json(); } catch { answer = null; }
  if (!response.ok) {
    const info = (answer && answer.error) || {};
    const err = new Error((lang() === "en" && info.message_en) || info.message || `HTTP ${response.status}`);
    err.status = response.status;
    throw err;
  }
  return answer;
}

function day(iso) {
  if (!iso) return "";
  const [y, m, d] = iso.split("-").map(Number);
  return new Date(y, m - 1, d).toLocaleDateString(lang() === "en" ? "en-GB" : "nl-NL", { day: "numeric", month: "long", year: "numeric" });
}


function dayOf(seconds) {
  return new Date(seconds * 1000).toLocaleDateString(lang() === "en" ? "en-GB" : "nl-NL", { day: "numeric", month: "long", year: "numeric" });
}

function where(item) {
  if (!item.number) return "";
  return item.case_no ? t("member.where.case", { n: item.number, c: item.case_no }) : t("member.where", { n: item.number });
}

function listOrEmpty(listEl, emptyEl, items) {
  clear(listEl);
  $(emptyEl).classList.toggle("hidden", items.length > 0);
  for (const item of items) listEl.append(item);
}

function download(href, key) {
  return h("a", { href, text: t(key), ...(href.endsWith(".html") ? { target: "_blank", rel: "noopener" } : {}) });
}

function showMeetings() {
  listOrEmpty($("#meetings"), "#meetings-empty", data.meetings.map((m) => h("li", {},
    h("strong", { text: t("member.meeting", { n: m.number }) }), " · ", day(m.date), " · ", m.method, " · ",
    t(`member.role.${m.role}`),
    m.open ? h("span", { class: "muted", text: ` · ${t("member.meeting.open")}` })
      : m.minutes !== null && m.minutes !== undefined ? ` · ${t("member.minutes", { n: m.minutes })}` : "",
    m.cases.length === 0 && !m.open ? h("span", { class: "muted", text: ` · ${t("member.meeting.gone")}` })
      : m.content_until ? h("span", { class: "muted", text: ` · ${t("member.meeting.until", { date: dayOf(m.content_until) })}` }) : "",
  )));
}

function showHours() {
  const done = data.meetings.filter((m) => !m.open && m.minutes !== null && m.minutes !== undefined);
  const total = done.reduce((sum, m) => sum + m.minutes, 0);
  $("#hours-total").textContent = t("member.hours.total", { n: done.length, h: Math.floor(total / 60), m: total % 60 });
  $("#hours-html").href = `${linkBase}/hours.html?lang=${lang()}`;
  $("#hours-csv").href = `${linkBase}/hours.csv?lang=${lang()}`;
}

const MARKS = { useful: "member.mark.useful", not_for_me: "member.mark.not_for_me", ask: "member.mark.ask" };
const FOLLOWUPS = { tried: "member.followup.tried", helped: "member.followup.helped", not_yet: "member.followup.not_yet", dropped: "member.followup.dropped" };

function showLists() {
  const box = clear($("#lists"));
  $("#lists-empty").classList.toggle("hidden", data.advice_lists.length > 0);
  for (const list of data.advice_lists) {
    const question = list.question_reformulated || list.question_original || "";
    const items = list.items.map((item) => h("li", {},
      h("span", { class: "member-advice", text: item.text }),
      item.speaker ? h("span", { class: "muted", text: ` (${item.speaker})` }) : "",
      item.mark ? h("span", { class: "member-tag", text: t(MARKS[item.mark] || "member.mark.useful") }) : "",
      item.followup ? h("span", { class: "member-tag", text: t(FOLLOWUPS[item.followup] || "member.followup.tried") }) : "",
      item.note ? h("div", { class: "hint", text: item.note }) : "",
    ));
    const base = `${linkBase}/lists/${encodeURIComponent(list.room_id)}`;
    box.append(h("article", { class: "member-case" },
      h("h3", { text: `${where(list)} · ${day(list.date)}` }),
      question ? h("blockquote", { text: question }) : "",
      items.length ? h("ol", {}, items) : h("p", { class: "muted", text: t("member.lists.empty") }),
      list.overall_note ? h("p", { class: "hint", text: list.overall_note }) : "",
      h("p", { class: "member-downloads" },
        download(`${base}.html?lang=${lang()}`, "member.list.print"), download(`${base}.md?lang=${lang()}`, "member.list.md")),
    ));
  }
}

function showQuestions() {
  listOrEmpty($("#questions"), "#questions-empty", data.questions.map((q) => h("li", {},
    h("strong", { text: q.title || "" }), q.title ? ": " : "", q.question || "",
    h("div", { class: "hint", text: `${where(q)} · ${t(q.treated ? "member.question.treated" : "member.question.waiting")}` }),
  )));
}

function showTakeaways() {
  const items = [
    ...data.takeaways.map((x) => h("li", {}, x.text,
      h("div", { class: "hint", text: `${where(x)} · ${t(x.shared ? "member.shared" : "member.private")}` }))),
    ...data.updates.map((u) => h("li", {}, u.text,
      h("div", { class: "hint", text: `${t("member.update", { n: u.number })} · ${t(u.shared ? "member.shared" : "member.private")}` }))),
  ];
  listOrEmpty($("#takeaways"), "#takeaways-empty", items);
}

function show() {
  if (!data) return;
  document.title = `${data.group.name} · companion`;
  $("#member-title").textContent = t("member.heading", { name: data.member.name });
  $("#member-lead").textContent = t("member.lead", { group: data.group.name, facilitators: data.group.facilitators.join(", ") || "-" });
  $("#kept-text").textContent = t("member.kept.text", {
    content: data.group.content_retention_days, record: data.group.record_retention_days,
  });
  showHours();
  showMeetings();
  showLists();
  showQuestions();
  showTakeaways();
}

async function deleteMe() {
  if (!window.confirm(t("member.delete.confirm"))) return;
  const box = $("#delete-error");
  box.classList.add("hidden");
  try {
    await call("DELETE", { confirm: true });
  } catch (err) {
    box.textContent = err.status ? err.message : t("error.network");
    box.classList.remove("hidden");
    return;
  }
  $("#member-body").classList.add("hidden");
  $("#member-deleted").classList.remove("hidden");
}

async function load() {
  initLang();
  $("#lang-slot").append(langButton());
  try {
    data = await call();
  } catch (err) {
    applyStatic();
    const box = $("#member-error");
    box.textContent = err.status === 404 || err.status === 401 ? t("member.unknown") : err.status ? err.message : t("error.network");
    box.classList.remove("hidden");
    return;
  }
  // Without a stored choice the page speaks the group's language.
  initLang(data.group.language);
  applyStatic();
  show();
  $("#member-body").classList.remove("hidden");
  $("#delete-me").addEventListener("click", deleteMe);
  onLangChange(() => show());
}

load();
