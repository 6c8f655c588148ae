// Small line icons for the call controls and tile badges (24x24, stroke = currentColor).
// Built with createElementNS: constant paths, no HTML parsing.

const PATHS = {
  mic: ["M12 3a3 3 0 0 0-3 3v6a3 3 0 0 0 6 0V6a3 3 0 0 0-3-3z", "M5 11a7 7 0 0 0 14 0", "M12 18v3"],
  "mic-off": ["M9 9v3a3 3 0 0 0 5.1 2.1", "M15 10V6a3 3 0 0 0-5.9-.8", "M5 11a7 7 0 0 0 11.4 5.4", "M19 11a7 7 0 0 1-.5 2.5", "M12 18v3", "M3 3l18 18"],
  cam: ["M3 7h12v10H3z", "M15 10l6-3v10l-6-3"],
  "cam-off": ["M3 7h9", "M15 10l6-3v10l-6-3", "M3 7v10h12v-4", "M3 3l18 18"],
  hand: ["M8 13V5.5a1.5 1.5 0 0 1 3 0V11", "M11 10V4.5a1.5 1.5 0 0 1 3 0V11", "M14 10.5V6a1.5 1.5 0 0 1 3 0v7", "M8 12.5a1.5 1.5 0 0 0-3 0V14a7 7 0 0 0 7 7h1a5 5 0 0 0 5-5v-3"],
  gear: ["M12 9a3 3 0 1 0 0 6a3 3 0 1 0 0-6z", "M19 12h2M3 12h2M12 3v2M12 19v2M17 7l1.5-1.5M5.5 18.5L7 17M17 17l1.5 1.5M5.5 5.5L7 7"],
  leave: ["M10 4H5v16h5", "M14 8l4 4-4 4", "M18 12H9"],
  grid: ["M4 4h7v7H4z", "M13 4h7v7h-7z", "M4 13h7v7H4z", "M13 13h7v7h-7z"],
  focus: ["M3 4h18v12H3z", "M5 18h4v2H5zM10 18h4v2h-4zM15 18h4v2h-4z"],
  link: ["M4 12h16", "M12 4l-4 4M12 20l-4-4"],
  eye: ["M2 12s4-7 10-7 10 7 10 7-4 7-10 7S2 12 2 12z", "M12 9a3 3 0 1 0 0 6a3 3 0 1 0 0-6z"],
  "eye-off": ["M3 3l18 18", "M10.6 6.1A10 10 0 0 1 12 6c6 0 10 6 10 6a17 17 0 0 1-3 3.5", "M6.6 7.6A17 17 0 0 0 2 12s4 6 10 6a9.7 9.7 0 0 0 4.5-1.1"],
  alert: ["M12 3l10 18H2z", "M12 10v5", "M12 18v.5"],
  sound: ["M4 9h4l5-4v14l-5-4H4z", "M16 9a4 4 0 0 1 0 6", "M18.5 6.5a8 8 0 0 1 0 11"],
};

export function icon(name, { size = 20, label = null } = {}) {
  const svg = document.createElementNS("http://www.w3.org/2000/svg", "svg");
  svg.setAttribute("viewBox", "0 0 24 24");
  svg.setAttribute("width", String(size));
  svg.setAttribute("height", String(size));
  svg.setAttribute("fill", "none");
  svg.setAttribute("stroke", "currentColor");
  svg.setAttribute("stroke-width", "2");
  svg.setAttribute("stroke-linecap", "round");
  svg.setAttribute("stroke-linejoin", "round");
  svg.setAttribute("class", `icon icon-${name}`);
  if (label) {
    svg.setAttribute("role", "img");
    svg.setAttribute("aria-label", label);
  } else {
    svg.setAttribute("aria-hidden", "true");
  }
  for (const d of PATHS[name] || []) {
    const path = document.createElementNS("http://www.w3.org/2000/svg", "path");
    path.setAttribute("d", d);
    svg.append(path);
  }
  return svg;
}
