// The facilitator's controls. Built once; every snapshot only updates labels and states.
// Two parts: the session controls stay at the top of the side column (never scrolled
// away), the people and the less frequent settings live in a panel below the step.
import { api, clear, copyText, h } from "./dom.js";
import { icon } from "./icons.js";
import { pick, t } from "./i18n.js";

export function inviteKey(roomId) {
  return `companion.invite.${roomId}`;
}

export class ConsoleView {
  constructor(ctx, panel, morePanel) {
    this.ctx = ctx;
    this.panel = panel;
    this.more = morePanel;
    const b = (id, onclick, cls = "") => h("button", { type: "button", id, class: cls, onclick });
    this.title = h("h2", { id: "console-title", class: "offscreen" });
    this.welcome = h("p", { class: "console-welcome", id: "console-welcome", role: "status" });
    this.start = b("console-start", () => ctx.run("session.start"), "primary");
    this.prev = b("console-prev", () => ctx.run("step.previous"));
    this.next = b("console-next", () => this.goNext(), "primary");
    this.gotoSelect = h("select", { id: "console-goto" });
    // The step the facilitator picked, kept through state updates until the room moves to another step:
    // a snapshot that arrives between picking and clicking "Ga" must not turn the pick back.
    this.gotoPick = null;
    this.gotoSelect.addEventListener("change", () => { this.gotoPick = { value: this.gotoSelect.value, from: this.stepIndex }; });
    this.goto = b("console-goto-button", () => ctx.run("step.goto", { index: Number(this.gotoSelect.value) }));
    this.pause = b("console-pause", () => ctx.run(this.running ? "timer.pause" : "timer.resume"));
    this.add1 = b("console-add1", () => ctx.run("timer.add", { minutes: 1 }), "small-button");
    this.add5 = b("console-add5", () => ctx.run("timer.add", { minutes: 5 }), "small-button");
    this.voteClose = b("console-vote-close", () => ctx.run("vote.close"), "primary");
    this.voteReopen = b("console-vote-reopen", () => ctx.run("vote.reopen"));
    this.voteInfo = h("span", { class: "small", id: "console-vote-info" });
    this.warning = h("div", { class: "notice warn hidden", id: "console-warning", role: "alert" });
    this.end = b("console-end", () => {
      if (window.confirm(t("console.end.confirm"))) ctx.run("session.end");
    }, "danger small-button");
    this.running = false;
    this.confirmNext = null;
    this.voteRow = h("div", { class: "row" }, this.voteClose, this.voteReopen, this.voteInfo);
    this.stepRow = h("div", { class: "row" }, this.prev, this.next, this.pause, this.add1, this.add5);
    this.gotoRow = h("div", { class: "row goto-row" }, this.gotoSelect, this.goto, this.end);
    this.startRow = h("div", { class: "row" }, this.start);
    panel.append(this.title, this.welcome, this.startRow, this.stepRow, this.warning, this.voteRow, this.gotoRow);

    // Below the step: people (with hands in order), the inbrenger, the invite link.
    this.moreTitle = h("h2");
    this.hands = h("ol", { class: "hands", id: "console-hands" });
    this.handsTitle = h("h3", { class: "small" });
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
    this.inbrengerRow = h("div", { class: "row nowrap" }, this.inbrengerSelect, this.inbrengerSet);
    // Who is in: a renewed personal link to hand over, the lock, a new invite link.
    this.openMore = null; // the person whose menu is open, kept across snapshots
    this.renewed = null; // {pid, name, url}: the last personal link made here, until closed
    this.linkBox = h("div", { class: "notice link-renewed hidden", id: "console-link-renewed", role: "status" });
    this.lockText = h("p", { class: "small", id: "console-lock-text" });
    this.lock = b("console-lock", () => ctx.run("room.lock", { locked: !this.locked }), "small-button");
    this.inviteRenew = b("console-invite-renew", () => this.renewInvite(), "small-button");
    this.lockRow = h("div", { class: "lock-row" }, this.lockText, this.lock);
    morePanel.append(this.moreTitle, this.handsTitle, this.hands, this.people, this.linkBox, this.lockRow,
      this.inbrengerLabel, this.inbrengerRow,
      this.inviteLabel, h("div", { class: "link-box" }, this.invite, this.inviteCopy), this.inviteNone,
      h("div", { class: "row" }, this.inviteRenew));
  }

  /** A new invite link: the one in circulation stops working (it leaked, or the group is complete). */
  async renewInvite() {
    if (!this.state || !window.confirm(t("console.invite.renew.confirm"))) return;
    try {
      const data = await api(`/api/rooms/${encodeURIComponent(this.state.room.id)}/invite`, { method: "POST" });
      try { localStorage.setItem(inviteKey(this.state.room.id), data.invite_url); } catch { /* shown below anyway */ }
      this.freshInvite = data.invite_url;
      this.ctx.toast(t("console.invite.renewed"));
      this.render(this.state);
    } catch (err) {
      this.ctx.toast(err.message);
    }
  }

  /** A new personal link for one person: their old link and open pages stop; the facilitator hands the new one over. */
  async renewLink(p) {
    if (!window.confirm(t("console.link.confirm", { name: p.name }))) return;
    try {
      const data = await api(`/api/rooms/${encodeURIComponent(this.state.room.id)}/participants/${encodeURIComponent(p.id)}/link`, { method: "POST" });
      this.renewed = { pid: p.id, name: p.name, url: data.personal_url };
      this.openMore = null;
      this.render(this.state);
    } catch (err) {
      this.ctx.toast(err.message);
    }
  }

  remove(p) {
    if (!window.confirm(t("console.remove.confirm", { name: p.name }))) return;
    this.openMore = null;
    this.ctx.run("participant.remove", { participant_id: p.id });
  }

  /** Per person, the rare and weighty actions, folded away behind one button: [the button, the actions or null]. */
  personMenu(p, running) {
    const open = this.openMore === p.id;
    const actionsId = `console-actions-${p.id}`;
    const toggle = h("button", { type: "button", class: "small-button more-toggle", "aria-expanded": open ? "true" : "false",
      "aria-controls": actionsId, "aria-label": t("console.more", { name: p.name }), title: t("console.more", { name: p.name }),
      onclick: () => { this.openMore = open ? null : p.id; this.render(this.state); } },
    h("span", { "aria-hidden": "true", text: "⋯" }));
    if (!open) return [toggle, null];
    // The inbrenger stays while the session runs: the server refuses, so the button says why first.
    const isInbrenger = running && p.role === "inbrenger";
    const actions = h("div", { class: "person-actions", id: actionsId },
      h("button", { type: "button", class: "small-button link-renew", text: t("console.link.renew"),
        "aria-label": `${t("console.link.renew")}: ${p.name}`, onclick: () => this.renewLink(p) }),
      h("button", { type: "button", class: "small-button danger person-remove", text: t("console.remove"),
        "aria-label": `${t("console.remove")}: ${p.name}`, disabled: isInbrenger,
        title: isInbrenger ? t("console.remove.inbrenger") : "", onclick: () => this.remove(p) }));
    return [toggle, actions];
  }

  renderWhoIsIn(state, members) {
    const running = state.room.status === "running";
    this.locked = Boolean(state.room.locked);
    // Locking is for a session under way; unlocking is always possible.
    this.lockRow.classList.toggle("hidden", !running && !this.locked);
    this.lockRow.classList.toggle("is-locked", this.locked);
    this.lockText.textContent = this.locked ? t("console.locked") : t("console.unlocked");
    this.lock.textContent = this.locked ? t("console.unlock") : t("console.lock");
    this.lock.setAttribute("aria-pressed", this.locked ? "true" : "false");
    this.inviteRenew.textContent = t("console.invite.renew");

    const r = this.renewed;
    clear(this.linkBox).classList.toggle("hidden", !r);
    if (!r) return;
    const who = members.find((p) => p.id === r.pid);
    const name = who ? who.name : r.name;
    const input = h("input", { id: "console-link-url", readonly: true, "aria-label": t("console.link.new", { name }) });
    input.value = r.url;
    this.linkBox.append(
      h("p", { class: "small", text: t("console.link.new", { name }) }),
      h("div", { class: "link-box" }, input,
        h("button", { type: "button", text: t("copy"), onclick: (e) => copyText(r.url, e.currentTarget, t("copied")) })),
      h("p", { class: "hint", text: t("console.link.hint", { name }) }),
      h("button", { type: "button", class: "small-button", id: "console-link-done", text: t("console.link.done"),
        onclick: () => { this.renewed = null; this.render(this.state); } }));
  }

  /** "Volgende stap", with one warning first when cases are missing in a vote. */
  goNext() {
    const s = this.state;
    const choosing = s && s.step && s.step.kind === "case_round" && !s.vote.closed;
    if (choosing && this.confirmNext !== s.step.index) {
      const missing = this.missingCases(s);
      if (missing.length || !s.cases.length) {
        this.confirmNext = s.step.index;
        this.warning.textContent = s.cases.length
          ? t("console.warn.missing", { names: missing.join(", ") })
          : t("console.warn.nocases");
        this.warning.classList.remove("hidden");
        return;
      }
    }
    this.warning.classList.add("hidden");
    this.ctx.run("step.next");
  }

  missingCases(s) {
    const authors = new Set(s.cases.map((c) => c.author_id));
    return s.participants.filter((p) => p.role !== "facilitator" && !authors.has(p.id)).map((p) => p.name);
  }

  render(state) {
    this.state = state;
    const isFac = state.you.role === "facilitator";
    this.panel.classList.toggle("hidden", !isFac || state.room.status === "ended");
    this.more.classList.toggle("hidden", !isFac || state.room.status === "ended");
    if (!isFac) return;
    const status = state.room.status;
    const running = status === "running";
    const steps = state.room.method.steps;
    const index = state.step ? state.step.index : -1;
    this.running = Boolean(state.timer && state.timer.running);
    if (this.confirmNext !== null && this.confirmNext !== index) {
      this.confirmNext = null;
      this.warning.classList.add("hidden");
    }

    this.title.textContent = t("console.title");
    const members = state.participants.filter((p) => p.role !== "facilitator");
    const present = members.filter((p) => p.online).length;
    this.welcome.textContent = t("console.welcome", { n: present, total: state.room.capacity });
    this.welcome.classList.toggle("hidden", status !== "waiting");
    this.startRow.classList.toggle("hidden", status !== "waiting");
    this.start.textContent = t("console.start");
    this.prev.textContent = t("console.prev.short");
    this.prev.setAttribute("aria-label", t("console.prev"));
    this.next.textContent = t("console.next");
    this.prev.disabled = !running || index <= 0;
    this.next.disabled = !running || index >= steps.length - 1;
    for (const row of [this.stepRow, this.gotoRow]) row.classList.toggle("hidden", !running);
    this.goto.textContent = t("console.go");
    this.gotoSelect.setAttribute("aria-label", t("console.goto"));
    // A list someone has open is left alone; the next snapshot refreshes it.
    this.stepIndex = index;
    if (this.gotoPick && this.gotoPick.from !== index) this.gotoPick = null;
    if (document.activeElement !== this.gotoSelect) {
      clear(this.gotoSelect);
      steps.forEach((s, i) => this.gotoSelect.append(h("option", { value: i, text: `${t("console.goto")} ${i + 1}: ${pick(s.title)}` })));
      this.gotoSelect.value = this.gotoPick ? this.gotoPick.value : String(Math.min(steps.length - 1, index + 1 > 0 ? index + 1 : 0));
    }
    this.pause.textContent = this.running ? t("console.pause") : t("console.resume");
    this.pause.classList.toggle("primary", !this.running);
    this.add1.textContent = t("console.add1");
    this.add5.textContent = t("console.add5");
    this.add1.title = t("console.add1.label");
    this.add5.title = t("console.add5.label");

    const hasVote = running && state.step && state.step.has_vote;
    this.voteRow.classList.toggle("hidden", !hasVote);
    this.voteClose.textContent = t("console.vote.close");
    this.voteReopen.textContent = t("console.vote.reopen");
    this.voteClose.classList.toggle("hidden", state.vote.closed);
    this.voteReopen.classList.toggle("hidden", !state.vote.closed);
    const voters = state.participants.length;
    this.voteInfo.textContent = hasVote ? t("cases.voters.of", { n: state.vote.voters, total: voters }) : "";
    this.end.textContent = t("console.end");

    this.moreTitle.textContent = t("console.people");
    const hands = state.participants.filter((p) => p.hand).sort((a, b) => a.hand - b.hand);
    this.handsTitle.textContent = t("hands.title");
    this.handsTitle.classList.toggle("hidden", !hands.length);
    clear(this.hands);
    for (const p of hands) {
      this.hands.append(h("li", { dataset: { pid: p.id } }, icon("hand", { size: 14 }), ` ${p.name} `,
        h("button", { type: "button", class: "small-button hand-lower", onclick: () => this.ctx.run("hand.lower", { participant_id: p.id }), text: t("hands.lower") })));
    }

    this.inbrengerLabel.textContent = t("console.inbrenger");
    this.inbrengerSet.textContent = t("console.inbrenger.set");
    if (document.activeElement !== this.inbrengerSelect) {
      clear(this.inbrengerSelect).append(h("option", { value: "", text: t("console.inbrenger.none") }));
      for (const p of members) this.inbrengerSelect.append(h("option", { value: p.id, text: p.name }));
      this.inbrengerSelect.value = state.inbrenger ? state.inbrenger.id : "";
    }

    const status_ = state.media_status || {};
    // The list is drawn anew with every snapshot: a keyboard user keeps their place in it.
    const focused = document.activeElement;
    const focusRow = focused && this.people.contains(focused) ? focused.closest("li") : null;
    const focusKey = focusRow && ["mute-button", "camera-button", "more-toggle", "link-renew", "person-remove"].find((c) => focused.classList.contains(c));
    const focusPid = focusRow && focusRow.dataset.pid;
    clear(this.people);
    for (const p of members) {
      const byFac = p.mic_muted_by === "facilitator";
      const bySelf = p.mic_muted_by === "self";
      const ms = status_[p.id];
      const note = !p.online ? t("media.status.offline") : ms && ms.label ? t(`media.status.${ms.label}`) : "";
      const menu = this.personMenu(p, running);
      const row = h("li", { dataset: { pid: p.id }, class: note ? "has-problem" : "" },
        h("span", { class: "person" },
          h("span", { class: "person-name", text: p.name }),
          p.role === "inbrenger" ? h("span", { class: "badge role-inbrenger", text: t("role.inbrenger") }) : null,
          note ? h("span", { class: "media-problem small", text: note }) : null),
        h("span", { class: "row nowrap" },
          // Someone who closed their own microphone needs no mute from the facilitator.
          bySelf
            ? h("span", { class: "small muted self-muted", title: t("room.muted.self") }, icon("mic-off", { size: 16, label: t("room.muted.self") }))
            : h("button", { type: "button", class: "small-button mute-button", "aria-pressed": byFac ? "true" : "false",
              "aria-label": `${byFac ? t("console.unmute") : t("console.mute")}: ${p.name}`,
              onclick: () => this.ctx.run("participant.mute", { participant_id: p.id, muted: !byFac }) },
            icon(byFac ? "mic-off" : "mic", { size: 16 }), h("span", { class: "ctl-text", text: byFac ? t("console.unmute") : t("console.mute") })),
          h("button", { type: "button", class: "small-button camera-button", "aria-pressed": p.camera_off ? "true" : "false",
            "aria-label": `${p.camera_off ? t("console.camera.on") : t("console.camera.off")}: ${p.name}`,
            onclick: () => this.ctx.run("participant.camera", { participant_id: p.id, off: !p.camera_off }) },
          icon(p.camera_off ? "cam-off" : "cam", { size: 16 })),
          menu[0]), menu[1]);
      this.people.append(row);
      if (focusKey && focusPid === p.id) {
        const again = row.querySelector(`.${focusKey}`);
        if (again) again.focus();
      }
    }
    this.renderWhoIsIn(state, members);

    let invite = null;
    try { invite = localStorage.getItem(inviteKey(state.room.id)); } catch { invite = null; }
    invite = invite || this.freshInvite || null;
    this.inviteLabel.textContent = t("console.invite");
    this.inviteCopy.textContent = t("copy");
    this.invite.value = invite || "";
    this.invite.parentElement.classList.toggle("hidden", !invite);
    this.inviteNone.textContent = t("console.invite.none");
    this.inviteNone.classList.toggle("hidden", Boolean(invite));
  }
}
