// Case round and vote, the session's question, the golden questions and reformulating.
import { clear, h, paragraphs } from "./dom.js";
import { lang, pick, t } from "./i18n.js";

const VOTE_KINDS = new Set(["case_round", "vote"]);

/** A form whose fields the snapshots may refill only while the person is not editing them. */
class CaseForm {
  constructor(ctx) {
    this.ctx = ctx;
    this.dirty = false;
    this.title = h("input", { id: "case-title", maxlength: 120, autocomplete: "off" });
    this.question = h("textarea", { id: "case-question", maxlength: 1000, rows: 4 });
    for (const field of [this.title, this.question]) field.addEventListener("input", () => { this.dirty = true; });
    this.submit = h("button", { type: "submit", class: "primary", id: "case-submit" });
    this.withdraw = h("button", { type: "button", class: "danger", id: "case-withdraw" });
    this.heading = h("h2");
    this.labelTitle = h("label", { for: "case-title" });
    this.labelQuestion = h("label", { for: "case-question" });
    this.el = h("form", { id: "case-form", novalidate: true },
      this.heading, this.labelTitle, this.title, this.labelQuestion, this.question,
      h("div", { class: "row", style: "margin-top:.6em" }, this.submit, this.withdraw));
    this.el.addEventListener("submit", async (event) => {
      event.preventDefault();
      const ok = await ctx.run("case.submit", { title: this.title.value, question: this.question.value });
      if (ok) this.dirty = false;
    });
    this.withdraw.addEventListener("click", async () => {
      // Empty the form at once, so whatever is typed next is never wiped by a late answer.
      const kept = [this.title.value, this.question.value];
      this.title.value = "";
      this.question.value = "";
      this.dirty = false;
      if (!(await ctx.run("case.withdraw")) && !this.dirty) [this.title.value, this.question.value] = kept;
    });
  }

  render(mine) {
    this.heading.textContent = t("cases.mine");
    this.labelTitle.textContent = t("cases.case.title");
    this.labelQuestion.textContent = t("cases.case.question");
    this.submit.textContent = mine ? t("cases.update") : t("cases.submit");
    this.withdraw.textContent = t("cases.withdraw");
    this.withdraw.classList.toggle("hidden", !mine);
    const editing = this.dirty || this.el.contains(document.activeElement);
    if (!editing) {
      this.title.value = mine ? mine.title : "";
      this.question.value = mine ? mine.question : "";
    }
  }
}

class ReformulateForm {
  constructor(ctx) {
    this.dirty = false;
    this.heading = h("h2");
    this.text = h("textarea", { id: "reformulate-text", maxlength: 1000, rows: 4 });
    this.text.addEventListener("input", () => { this.dirty = true; });
    this.save = h("button", { type: "submit", class: "primary", id: "reformulate-save" });
    this.el = h("form", { novalidate: true }, this.heading, this.text, h("p", { style: "margin-top:.6em" }, this.save));
    this.el.addEventListener("submit", async (event) => {
      event.preventDefault();
      if (await ctx.run("question.reformulate", { text: this.text.value })) this.dirty = false;
    });
  }

  render(state) {
    // Nothing typed yet (appointed without a case): ask for the question, not for a new wording of it.
    const none = !state.question.original && !state.question.reformulated;
    this.heading.textContent = t(none ? "question.write" : "question.reformulate");
    this.save.textContent = t("question.reformulate.save");
    if (!this.dirty && document.activeElement !== this.text) {
      this.text.value = state.question.reformulated || state.question.original || "";
    }
  }
}

export class CasesView {
  constructor(ctx, panels) {
    this.ctx = ctx;
    this.panels = panels; // {cases, question, golden, reformulate}
    this.form = new CaseForm(ctx);
    this.reformulate = new ReformulateForm(ctx);
    this.list = h("ul", { class: "case-list", id: "case-list" });
    this.info = h("div");
    this.heading = h("h2");
  }

  render(state) {
    this.renderCases(state);
    this.renderQuestion(state);
    this.renderGolden(state);
    this.renderReformulate(state);
  }

  renderCases(state) {
    const panel = this.panels.cases;
    const step = state.step;
    const show = state.room.status === "running" && step && (VOTE_KINDS.has(step.kind) || step.has_vote);
    panel.classList.toggle("hidden", !show);
    if (!show) return;
    const me = state.you;
    const isFac = me.role === "facilitator";
    const mine = state.cases.find((c) => c.author_id === me.id) || null;
    if (!panel.contains(this.heading)) panel.append(this.form.el, this.heading, this.info, this.list);

    const canWrite = step.kind === "case_round" && !isFac && !state.vote.closed;
    this.form.el.classList.toggle("hidden", !canWrite);
    if (canWrite) this.form.render(mine);

    this.heading.textContent = t("cases.title");
    clear(this.info);
    if (isFac && step.kind === "case_round") this.info.append(h("p", { class: "muted", text: t("cases.facilitator.note") }));
    if (state.vote.open) this.info.append(h("p", { class: "muted", text: t("cases.vote.hint") }));
    if (state.vote.closed && !state.vote.tie.length) this.info.append(h("p", { class: "muted", text: t("cases.vote.closed") }));
    if (step.has_vote && isFac) this.info.append(h("p", { class: "small", text: t("cases.voters", { n: state.vote.voters }) }));
    const tie = new Set(state.vote.tie || []);
    if (tie.size) this.info.append(h("p", { class: "notice warn", text: isFac ? t("cases.tie") : t("cases.tie.wait") }));

    clear(this.list);
    if (!state.cases.length) this.list.append(h("li", { class: "muted", text: t("cases.none") }));
    for (const c of state.cases) {
      const myVote = state.vote.my_vote === c.id;
      const meta = h("div", { class: "case-meta" }, h("span", { text: t("cases.by", { name: c.author }) }));
      if (c.votes !== null && c.votes !== undefined) {
        meta.append(h("span", { class: "badge vote-count", text: c.votes === 1 ? t("cases.votes.one") : t("cases.votes", { n: c.votes }) }));
      }
      if (c.chosen) meta.append(h("span", { class: "badge role-inbrenger", text: t("cases.chosen") }));
      if (myVote) meta.append(h("span", { class: "badge", text: t("cases.voted") }));
      if (state.vote.open && !myVote) {
        meta.append(h("button", { type: "button", class: "vote-button", onclick: () => this.ctx.run("vote.cast", { case_id: c.id }), text: t("cases.vote") }));
      }
      if (isFac && tie.has(c.id)) {
        meta.append(h("button", { type: "button", class: "primary decide-button", onclick: () => this.ctx.run("vote.decide", { case_id: c.id }), text: t("cases.choose") }));
      }
      this.list.append(h("li", { class: `case${c.chosen ? " chosen" : ""}${myVote ? " my-vote" : ""}`, dataset: { caseId: c.id } },
        h("div", { class: "case-title", text: c.title }),
        h("div", { class: "case-q", text: c.question }),
        meta));
    }
  }

  renderQuestion(state) {
    const panel = this.panels.question;
    const q = state.question;
    // An inbrenger appointed without a case may type the question later (reformulate): then that is the question.
    const show = Boolean(q.original || q.reformulated) && state.step && !(state.step.kind === "case_round" && !state.vote.closed);
    panel.classList.toggle("hidden", !show);
    if (!show) return;
    clear(panel).append(h("h2", { text: t("question.title") }));
    if (state.inbrenger) panel.append(h("p", { class: "muted", text: t("question.inbrenger", { name: state.inbrenger.name }) }));
    const box = h("div", { class: "question-box" });
    if (q.reformulated && q.original) {
      box.append(h("div", { class: "small muted", text: t("question.reformulated") }), h("p", { class: "q", id: "question-reformulated", text: q.reformulated }));
      box.append(h("div", { class: "small muted", text: t("question.original") }), h("p", { class: "q muted", text: q.original }));
    } else {
      box.append(h("p", { class: "q", id: q.original ? "question-original" : "question-reformulated", text: q.original || q.reformulated }));
    }
    panel.append(box);
  }

  renderGolden(state) {
    const panel = this.panels.golden;
    const gq = state.golden_questions && (state.golden_questions[lang()] || state.golden_questions.nl);
    panel.classList.toggle("hidden", !gq);
    if (!gq) return;
    clear(panel).append(h("h2", { text: t("golden.title") }));
    if (gq.reminder) panel.append(...paragraphs(gq.reminder));
    panel.append(h("ul", {}, (gq.questions || []).map((q) => h("li", { text: q }))));
  }

  renderReformulate(state) {
    const panel = this.panels.reformulate;
    // The server takes a new wording in the explanation and in the reformulate step; the field is there in both.
    const show = state.you.role === "inbrenger" && state.step && ["reformulate", "explanation"].includes(state.step.kind)
      && state.room.status === "running";
    panel.classList.toggle("hidden", !show);
    if (!show) return;
    if (!panel.contains(this.reformulate.el)) clear(panel).append(this.reformulate.el);
    this.reformulate.render(state);
  }
}
