// The advice list panel: what the group advised, one item per advice, in spoken order.
//
//   import { AdviceView } from "./advice.js";
//   const advice = new AdviceView(ctx, $("#advice-panel"));   // ctx = {conn, run}; only ctx.conn.roomId is used
//   advice.render(state);                                     // on every state message and language change
//
// Who may do what comes from state.advice (the server decides; these are only
// the buttons): can_edit (facilitator: edit, delete with undo, add by hand),
// can_mark (inbrenger: useful / not for me / ask about it, a note per item and
// an overall note; marks_open says when: not during the advice round),
// can_download (inbrenger and facilitator: the document).
// Everything else is read-only. Rows are kept per item id and updated in place,
// so a state pushed by someone else never wipes what you are typing.

import { api, clear, h } from "./dom.js";
import { lang } from "./i18n.js";

const STRINGS = {
  nl: {
    title: "Adviezen",
    "hint.facilitator": "Verbeter de lijst waar nodig: pas een advies aan, verwijder het of voeg er een toe. De inbrenger ziet je wijzigingen meteen.",
    "hint.inbrenger": "Geef bij elk advies aan wat je ermee wilt, en schrijf erbij wat je opvalt. Alleen jij en de begeleider zien dat.",
    "hint.deelnemer": "De adviezen zoals ze zijn opgeschreven.",
    "hint.inbrenger.round": "Je hoeft nu niets te doen: luister, en lees mee als je wilt. Na de ronde geef je bij elk advies aan wat je ermee wilt.",
    "hint.facilitator.round": "Typ een advies en klik op de naam van wie het gaf: dan staat het erin. Die naam blijft gekozen tot je een andere kiest; Enter voegt het volgende advies toe onder dezelfde naam.",
    empty: "Nog geen adviezen. Ze verschijnen hier zodra ze in de adviesronde worden gegeven.",
    "empty.edit": "Nog geen adviezen. Ze verschijnen hier zodra ze in de adviesronde worden gegeven; je kunt er ook zelf een toevoegen.",
    unknown: "Onbekend",
    edited: "aangepast",
    manual: "met de hand toegevoegd",
    original: "Zo werd het gezegd",
    edit: "Aanpassen",
    remove: "Verwijderen",
    save: "Opslaan",
    cancel: "Annuleren",
    speaker: "Van wie",
    nobody: "Onbekend",
    text: "Advies",
    removed: "Advies {n} is verwijderd.",
    undo: "Ongedaan maken",
    up: "Omhoog",
    down: "Omlaag",
    merge: "Samenvoegen met het volgende",
    split: "Splitsen bij de cursor",
    "split.hint": "Zet de cursor waar het tweede advies begint. Sla eerst op als je de tekst hebt veranderd.",
    "mark.group": "Wat doe je met dit advies?",
    "mark.useful": "Bruikbaar",
    "mark.not_for_me": "Niet voor mij",
    "mark.ask": "Wil ik naar vragen",
    "mark.by": "Inbrenger: {mark}",
    note: "Notitie",
    "note.save": "Notitie opslaan",
    saved: "Opgeslagen.",
    "overall.title": "Jouw notitie bij de adviezen",
    "overall.readonly": "Notitie van de inbrenger",
    "add.title": "Advies toevoegen",
    "add.button": "Toevoegen",
    "add.text": "Nieuw advies",
    download: "Downloaden",
    "download.html": "Afdrukken of opslaan als PDF",
    "download.md": "Als tekstbestand",
    "delete.button": "Alles van deze sessie nu verwijderen",
    "delete.hint": "De sessie is afgelopen. Download eerst wat je wilt bewaren: daarna kun je alles meteen laten verwijderen, voor iedereen.",
    "delete.confirm": "Alles van deze sessie verdwijnt nu van de server: adviezen, notities, casussen en namen, voor iedereen. Dit kan niet ongedaan worden. Doorgaan?",
  },
  en: {
    title: "Advice",
    "hint.facilitator": "Correct the list where needed: change an item, delete it or add one. The case owner sees your changes straight away.",
    "hint.inbrenger": "For each item, note what you want to do with it and write down what strikes you. Only you and the facilitator see this.",
    "hint.deelnemer": "The advice as it was written down.",
    "hint.inbrenger.round": "There is nothing you need to do now: listen, and read along if you like. After the round you mark what you want to do with each item.",
    "hint.facilitator.round": "Type an item and click the name of who gave it: then it is in. That name stays chosen until you pick another; Enter adds the next item under the same name.",
    empty: "No advice yet. It appears here as soon as it is given in the advice round.",
    "empty.edit": "No advice yet. It appears here as soon as it is given in the advice round; you can also add an item yourself.",
    unknown: "Unknown",
    edited: "edited",
    manual: "added by hand",
    original: "As it was said",
    edit: "Edit",
    remove: "Delete",
    save: "Save",
    cancel: "Cancel",
    speaker: "From whom",
    nobody: "Unknown",
    text: "Advice",
    removed: "Item {n} was deleted.",
    undo: "Undo",
    up: "Move up",
    down: "Move down",
    merge: "Merge with the next one",
    split: "Split at the cursor",
    "split.hint": "Put the cursor where the second item starts. Save first if you changed the text.",
    "mark.group": "What will you do with this advice?",
    "mark.useful": "Useful",
    "mark.not_for_me": "Not for me",
    "mark.ask": "Want to ask about it",
    "mark.by": "Case owner: {mark}",
    note: "Note",
    "note.save": "Save note",
    saved: "Saved.",
    "overall.title": "Your note on the advice",
    "overall.readonly": "The case owner's note",
    "add.title": "Add an item",
    "add.button": "Add",
    "add.text": "New item",
    download: "Download",
    "download.html": "Print or save as PDF",
    "download.md": "As a text file",
    "delete.button": "Delete everything from this session now",
    "delete.hint": "The session has ended. Download what you want to keep first: then you can have everything removed straight away, for everyone.",
    "delete.confirm": "Everything from this session is removed from the server now: advice, notes, cases and names, for everyone. This cannot be undone. Continue?",
  },
};

const MARKS = ["useful", "not_for_me", "ask"];
// Steps after which the list matters; before them an empty panel would only distract.
const ADVICE_KINDS = new Set(["advice", "reaction", "evaluation"]);

function tr(key, vars = {}) {
  const table = STRINGS[lang()] || STRINGS.nl;
  const text = table[key] ?? STRINGS.nl[key] ?? key;
  return text.replace(/\{(\w+)\}/g, (_, name) => (name in vars ? String(vars[name]) : `{${name}}`));
}

/** A textarea whose value follows the server until the person starts typing in it. */
function draftArea(attrs) {
  const area = h("textarea", attrs);
  area.dataset.dirty = "";
  area.addEventListener("input", () => { area.dataset.dirty = "1"; });
  return area;
}

function syncArea(area, value) {
  if (area.dataset.dirty || document.activeElement === area) return;
  area.value = value || "";
}

function speakerOptions(select, state, chosen) {
  const keep = chosen === undefined ? select.value : chosen || "";
  clear(select).append(h("option", { value: "", text: tr("nobody") }));
  for (const p of state.participants) select.append(h("option", { value: p.id, text: p.name }));
  select.value = keep;
}

class ItemRow {
  constructor(view, id) {
    this.view = view;
    this.id = id;
    this.item = null;
    this.editing = false;
    this.el = h("li", { class: "advice-item", dataset: { id } });
    this.number = h("span", { class: "advice-number" });
    this.speaker = h("strong", { class: "advice-speaker" });
    this.badges = h("span", { class: "advice-badges muted small" });
    this.text = h("p", { class: "advice-text" });
    this.original = h("details", { class: "advice-original small" }, h("summary"), h("p"));
    this.markInfo = h("p", { class: "advice-mark-info small" });
    this.noteInfo = h("p", { class: "advice-note-info small muted" });
    this.tools = h("div", { class: "row advice-tools" });
    this.editBox = h("div", { class: "advice-edit hidden" });
    this.markBox = h("div", { class: "advice-marks hidden" });
    this.el.append(
      h("div", { class: "advice-head" }, this.number, this.speaker, this.badges),
      this.text, this.original, this.markInfo, this.noteInfo, this.editBox, this.tools, this.markBox,
    );
    this.buildEditor();
    this.buildMarks();
  }

  buildEditor() {
    const uid = `advice-edit-${this.id}`;
    this.editText = h("textarea", { id: `${uid}-text`, maxlength: 4000, rows: 3 });
    this.editSpeaker = h("select", { id: `${uid}-speaker` });
    this.editTextLabel = h("label", { for: this.editText.id });
    this.editSpeakerLabel = h("label", { for: this.editSpeaker.id });
    this.saveButton = h("button", { type: "submit", class: "primary" });
    this.cancelButton = h("button", { type: "button" });
    this.splitButton = h("button", { type: "button" });
    this.splitHint = h("p", { class: "hint" });
    this.splitButton.addEventListener("click", () => this.split());
    const form = h("form", { novalidate: true }, this.editTextLabel, this.editText, this.splitHint, this.editSpeakerLabel, this.editSpeaker,
      h("div", { class: "row" }, this.saveButton, this.cancelButton, this.splitButton));
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      const body = { text: this.editText.value, participant_id: this.editSpeaker.value || null };
      if (await this.view.call(`/${encodeURIComponent(this.id)}`, "PATCH", body)) this.setEditing(false);
    });
    this.cancelButton.addEventListener("click", () => this.setEditing(false));
    this.editBox.append(form);
    this.editButton = h("button", { type: "button", class: "small-button" });
    this.editButton.addEventListener("click", () => this.setEditing(true));
    this.removeButton = h("button", { type: "button", class: "small-button danger" });
    this.removeButton.addEventListener("click", () => this.view.remove(this.item));
    this.upButton = h("button", { type: "button", class: "small-button" });
    this.upButton.addEventListener("click", () => this.view.move(this.item, -1));
    this.downButton = h("button", { type: "button", class: "small-button" });
    this.downButton.addEventListener("click", () => this.view.move(this.item, 1));
    this.mergeButton = h("button", { type: "button", class: "small-button" });
    this.mergeButton.addEventListener("click", () => this.view.mergeWithNext(this.item));
    this.tools.append(this.editButton, this.removeButton, this.upButton, this.downButton, this.mergeButton);
  }

  buildMarks() {
    this.markLegend = h("legend", { class: "small" });
    this.markButtons = new Map();
    const group = h("fieldset", { class: "advice-mark-group" }, this.markLegend);
    const buttons = h("div", { class: "row" });
    for (const mark of MARKS) {
      const button = h("button", { type: "button", class: `mark mark-${mark}`, "aria-pressed": "false" });
      button.addEventListener("click", () => {
        // Pressing the chosen mark again takes it back.
        const next = this.item && this.item.mark === mark ? null : mark;
        this.view.call(`/${encodeURIComponent(this.id)}/mark`, "PUT", { mark: next });
      });
      this.markButtons.set(mark, button);
      buttons.append(button);
    }
    group.append(buttons);
    const noteId = `advice-note-${this.id}`;
    this.noteLabel = h("label", { for: noteId, class: "small" });
    this.noteArea = draftArea({ id: noteId, maxlength: 4000, rows: 2 });
    this.noteSave = h("button", { type: "submit" });
    this.noteStatus = h("span", { class: "muted small", role: "status" });
    const form = h("form", { novalidate: true, class: "advice-note-form" }, this.noteLabel, this.noteArea,
      h("div", { class: "row" }, this.noteSave, this.noteStatus));
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      if (await this.view.call(`/${encodeURIComponent(this.id)}/note`, "PUT", { note: this.noteArea.value })) {
        this.noteArea.dataset.dirty = "";
        this.noteStatus.textContent = tr("saved");
      }
    });
    this.noteArea.addEventListener("input", () => { this.noteStatus.textContent = ""; });
    this.markBox.append(group, form);
  }

  /** Split the stored text where the cursor stands; the server counts code points, the textarea UTF-16 units. */
  async split() {
    const text = this.editText.value;
    if (!this.item || text !== this.item.text) {
      this.view.showError(tr("split.hint"));
      return;
    }
    const at = Array.from(text.slice(0, this.editText.selectionStart)).length;
    if (await this.view.call(`/${encodeURIComponent(this.id)}/split`, "POST", { at })) this.setEditing(false);
  }

  setEditing(on) {
    this.editing = on;
    if (on && this.item) {
      this.editText.value = this.item.text;
      speakerOptions(this.editSpeaker, this.view.state, this.item.participant_id);
    }
    this.render(this.view.state, this.item);
    if (on) this.editText.focus();
  }

  render(state, item, canMark = state.advice.can_mark) {
    this.item = item;
    const adv = state.advice;
    this.number.textContent = `${item.number ?? ""}.`;
    this.speaker.textContent = item.speaker || tr("unknown");
    const badges = [];
    if (item.edited) badges.push(tr("edited"));
    // docs/protocol.md says "manual"; the store writes "hand". Both mean: typed in, never said.
    if (item.source === "manual" || item.source === "hand") badges.push(tr("manual"));
    if (item.source === "restored") badges.push(trAside("restored"));
    if (item.language) badges.push(trAside("heard_in", { language: languageName(item.language) }));
    this.badges.textContent = badges.length ? `· ${badges.join(" · ")}` : "";
    this.text.textContent = item.text;

    const showOriginal = Boolean(adv.can_edit && item.original && item.original !== item.text);
    this.original.classList.toggle("hidden", !showOriginal);
    this.original.querySelector("summary").textContent = tr("original");
    this.original.querySelector("p").textContent = item.original || "";

    // The facilitator reads the inbrenger's marks and notes; the inbrenger has the buttons instead.
    const readMarks = !adv.can_mark && "mark" in item;
    this.markInfo.classList.toggle("hidden", !(readMarks && item.mark));
    this.markInfo.textContent = readMarks && item.mark ? tr("mark.by", { mark: tr(`mark.${item.mark}`) }) : "";
    this.el.dataset.mark = item.mark || "";
    this.noteInfo.classList.toggle("hidden", !(readMarks && item.note));
    this.noteInfo.textContent = readMarks && item.note ? `${tr("note")}: ${item.note}` : "";

    this.tools.classList.toggle("hidden", !adv.can_edit || this.editing);
    this.editBox.classList.toggle("hidden", !adv.can_edit || !this.editing);
    this.editButton.textContent = tr("edit");
    this.editButton.setAttribute("aria-label", `${tr("edit")}: ${item.number ?? ""}`);
    this.removeButton.textContent = tr("remove");
    this.removeButton.setAttribute("aria-label", `${tr("remove")}: ${item.number ?? ""}`);
    const position = state.advice.items.findIndex((i) => i.id === item.id);
    const last = position === state.advice.items.length - 1;
    for (const [button, key, off] of [[this.upButton, "up", position <= 0], [this.downButton, "down", last], [this.mergeButton, "merge", last]]) {
      button.textContent = tr(key);
      button.setAttribute("aria-label", `${tr(key)}: ${item.number ?? ""}`);
      button.classList.toggle("hidden", off);
    }
    this.splitButton.textContent = tr("split");
    this.splitHint.textContent = tr("split.hint");
    this.editTextLabel.textContent = tr("text");
    this.editSpeakerLabel.textContent = tr("speaker");
    this.saveButton.textContent = tr("save");
    this.cancelButton.textContent = tr("cancel");
    if (this.editing && document.activeElement !== this.editSpeaker) speakerOptions(this.editSpeaker, state);

    this.markBox.classList.toggle("hidden", !canMark);
    if (canMark) {
      this.markLegend.textContent = tr("mark.group");
      for (const [mark, button] of this.markButtons) {
        button.textContent = tr(`mark.${mark}`);
        button.setAttribute("aria-pressed", item.mark === mark ? "true" : "false");
      }
      this.noteLabel.textContent = tr("note");
      this.noteSave.textContent = tr("note.save");
      syncArea(this.noteArea, item.note);
    }
  }
}

// ---------------------------------------------------------------- "niet opgenomen"
// Speech the server kept out of the list (state.advice.set_aside, facilitator and
// inbrenger only), with the reason; the facilitator puts a piece back with one click.
// Self-contained: its own words, its own element, one call from AdviceView.render.

const ASIDE_STRINGS = {
  nl: {
    title: "Niet opgenomen ({n})",
    hint: "Wat wel is uitgeschreven maar niet als advies in de lijst staat, met de reden. Zet het terug als het toch een advies is.",
    "hint.read": "Wat wel is uitgeschreven maar niet als advies in de lijst staat, met de reden. De begeleider kan het terugzetten.",
    restore: "Terugzetten in de lijst",
    restored: "teruggezet",
    heard_in: "in het {language}",
    "reason.silence": "waarschijnlijk stilte of ruis",
    "reason.low_confidence": "slecht verstaan",
    "reason.phrase_list": "bekende verzonnen zin (ondertiteling)",
    "reason.repetition": "herhaling",
    "reason.no_advice": "geen advies",
    "reason.other": "overig",
  },
  en: {
    title: "Not included ({n})",
    hint: "What was transcribed but is not in the list as advice, with the reason. Put it back if it is advice after all.",
    "hint.read": "What was transcribed but is not in the list as advice, with the reason. The facilitator can put it back.",
    restore: "Put back in the list",
    restored: "put back",
    heard_in: "in {language}",
    "reason.silence": "probably silence or noise",
    "reason.low_confidence": "poorly heard",
    "reason.phrase_list": "a known invented sentence (subtitles)",
    "reason.repetition": "repetition",
    "reason.no_advice": "no advice",
    "reason.other": "other",
  },
};

function trAside(key, vars = {}) {
  const table = ASIDE_STRINGS[lang()] || ASIDE_STRINGS.nl;
  const text = table[key] ?? ASIDE_STRINGS.nl[key] ?? key;
  return text.replace(/\{(\w+)\}/g, (_, name) => (name in vars ? String(vars[name]) : `{${name}}`));
}

function languageName(code) {
  try {
    const name = new Intl.DisplayNames([lang()], { type: "language" }).of(code);
    return lang() === "nl" ? name.toLowerCase().replace(/^./, (c) => c.toUpperCase()) : name;
  } catch {
    return code;
  }
}

class SetAsideSection {
  constructor(view) {
    this.view = view;
    this.summary = h("summary");
    this.hint = h("p", { class: "hint" });
    this.list = h("ul", { class: "advice-aside-list" });
    // Collapsed by default; a person who opens it keeps it open across states.
    this.el = h("details", { class: "advice-aside hidden", id: "advice-aside" }, this.summary, this.hint, this.list);
  }

  render(state) {
    const adv = state.advice || {};
    const pieces = adv.set_aside || [];
    this.el.classList.toggle("hidden", pieces.length === 0);
    this.summary.textContent = trAside("title", { n: pieces.length });
    this.hint.textContent = trAside(adv.can_edit ? "hint" : "hint.read");
    clear(this.list);
    for (const piece of pieces) {
      const reason = trAside(`reason.${piece.reason}`) === `reason.${piece.reason}` ? trAside("reason.other") : trAside(`reason.${piece.reason}`);
      const meta = [piece.speaker || tr("unknown"), reason];
      if (piece.language && state.room && piece.language !== state.room.language) {
        meta.push(trAside("heard_in", { language: languageName(piece.language) }));
      }
      const li = h("li", { class: "advice-aside-item", dataset: { id: piece.id, reason: piece.reason } },
        h("span", { class: "muted small", text: meta.join(" · ") }),
        h("p", { class: "advice-aside-text", text: piece.text }));
      if (adv.can_edit) {
        const button = h("button", { type: "button", class: "small-button", text: trAside("restore") });
        button.setAttribute("aria-label", `${trAside("restore")}: ${piece.text.slice(0, 60)}`);
        button.addEventListener("click", async () => {
          button.disabled = true;
          if (!(await this.view.call(`/aside/${encodeURIComponent(piece.id)}/restore`, "POST"))) button.disabled = false;
        });
        li.append(button);
      }
      this.list.append(li);
    }
  }
}

export class AdviceView {
  constructor(ctx, panel) {
    this.ctx = ctx;
    this.panel = panel;
    this.state = null;
    this.rows = new Map();
    this.heading = h("h2", { id: "advice-title" });
    this.hint = h("p", { class: "hint" });
    this.status = h("div", { class: "notice error hidden", role: "alert" });
    this.undoBox = h("div", { class: "notice advice-undo hidden", role: "status" });
    this.empty = h("p", { class: "muted advice-empty" });
    this.list = h("ol", { class: "advice-list", id: "advice-list", "aria-labelledby": "advice-title" });
    panel.setAttribute("aria-labelledby", "advice-title");
    panel.append(this.heading, this.hint, this.status, this.undoBox, this.empty, this.list);
    this.aside = new SetAsideSection(this);
    panel.append(this.aside.el);
    this.buildAdd();
    this.buildOverall();
    this.buildDownloads();
  }

  get roomId() {
    return (this.ctx.conn && this.ctx.conn.roomId) || (this.state && this.state.room.id);
  }

  /** A REST call under /api/rooms/<id>/advice; errors are shown in the panel. Resolves true on success. */
  async call(path, method, body, fullPath) {
    try {
      await api(fullPath ? `/api/rooms/${encodeURIComponent(this.roomId)}${fullPath}` : `/api/rooms/${encodeURIComponent(this.roomId)}/advice${path}`, { method, body });
      this.showError("");
      return true;
    } catch (err) {
      this.showError(err.message || String(err));
      return false;
    }
  }

  showError(message) {
    this.status.textContent = message;
    this.status.classList.toggle("hidden", !message);
  }

  async remove(item) {
    if (!item) return;
    if (!(await this.call(`/${encodeURIComponent(item.id)}`, "DELETE"))) return;
    // Deleting is one click; undoing it is one click too.
    const undo = h("button", { type: "button", class: "small-button" , text: tr("undo") });
    undo.addEventListener("click", async () => {
      if (await this.call(`/${encodeURIComponent(item.id)}/restore`, "POST")) this.undoBox.classList.add("hidden");
    });
    clear(this.undoBox).append(h("span", { text: `${tr("removed", { n: item.number ?? "" })} ` }), undo);
    this.undoBox.classList.remove("hidden");
  }

  async move(item, delta) {
    const items = this.state.advice.items;
    const index = items.findIndex((i) => i.id === item.id) + delta;
    if (index < 0 || index >= items.length) return;
    await this.call(`/${encodeURIComponent(item.id)}/move`, "POST", { index });
  }

  async mergeWithNext(item) {
    const items = this.state.advice.items;
    const next = items[items.findIndex((i) => i.id === item.id) + 1];
    if (next) await this.call("/merge", "POST", { first: item.id, second: next.id });
  }

  buildAdd() {
    this.addHeading = h("h3");
    this.addText = draftArea({ id: "advice-add-text", maxlength: 4000, rows: 2 });
    this.addTextLabel = h("label", { for: "advice-add-text" });
    this.addSpeakerLegend = h("legend", { class: "small" });
    this.addSpeakers = h("div", { class: "row advice-speakers", id: "advice-add-speakers" });
    this.addSpeaker = ""; // kept until another name is clicked
    this.addButton = h("button", { type: "submit", class: "primary" });
    this.addForm = h("form", { novalidate: true, class: "advice-add hidden" }, this.addHeading,
      this.addTextLabel, this.addText, h("fieldset", { class: "advice-speaker-group" }, this.addSpeakerLegend, this.addSpeakers),
      h("div", { class: "row" }, this.addButton));
    this.addForm.addEventListener("submit", (event) => {
      event.preventDefault();
      this.addNow();
    });
    // Enter adds (Shift+Enter for a new line): the next advice is one key away.
    this.addText.addEventListener("keydown", (event) => {
      if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
        event.preventDefault();
        this.addNow();
      }
    });
    // Right under the heading: the facilitator never scrolls to add.
    this.panel.insertBefore(this.addForm, this.status);
  }

  async addNow() {
    const body = { text: this.addText.value };
    if (!body.text.trim()) {
      this.addText.focus();
      return;
    }
    if (this.addSpeaker) body.participant_id = this.addSpeaker;
    // Clear only what was sent: the person may already be typing the next one.
    if (await this.call("", "POST", body) && this.addText.value === body.text) {
      this.addText.value = "";
      this.addText.dataset.dirty = "";
    }
    this.addText.focus();
  }

  /** One button per person; a click chooses them (and adds what is typed, credited to them). */
  renderSpeakerButtons(state) {
    const people = [...state.participants.filter((p) => p.role !== "inbrenger" && p.role !== "facilitator"),
      ...state.participants.filter((p) => p.role === "facilitator"), { id: "", name: tr("nobody") }];
    const key = people.map((p) => `${p.id}:${p.name}`).join("|");
    if (this.speakerKey !== key) {
      this.speakerKey = key;
      clear(this.addSpeakers);
      for (const p of people) {
        const button = h("button", { type: "button", class: "speaker-button", dataset: { pid: p.id }, text: p.name });
        button.addEventListener("click", () => {
          this.addSpeaker = p.id;
          this.paintSpeakers();
          if (this.addText.value.trim()) this.addNow();
          else this.addText.focus();
        });
        this.addSpeakers.append(button);
      }
    }
    if (this.addSpeaker && !state.participants.some((p) => p.id === this.addSpeaker)) this.addSpeaker = "";
    this.paintSpeakers();
  }

  paintSpeakers() {
    for (const button of this.addSpeakers.children) {
      button.setAttribute("aria-pressed", button.dataset.pid === this.addSpeaker ? "true" : "false");
    }
  }

  buildOverall() {
    this.overallLabel = h("label", { for: "advice-overall" });
    this.overallArea = draftArea({ id: "advice-overall", maxlength: 4000, rows: 3 });
    this.overallSave = h("button", { type: "submit" });
    this.overallStatus = h("span", { class: "muted small", role: "status" });
    this.overallForm = h("form", { novalidate: true, class: "advice-overall hidden" }, this.overallLabel, this.overallArea,
      h("div", { class: "row" }, this.overallSave, this.overallStatus));
    this.overallForm.addEventListener("submit", async (event) => {
      event.preventDefault();
      if (await this.call("/note", "PUT", { text: this.overallArea.value })) {
        this.overallArea.dataset.dirty = "";
        this.overallStatus.textContent = tr("saved");
      }
    });
    this.overallArea.addEventListener("input", () => { this.overallStatus.textContent = ""; });
    this.overallRead = h("div", { class: "advice-overall-read hidden" }, h("h3"), h("p"));
    this.panel.append(this.overallForm, this.overallRead);
  }

  buildDownloads() {
    this.downloadHeading = h("h3");
    this.htmlLink = h("a", { class: "button", target: "_blank", rel: "noopener", id: "advice-download-html" });
    this.mdLink = h("a", { class: "button", id: "advice-download-md" });
    this.deleteHint = h("p", { class: "hint" });
    this.deleteButton = h("button", { type: "button", class: "danger", id: "advice-delete-now" });
    this.deleteButton.addEventListener("click", async () => {
      if (!window.confirm(tr("delete.confirm"))) return;
      // On success the server closes every page of the room (code 4404); the room page shows that.
      if (await this.call("", "POST", { confirm: true }, "/delete-now")) this.deleteButton.disabled = true;
    });
    this.deleteBox = h("div", { class: "advice-delete hidden" }, this.deleteHint, this.deleteButton);
    this.downloads = h("div", { class: "advice-downloads hidden" }, this.downloadHeading, h("div", { class: "row" }, this.htmlLink, this.mdLink),
      this.deleteBox);
    this.panel.append(this.downloads);
  }

  render(state) {
    this.state = state;
    const adv = state.advice;
    const items = (adv && adv.items) || [];
    const kind = state.step && state.step.kind;
    const show = Boolean(adv) && (items.length > 0 || (adv.set_aside || []).length > 0 || ADVICE_KINDS.has(kind) || state.room.status === "ended");
    this.panel.classList.toggle("hidden", !show);
    if (!show) return;

    const role = state.you.role;
    // During the round the inbrenger only listens: a calm list, marks and notes come the step after.
    // The server decides when (marks_open) and refuses marks and notes during the round.
    const round = kind === "advice" && state.room.status === "running";
    const compact = adv.can_mark && adv.marks_open === false;
    const canMark = adv.can_mark && !compact;
    this.panel.classList.toggle("compact", compact);
    this.heading.textContent = tr("title");
    this.hint.textContent = compact ? tr("hint.inbrenger.round") : adv.can_edit && round ? tr("hint.facilitator.round")
      : tr(`hint.${adv.can_edit ? "facilitator" : adv.can_mark ? "inbrenger" : "deelnemer"}`);
    this.empty.textContent = tr(adv.can_edit ? "empty.edit" : "empty");
    this.empty.classList.toggle("hidden", items.length > 0);

    // Keyed rows: an item keeps its element (and any half-written note) across states.
    const seen = new Set();
    let before = this.list.firstChild;
    for (const item of items) {
      seen.add(item.id);
      let row = this.rows.get(item.id);
      if (!row) {
        row = new ItemRow(this, item.id);
        this.rows.set(item.id, row);
      }
      row.render(state, item, canMark);
      if (row.el !== before) this.list.insertBefore(row.el, before);
      else before = before.nextSibling;
    }
    for (const [id, row] of this.rows) {
      if (!seen.has(id)) { row.el.remove(); this.rows.delete(id); }
    }
    // A new advice comes into view by itself (the newest is last), without moving the page while someone types.
    const count = items.length;
    if (this.seenCount !== undefined && count > this.seenCount && items.length) {
      const newest = this.rows.get(items[items.length - 1].id);
      const typing = document.activeElement && /^(TEXTAREA|INPUT|SELECT)$/.test(document.activeElement.tagName);
      if (newest && !typing) newest.el.scrollIntoView({ block: "nearest", behavior: "smooth" });
      if (newest) {
        newest.el.classList.add("fresh");
        setTimeout(() => newest.el.classList.remove("fresh"), 2500);
      }
    }
    this.seenCount = count;

    this.aside.render(state);

    this.addForm.classList.toggle("hidden", !adv.can_edit);
    if (adv.can_edit) {
      this.addHeading.textContent = tr("add.title");
      this.addTextLabel.textContent = tr("add.text");
      this.addSpeakerLegend.textContent = tr("speaker");
      this.addButton.textContent = tr("add.button");
      this.renderSpeakerButtons(state);
    }

    this.overallForm.classList.toggle("hidden", !canMark);
    if (canMark) {
      this.overallLabel.textContent = tr("overall.title");
      this.overallSave.textContent = tr("save");
      syncArea(this.overallArea, adv.note);
    }
    const readNote = !adv.can_mark && Boolean(adv.note);
    this.overallRead.classList.toggle("hidden", !readNote);
    this.overallRead.querySelector("h3").textContent = tr("overall.readonly");
    this.overallRead.querySelector("p").textContent = readNote ? adv.note : "";

    this.downloads.classList.toggle("hidden", !adv.can_download);
    if (adv.can_download) {
      const base = `/api/rooms/${encodeURIComponent(this.roomId)}/advice/export`;
      const lng = encodeURIComponent(lang());
      this.downloadHeading.textContent = tr("download");
      this.htmlLink.textContent = tr("download.html");
      this.htmlLink.href = `${base}.html?lang=${lng}`;
      this.mdLink.textContent = tr("download.md");
      this.mdLink.href = `${base}.md?lang=${lng}`;
      this.mdLink.setAttribute("download", "");
      const ended = state.room.status === "ended";
      this.deleteBox.classList.toggle("hidden", !ended);
      this.deleteHint.textContent = tr("delete.hint");
      this.deleteButton.textContent = tr("delete.button");
    }
    this.panel.dataset.role = role;
  }
}
