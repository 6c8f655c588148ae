// The facilitator's controls. Built once; every snapshot only updates labels and states.
import { clear, copyText, h } from "./dom.js";
import { pick, t } from "./i18n.js";

export function inviteKey(roomId) {
  return `companion.invite.${roomId}`;
}

export class ConsoleView {
  constructor(ctx, panel) {
    this.ctx = ctx;
    this.panel = panel;
    const b = (id, onclick, cls = "") => h("button", { type: "button", id, class: cls, onclick });
    this.title = h("h2", { id: "console-title" });
    this.start = b("console-start", () => ctx.run("session.start"), "primary");
    this.prev = b("console-prev", () => ctx.run("step.previous"));
    this.next = b("console-next", () => ctx.run("step.next"), "primary");
    this.gotoSelect = h("select", { id: "console-goto", "aria-label": "step" });
    this.goto = b("console-goto-button", () => ctx.run("step.goto", { index: Number(this.gotoSelect.value) }));
    this.pause = b("console-pause", () => ctx.run(this.running ? "timer.pause" : "timer.resume"));
    this.add1 = b("console-add1", () => ctx.run("timer.add", { minutes: 1 }));
    this.add5 = b("console-add5", () => ctx.run("timer.add", { minutes: 5 }));
    this.voteClose = b("console-vote-close", () => ctx.run("vote.close"), "primary");
    this.voteReopen = b("console-vote-reopen", () => ctx.run("vote.reopen"));
    this.inbrengerLabel = h("label", { for: "console-inbrenger" });
    this.inbrengerSelect = h("select", { id: "console-inbrenger" });
    this.inbrengerSet = b("console-inbrenger-set", () => {
      if (this.inbrengerSelect.value) ctx.run("inbrenger.set", { participant_id: this.inbrengerSelect.value });
    });
    this.people = h("ul", { class: "people people-controls", id: "console-people" });
    this.inviteLabel = h("label", { for: "console-invite" });
    this.invite = h("input", { id: "console-invite", readonly: true });
    this.inviteCopy = b("console-invite-copy", (e) => copyText(this.invite.value, e.currentTarget, t("copied")));
    this.inviteNone = h("p", { class: "hint" });
    this.end = b("console-end", () => {
      if (window.confirm(t("console.end.confirm"))) ctx.run("session.end");
    }, "danger");
    this.running = false;
    this.voteRow = h("div", { class: "row" }, this.voteClose, this.voteReopen);
    this.stepRow = h("div", { class: "row" }, this.prev, this.next);
    this.gotoRow = h("div", { class: "row" }, this.gotoSelect, this.goto);
    this.timerRow = h("div", { class: "row" }, this.pause, this.add1, this.add5);
    panel.append(this.title,
      h("div", { class: "row" }, this.start), this.stepRow, this.gotoRow, this.timerRow, this.voteRow,
      this.inbrengerLabel, h("div", { class: "row" }, this.inbrengerSelect, this.inbrengerSet),
      this.people,
      this.inviteLabel, h("div", { class: "link-box" }, this.invite, this.inviteCopy), this.inviteNone,
      h("div", { class: "row", style: "margin-top:1em" }, this.end));
  }

  render(state) {
    const isFac = state.you.role === "facilitator";
    this.panel.classList.toggle("hidden", !isFac);
    if (!isFac) return;
    const status = state.room.status;
    const running = status === "running";
    const steps = state.room.method.steps;
    const index = state.step ? state.step.index : -1;
    this.running = Boolean(state.timer && state.timer.running);

    this.title.textContent = t("console.title");
    this.start.textContent = t("console.start");
    this.start.classList.toggle("hidden", status !== "waiting");
    this.prev.textContent = t("console.prev");
    this.next.textContent = t("console.next");
    this.prev.disabled = !running || index <= 0;
    this.next.disabled = !running || index >= steps.length - 1;
    for (const row of [this.stepRow, this.gotoRow, this.timerRow]) row.classList.toggle("hidden", !running);
    this.goto.textContent = t("console.go");
    // A list someone has open is left alone; the next snapshot refreshes it.
    if (document.activeElement !== this.gotoSelect) {
      clear(this.gotoSelect);
      steps.forEach((s, i) => this.gotoSelect.append(h("option", { value: i, text: `${t("console.goto")} ${i + 1}: ${pick(s.title)}` })));
      this.gotoSelect.value = String(Math.min(steps.length - 1, index + 1 > 0 ? index + 1 : 0));
    }
    this.pause.textContent = this.running ? t("console.pause") : t("console.resume");
    this.add1.textContent = t("console.add1");
    this.add5.textContent = t("console.add5");

    const hasVote = running && state.step && state.step.has_vote;
    this.voteRow.classList.toggle("hidden", !hasVote);
    this.voteClose.textContent = t("console.vote.close");
    this.voteReopen.textContent = t("console.vote.reopen");
    this.voteClose.classList.toggle("hidden", state.vote.closed);
    this.voteReopen.classList.toggle("hidden", !state.vote.closed);

    this.inbrengerLabel.textContent = t("console.inbrenger");
    this.inbrengerSet.textContent = t("console.inbrenger.set");
    const members = state.participants.filter((p) => p.role !== "facilitator");
    if (document.activeElement !== this.inbrengerSelect) {
      clear(this.inbrengerSelect).append(h("option", { value: "", text: t("console.inbrenger.none") }));
      for (const p of members) this.inbrengerSelect.append(h("option", { value: p.id, text: p.name }));
      this.inbrengerSelect.value = state.inbrenger ? state.inbrenger.id : "";
    }

    clear(this.people);
    for (const p of members) {
      const muted = p.mic_muted_by === "facilitator";
      this.people.append(h("li", { dataset: { pid: p.id } },
        h("span", { text: p.name }),
        h("span", { class: "row" },
          h("button", { type: "button", class: "small mute-button", "aria-pressed": muted ? "true" : "false",
            onclick: () => this.ctx.run("participant.mute", { participant_id: p.id, muted: !muted }),
            text: muted ? t("console.unmute") : t("console.mute") }),
          h("button", { type: "button", class: "small camera-button", "aria-pressed": p.camera_off ? "true" : "false",
            onclick: () => this.ctx.run("participant.camera", { participant_id: p.id, off: !p.camera_off }),
            text: p.camera_off ? t("console.camera.on") : t("console.camera.off") }))));
    }

    let invite = null;
    try { invite = localStorage.getItem(inviteKey(state.room.id)); } catch { invite = null; }
    this.inviteLabel.textContent = t("console.invite");
    this.inviteCopy.textContent = t("copy");
    this.invite.value = invite || "";
    this.invite.parentElement.classList.toggle("hidden", !invite);
    this.inviteNone.textContent = t("console.invite.none");
    this.inviteNone.classList.toggle("hidden", Boolean(invite));
    this.end.textContent = t("console.end");
    this.end.classList.toggle("hidden", status === "ended");
  }
}
