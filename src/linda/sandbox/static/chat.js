// The sandbox chat page: a simulated WhatsApp user's phone, on the emulator's control API.
//
// The emulator keeps every simulated user's chat as events (GET /_emulator/events, server-sent): the
// user's own messages, the business's messages, and status changes of both. This page only renders those
// events and posts what the person does as the user's messages (POST /_emulator/inbound), so it shows
// exactly what the bot received and sent through the Cloud API.

const configured = document.querySelector('meta[name="linda-emulator"]')?.content ?? "";
const EMULATOR = new URL(
  (configured && !configured.startsWith("{{") ? configured : "../emulator").replace(/\/?$/, "/"),
  document.baseURI,
);
const api = (path) => new URL("_emulator/" + path, EMULATOR).toString();
const $ = (id) => document.getElementById(id);

const state = {
  numbers: [], // [{phone_number_id, display_phone_number}]
  number: null, // the business number chatted with
  users: new Map(), // wa_id -> {wa_id, profile_name, last_time, preview, unread}
  current: null, // wa_id of the open chat
  chatFeed: null, // EventSource of the open chat
  bubbles: new Map(), // wamid -> bubble element of the open chat
  lastDay: null,
};

const TICKS = { accepted: "◷", sent: "✓", delivered: "✓✓", read: "✓✓", failed: "!" };
const SVG = "http://www.w3.org/2000/svg";
const ICONS = {
  document: "M6 2h8l6 6v14H6zm7 1.5V9h5.5z",
  pin: "M12 2a7 7 0 0 0-7 7c0 5.2 7 13 7 13s7-7.8 7-13a7 7 0 0 0-7-7zm0 9.5A2.5 2.5 0 1 1 12 6.5a2.5 2.5 0 0 1 0 5z",
  contact: "M12 12a5 5 0 1 0 0-10 5 5 0 0 0 0 10zm0 2c-4.4 0-9 2.2-9 5v3h18v-3c0-2.8-4.6-5-9-5z",
  image: "M3 4h18v16H3zm2 2v9.6l4-4.1 3 3 4-5 3 3.8V6zm3 1.5a2 2 0 1 1 0 4 2 2 0 0 1 0-4z",
};
const TICK_TITLES = {
  accepted: "Accepted by Meta, not sent yet",
  sent: "Sent",
  delivered: "Delivered",
  read: "Read",
  failed: "Failed",
};

// -- small helpers -------------------------------------------------------------------------------------

function icon(name) {
  const svg = document.createElementNS(SVG, "svg");
  svg.setAttribute("viewBox", "0 0 24 24");
  svg.setAttribute("class", "icon");
  svg.setAttribute("aria-hidden", "true");
  const path = document.createElementNS(SVG, "path");
  path.setAttribute("d", ICONS[name]);
  svg.append(path);
  return svg;
}

function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (value === null || value === undefined || value === false) continue;
    if (key === "class") node.className = value;
    else if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
    else node.setAttribute(key, value === true ? "" : String(value));
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    node.append(child instanceof Node ? child : String(child));
  }
  return node;
}

async function getJSON(url) {
  const response = await fetch(url, { headers: { accept: "application/json" } });
  if (!response.ok) throw new Error(`${response.status} ${await problem(response)}`);
  return response.json();
}

async function postJSON(url, body) {
  const response = await fetch(url, {
    method: "POST",
    headers: { "content-type": "application/json", accept: "application/json" },
    body: JSON.stringify(body),
  });
  if (!response.ok) throw new Error(await problem(response));
  return response.json();
}

async function problem(response) {
  try {
    const body = await response.json();
    const detail = body.detail ?? body.error?.message ?? body;
    if (Array.isArray(detail)) return detail.map((d) => `${(d.loc ?? []).join(".")}: ${d.msg}`).join("; ");
    return typeof detail === "string" ? detail : JSON.stringify(detail);
  } catch {
    return response.statusText || `HTTP ${response.status}`;
  }
}

function showBanner(text) {
  const banner = $("banner");
  banner.textContent = text;
  banner.hidden = !text;
}

function clock(seconds) {
  return new Date(seconds * 1000).toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });
}

function day(seconds) {
  const date = new Date(seconds * 1000);
  const today = new Date();
  if (date.toDateString() === today.toDateString()) return "Today";
  return date.toLocaleDateString([], { year: "numeric", month: "long", day: "numeric" });
}

function initials(name) {
  const words = String(name || "").trim().split(/\s+/).filter(Boolean);
  return (words.length ? words.slice(0, 2).map((w) => w[0]) : ["#"]).join("").toUpperCase();
}

function hue(text) {
  let hash = 0;
  for (const ch of String(text)) hash = (hash * 31 + ch.codePointAt(0)) % 360;
  return hash;
}

function phone(waId) {
  return "+" + waId;
}

// WhatsApp's formatting: *bold*, _italic_, ~strikethrough~, ```monospace```, and links.
const FORMAT =
  /(```[\s\S]+?```|(?<![\w*])\*[^*\n]+\*(?![\w*])|(?<![\w_])_[^_\n]+_(?![\w_])|(?<![\w~])~[^~\n]+~(?![\w~])|https?:\/\/[^\s<>"]+)/g;

function formatted(text) {
  const source = String(text ?? "");
  const out = document.createDocumentFragment();
  let last = 0;
  for (const match of source.matchAll(FORMAT)) {
    const token = match[0];
    out.append(source.slice(last, match.index));
    if (token.startsWith("```")) out.append(el("code", {}, token.slice(3, -3)));
    else if (token.startsWith("*")) out.append(el("strong", {}, token.slice(1, -1)));
    else if (token.startsWith("_")) out.append(el("em", {}, token.slice(1, -1)));
    else if (token.startsWith("~")) out.append(el("s", {}, token.slice(1, -1)));
    else out.append(el("a", { href: token, target: "_blank", rel: "noopener noreferrer" }, token));
    last = match.index + token.length;
  }
  out.append(source.slice(last));
  return out;
}

// -- users ---------------------------------------------------------------------------------------------

function upsertUser(found) {
  const known = state.users.get(found.wa_id) ?? { unread: 0 };
  state.users.set(found.wa_id, { ...known, ...found });
}

function renderUsers() {
  const list = $("users");
  const users = [...state.users.values()].sort((a, b) => b.last_time - a.last_time);
  list.replaceChildren(
    ...users.map((user) =>
      el(
        "li",
        {
          class: "user" + (user.wa_id === state.current ? " active" : ""),
          "data-testid": "user",
          "data-wa-id": user.wa_id,
          tabindex: 0,
          onclick: () => openChat(user.wa_id),
          onkeydown: (e) => e.key === "Enter" && openChat(user.wa_id),
        },
        avatar(user),
        el(
          "div",
          { class: "user-text" },
          el(
            "div",
            { class: "user-line" },
            el("span", { class: "user-name" }, user.profile_name || phone(user.wa_id)),
            el("time", { class: "user-time" }, user.preview ? clock(user.last_time) : ""),
          ),
          el(
            "div",
            { class: "user-line" },
            el("span", { class: "user-preview" }, user.preview || phone(user.wa_id)),
            user.unread ? el("span", { class: "unread", "data-testid": "unread" }, user.unread) : null,
          ),
        ),
      ),
    ),
  );
  $("users-empty").hidden = users.length > 0;
}

function avatar(user) {
  const node = el("span", { class: "avatar", "aria-hidden": "true" }, initials(user.profile_name));
  node.style.setProperty("--hue", hue(user.wa_id));
  return node;
}

let usersRefresh = null;
function refreshUsersSoon() {
  clearTimeout(usersRefresh);
  usersRefresh = setTimeout(async () => {
    try {
      for (const user of await getJSON(api("users"))) upsertUser(user);
      renderUsers();
      if (state.current) renderHeader();
    } catch (error) {
      showBanner(`Could not list the simulated users: ${error.message}`);
    }
  }, 80);
}

function followAllUsers() {
  // Live only: the list itself comes from GET /_emulator/users.
  const feed = new EventSource(api("events"));
  feed.addEventListener("user", refreshUsersSoon);
  feed.addEventListener("message", (e) => {
    const event = JSON.parse(e.data);
    const user = state.users.get(event.user);
    if (user && event.user !== state.current && event.direction === "out") user.unread += 1;
    refreshUsersSoon();
  });
}

async function createUser(form) {
  const error = $("new-user-error");
  error.textContent = "";
  const data = new FormData(form);
  try {
    const user = await postJSON(api("users"), {
      wa_id: String(data.get("wa_id")).replace(/[^\d+]/g, ""),
      profile_name: String(data.get("profile_name") || "").trim() || null,
    });
    upsertUser(user);
    renderUsers();
    form.reset();
    openChat(user.wa_id);
  } catch (failure) {
    error.textContent = failure.message;
  }
}

// -- the open chat -------------------------------------------------------------------------------------

function renderHeader() {
  const user = state.users.get(state.current) ?? { wa_id: state.current };
  $("chat-name").textContent = user.profile_name || phone(user.wa_id);
  $("chat-phone").textContent = phone(user.wa_id);
  const face = $("chat-avatar");
  face.textContent = initials(user.profile_name);
  face.style.setProperty("--hue", hue(user.wa_id));
}

function setConnection(open) {
  const node = $("connection");
  node.dataset.state = open ? "open" : "connecting";
  node.textContent = open ? "online" : "connecting…";
}

function openChat(waId) {
  state.chatFeed?.close();
  state.current = waId;
  state.bubbles.clear();
  state.lastDay = null;
  const user = state.users.get(waId);
  if (user) user.unread = 0;
  if (decodeURIComponent(location.hash.slice(1)) !== waId) history.replaceState(null, "", "#" + waId);
  $("empty").hidden = true;
  $("conversation").hidden = false;
  document.querySelector(".app").classList.add("chat-open");
  $("messages").replaceChildren();
  renderHeader();
  renderUsers();
  setConnection(false);
  // after=0: the whole chat first, then live; on reconnect the browser's Last-Event-ID resumes it.
  const params = new URLSearchParams({ user: waId, after: "0" });
  const feed = new EventSource(api("events?" + params));
  state.chatFeed = feed;
  feed.onopen = () => setConnection(true);
  feed.onerror = () => setConnection(false);
  feed.addEventListener("message", (e) => addMessage(JSON.parse(e.data)));
  feed.addEventListener("status", (e) => applyStatus(JSON.parse(e.data)));
  feed.addEventListener("user", (e) => {
    const event = JSON.parse(e.data);
    upsertUser({ wa_id: event.user, profile_name: event.profile_name });
    renderHeader();
  });
  $("text").focus();
}

function closeChat() {
  state.chatFeed?.close();
  state.chatFeed = null;
  state.current = null;
  document.querySelector(".app").classList.remove("chat-open");
  $("conversation").hidden = true;
  $("empty").hidden = false;
  history.replaceState(null, "", location.pathname + location.search);
  renderUsers();
}

function ofThisNumber(event) {
  return !event.phone_number_id || !state.number || event.phone_number_id === state.number;
}

function addMessage(event) {
  if (event.user !== state.current || !ofThisNumber(event) || state.bubbles.has(event.id)) return;
  const message = event.message ?? {};
  if (message.type === "reaction") {
    react(message.reaction ?? {}, event.direction);
    return;
  }
  const list = $("messages");
  const today = day(event.time);
  if (today !== state.lastDay) {
    state.lastDay = today;
    list.append(el("div", { class: "day" }, el("span", {}, today)));
  }
  const row = renderMessage(event);
  list.append(row);
  list.scrollTop = list.scrollHeight;
}

function applyStatus(event) {
  const bubble = state.bubbles.get(event.id);
  if (!bubble) return;
  setTicks(bubble, event.status);
  if (event.status === "failed") {
    const error = (event.errors ?? [])[0] ?? {};
    const reason = [error.code, error.title || error.message, error.error_data?.details].filter(Boolean);
    bubble.querySelector(".meta").before(
      el("div", { class: "failed", "data-testid": "failure" }, "Not delivered: " + (reason.join(" · ") || "failed")),
    );
  }
}

function setTicks(bubble, status) {
  const ticks = bubble.querySelector(".ticks");
  ticks.dataset.state = status;
  ticks.textContent = TICKS[status] ?? "";
  ticks.title = TICK_TITLES[status] ?? status;
  bubble.dataset.state = status;
}

function react(reaction, direction) {
  const bubble = state.bubbles.get(reaction.message_id);
  if (!bubble) return;
  const side = direction === "in" ? "user" : "business";
  bubble.querySelector(`.reaction[data-by="${side}"]`)?.remove();
  if (reaction.emoji) {
    bubble.append(el("span", { class: "reaction", "data-testid": "reaction", "data-by": side }, reaction.emoji));
  }
}

// -- rendering one message -----------------------------------------------------------------------------

function renderMessage(event) {
  const mine = event.direction === "in"; // the simulated user's own message
  const message = event.message ?? {};
  const type = String(message.type ?? "");
  const content = message[type] && typeof message[type] === "object" ? message[type] : {};
  const bubble = el("div", {
    class: "bubble " + (mine ? "mine" : "theirs"),
    "data-testid": "message",
    "data-from": mine ? "user" : "business",
    "data-id": event.id,
    "data-type": type,
  });
  const row = el("div", { class: "row " + (mine ? "mine" : "theirs") }, bubble);
  const quoted = mine ? message.context?.id : message.context?.message_id;
  if (quoted) bubble.append(quote(quoted));
  const extra = [];
  bubble.append(...contentOf(type, content, message, mine, event, extra).filter(Boolean));
  bubble.append(
    el(
      "div",
      { class: "meta" },
      el("time", {}, clock(event.time)),
      el("span", { class: "ticks", "data-testid": "ticks", "aria-label": "status" }),
    ),
  );
  setTicks(bubble, event.status);
  row.append(...extra);
  state.bubbles.set(event.id, bubble);
  return row;
}

function quote(messageId) {
  const original = state.bubbles.get(messageId);
  const text = original?.querySelector(".text, .caption, .title")?.textContent ?? "Message";
  const who = original?.dataset.from === "user" ? "You" : "Business";
  return el(
    "div",
    { class: "quote", "data-testid": "quote", onclick: () => original?.scrollIntoView({ block: "center" }) },
    el("div", { class: "quote-who" }, who),
    el("div", { class: "quote-text" }, text.length > 120 ? text.slice(0, 119) + "…" : text),
  );
}

function contentOf(type, content, message, mine, event, extra) {
  switch (type) {
    case "text":
      return [el("div", { class: "text" }, formatted(content.body))];
    case "interactive":
      return mine ? [interactiveReply(content)] : interactive(content, event, extra);
    case "button": // a tap on a template's quick-reply button
      return [el("div", { class: "text" }, content.text ?? content.payload ?? "")];
    case "image":
    case "sticker":
      return [picture(content, type), caption(content.caption)];
    case "video":
      return [el("video", { class: "media", controls: true, src: mediaUrl(content) }), caption(content.caption)];
    case "audio":
      return [el("audio", { controls: true, src: mediaUrl(content) })];
    case "document":
      return [
        el(
          "a",
          { class: "document", href: mediaUrl(content), target: "_blank", rel: "noopener noreferrer" },
          icon("document"),
          content.filename || "Document",
        ),
        caption(content.caption),
      ];
    case "location":
      return [locationCard(content)];
    case "template":
      return template(content, event, extra);
    case "contacts":
      return (message.contacts ?? []).map((c) =>
        el("div", { class: "text contact" }, icon("contact"), c.name?.formatted_name ?? c.name?.first_name ?? "Contact"),
      );
    default:
      return [el("div", { class: "text unsupported" }, `(${type || "unknown"} message)`)];
  }
}

function caption(text) {
  return text ? el("div", { class: "caption" }, formatted(text)) : null;
}

function mediaUrl(content) {
  return content.id ? api("media/" + encodeURIComponent(content.id)) : content.link ?? "";
}

function picture(content, type) {
  const image = el("img", {
    class: "media " + type,
    "data-testid": "image",
    alt: content.caption || type,
    src: mediaUrl(content),
    loading: "lazy",
  });
  image.addEventListener("error", () =>
    image.replaceWith(
      el(
        "div",
        { class: "media-missing", "data-testid": "image" },
        icon("image"),
        el("div", {}, content.link ? content.link : `${type} ${content.id ?? ""}`),
      ),
    ),
  );
  return image;
}

function locationCard(content) {
  const lat = Number(content.latitude);
  const lng = Number(content.longitude);
  return el(
    "div",
    { class: "location", "data-testid": "location" },
    el("div", { class: "map", "aria-hidden": "true" }, el("span", { class: "pin" }, icon("pin"))),
    el("div", { class: "title" }, content.name || "Location"),
    content.address ? el("div", { class: "address" }, content.address) : null,
    el("div", { class: "coords" }, `${lat.toFixed(5)}, ${lng.toFixed(5)}`),
  );
}

function interactiveReply(content) {
  const reply = content[content.type] ?? {};
  return el(
    "div",
    { class: "text" },
    reply.title ?? "",
    reply.description ? el("div", { class: "description" }, reply.description) : null,
  );
}

function interactive(content, event, extra) {
  const parts = [];
  const header = content.header;
  if (header?.type === "text") parts.push(el("div", { class: "header" }, formatted(header.text)));
  else if (header && header[header.type]) parts.push(picture(header[header.type], header.type));
  parts.push(el("div", { class: "text" }, formatted(content.body?.text ?? "")));
  if (content.footer?.text) parts.push(el("div", { class: "footer" }, content.footer.text));
  const action = content.action ?? {};
  if (content.type === "button") {
    extra.push(
      el(
        "div",
        { class: "reply-buttons", "data-testid": "reply-buttons" },
        ...(action.buttons ?? []).map((button) =>
          el(
            "button",
            {
              type: "button",
              class: "reply-button",
              "data-testid": "reply-button",
              "data-id": button.reply?.id,
              onclick: () => sendReply(event, { type: "button_reply", button_reply: { ...button.reply } }),
            },
            button.reply?.title ?? "",
          ),
        ),
      ),
    );
  } else if (content.type === "list") {
    parts.push(
      el(
        "button",
        {
          type: "button",
          class: "list-button",
          "data-testid": "list-button",
          onclick: () => openList(content, event),
        },
        "☰ " + (action.button ?? "Options"),
      ),
    );
  } else if (content.type === "cta_url") {
    const link = action.parameters ?? {};
    parts.push(
      el(
        "a",
        { class: "list-button", href: link.url, target: "_blank", rel: "noopener noreferrer" },
        "↗ " + (link.display_text ?? link.url ?? "Open"),
      ),
    );
  } else if (content.type) {
    parts.push(el("div", { class: "footer" }, `(${content.type} message)`));
  }
  return parts;
}

function template(content, event, extra) {
  const language = content.language?.code ?? "";
  const parts = [el("div", { class: "header" }, `Template ${content.name ?? ""}`, language ? ` (${language})` : "")];
  const quickReplies = [];
  for (const component of content.components ?? []) {
    const parameters = component.parameters ?? [];
    if (component.type === "button") {
      const payload = parameters.find((p) => p.type === "payload")?.payload;
      if (component.sub_type === "quick_reply" && payload !== undefined) quickReplies.push(payload);
      continue;
    }
    for (const parameter of parameters) {
      if (parameter.type === "text") parts.push(el("div", { class: "text" }, parameter.text));
      else if (parameter[parameter.type] && ["image", "video", "document"].includes(parameter.type)) {
        parts.push(picture(parameter[parameter.type], parameter.type));
      } else parts.push(el("div", { class: "footer" }, `${component.type}: ${parameter.type}`));
    }
  }
  if (quickReplies.length) {
    extra.push(
      el(
        "div",
        { class: "reply-buttons" },
        ...quickReplies.map((payload) =>
          el(
            "button",
            {
              type: "button",
              class: "reply-button",
              "data-testid": "reply-button",
              "data-id": payload,
              onclick: () => sendInbound({ type: "button", button: { payload, text: payload } }, event.id),
            },
            payload,
          ),
        ),
      ),
    );
  }
  return parts;
}

// -- what the user does --------------------------------------------------------------------------------

async function sendInbound(message, contextId) {
  if (!state.current) return;
  const user = state.users.get(state.current);
  const body = { from: state.current, phone_number_id: state.number, ...message };
  if (user?.profile_name) body.profile_name = user.profile_name;
  if (contextId) body.context = { id: contextId };
  try {
    await postJSON(api("inbound"), body);
    showBanner("");
  } catch (error) {
    showBanner(`The emulator refused the message: ${error.message}`);
  }
}

function sendReply(event, reply) {
  return sendInbound({ type: "interactive", interactive: reply }, event.id);
}

function openList(content, event) {
  const sheet = $("list-sheet");
  $("list-title").textContent = content.action?.button ?? "Options";
  $("list-sections").replaceChildren(
    ...(content.action?.sections ?? []).map((section) =>
      el(
        "section",
        { class: "list-section" },
        section.title ? el("h4", {}, section.title) : null,
        ...(section.rows ?? []).map((row) =>
          el(
            "button",
            {
              type: "button",
              class: "list-row",
              "data-testid": "list-row",
              "data-id": row.id,
              onclick: () => {
                sheet.close();
                const reply = { id: row.id, title: row.title };
                if (row.description) reply.description = row.description;
                sendReply(event, { type: "list_reply", list_reply: reply });
              },
            },
            el("span", { class: "row-title" }, row.title),
            row.description ? el("span", { class: "row-description" }, row.description) : null,
          ),
        ),
      ),
    ),
  );
  sheet.showModal();
}

function sendText() {
  const box = $("text");
  const body = box.value.trim();
  if (!body) return;
  box.value = "";
  box.style.height = "";
  sendInbound({ type: "text", text: { body } });
}

async function sendImage(file, captionText) {
  const form = new FormData();
  form.append("file", file, file.name);
  if (state.number) form.append("phone_number_id", state.number);
  try {
    const response = await fetch(api("media"), { method: "POST", body: form });
    if (!response.ok) throw new Error(await problem(response));
    const stored = await response.json();
    const image = { id: stored.id };
    if (captionText) image.caption = captionText;
    await sendInbound({ type: "image", image });
  } catch (error) {
    showBanner(`Could not attach the image: ${error.message}`);
  }
}

// -- wiring --------------------------------------------------------------------------------------------

function wire() {
  $("new-user").addEventListener("submit", (e) => {
    e.preventDefault();
    createUser(e.target);
  });
  $("composer").addEventListener("submit", (e) => {
    e.preventDefault();
    sendText();
  });
  const box = $("text");
  box.addEventListener("keydown", (e) => {
    if (e.key === "Enter" && !e.shiftKey && !e.isComposing) {
      e.preventDefault();
      sendText();
    }
  });
  box.addEventListener("input", () => {
    box.style.height = "";
    box.style.height = Math.min(box.scrollHeight, 140) + "px";
  });
  document.querySelectorAll("dialog [data-close]").forEach((button) =>
    button.addEventListener("click", () => button.closest("dialog").close()),
  );
  document.querySelectorAll("dialog").forEach((dialog) =>
    dialog.addEventListener("click", (e) => e.target === dialog && dialog.close()),
  );
  $("back").addEventListener("click", closeChat);

  $("location-button").addEventListener("click", () => $("location-dialog").showModal());
  $("location-form").addEventListener("submit", (e) => {
    const data = new FormData(e.target);
    const location = { latitude: Number(data.get("latitude")), longitude: Number(data.get("longitude")) };
    for (const key of ["name", "address"]) {
      const value = String(data.get(key) ?? "").trim();
      if (value) location[key] = value;
    }
    sendInbound({ type: "location", location });
  });

  let picked = null;
  $("image-input").addEventListener("change", (e) => {
    picked = e.target.files?.[0] ?? null;
    e.target.value = "";
    if (!picked) return;
    const preview = $("image-preview");
    if (preview.src) URL.revokeObjectURL(preview.src);
    preview.src = URL.createObjectURL(picked);
    $("image-form").reset();
    $("image-dialog").showModal();
  });
  $("image-form").addEventListener("submit", (e) => {
    if (e.submitter?.value !== "send" || !picked) return;
    const captionText = String(new FormData(e.target).get("caption") ?? "").trim();
    sendImage(picked, captionText);
    picked = null;
  });

  $("number").addEventListener("change", (e) => {
    state.number = e.target.value;
    if (state.current) openChat(state.current);
  });
  window.addEventListener("hashchange", () => {
    const waId = decodeURIComponent(location.hash.slice(1));
    if (waId && waId !== state.current) openChat(waId);
  });
}

async function start() {
  wire();
  try {
    state.numbers = await getJSON(api("numbers"));
    for (const user of await getJSON(api("users"))) upsertUser(user);
  } catch (error) {
    showBanner(
      `The emulator does not answer at ${EMULATOR.pathname} (${error.message}). ` +
        "The sandbox chat needs Linda running in sandbox mode: linda serve --sandbox.",
    );
    document.body.dataset.ready = "error";
    return;
  }
  state.number = state.numbers[0]?.phone_number_id ?? null;
  const picker = $("number");
  picker.replaceChildren(
    ...state.numbers.map((n) =>
      el("option", { value: n.phone_number_id }, n.display_phone_number || n.phone_number_id),
    ),
  );
  document.querySelector(".number-pick").hidden = state.numbers.length < 2;
  renderUsers();
  followAllUsers();
  const wanted = decodeURIComponent(location.hash.slice(1));
  if (wanted) openChat(wanted.replace(/\D/g, ""));
  document.body.dataset.ready = "true";
}

start();
