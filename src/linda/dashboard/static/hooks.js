/**
 * Linda dashboard hooks: live performance data from a Linda server, for any front end.
 *
 * A plain ES module with no dependencies and no build step. Import it from the server itself:
 *
 *     import { useDashboardData } from "https://linda.example.com/dashboard/hooks.js";
 *
 * `usePerformanceMetrics` and `useDashboardData` return a *store*: an object with `subscribe(listener)`,
 * `get()`, `refresh()` and `stop()`. Work (polling, or the live stream) starts with the first listener and
 * pauses when the last one leaves, so a store fits React's `useSyncExternalStore`, a Vue `ref`, or plain code:
 *
 *     // React
 *     const store = useMemo(() => useDashboardData({ window: 300 }), []);
 *     const { data, error } = useSyncExternalStore(store.subscribe, store.get);
 *
 *     // Vue
 *     const state = shallowRef(store.get());
 *     onMounted(() => onUnmounted(store.subscribe((s) => (state.value = s))));
 *
 *     // plain JS
 *     const unsubscribe = store.subscribe(({ data }) => render(data));
 *
 * `useMetricsSubscription(callback, options)` calls `callback` with every event of the live stream and
 * returns a function that ends it.
 *
 * Every call takes `token` (an API token from `linda token create`; default: the one the dashboard page keeps
 * in this tab's sessionStorage) and `baseUrl` (default: the server this module came from). Requests send the
 * token as `Authorization: Bearer`, never in a URL. From another origin, the server must allow that origin
 * (a reverse proxy in front of both, or CORS).
 *
 * @module linda/hooks
 */

/** The sessionStorage key where the dashboard page keeps the API token of this tab. */
export const TOKEN_KEY = "linda.token";

const DEFAULT_BASE_URL = new URL("..", import.meta.url).href;
const RETRY_MIN_MS = 1000;
const RETRY_MAX_MS = 30000;
const SILENCE_MS = 45000; // the server sends a heartbeat every 15 s: three missed means the line is dead

/**
 * @typedef {object} ConnectionOptions
 * @property {string | (() => string | null) | null} [token] API token, or a function returning it; default:
 *   the token in sessionStorage under {@link TOKEN_KEY}.
 * @property {string} [baseUrl] The Linda server's base URL; default: where this module was loaded from.
 * @property {typeof fetch} [fetch] The fetch function to use (default: the global one).
 */

/**
 * @template T
 * @typedef {object} State
 * @property {T | null} data The newest data, or null before the first answer.
 * @property {LindaError | null} error The last failure (cleared by the next success).
 * @property {boolean} loading True until the first answer or failure.
 * @property {Date | null} updatedAt When `data` last changed.
 * @property {"idle" | "connecting" | "open" | "retrying" | "unauthorized" | "closed"} connection
 *   The live stream's state (`useDashboardData` with `live`), else "idle".
 */

/**
 * @template T
 * @typedef {object} Store
 * @property {(listener: (state: State<T>) => void) => () => void} subscribe Call `listener` on every
 *   change; returns the function that stops calling it.
 * @property {() => State<T>} get The current state; the same object until something changes.
 * @property {() => Promise<void>} refresh Fetch now.
 * @property {() => void} stop End all work for good (listeners stay, and hear nothing more).
 */

/** A failed request: `status` is the HTTP status (0: no answer), `code` Linda's error code. */
export class LindaError extends Error {
  /**
   * @param {string} message
   * @param {number} status
   * @param {string} code
   */
  constructor(message, status, code) {
    super(message);
    this.name = "LindaError";
    this.status = status;
    this.code = code;
  }
}

/** The API token this tab keeps (the dashboard page's sign-in puts it there), or null. */
export function getToken() {
  try {
    return globalThis.sessionStorage?.getItem(TOKEN_KEY) ?? null;
  } catch {
    return null; // storage disabled
  }
}

/**
 * Keep `token` for this tab (null forgets it).
 * @param {string | null} token
 */
export function setToken(token) {
  if (token) globalThis.sessionStorage?.setItem(TOKEN_KEY, token);
  else globalThis.sessionStorage?.removeItem(TOKEN_KEY);
}

/** @param {ConnectionOptions} options */
function connection(options) {
  const given = options.token;
  const token = typeof given === "function" ? given() : given ?? getToken();
  const base = options.baseUrl ?? DEFAULT_BASE_URL;
  return {
    token,
    base: base.endsWith("/") ? base : base + "/",
    fetch: options.fetch ?? globalThis.fetch.bind(globalThis),
  };
}

/**
 * @param {string} path
 * @param {Record<string, string | number | null | undefined>} params
 * @param {ReturnType<typeof connection>} conn
 */
function address(path, params, conn) {
  const url = new URL(path, conn.base);
  for (const [key, value] of Object.entries(params)) {
    if (value !== null && value !== undefined && value !== "") url.searchParams.set(key, String(value));
  }
  return url;
}

/**
 * GET a JSON document of the API; throws LindaError.
 * @param {string} path
 * @param {Record<string, string | number | null | undefined>} params
 * @param {ConnectionOptions} options
 * @param {AbortSignal} [signal]
 */
export async function getJSON(path, params, options, signal) {
  const conn = connection(options);
  const headers = conn.token ? { Authorization: `Bearer ${conn.token}` } : {};
  let response;
  try {
    response = await conn.fetch(address(path, params, conn), { headers, signal });
  } catch (error) {
    if (error?.name === "AbortError") throw error;
    throw new LindaError("Linda did not answer; is the server running?", 0, "unreachable");
  }
  const body = await response.json().catch(() => null);
  if (!response.ok) {
    throw new LindaError(body?.message ?? `HTTP ${response.status}`, response.status, body?.code ?? "http_error");
  }
  return body;
}

/**
 * A store around `load`: polled every `interval` ms while it has listeners.
 * @template T
 * @param {(signal: AbortSignal) => Promise<T>} load
 * @param {number} interval 0: no polling (refresh() or `start` feed it)
 * @param {(store: {set: (patch: Partial<State<T>>) => void}) => (() => void) | void} [start] extra work
 *   run while the store has listeners; returns its own stop function
 * @returns {Store<T>}
 */
function createStore(load, interval, start) {
  /** @type {State<T>} */
  let state = { data: null, error: null, loading: true, updatedAt: null, connection: "idle" };
  const listeners = new Set();
  let timer = null;
  let controller = null;
  let stopExtra = null;
  let stopped = false;

  /** @param {Partial<State<T>>} patch */
  function set(patch) {
    if (stopped) return;
    state = { ...state, ...patch };
    for (const listener of [...listeners]) listener(state);
  }

  async function refresh() {
    if (stopped) return;
    controller?.abort();
    const mine = (controller = new AbortController());
    try {
      const data = await load(mine.signal);
      if (mine === controller) set({ data, error: null, loading: false, updatedAt: new Date() });
    } catch (error) {
      if (error?.name !== "AbortError" && mine === controller) set({ error, loading: false });
    }
  }

  function schedule() {
    clearTimeout(timer);
    if (interval > 0 && listeners.size && !stopped) {
      timer = setTimeout(() => refresh().finally(schedule), interval);
    }
  }

  function pause() {
    clearTimeout(timer);
    controller?.abort();
    controller = null;
    stopExtra?.();
    stopExtra = null;
  }

  return {
    subscribe(listener) {
      listeners.add(listener);
      if (listeners.size === 1 && !stopped) {
        refresh().finally(schedule);
        stopExtra = start?.({ set }) ?? null;
      }
      return () => {
        listeners.delete(listener);
        if (!listeners.size) pause();
      };
    },
    get: () => state,
    refresh,
    stop() {
      pause();
      stopped = true;
    },
  };
}

/**
 * @typedef {object} MetricsOptions
 * @property {string} [operation] Only series whose name starts with this (e.g. "graph.send").
 * @property {number} [window=60] Seconds back from now that the numbers cover.
 * @property {number} [interval=5000] Milliseconds between polls (0: only on `refresh()`).
 */

/**
 * Performance metrics (`GET /api/metrics`): per operation its count, rate, errors and latency quantiles in
 * seconds (p50, p95, p99, p999), counters with rates, and gauges; every process of the deployment.
 * @param {MetricsOptions & ConnectionOptions} [options]
 * @returns {Store<object>}
 */
export function usePerformanceMetrics(options = {}) {
  const { operation, window = 60, interval = 5000 } = options;
  return createStore((signal) => getJSON("api/metrics", { operation, window }, options, signal), interval);
}

/**
 * @typedef {object} DashboardOptions
 * @property {number} [window=60] Seconds back from now that the numbers cover (at most 3600).
 * @property {boolean} [live=true] Follow the live stream (updates within a second of what happens);
 *   false: poll every `interval` ms.
 * @property {number} [interval=5000] Milliseconds between polls when not live.
 */

/**
 * Everything the dashboard shows (`GET /api/dashboard`): messages in and out per second, latency
 * percentiles, errors and the top error codes, the delivery funnel, outbox and inbox depth, each number's
 * throughput against its limit, the firing alerts and the charts' recent history.
 * @param {DashboardOptions & ConnectionOptions} [options]
 * @returns {Store<object>}
 */
export function useDashboardData(options = {}) {
  const { window = 60, live = true, interval = 5000 } = options;
  const load = (signal) => getJSON("api/dashboard", { window }, options, signal);
  if (!live) return createStore(load, interval);
  return createStore(load, 0, ({ set }) =>
    useMetricsSubscription(
      (event) => {
        if (event.type === "metrics") set({ data: event.data, error: null, loading: false, updatedAt: new Date() });
      },
      {
        ...options,
        window,
        onStatus: (status, error) => set(error ? { connection: status, error } : { connection: status }),
      },
    ),
  );
}

/**
 * @typedef {object} StreamEvent
 * @property {"metrics" | "alert" | "heartbeat"} type `metrics`: the dashboard data (as `GET /api/dashboard`)
 *   changed; `alert`: an alert changed state (the alert); `heartbeat`: the line is alive.
 * @property {any} data The event's JSON data.
 * @property {string | null} id The event's id (they count up).
 */

/**
 * @typedef {object} SubscriptionOptions
 * @property {number} [window=60] Seconds back from now that the `metrics` events cover (at most 3600).
 * @property {(status: "connecting" | "open" | "retrying" | "unauthorized" | "closed", error?: LindaError) => void}
 *   [onStatus] Told when the connection changes. "unauthorized" is final: get a valid token and subscribe anew.
 */

/**
 * Follow the live stream (`GET /api/metrics/stream`): `callback` gets every event. The connection is
 * remade after a failure (with growing pauses, up to 30 s) or after 45 s without a word from the server.
 * @param {(event: StreamEvent) => void} callback
 * @param {SubscriptionOptions & ConnectionOptions} [options]
 * @returns {() => void} unsubscribe: closes the stream
 */
export function useMetricsSubscription(callback, options = {}) {
  const { window = 60, onStatus = () => {} } = options;
  let closed = false;
  let controller = null;
  let retryTimer = null;
  let pause = RETRY_MIN_MS;

  async function connect() {
    if (closed) return;
    const conn = connection(options);
    controller = new AbortController();
    const mine = controller;
    let silence = null;
    let failure = null;
    const alive = () => {
      clearTimeout(silence);
      silence = setTimeout(() => mine.abort(), SILENCE_MS);
    };
    onStatus("connecting");
    try {
      alive();
      const headers = { Accept: "text/event-stream" };
      if (conn.token) headers.Authorization = `Bearer ${conn.token}`;
      const response = await conn.fetch(address("api/metrics/stream", { window }, conn), {
        headers,
        signal: mine.signal,
        cache: "no-store",
      });
      if (response.status === 401) {
        const body = await response.json().catch(() => null);
        closed = true;
        onStatus("unauthorized", new LindaError(body?.message ?? "unauthorized", 401, "unauthorized"));
        return;
      }
      if (!response.ok || !response.body) throw new LindaError(`HTTP ${response.status}`, response.status, "http_error");
      onStatus("open");
      pause = RETRY_MIN_MS;
      await readEvents(response.body, (event) => {
        alive();
        if (!closed) callback(event);
      });
    } catch (error) {
      if (closed) return;
      failure = error instanceof LindaError ? error : null;
    } finally {
      clearTimeout(silence);
    }
    if (closed) return;
    onStatus("retrying", failure ?? new LindaError("The live stream broke off; reconnecting.", 0, "unreachable"));
    retryTimer = setTimeout(connect, pause);
    pause = Math.min(pause * 2, RETRY_MAX_MS);
  }

  connect();
  return () => {
    if (closed && !controller) return;
    closed = true;
    clearTimeout(retryTimer);
    controller?.abort();
    controller = null;
    onStatus("closed");
  };
}

/**
 * Parse server-sent events from a byte stream (the text/event-stream format), calling `onEvent` for each.
 * @param {ReadableStream<Uint8Array>} body
 * @param {(event: StreamEvent) => void} onEvent
 */
async function readEvents(body, onEvent) {
  const reader = body.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = "";
  let type = "message";
  let data = [];
  let id = null;
  for (;;) {
    const { value, done } = await reader.read();
    if (done) return;
    buffer += value;
    const lines = buffer.split(/\r\n|\r|\n/);
    buffer = lines.pop() ?? "";
    for (const line of lines) {
      if (line === "") {
        if (data.length) {
          let parsed = data.join("\n");
          try {
            parsed = JSON.parse(parsed);
          } catch {
            // not JSON: hand the text over
          }
          onEvent({ type, data: parsed, id });
        } else if (type === "heartbeat") {
          onEvent({ type, data: null, id });
        }
        type = "message";
        data = [];
        continue;
      }
      if (line.startsWith(":")) {
        onEvent({ type: "heartbeat", data: null, id: null }); // a comment keeps the line open too
        continue;
      }
      const colon = line.indexOf(":");
      const field = colon === -1 ? line : line.slice(0, colon);
      let text = colon === -1 ? "" : line.slice(colon + 1);
      if (text.startsWith(" ")) text = text.slice(1);
      if (field === "event") type = text;
      else if (field === "data") data.push(text);
      else if (field === "id") id = text;
    }
  }
}
