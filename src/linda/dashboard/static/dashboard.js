// Linda's dashboard page, built on the public hooks module (hooks.js) like any other front end would be.

import { LindaError, getJSON, getToken, setToken, useDashboardData } from "./hooks.js";

const $ = (id) => document.getElementById(id);
const SVG = "http://www.w3.org/2000/svg";
const numberFormat = new Intl.NumberFormat();

let store = null;
let unsubscribe = null;

// --- signing in and out -------------------------------------------------------------------------------

function showLogin(message = "") {
  stopBoard();
  $("board").hidden = true;
  $("controls").hidden = true;
  $("login").hidden = false;
  $("login-error").textContent = message;
  $("token").focus();
}

$("login-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  const token = $("token").value.trim();
  const button = event.submitter ?? $("login-form").querySelector("button");
  button.disabled = true;
  $("login-error").textContent = "";
  try {
    await getJSON("api/dashboard", { window: 60 }, { token });
    setToken(token);
    $("token").value = "";
    showBoard();
  } catch (error) {
    $("login-error").textContent =
      error instanceof LindaError && error.status === 401
        ? "That token is not valid (or was revoked). Check it, or create a new one."
        : error.message;
  } finally {
    button.disabled = false;
  }
});

$("sign-out").addEventListener("click", () => {
  setToken(null);
  showLogin();
});

$("window").addEventListener("change", () => showBoard());

function stopBoard() {
  unsubscribe?.();
  store?.stop();
  unsubscribe = store = null;
}

function showBoard() {
  stopBoard();
  $("login").hidden = true;
  $("board").hidden = false;
  $("controls").hidden = false;
  store = useDashboardData({ window: Number($("window").value) });
  unsubscribe = store.subscribe(render);
  render(store.get());
}

// --- rendering ----------------------------------------------------------------------------------------

function render(state) {
  const connection = $("connection");
  const label = { open: "live", connecting: "connecting…", retrying: "reconnecting…", closed: "stopped", idle: "" };
  connection.dataset.state = state.connection;
  connection.textContent = label[state.connection] ?? state.connection;
  if (state.connection === "unauthorized") {
    setToken(null);
    showLogin("Your token is no longer valid; sign in again.");
    return;
  }
  const notice = $("notice");
  if (state.error && state.connection !== "open") {
    notice.hidden = false;
    notice.textContent = state.error.message;
  } else if (state.data && !state.data.monitoring) {
    notice.hidden = false;
    notice.textContent = "Monitoring is off on this server (LINDA_MONITORING=false): only queue depths are shown.";
  } else {
    notice.hidden = true;
  }
  if (state.data) renderData(state.data, state.updatedAt);
}

function renderData(data, updatedAt) {
  const { messages, errors, outbox, inbox, charts } = data;
  setValue("in-rate", rate(messages.in.per_second));
  setValue("in-count", count(messages.in.count));
  setValue("out-rate", rate(messages.out.per_second));
  setValue("out-count", count(messages.out.count));
  spark($("chart-in"), charts.messages_in);
  spark($("chart-out"), charts.messages_out);

  setValue("error-ratio", percent(errors.ratio));
  $("error-ratio").closest(".tile").classList.toggle("alarm", (errors.ratio ?? 0) >= 0.05);
  $("error-meta").textContent = errors.sends
    ? `${count(errors.failed_sends)} of ${count(errors.sends)} sends failed`
    : "no sends";
  spark($("chart-errors"), charts.errors);

  setValue("outbox-depth", outbox.depth === null ? "–" : count(outbox.depth));
  $("outbox-meta").textContent = outbox.oldest_due_seconds
    ? `oldest due ${duration(outbox.oldest_due_seconds)} ago`
    : "nothing waiting";
  setValue("inbox-backlog", inbox.backlog === null ? "–" : count(inbox.backlog));
  $("inbox-meta").textContent = inbox.dead ? `${count(inbox.dead)} dead letters` : "no dead letters";

  renderLatency(data.latency);
  spark($("chart-ack"), charts.webhook_ack_p99);
  spark($("chart-send"), charts.graph_send_p99);
  $("peak-ack").textContent = peak(charts.webhook_ack_p99);
  $("peak-send").textContent = peak(charts.graph_send_p99);
  renderAlerts(data.alerts);
  renderFunnel(data.funnel);
  renderNumbers(data.numbers);
  renderErrors(errors);
  const window = $("window").selectedOptions[0]?.textContent ?? "";
  const history = charts.messages_in ?? [];
  const span = history.length > 1 ? (Date.parse(history.at(-1).t) - Date.parse(history[0].t)) / 1000 : 0;
  $("foot").textContent =
    `Every Linda process, ${window}` +
    (span ? ` · charts: the last ${period(span + span / (history.length - 1))}` : "") +
    (updatedAt ? ` · updated ${updatedAt.toLocaleTimeString()}` : "");
}

function setValue(id, text) {
  const node = $(id);
  if (node.textContent !== text) {
    node.textContent = text;
    node.classList.remove("flash");
    void node.offsetWidth; // restart the animation
    node.classList.add("flash");
  }
}

function renderLatency(rows) {
  const body = $("latency-rows");
  body.replaceChildren(
    ...rows.map((row) =>
      el("tr", { "data-name": row.name }, [
        el("th", {}, [row.title, el("small", {}, [row.name])]),
        ...["p50", "p95", "p99", "p999", "max"].map((q) => el("td", {}, [duration(row[q])])),
        el("td", {}, [count(row.count) + (row.errors ? ` (${count(row.errors)} failed)` : "")]),
      ]),
    ),
  );
}

function renderAlerts(alerts) {
  const list = $("alerts");
  $("alerts-count").textContent = alerts.length ? `${alerts.length} firing` : "";
  if (!alerts.length) {
    list.replaceChildren(el("li", { class: "all-clear" }, ["No alerts firing"]));
    return;
  }
  list.replaceChildren(
    ...alerts.map((alert) => {
      const severity = String(alert.severity ?? "warning");
      const since = alert.fired_at ? ` · since ${new Date(alert.fired_at).toLocaleTimeString()}` : "";
      return el("li", { class: `alert ${severity}`, "data-testid": "alert" }, [
        el("span", { class: "badge" }, [severity]),
        el("div", {}, [
          el("strong", {}, [String(alert.rule ?? alert.name ?? "alert")]),
          el("div", { class: "summary" }, [String(alert.summary ?? "") + since]),
        ]),
      ]);
    }),
  );
}

function renderFunnel(funnel) {
  const steps = [
    ["accepted", "Accepted"],
    ["sent", "Sent"],
    ["delivered", "Delivered"],
    ["read", "Read"],
    ["failed", "Failed"],
  ];
  const top = Math.max(1, ...steps.map(([key]) => funnel[key] ?? 0));
  const base = funnel.accepted || funnel.sent || 0;
  $("funnel").replaceChildren(
    ...steps.map(([key, title]) => {
      const value = funnel[key] ?? 0;
      const bar = el("div", { class: "fill" });
      bar.style.width = `${(100 * value) / top}%`;
      const share = base && key !== "accepted" ? ` · ${percent(value / base)}` : "";
      return el("div", { class: `step ${key}`, "data-step": key }, [
        el("span", { class: "label" }, [title]),
        el("div", { class: "bar" }, [bar]),
        el("span", { class: "value" }, [count(value) + share]),
      ]);
    }),
  );
}

function renderNumbers(numbers) {
  const box = $("numbers");
  if (!numbers.length) {
    box.replaceChildren(el("p", { class: "empty" }, ["No business numbers yet."]));
    return;
  }
  box.replaceChildren(
    ...numbers.map((n) => {
      const used = n.utilization ?? 0;
      const bar = el("div", { class: "fill" });
      bar.style.width = `${Math.min(100, used * 100)}%`;
      const level = used >= 0.9 ? "hot" : used >= 0.7 ? "warm" : "ok";
      const limit = n.limit ? ` / ${count(n.limit)}` : "";
      return el("div", { class: `number ${level}`, "data-number": n.phone_number_id }, [
        el("div", { class: "who" }, [
          el("strong", {}, [n.name || n.display_phone_number || n.phone_number_id]),
          el("small", {}, [n.display_phone_number || n.phone_number_id]),
        ]),
        el("div", { class: "bar" }, [bar]),
        el("span", { class: "value" }, [`${rate(n.per_second)}${limit} msg/s`]),
      ]);
    }),
  );
}

function renderErrors(errors) {
  $("errors-total").textContent = errors.total ? `${count(errors.total)} in the window` : "";
  const rows = errors.top.length
    ? errors.top.map((e) => el("tr", {}, [el("td", {}, [e.op]), el("td", {}, [e.code]), el("td", {}, [count(e.count)])]))
    : [el("tr", { class: "empty" }, [el("td", { colspan: "3" }, ["No errors"])])];
  $("error-rows").replaceChildren(...rows);
}

// --- small charts: inline SVG, no library ------------------------------------------------------------

function spark(svg, points = []) {
  const values = points.map((p) => (typeof p.v === "number" ? p.v : null));
  const known = values.filter((v) => v !== null);
  if (known.length < 2) {
    svg.replaceChildren(svgEl("line", { x1: 0, y1: 31, x2: 120, y2: 31, class: "base" }));
    return;
  }
  const top = Math.max(...known) || 1;
  const step = 120 / (values.length - 1);
  const coords = [];
  values.forEach((v, i) => {
    if (v !== null) coords.push([i * step, 31 - (v / top) * 28]);
  });
  const line = coords.map(([x, y]) => `${x.toFixed(1)},${y.toFixed(1)}`).join(" ");
  const area = `M${coords[0][0].toFixed(1)},32 L${line.replaceAll(" ", " L")} L${coords.at(-1)[0].toFixed(1)},32 Z`;
  svg.replaceChildren(svgEl("path", { d: area, class: "area" }), svgEl("polyline", { points: line, class: "line" }));
}

function peak(points = []) {
  const known = points.map((p) => p.v).filter((v) => typeof v === "number");
  return known.length ? `peak ${duration(Math.max(...known))}` : "";
}

function svgEl(name, attributes) {
  const node = document.createElementNS(SVG, name);
  for (const [key, value] of Object.entries(attributes)) node.setAttribute(key, String(value));
  return node;
}

function el(name, attributes = {}, children = []) {
  const node = document.createElement(name);
  for (const [key, value] of Object.entries(attributes)) node.setAttribute(key, value);
  node.append(...children);
  return node;
}

// --- formats ------------------------------------------------------------------------------------------

function rate(x) {
  if (x === null || x === undefined) return "–";
  return x.toFixed(x >= 100 ? 0 : x >= 10 ? 1 : 2);
}

function count(x) {
  return numberFormat.format(Math.round(x ?? 0));
}

function percent(x) {
  if (x === null || x === undefined) return "–";
  const value = x * 100;
  return `${value.toFixed(value > 0 && value < 1 ? 2 : 1)}%`;
}

function period(seconds) {
  if (seconds < 120) return `${Math.round(seconds)} s`;
  if (seconds < 7200) return `${Math.round(seconds / 60)} min`;
  return `${Math.round(seconds / 3600)} h`;
}

function duration(seconds) {
  if (seconds === null || seconds === undefined) return "–";
  if (seconds < 0.001) return `${Math.round(seconds * 1e6)} µs`;
  if (seconds < 1) return `${(seconds * 1000).toFixed(seconds < 0.01 ? 2 : seconds < 0.1 ? 1 : 0)} ms`;
  if (seconds < 120) return `${seconds.toFixed(seconds < 10 ? 2 : 0)} s`;
  if (seconds < 7200) return `${Math.round(seconds / 60)} min`;
  return `${Math.round(seconds / 3600)} h`;
}

// --- start --------------------------------------------------------------------------------------------

if (getToken()) showBoard();
else showLogin();
