// Tiny DOM helpers. Every piece of text goes in through textContent, never as HTML:
// names, cases and step texts come from people and from method files.

export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs || {})) {
    if (value === undefined || value === null || value === false) continue;
    if (key === "class") el.className = value;
    else if (key === "text") el.textContent = value;
    else if (key.startsWith("on") && typeof value === "function") el.addEventListener(key.slice(2), value);
    else if (key === "dataset") Object.assign(el.dataset, value);
    // Through the style object, not an attribute: the Content-Security-Policy allows no inline style attributes.
    else if (key === "style") el.style.cssText = value;
    else if (value === true) el.setAttribute(key, "");
    else el.setAttribute(key, String(value));
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return el;
}

export function $(selector, root = document) {
  return root.querySelector(selector);
}

export function clear(el) {
  while (el.firstChild) el.removeChild(el.firstChild);
  return el;
}

/** Paragraphs split on blank lines, each as plain text. */
export function paragraphs(text) {
  const parts = String(text || "").split(/\n\s*\n/).map((p) => p.trim()).filter(Boolean);
  return parts.map((p) => h("p", { text: p }));
}

export async function copyText(text, button, doneLabel) {
  try {
    await navigator.clipboard.writeText(text);
  } catch {
    // Clipboard API needs a secure context; fall back to a selected textarea.
    const area = h("textarea", { "aria-hidden": "true", class: "offscreen" });
    area.value = text;
    document.body.append(area);
    area.select();
    try { document.execCommand("copy"); } catch { /* the link stays visible to copy by hand */ }
    area.remove();
  }
  if (button) {
    const before = button.textContent;
    button.textContent = doneLabel;
    setTimeout(() => { button.textContent = before; }, 1800);
  }
}

/** JSON fetch that turns the server's {error:{...}} into a thrown Error with status and code. */
export async function api(path, { method = "GET", body } = {}) {
  // The server takes only JSON for a change (a cross-site form cannot send it): {} when there is nothing to say.
  if (body === undefined && method !== "GET" && method !== "DELETE") body = {};
  const response = await fetch(path, {
    method,
    headers: body !== undefined ? { "Content-Type": "application/json" } : {},
    body: body !== undefined ? JSON.stringify(body) : undefined,
    credentials: "same-origin",
  });
  let data = null;
  try { data = await response.json(); } catch { data = null; }
  if (!response.ok) {
    const info = (data && data.error) || {};
    const english = document.documentElement.lang === "en";
    const err = new Error((english && info.message_en) || info.message || `HTTP ${response.status}`);
    err.status = info.status || response.status;
    err.code = info.code || "http";
    throw err;
  }
  return data;
}

/** Where the join page leaves a participant's personal link for the room page (sessionStorage). */
export function personalLinkKey(roomId) {
  return `companion.personal.${roomId}`;
}
