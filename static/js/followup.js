// The follow-up step: last meeting's inbrengers look back at their own advice.
//
//   import { FollowupView } from "./followup.js";
//   const followup = new FollowupView(ctx, $("#followup-panel"));   // ctx = {conn, toast}
//   followup.render(state);                                          // on every state and language change
//
// state.followup is there only during the follow-up step, and holds only this person's own lists
// (the server leaves everyone else's out): each advice with who gave it, the mark and note from the
// meeting, and what was done with it (tried / helped / not yet / dropped). Who was inbrenger last time
// may write a short update and share it; the shared ones are listed for everyone.
// Rows are kept per item and updated in place, so a state pushed by someone else never wipes your typing.

import { api, clear, h } from "./dom.js";
import { lang } from "./i18n.js";

const STRINGS = {
  nl: {
    "title": "Terugblik op bijeenkomst {n}",
    "title.plain": "Terugblik op de vorige bijeenkomst",
    "hint.own": "Dit is jouw adviezenlijst van de vorige keer, met wat je er toen bij aantekende. Alleen jij ziet hem. Geef bij elk advies aan wat je ermee hebt gedaan.",
    "hint.others": "De vorige keer brachten {names} een casus in. Luister naar hun terugblik; hun adviezenlijsten ziet alleen ieder zelf.",
    "hint.other": "De vorige keer bracht {names} een casus in. Luister naar de terugblik; de adviezenlijst ziet alleen {names} zelf.",
    "hint.nobody": "Luister naar de terugblik van wie de vorige keer een casus inbracht. Hun adviezenlijsten ziet alleen ieder zelf.",
    "hint.gone": "Je adviezenlijst van de vorige keer is niet meer bewaard. Je kunt de groep wel een korte update geven.",
    "case": "Jouw casus {n}",
    "question": "Je vraag was: {q}",
    "note.overall": "Je notitie toen: {note}",
    "from": "van {name}",
    "unknown": "onbekend",
    "mark.useful": "Je vond het bruikbaar",
    "mark.not_for_me": "Je vond het niet voor jou",
    "mark.ask": "Je wilde ernaar vragen",
    "note": "Je notitie: {note}",
    "status.group": "Wat heb je ermee gedaan?",
    "status.tried": "Geprobeerd",
    "status.helped": "Geholpen",
    "status.not_yet": "Nog niet",
    "status.dropped": "Laten vallen",
    "empty": "Er stonden geen adviezen in deze lijst.",
    "update.title": "Jouw update voor de groep",
    "update.hint": "Een paar zinnen over hoe het is gegaan. Alleen als je hem deelt, zien de anderen hem (alleen de tekst, niet je lijst).",
    "update.share": "Deel met de groep",
    "update.save": "Opslaan",
    "saved": "Opgeslagen.",
    "shared": "Gedeeld met de groep",
  },
  en: {
    "title": "Looking back on meeting {n}",
    "title.plain": "Looking back on the last meeting",
    "hint.own": "This is your advice list from last time, with what you noted then. Only you see it. Mark for each piece of advice what you did with it.",
    "hint.others": "Last time {names} brought in a case. Listen to how it went; only each of them sees their own advice list.",
    "hint.other": "Last time {names} brought in a case. Listen to how it went; only {names} sees that advice list.",
    "hint.nobody": "Listen to how it went for those who brought in a case last time. Only each of them sees their own advice list.",
    "hint.gone": "Your advice list from last time is no longer kept. You can still give the group a short update.",
    "case": "Your case {n}",
    "question": "Your question was: {q}",
    "note.overall": "Your note then: {note}",
    "from": "from {name}",
    "unknown": "unknown",
    "mark.useful": "You found it useful",
    "mark.not_for_me": "You found it not for you",
    "mark.ask": "You wanted to ask about it",
    "note": "Your note: {note}",
    "status.group": "What did you do with it?",
    "status.tried": "Tried",
    "status.helped": "Helped",
    "status.not_yet": "Not yet",
    "status.dropped": "Dropped",
    "empty": "There was no advice in this list.",
    "update.title": "Your update for the group",
    "update.hint": "A few sentences on how it went. Only when you share it do the others see it (the text only, not your list).",
    "update.share": "Share with the group",
    "update.save": "Save",
    "saved": "Saved.",
    "shared": "Shared with the group",
  },
};

function tr(key, vars = {}) {
  const table = STRINGS[lang()] || STRINGS.nl;
  const text = table[key] ?? STRINGS.nl[key] ?? key;
  return text.replace(/\{(\w+)\}/g, (_, name) => (name in vars ? String(vars[name]) : `{${name}}`));
}

function listNames(names) {
  if (names.length <= 1) return names.join("");
  const and = lang() === "en" ? " and " : " en ";
  return `${names.slice(0, -1).join(", ")}${and}${names[names.length - 1]}`;
}

class ItemRow {
  constructor(view, listRoomId, id) {
    this.view = view;
    this.listRoomId = listRoomId;
    this.id = id;
    this.item = null;
    this.number = h("span", { class: "advice-number" });
    this.speaker = h("span", { class: "muted small" });
    this.text = h("p", { class: "advice-text" });
    this.markInfo = h("p", { class: "advice-mark-info small" });
    this.noteInfo = h("p", { class: "advice-note-info small muted" });
    this.legend = h("legend", { class: "small" });
    this.buttons = new Map();
    const row = h("div", { class: "row" });
    for (const status of ["tried", "helped", "not_yet", "dropped"]) {
      const button = h("button", { type: "button", class: `mark followup-status status-${status}`, "aria-pressed": "false" });
      button.addEventListener("click", () => {
        // Pressing the chosen status again takes it back.
        const next = this.item && this.item.status === status ? null : status;
        this.view.setStatus(this.listRoomId, this.id, next);
      });
      this.buttons.set(status, button);
      row.append(button);
    }
    this.el = h("li", { class: "advice-item followup-item", dataset: { id } },
      h("div", { class: "advice-head" }, this.number, " ", this.speaker),
      this.text, this.markInfo, this.noteInfo,
      h("fieldset", { class: "advice-mark-group" }, this.legend, row));
  }

  render(item) {
    this.item = item;
    this.number.textContent = `${item.number ?? ""}.`;
    this.speaker.textContent = tr("from", { name: item.speaker || tr("unknown") });
    this.text.textContent = item.text;
    this.el.dataset.mark = item.mark || "";
    this.el.dataset.status = item.status || "";
    this.markInfo.textContent = item.mark ? tr(`mark.${item.mark}`) : "";
    this.markInfo.classList.toggle("hidden", !item.mark);
    this.noteInfo.textContent = item.note ? tr("note", { note: item.note }) : "";
    this.noteInfo.classList.toggle("hidden", !item.note);
    this.legend.textContent = tr("status.group");
    for (const [status, button] of this.buttons) {
      button.textContent = tr(`status.${status}`);
      button.setAttribute("aria-pressed", item.status === status ? "true" : "false");
    }
  }
}

export class FollowupView {
  constructor(ctx, panel) {
    this.ctx = ctx;
    this.panel = panel;
    this.state = null;
    this.rows = new Map();
    this.heading = h("h2", { id: "followup-title" });
    this.hint = h("p", { class: "hint" });
    this.error = h("div", { class: "notice error hidden", role: "alert" });
    this.lists = h("div", { id: "followup-lists" });
    panel.setAttribute("aria-labelledby", "followup-title");

    this.updateTitle = h("h3", { id: "followup-update-title" });
    this.updateHint = h("p", { class: "hint" });
    this.updateText = h("textarea", { id: "followup-update-text", maxlength: 2000, rows: 3, "aria-labelledby": "followup-update-title" });
    this.updateShare = h("input", { type: "checkbox", id: "followup-update-share" });
    this.updateShareLabel = h("span");
    this.updateSave = h("button", { type: "submit", class: "primary", id: "followup-update-save" });
    this.updateStatus = h("span", { class: "muted small", role: "status" });
    this.dirty = false;
    for (const field of [this.updateText, this.updateShare]) {
      field.addEventListener("input", () => { this.dirty = true; this.updateStatus.textContent = ""; });
    }
    this.updateForm = h("form", { novalidate: true, class: "followup-update" }, this.updateTitle, this.updateHint,
      this.updateText,
      h("label", { class: "inline" }, this.updateShare, this.updateShareLabel),
      h("div", { class: "row" }, this.updateSave, this.updateStatus));
    this.updateForm.addEventListener("submit", async (event) => {
      event.preventDefault();
      const body = { text: this.updateText.value, shared: this.updateShare.checked };
      if (await this.call("/update", body)) {
        this.dirty = false;
        this.updateStatus.textContent = tr("saved");
      }
    });

    this.sharedHeading = h("h3");
    this.sharedList = h("ul", { id: "followup-shared" });
    panel.append(this.heading, this.hint, this.error, this.lists, this.updateForm, this.sharedHeading, this.sharedList);
  }

  get roomId() {
    return (this.ctx.conn && this.ctx.conn.roomId) || (this.state && this.state.room.id);
  }

  async call(path, body) {
    try {
      await api(`/api/rooms/${encodeURIComponent(this.roomId)}/followup${path}`, { method: "PUT", body });
      this.showError("");
      return true;
    } catch (err) {
      this.showError(err.message || String(err));
      return false;
    }
  }

  setStatus(listRoomId, itemId, status) {
    return this.call(`/lists/${encodeURIComponent(listRoomId)}/items/${encodeURIComponent(itemId)}`, { status });
  }

  showError(message) {
    this.error.textContent = message;
    this.error.classList.toggle("hidden", !message);
  }

  render(state) {
    this.state = state;
    const fu = state.followup;
    this.panel.classList.toggle("hidden", !fu);
    if (!fu) return;
    const previous = fu.previous || {};
    this.heading.textContent = previous.number ? tr("title", { n: previous.number }) : tr("title.plain");
    const names = previous.inbrengers || [];
    if (fu.lists.length) this.hint.textContent = tr("hint.own");
    else if (fu.can_update) this.hint.textContent = tr("hint.gone");
    else if (names.length) this.hint.textContent = tr(names.length === 1 ? "hint.other" : "hint.others", { names: listNames(names) });
    else this.hint.textContent = tr("hint.nobody");
    this.renderLists(fu);

    this.updateForm.classList.toggle("hidden", !fu.can_update);
    if (fu.can_update) {
      this.updateTitle.textContent = tr("update.title");
      this.updateHint.textContent = tr("update.hint");
      this.updateShareLabel.textContent = tr("update.share");
      this.updateSave.textContent = tr("update.save");
      if (!this.dirty && !this.updateForm.contains(document.activeElement)) {
        this.updateText.value = fu.mine ? fu.mine.text : "";
        this.updateShare.checked = Boolean(fu.mine && fu.mine.shared);
      }
    }
    const shared = fu.shared || [];
    this.sharedHeading.textContent = tr("shared");
    this.sharedHeading.classList.toggle("hidden", !shared.length);
    clear(this.sharedList);
    for (const update of shared) this.sharedList.append(h("li", {}, h("strong", { text: `${update.name}: ` }), update.text));
  }

  renderLists(fu) {
    const seen = new Set();
    const blocks = [];
    fu.lists.forEach((list, index) => {
      const items = h("ol", { class: "advice-list followup-list" });
      for (const item of list.items) {
        const key = `${list.room_id}/${item.id}`;
        seen.add(key);
        let row = this.rows.get(key);
        if (!row) {
          row = new ItemRow(this, list.room_id, item.id);
          this.rows.set(key, row);
        }
        row.render(item);
        items.append(row.el);
      }
      const title = list.title || (fu.lists.length > 1 ? tr("case", { n: index + 1 }) : "");
      blocks.push(h("section", { class: "followup-case", dataset: { room: list.room_id } },
        title ? h("h3", { text: title }) : null,
        list.question ? h("p", { class: "small", text: tr("question", { q: list.question }) }) : null,
        list.note ? h("p", { class: "small muted", text: tr("note.overall", { note: list.note }) }) : null,
        list.items.length ? items : h("p", { class: "muted", text: tr("empty") })));
    });
    for (const key of [...this.rows.keys()]) if (!seen.has(key)) this.rows.delete(key);
    clear(this.lists).append(...blocks);
  }
}
