// The step header, the step's text for your role and the overview of all steps.
import { clear, h, paragraphs } from "./dom.js";
import { pick, t } from "./i18n.js";

export function stepLabel(state) {
  const steps = state.room.method.steps;
  if (state.room.status === "ended") return t("room.ended");
  if (!state.step) return state.you.role === "facilitator" ? t("room.waiting.fac") : t("room.waiting");
  return `${t("room.step", { n: state.step.index + 1, total: steps.length })} · ${pick(state.step.title)}`;
}

export function renderStepText(state, titleEl, textEl) {
  clear(textEl);
  if (!state.step) {
    titleEl.textContent = state.room.status === "ended" ? t("room.ended") : state.you.role === "facilitator" ? t("room.waiting.fac") : t("room.waiting");
    textEl.append(h("p", { class: "muted", text: pick(state.room.method.title) }));
    return;
  }
  titleEl.textContent = pick(state.step.title);
  textEl.append(...paragraphs(pick(state.step.text)));
}

export function renderStepsList(state, listEl) {
  clear(listEl);
  const current = state.step ? state.step.index : -1;
  state.room.method.steps.forEach((step, i) => {
    const li = h("li", { class: i === current ? "current" : i < current ? "done" : "" },
      h("span", { class: "num", text: `${i + 1}.` }),
      h("span", { text: pick(step.title) }),
      h("span", { class: "muted small step-minutes", text: t("minutes.short", { n: step.minutes >= 1 ? Math.round(step.minutes) : step.minutes.toFixed(1) }) }));
    if (i === current) li.setAttribute("aria-current", "step");
    listEl.append(li);
  });
}
