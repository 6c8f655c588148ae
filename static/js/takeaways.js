// "Wat neem je mee": private by default, shared on request; the shared ones listed.
import { clear, h } from "./dom.js";
import { t } from "./i18n.js";

export class TakeawaysView {
  constructor(ctx, panel) {
    this.ctx = ctx;
    this.panel = panel;
    this.dirty = false;
    this.heading = h("h2");
    this.hint = h("p", { class: "hint" });
    this.text = h("textarea", { id: "takeaway-text", maxlength: 4000, rows: 3 });
    this.share = h("input", { type: "checkbox", id: "takeaway-share" });
    this.shareLabel = h("span");
    this.save = h("button", { type: "submit", class: "primary", id: "takeaway-save" });
    this.status = h("span", { class: "muted small", role: "status" });
    this.sharedHeading = h("h3");
    this.sharedList = h("ul", { id: "takeaways-shared" });
    for (const field of [this.text, this.share]) field.addEventListener("input", () => { this.dirty = true; this.status.textContent = ""; });
    const form = h("form", { novalidate: true }, this.heading, this.hint, this.text,
      h("label", { class: "inline" }, this.share, this.shareLabel),
      h("div", { class: "row" }, this.save, this.status));
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      if (await ctx.run("takeaway.save", { text: this.text.value, shared: this.share.checked })) {
        this.dirty = false;
        this.status.textContent = t("takeaway.saved");
      }
    });
    panel.append(form, this.sharedHeading, this.sharedList);
  }

  render(state) {
    // Asked for in the evaluation; kept on screen after the end to read and save.
    const show = state.room.status === "ended" || Boolean(state.step && state.step.kind === "evaluation");
    this.panel.classList.toggle("hidden", !show);
    if (!show) return;
    this.heading.textContent = t("takeaway.title");
    this.text.setAttribute("aria-label", t("takeaway.title")); // a screen reader names the field by its question
    this.hint.textContent = t("takeaway.hint");
    this.shareLabel.textContent = t("takeaway.share");
    this.save.textContent = t("takeaway.save");
    const mine = state.takeaways.mine;
    if (!this.dirty && !this.panel.contains(document.activeElement)) {
      this.text.value = mine ? mine.text : "";
      this.share.checked = Boolean(mine && mine.shared);
    }
    const shared = state.takeaways.shared || [];
    this.sharedHeading.textContent = t("takeaway.shared");
    this.sharedHeading.classList.toggle("hidden", !shared.length);
    clear(this.sharedList);
    for (const item of shared) this.sharedList.append(h("li", {}, h("strong", { text: `${item.name}: ` }), item.text));
  }
}
