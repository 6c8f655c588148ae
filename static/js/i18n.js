// Interface strings, Dutch first, English as a switch. The choice is kept in
// localStorage; without a choice the room's language (or Dutch) is used.

const STORE_KEY = "companion.lang";
export const LANGS = ["nl", "en"];

const STRINGS = {
  nl: {
    "app.name": "companion",
    "lang.switch": "English",
    "lang.label": "Taal van het scherm",
    // landing
    "landing.title": "Een intervisiekamer openen",
    "landing.lead": "Maak een kamer voor je groep. Je krijgt een uitnodigingslink om te delen en een eigen link waarmee je als begeleider binnenkomt. Alles wat er gezegd wordt, blijft op deze server.",
    "landing.group": "Naam van de groep",
    "landing.method": "Methode",
    "landing.method.loading": "Methodes laden...",
    "landing.method.info": "{steps} stappen, ongeveer {minutes} minuten",
    "landing.language": "Taal van de sessie",
    "landing.facilitator": "Jouw naam (begeleider)",
    "landing.capacity": "Aantal deelnemers (zonder jou)",
    "landing.create": "Kamer maken",
    "landing.creating": "Bezig...",
    "landing.done": "De kamer staat klaar",
    "landing.invite": "Uitnodigingslink: deel deze met de groep",
    "landing.secret": "Jouw eigen link als begeleider",
    "landing.secret.warn": "Houd deze link voor jezelf: wie hem heeft, kan de sessie leiden. Bewaar hem om later terug te komen.",
    "landing.enter": "Naar de kamer",
    "landing.method.errors": "Sommige methodebestanden zijn niet geladen (voor de beheerder):",
    "landing.nofac.title": "Een kamer maken kan alleen met een begeleiderslink",
    "landing.nofac.text": "Op deze server maken alleen begeleiders die de beheerder kent een kamer. Open je persoonlijke begeleiderslink (die begint met /f/) in deze browser; heb je er geen, vraag de beheerder van deze server er een te maken. Ben je uitgenodigd voor een sessie? Open dan de uitnodigingslink of je eigen link.",
    "copy": "Kopieer",
    "copied": "Gekopieerd",
    "error.network": "De server is niet bereikbaar. Probeer het zo opnieuw.",
    // join
    "join.title": "Meedoen aan een intervisie",
    "join.room": "Groep",
    "join.method": "Methode",
    "join.name": "Jouw naam",
    "join.name.hint": "Zoals de groep je kent, hoogstens 40 tekens.",
    "join.preview": "Je camera en microfoon",
    "join.preview.ask": "Even toestemming geven voor camera en microfoon...",
    "join.preview.ok": "Camera en microfoon werken.",
    "join.preview.denied": "Je hebt geen toestemming gegeven voor camera of microfoon. Je kunt toch meedoen; geef later toestemming via het slotje in de adresbalk.",
    "join.preview.absent": "Er is geen camera of microfoon gevonden. Je kunt toch meedoen en meelezen.",
    "join.preview.unsupported": "Deze browser geeft hier geen toegang tot camera of microfoon (een beveiligde verbinding, https, is nodig). Je kunt toch meedoen.",
    "join.button": "Meedoen",
    "join.full": "Deze groep is vol. Vraag de begeleider om ruimte.",
    "join.ended": "Deze sessie is al afgelopen.",
    "join.unknown": "Deze uitnodiging is onbekend of verlopen.",
    "join.taken": "Die naam is al in gebruik in deze groep. Kies een andere.",
    // room
    "room.connecting": "Verbinden...",
    "asr.live": "De adviezen worden uitgeschreven terwijl ze gegeven worden.",
    "asr.behind": "Het uitschrijven loopt {seconds} s achter; er gaat niets verloren.",
    "asr.off": "Spraakherkenning staat uit op deze server: schrijf de adviezen met de hand in de lijst.",
    "asr.restarted": "(De spraakherkenning is {n} keer opnieuw gestart; wat in de wachtrij stond, wordt alsnog uitgeschreven.)",
    "room.reconnecting": "Verbinding verbroken, opnieuw verbinden...",
    "room.noaccess.title": "Geen toegang tot deze kamer",
    "room.noaccess.text": "Deze browser is niet (meer) aangemeld voor deze kamer. Open je persoonlijke link opnieuw; die heb je gekregen toen je meedeed of de kamer maakte.",
    "room.deleted": "Deze sessie is verwijderd.",
    "room.waiting": "Wachten tot de begeleider de sessie start",
    "room.ended": "De sessie is afgelopen",
    "room.step": "Stap {n}/{total}",
    "room.steps": "Stappen",
    "room.you": "jij",
    "room.participants": "Deelnemers",
    "room.ownlink": "Jouw persoonlijke link",
    "room.ownlink.hint": "Bewaar deze link voor jezelf. Ermee kom je terug als jezelf, na het sluiten van je browser of op een ander apparaat. Wie hem heeft, kan als jou binnenkomen.",
    "room.ownlink.hide": "Bewaard, verberg hem",
    "room.online": "online",
    "room.offline": "offline",
    "room.muted.fac": "microfoon uit (begeleider)",
    "room.muted.self": "microfoon uit",
    "room.camera.off": "camera uit",
    "room.muted.step": "niet hoorbaar in deze stap",
    "room.talking": "praat",
    "room.mic.mute": "Microfoon uit",
    "room.mic.unmute": "Microfoon aan",
    "role.facilitator": "begeleider",
    "role.inbrenger": "inbrenger",
    "role.deelnemer": "deelnemer",
    "timer.paused": "gepauzeerd",
    "timer.overtime": "De tijd voor deze stap is om. Rond rustig af.",
    "timer.overtime.fac": "De tijd voor deze stap is om. Rond af, of geef er wat minuten bij.",
    "timer.left": "nog over",
    "timer.over": "over tijd",
    // cases
    "cases.title": "Casussen",
    "cases.mine": "Jouw casus",
    "cases.case.title": "Korte titel",
    "cases.case.question": "Je vraag",
    "cases.submit": "Casus opslaan",
    "cases.update": "Wijziging opslaan",
    "cases.withdraw": "Intrekken",
    "cases.none": "Nog geen casussen.",
    "cases.by": "van {name}",
    "cases.vote": "Stem hierop",
    "cases.voted": "Jouw stem",
    "cases.votes": "{n} stemmen",
    "cases.votes.one": "1 stem",
    "cases.vote.hint": "Je hebt één stem en kunt die veranderen tot de stemming sluit. De stand blijft verborgen tot dan.",
    "cases.vote.closed": "De stemming is gesloten.",
    "cases.voters": "{n} gestemd",
    "cases.chosen": "Gekozen",
    "cases.tie": "Gelijke stand. Kies als begeleider een van deze casussen:",
    "cases.tie.wait": "Gelijke stand: de begeleider kiest.",
    "cases.choose": "Kies deze",
    "cases.facilitator.note": "Als begeleider breng je geen casus in.",
    // question
    "question.title": "De vraag van deze sessie",
    "question.original": "Oorspronkelijke vraag",
    "question.reformulated": "Opnieuw geformuleerd",
    "question.inbrenger": "Inbrenger: {name}",
    "question.reformulate": "Formuleer je vraag opnieuw",
    "question.reformulate.save": "Vraag opslaan",
    "golden.title": "Gouden vragen",
    // takeaways
    "takeaway.title": "Wat neem je mee?",
    "takeaway.hint": "Alleen voor jou, tenzij je het deelt.",
    "takeaway.share": "Delen met de groep",
    "takeaway.save": "Opslaan",
    "takeaway.saved": "Opgeslagen",
    "takeaway.shared": "Gedeeld door de groep",
    // out of sight
    "oos.title": "Je bent uit beeld",
    "oos.lead": "Blijf luisteren. De groep ziet je niet en jij ziet de groep niet; je hoort wel alles.",
    // console
    "console.title": "Begeleiding",
    "console.start": "Sessie starten",
    "console.prev": "Vorige stap",
    "console.next": "Volgende stap",
    "console.goto": "Naar stap",
    "console.go": "Ga",
    "console.pause": "Pauze",
    "console.resume": "Verder",
    "console.add1": "+1 min",
    "console.add5": "+5 min",
    "console.end": "Sessie beëindigen",
    "console.end.confirm": "De sessie echt beëindigen? Dit kan niet ongedaan worden gemaakt.",
    "console.inbrenger": "Inbrenger",
    "console.inbrenger.set": "Maak inbrenger",
    "console.inbrenger.none": "kies...",
    "console.vote.close": "Stemming sluiten",
    "console.vote.reopen": "Stemming heropenen",
    "console.mute": "Microfoon uit",
    "console.unmute": "Microfoon vrijgeven",
    "console.camera.off": "Camera uit",
    "console.camera.on": "Camera vrijgeven",
    "console.invite": "Uitnodigingslink",
    "console.invite.none": "De uitnodigingslink staat op de pagina waar je de kamer maakte.",
    "video.title": "Beeld",
    "video.none": "Beeld en geluid zijn (nog) niet beschikbaar op deze server. De sessie werkt wel.",
    "video.hidden": "uit beeld",
    "video.self": "jij",
    "media.denied": "Geen toegang tot camera of microfoon; je doet mee zonder beeld en geluid.",
  },
  en: {
    "app.name": "companion",
    "lang.switch": "Nederlands",
    "lang.label": "Screen language",
    "landing.title": "Open an intervision room",
    "landing.lead": "Create a room for your group. You get an invite link to share and a link of your own to enter as the facilitator. Everything said stays on this server.",
    "landing.group": "Group name",
    "landing.method": "Method",
    "landing.method.loading": "Loading methods...",
    "landing.method.info": "{steps} steps, about {minutes} minutes",
    "landing.language": "Session language",
    "landing.facilitator": "Your name (facilitator)",
    "landing.capacity": "Number of participants (not counting you)",
    "landing.create": "Create room",
    "landing.creating": "Working...",
    "landing.done": "The room is ready",
    "landing.invite": "Invite link: share this with the group",
    "landing.secret": "Your own facilitator link",
    "landing.secret.warn": "Keep this link to yourself: whoever has it can lead the session. Save it to come back later.",
    "landing.enter": "Enter the room",
    "landing.method.errors": "Some method files were not loaded (for the operator):",
    "landing.nofac.title": "Creating a room needs a facilitator link",
    "landing.nofac.text": "On this server only facilitators the operator knows create rooms. Open your personal facilitator link (it starts with /f/) in this browser; if you have none, ask the operator of this server to make one. Invited to a session? Open the invite link or your own link instead.",
    "copy": "Copy",
    "copied": "Copied",
    "error.network": "The server cannot be reached. Try again in a moment.",
    "join.title": "Join an intervision session",
    "join.room": "Group",
    "join.method": "Method",
    "join.name": "Your name",
    "join.name.hint": "As the group knows you, at most 40 characters.",
    "join.preview": "Your camera and microphone",
    "join.preview.ask": "Please allow camera and microphone...",
    "join.preview.ok": "Camera and microphone work.",
    "join.preview.denied": "You did not allow the camera or microphone. You can still join; allow them later through the padlock in the address bar.",
    "join.preview.absent": "No camera or microphone found. You can still join and read along.",
    "join.preview.unsupported": "This browser gives no access to camera or microphone here (a secure connection, https, is needed). You can still join.",
    "join.button": "Join",
    "join.full": "This group is full. Ask the facilitator for room.",
    "join.ended": "This session has already ended.",
    "join.unknown": "This invite is unknown or has expired.",
    "join.taken": "That name is already taken in this group. Choose another.",
    "room.connecting": "Connecting...",
    "asr.live": "The advice is written out as it is given.",
    "asr.behind": "Writing out is {seconds} s behind; nothing is lost.",
    "asr.off": "Speech recognition is off on this server: add the advice to the list by hand.",
    "asr.restarted": "(Speech recognition restarted {n} times; what was queued is still written out.)",
    "room.reconnecting": "Connection lost, reconnecting...",
    "room.noaccess.title": "No access to this room",
    "room.noaccess.text": "This browser is not (or no longer) signed in to this room. Open your personal link again; you got it when you joined or created the room.",
    "room.deleted": "This session was deleted.",
    "room.waiting": "Waiting for the facilitator to start the session",
    "room.ended": "The session has ended",
    "room.step": "Step {n}/{total}",
    "room.steps": "Steps",
    "room.you": "you",
    "room.participants": "Participants",
    "room.ownlink": "Your personal link",
    "room.ownlink.hint": "Keep this link to yourself. With it you come back as yourself after closing your browser or on another device. Whoever has it can enter as you.",
    "room.ownlink.hide": "Saved, hide it",
    "room.online": "online",
    "room.offline": "offline",
    "room.muted.fac": "microphone off (facilitator)",
    "room.muted.self": "microphone off",
    "room.camera.off": "camera off",
    "room.muted.step": "not heard in this step",
    "room.talking": "talking",
    "room.mic.mute": "Mute microphone",
    "room.mic.unmute": "Unmute microphone",
    "role.facilitator": "facilitator",
    "role.inbrenger": "case owner",
    "role.deelnemer": "participant",
    "timer.paused": "paused",
    "timer.overtime": "The time for this step is up. Wrap up calmly.",
    "timer.overtime.fac": "The time for this step is up. Wrap up, or add a few minutes.",
    "timer.left": "left",
    "timer.over": "over time",
    "cases.title": "Cases",
    "cases.mine": "Your case",
    "cases.case.title": "Short title",
    "cases.case.question": "Your question",
    "cases.submit": "Save case",
    "cases.update": "Save changes",
    "cases.withdraw": "Withdraw",
    "cases.none": "No cases yet.",
    "cases.by": "by {name}",
    "cases.vote": "Vote for this",
    "cases.voted": "Your vote",
    "cases.votes": "{n} votes",
    "cases.votes.one": "1 vote",
    "cases.vote.hint": "You have one vote and can change it until the vote closes. The count stays hidden until then.",
    "cases.vote.closed": "The vote is closed.",
    "cases.voters": "{n} voted",
    "cases.chosen": "Chosen",
    "cases.tie": "A tie. As the facilitator, choose one of these cases:",
    "cases.tie.wait": "A tie: the facilitator chooses.",
    "cases.choose": "Choose this one",
    "cases.facilitator.note": "As the facilitator you do not bring in a case.",
    "question.title": "This session's question",
    "question.original": "Original question",
    "question.reformulated": "Reformulated",
    "question.inbrenger": "Case owner: {name}",
    "question.reformulate": "Reformulate your question",
    "question.reformulate.save": "Save question",
    "golden.title": "Golden questions",
    "takeaway.title": "What do you take away?",
    "takeaway.hint": "Only for you, unless you share it.",
    "takeaway.share": "Share with the group",
    "takeaway.save": "Save",
    "takeaway.saved": "Saved",
    "takeaway.shared": "Shared by the group",
    "oos.title": "You are out of sight",
    "oos.lead": "Keep listening. The group cannot see you and you cannot see the group; you do hear everything.",
    "console.title": "Facilitation",
    "console.start": "Start session",
    "console.prev": "Previous step",
    "console.next": "Next step",
    "console.goto": "Go to step",
    "console.go": "Go",
    "console.pause": "Pause",
    "console.resume": "Resume",
    "console.add1": "+1 min",
    "console.add5": "+5 min",
    "console.end": "End session",
    "console.end.confirm": "Really end the session? This cannot be undone.",
    "console.inbrenger": "Case owner",
    "console.inbrenger.set": "Make case owner",
    "console.inbrenger.none": "choose...",
    "console.vote.close": "Close the vote",
    "console.vote.reopen": "Reopen the vote",
    "console.mute": "Mute microphone",
    "console.unmute": "Release microphone",
    "console.camera.off": "Camera off",
    "console.camera.on": "Release camera",
    "console.invite": "Invite link",
    "console.invite.none": "The invite link is on the page where you created the room.",
    "video.title": "Video",
    "video.none": "Video and sound are not (yet) available on this server. The session works all the same.",
    "video.hidden": "out of sight",
    "video.self": "you",
    "media.denied": "No access to camera or microphone; you take part without video and sound.",
  },
};

let current = null;
const listeners = new Set();

function stored() {
  try { return localStorage.getItem(STORE_KEY); } catch { return null; }
}

/** The screen language: the stored choice, else the given default (the room's language), else Dutch. */
export function initLang(fallback = "nl") {
  const choice = stored();
  current = LANGS.includes(choice) ? choice : LANGS.includes(fallback) ? fallback : "nl";
  document.documentElement.lang = current;
  for (const fn of listeners) fn(current);
  return current;
}

export function lang() {
  return current || initLang();
}

export function setLang(value) {
  if (!LANGS.includes(value)) return;
  current = value;
  try { localStorage.setItem(STORE_KEY, value); } catch { /* private mode: the switch lasts this page */ }
  document.documentElement.lang = value;
  applyStatic();
  for (const fn of listeners) fn(value);
}

export function onLangChange(fn) {
  listeners.add(fn);
}

export function t(key, vars = {}) {
  const table = STRINGS[lang()] || STRINGS.nl;
  const text = table[key] ?? STRINGS.nl[key] ?? key;
  return text.replace(/\{(\w+)\}/g, (_, name) => (name in vars ? String(vars[name]) : `{${name}}`));
}

/** A {nl, en} object from the server, in the screen language. */
export function pick(texts) {
  if (!texts) return "";
  if (typeof texts === "string") return texts;
  return texts[lang()] ?? texts.nl ?? texts.en ?? "";
}

/** Fill every element with data-i18n="key" (textContent) and data-i18n-attr="attr:key". */
export function applyStatic(root = document) {
  for (const el of root.querySelectorAll("[data-i18n]")) el.textContent = t(el.dataset.i18n);
  for (const el of root.querySelectorAll("[data-i18n-attr]")) {
    const [attr, key] = el.dataset.i18nAttr.split(":");
    el.setAttribute(attr, t(key));
  }
}

/** A button that flips between nl and en. */
export function langButton() {
  const button = document.createElement("button");
  button.type = "button";
  button.className = "lang-switch";
  const label = () => {
    button.textContent = t("lang.switch");
    button.title = t("lang.label");
    button.lang = lang() === "nl" ? "en" : "nl";
  };
  label();
  button.addEventListener("click", () => setLang(lang() === "nl" ? "en" : "nl"));
  onLangChange(label);
  return button;
}
