// Sound the browser will not play yet. An autoplay policy refuses play() on a page
// opened without a click that captures no camera or microphone (a reload, a second
// device, someone who only listens), and keeps an AudioContext suspended. The refusal
// is silent unless someone looks: this shows one button and starts every remote sound
// on the first click or key anywhere on the page.
//
//   const gate = new SoundGate($("#sound-gate"), () => [media.client?.audioContext]);
//   gate.play(audioElement);   // instead of audioElement.play()
//   gate.forget(audioElement); // the element is gone
//   gate.blocked               // true while the person hears (some of) the group not
//
// <html data-sound="blocked|playing|none"> says the same to tests and styles.

const GESTURES = ["pointerdown", "keydown", "touchend", "click"];

export class SoundGate {
  constructor(box, contexts = () => []) {
    this.box = box;
    this._contexts = contexts;
    this.elements = new Set();
    this.refused = new Set();
    this.gestured = false;
    this._watched = new WeakSet();
    const unlock = () => this.unlock();
    for (const type of GESTURES) document.addEventListener(type, unlock, { capture: true, passive: true });
    this.render();
  }

  play(el) {
    this.elements.add(el);
    this._try(el);
  }

  forget(el) {
    this.elements.delete(el);
    this.refused.delete(el);
    this.render();
  }

  // Inside a user gesture, so the browser lets play() and resume() through.
  unlock() {
    this.gestured = true;
    for (const el of this.elements) if (this.refused.has(el) || el.paused) this._try(el);
    for (const ctx of this.contexts()) {
      if (ctx.state === "suspended") ctx.resume().catch(() => {}).finally(() => this.render());
    }
    this.render();
  }

  get blocked() {
    if (this.refused.size) return true;
    // Before any click a suspended context is the autoplay policy; after one it is a machine
    // without a sound device, which no button can help.
    return !this.gestured && this.elements.size > 0 && this.contexts().some((ctx) => ctx.state === "suspended");
  }

  contexts() {
    const list = (this._contexts() || []).filter(Boolean);
    for (const ctx of list) {
      if (this._watched.has(ctx)) continue;
      this._watched.add(ctx);
      ctx.addEventListener("statechange", () => this.render());
    }
    return list;
  }

  render() {
    const blocked = this.blocked;
    this.box.classList.toggle("hidden", !blocked);
    document.documentElement.dataset.sound = blocked ? "blocked" : this.elements.size ? "playing" : "none";
  }

  _try(el) {
    let attempt;
    try {
      attempt = el.play();
    } catch (err) {
      attempt = Promise.reject(err);
    }
    Promise.resolve(attempt).then(
      () => {
        this.refused.delete(el);
        this.render();
      },
      (err) => {
        // AbortError: a newer srcObject replaced this one; its own play() reports.
        if (err && err.name === "AbortError") return;
        if (!this.elements.has(el)) return;
        this.refused.add(el);
        this.render();
      },
    );
  }
}
