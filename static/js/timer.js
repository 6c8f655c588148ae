// The step timer: the server gives elapsed seconds at a moment; the page counts on from there.
import { t } from "./i18n.js";

export function formatSeconds(total) {
  const s = Math.max(0, Math.floor(total));
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const sec = String(s % 60).padStart(2, "0");
  return h ? `${h}:${String(m).padStart(2, "0")}:${sec}` : `${m}:${sec}`;
}

export class StepTimer {
  /** els: {timer, message, extra: [elements that mirror the clock]}; isFacilitator() decides the overtime wording. */
  constructor(els, isFacilitator) {
    this.els = els;
    this.isFacilitator = isFacilitator;
    this.timer = null;
    this.receivedAt = 0;
    this.handle = setInterval(() => this.paint(), 250);
  }

  update(state) {
    // The same snapshot drawn again (a language switch) keeps counting from when it arrived:
    // the clock must not jump back to the last server update.
    if (state !== this.lastState) {
      this.lastState = state;
      this.timer = state.room.status === "running" && state.step ? state.timer : null;
      this.receivedAt = performance.now();
    }
    this.paint();
  }

  elapsed() {
    if (!this.timer) return 0;
    const extra = this.timer.running ? (performance.now() - this.receivedAt) / 1000 : 0;
    return this.timer.elapsed + extra;
  }

  paint() {
    const { timer: el, message } = this.els;
    if (!this.timer) {
      el.textContent = "";
      el.className = "timer";
      message.classList.add("hidden");
      for (const other of this.els.extra || []) other.textContent = "";
      return;
    }
    const left = this.timer.planned - this.elapsed();
    const over = left < 0 || this.timer.overtime;
    const clock = over ? `+${formatSeconds(-left)}` : formatSeconds(left);
    el.textContent = "";
    el.append(clock);
    const note = document.createElement("span");
    note.className = "timer-note";
    note.textContent = !this.timer.running ? t("timer.paused") : over ? t("timer.over") : t("timer.left");
    el.append(note);
    el.className = `timer${over ? " overtime" : ""}${this.timer.running ? "" : " paused"}`;
    el.setAttribute("aria-label", `${clock} ${note.textContent}`);
    message.textContent = this.isFacilitator() ? t("timer.overtime.fac") : t("timer.overtime");
    message.classList.toggle("hidden", !over);
    for (const other of this.els.extra || []) other.textContent = over ? `+${formatSeconds(-left)}` : formatSeconds(left);
  }
}
