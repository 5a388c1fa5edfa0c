// <notifgql-inbox>: a notification bell and inbox for notifgql, in one plain ES module.
//
// Usage: <script type="module" src="/static/notifgql-inbox.js"></script>
//        <notifgql-inbox endpoint="/graphql" tabs="All, Tasks=task"></notifgql-inbox>
// and give it a token (the `token` attribute or property). docs/inbox.md describes the
// attributes, properties, events, parts and custom properties.

const PAGE_SIZE = 20;
const SOCKET_PROTOCOL = "graphql-transport-ws";
const FIRST_RETRY_MS = 600;
const MAX_RETRY_MS = 30_000;
const PING_EVERY_MS = 25_000;
const PONG_WITHIN_MS = 10_000;
const DEFAULT_TAB = { label: "All", category: null };

const FIELDS = `id title excerpt read seen dismissed snoozed createdAt lastActionAt groupKey
  newActivitiesCount category resource actor { name }
  actions { id label url primary status }
  activities(first: 1) { totalCount }`;

const LIST_QUERY = `query NotifgqlInboxList($filter: NotificationFilter, $after: String) {
  notifications(filter: $filter, first: ${PAGE_SIZE}, after: $after) {
    edges { cursor node { ${FIELDS} } }
    pageInfo { hasNextPage endCursor }
  }
}`;

const CHANGES_SUBSCRIPTION = `subscription NotifgqlInboxChanges($since: String) {
  inboxChanges(since: $since) { changed { ${FIELDS} } removed next hasMore }
}`;

const MESSAGES = {
  UNAUTHENTICATED: "Your sign-in is no longer valid. Sign in again to see your notifications.",
  FORBIDDEN: "This token cannot read an inbox. Use a user token.",
  SERVICE_UNAVAILABLE: "Notifications are unavailable right now. Trying again shortly.",
  NETWORK: "The notification server cannot be reached. Trying again shortly.",
  NO_TOKEN: "Sign in to see your notifications.",
};

const STYLES = `
:host {
  --notifgql-font: system-ui, -apple-system, "Segoe UI", Roboto, sans-serif;
  --notifgql-accent: #2563eb;
  --notifgql-text: #111827;
  --notifgql-muted: #6b7280;
  --notifgql-background: #ffffff;
  --notifgql-hover: #f3f4f6;
  --notifgql-unread-background: #eff6ff;
  --notifgql-border: #e5e7eb;
  --notifgql-badge-background: #dc2626;
  --notifgql-badge-text: #ffffff;
  --notifgql-error: #b91c1c;
  --notifgql-radius: 12px;
  --notifgql-width: 400px;
  --notifgql-max-height: 520px;
  --notifgql-shadow: 0 12px 32px rgba(17, 24, 39, 0.18);
  display: inline-block;
  position: relative;
  font-family: var(--notifgql-font);
  color: var(--notifgql-text);
}
*, *::before, *::after { box-sizing: border-box; }
button { font: inherit; color: inherit; cursor: pointer; }
button:focus-visible, [tabindex]:focus-visible {
  outline: 2px solid var(--notifgql-accent); outline-offset: 2px;
}
.bell {
  position: relative; display: inline-flex; align-items: center; justify-content: center;
  width: 40px; height: 40px; border-radius: 50%; border: 1px solid var(--notifgql-border);
  background: var(--notifgql-background);
}
.bell:hover { background: var(--notifgql-hover); }
.bell svg { width: 22px; height: 22px; }
.badge {
  position: absolute; top: -4px; right: -4px; min-width: 20px; height: 20px; padding: 0 6px;
  border-radius: 10px; background: var(--notifgql-badge-background);
  color: var(--notifgql-badge-text); font-size: 12px; font-weight: 600; line-height: 20px;
  text-align: center;
}
[hidden] { display: none !important; }
.popover {
  position: absolute; top: calc(100% + 8px); right: 0; z-index: 1000;
  width: min(var(--notifgql-width), calc(100vw - 16px)); max-height: var(--notifgql-max-height);
  display: flex; flex-direction: column; overflow: hidden;
  background: var(--notifgql-background); border: 1px solid var(--notifgql-border);
  border-radius: var(--notifgql-radius); box-shadow: var(--notifgql-shadow);
}
.popover.start { right: auto; left: 0; }
.header {
  display: flex; align-items: center; justify-content: space-between; gap: 8px;
  padding: 12px 16px; border-bottom: 1px solid var(--notifgql-border);
}
.heading { margin: 0; font-size: 16px; font-weight: 600; }
.link {
  border: 0; background: none; color: var(--notifgql-accent); font-size: 13px; padding: 4px;
}
.link:disabled { color: var(--notifgql-muted); cursor: default; }
.tabs {
  display: flex; gap: 4px; padding: 0 12px; border-bottom: 1px solid var(--notifgql-border);
  overflow-x: auto;
}
.tab {
  display: inline-flex; align-items: center; gap: 6px; border: 0; background: none;
  padding: 8px 8px 10px; font-size: 13px; color: var(--notifgql-muted);
  border-bottom: 2px solid transparent;
}
.tab[aria-selected="true"] {
  color: var(--notifgql-text); border-bottom-color: var(--notifgql-accent); font-weight: 600;
}
.tab-badge {
  min-width: 18px; padding: 0 5px; border-radius: 9px; font-size: 11px; line-height: 18px;
  background: var(--notifgql-hover); color: var(--notifgql-text); text-align: center;
}
.status {
  margin: 8px 12px; padding: 8px 12px; border-radius: 8px; font-size: 13px;
  background: #fef2f2; color: var(--notifgql-error);
}
.list { flex: 1; overflow-y: auto; margin: 0; padding: 0; }
.item {
  position: relative; display: flex; gap: 10px; padding: 12px 16px 12px 24px;
  border-bottom: 1px solid var(--notifgql-border); cursor: pointer;
}
.item:hover { background: var(--notifgql-hover); }
.item:focus-visible, .list:focus-visible { outline-offset: -2px; }
.item.unread { background: var(--notifgql-unread-background); }
.item.unread::before {
  content: ""; position: absolute; left: 9px; top: 18px; width: 8px; height: 8px;
  border-radius: 50%; background: var(--notifgql-accent);
}
.body { flex: 1; min-width: 0; }
.title { margin: 0; font-size: 14px; line-height: 1.35; overflow-wrap: anywhere; }
.item.unread .title { font-weight: 500; }
.meta { margin: 4px 0 0; font-size: 12px; color: var(--notifgql-muted); }
.count {
  display: inline-block; margin-left: 4px; padding: 0 6px; border-radius: 8px;
  background: var(--notifgql-hover); color: var(--notifgql-text);
}
.excerpt { margin: 4px 0 0; font-size: 13px; color: var(--notifgql-muted); overflow-wrap: anywhere; }
.actions { display: flex; flex-wrap: wrap; gap: 6px; margin-top: 8px; }
.action {
  border: 1px solid var(--notifgql-border); background: var(--notifgql-background);
  border-radius: 6px; padding: 4px 10px; font-size: 13px;
}
.action.primary {
  background: var(--notifgql-accent); border-color: var(--notifgql-accent); color: #fff;
}
.done { font-size: 12px; color: var(--notifgql-muted); align-self: center; }
.tools { display: flex; flex-direction: column; gap: 4px; align-items: flex-end; }
.tool {
  border: 0; background: none; color: var(--notifgql-muted); font-size: 12px;
  padding: 2px 4px; border-radius: 4px;
}
.tool:hover { background: var(--notifgql-border); color: var(--notifgql-text); }
.snooze-menu {
  display: flex; flex-direction: column; gap: 2px; padding: 4px; border-radius: 8px;
  border: 1px solid var(--notifgql-border); background: var(--notifgql-background);
}
.empty, .more { padding: 24px 16px; text-align: center; color: var(--notifgql-muted); font-size: 13px; }
.more { padding: 12px; }
.more:empty { display: none; }
.header, .tabs, .status { flex-shrink: 0; }
.sentinel { height: 1px; }
.sr-only {
  position: absolute; width: 1px; height: 1px; padding: 0; margin: -1px; overflow: hidden;
  clip: rect(0 0 0 0); white-space: nowrap; border: 0;
}
`;

const BELL_SVG = `<svg viewBox="0 0 24 24" fill="none" stroke="currentColor" stroke-width="1.8"
  stroke-linecap="round" stroke-linejoin="round" aria-hidden="true" focusable="false">
  <path d="M6 8a6 6 0 0 1 12 0c0 7 3 9 3 9H3s3-2 3-9"/><path d="M10.3 21a1.94 1.94 0 0 0 3.4 0"/>
</svg>`;

/** An error the component shows: a sentence for people, and the server's code. */
class InboxError extends Error {
  constructor(message, code) {
    super(message);
    this.code = code;
  }
}

/** The `tabs` attribute: "All, Tasks=task, Billing=billing" (a bare label shows everything). */
export function parseTabs(value) {
  if (!value || !value.trim()) return [DEFAULT_TAB];
  const tabs = [];
  for (const entry of value.split(",")) {
    const text = entry.trim();
    if (!text) continue;
    const at = text.indexOf("=");
    if (at < 0) tabs.push({ label: text, category: null });
    else tabs.push({ label: text.slice(0, at).trim(), category: text.slice(at + 1).trim() || null });
  }
  return tabs.length ? tabs : [DEFAULT_TAB];
}

function sortKey(notification) {
  return Date.parse(notification.lastActionAt || notification.createdAt) || 0;
}

/** Newest activity first, ties by id, as the server orders lists. */
function before(a, b) {
  const ka = sortKey(a);
  const kb = sortKey(b);
  if (ka !== kb) return ka > kb;
  return Number(a.id) > Number(b.id);
}

function element(tag, attributes = {}, children = []) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) {
    if (value === null || value === undefined || value === false) continue;
    if (name === "text") node.textContent = value;
    else node.setAttribute(name, value === true ? "" : String(value));
  }
  for (const child of children) if (child) node.append(child);
  return node;
}

/** Titles may hold <b>/<strong>/<i>/<em>; anything else is shown as text, never parsed. */
function richText(text) {
  const fragment = document.createDocumentFragment();
  const stack = [fragment];
  for (const part of String(text).split(/(<\/?(?:b|strong|i|em)>)/i)) {
    const tag = /^<(\/?)(b|strong|i|em)>$/i.exec(part);
    if (!tag) {
      if (part) stack[stack.length - 1].append(document.createTextNode(part));
    } else if (!tag[1]) {
      const node = document.createElement(tag[2].toLowerCase() === "b" ? "strong" : "em");
      stack[stack.length - 1].append(node);
      stack.push(node);
    } else if (stack.length > 1) {
      stack.pop();
    }
  }
  return fragment;
}

function plainText(text) {
  return String(text).replace(/<[^>]*>/g, "");
}

function relativeTime(iso) {
  const then = Date.parse(iso);
  if (!then) return "";
  const seconds = (then - Date.now()) / 1000;
  if (Math.abs(seconds) < 45) return "just now";
  const units = [
    ["minute", 60], ["hour", 3600], ["day", 86400], ["week", 604800], ["month", 2629800],
    ["year", 31557600],
  ];
  let [unit, size] = units[0];
  for (const [name, length] of units) if (Math.abs(seconds) >= length) [unit, size] = [name, length];
  return new Intl.RelativeTimeFormat(undefined, { numeric: "auto" }).format(
    Math.round(seconds / size),
    unit,
  );
}

function tomorrowMorning() {
  const at = new Date();
  at.setDate(at.getDate() + 1);
  at.setHours(9, 0, 0, 0);
  return at;
}

/** The small graphql-transport-ws client: one subscription, resumed from its last `next`. */
class ChangeFeed {
  constructor(host) {
    this.host = host;
    this.socket = null;
    this.next = null;
    this.attempt = 0;
    this.retryTimer = 0;
    this.pingTimer = 0;
    this.pongTimer = 0;
    this.stopped = true;
    this.serial = 0;
    this.caughtUp = false;
  }

  start() {
    this.stopped = false;
    this.connect();
  }

  stop() {
    this.stopped = true;
    clearTimeout(this.retryTimer);
    this.clearTimers();
    if (this.socket) {
      const socket = this.socket;
      this.socket = null;
      socket.close(1000, "Normal Closure");
    }
  }

  clearTimers() {
    clearInterval(this.pingTimer);
    clearTimeout(this.pongTimer);
  }

  /** Connect now (after a network comes back, or a new token). */
  reconnectSoon() {
    if (this.stopped || (this.socket && this.socket.readyState <= 1)) return;
    clearTimeout(this.retryTimer);
    this.connect();
  }

  connect() {
    clearTimeout(this.retryTimer);
    const url = new URL(this.host.endpoint, document.baseURI);
    url.protocol = url.protocol === "https:" ? "wss:" : "ws:";
    let socket;
    try {
      socket = new WebSocket(url, SOCKET_PROTOCOL);
    } catch {
      this.host.reportError(new InboxError(MESSAGES.NETWORK, "NETWORK"));
      this.scheduleRetry();
      return;
    }
    this.socket = socket;
    this.caughtUp = false;
    this.acknowledged = false;
    socket.onopen = () => {
      socket.send(
        JSON.stringify({
          type: "connection_init",
          payload: { Authorization: `Bearer ${this.host.token}` },
        }),
      );
    };
    socket.onmessage = (event) => this.receive(socket, event.data);
    socket.onclose = (event) => this.closed(socket, event.code);
  }

  send(socket, message) {
    if (socket.readyState === WebSocket.OPEN) socket.send(JSON.stringify(message));
  }

  receive(socket, data) {
    if (socket !== this.socket) return;
    let message;
    try {
      message = JSON.parse(data);
    } catch {
      return;
    }
    switch (message.type) {
      case "connection_ack":
        this.attempt = 0;
        this.acknowledged = true;
        this.subscribe(socket);
        this.pingTimer = setInterval(() => {
          this.send(socket, { type: "ping" });
          clearTimeout(this.pongTimer);
          this.pongTimer = setTimeout(() => socket.close(4408, "No pong"), PONG_WITHIN_MS);
        }, PING_EVERY_MS);
        break;
      case "ping":
        this.send(socket, { type: "pong" });
        break;
      case "pong":
        clearTimeout(this.pongTimer);
        break;
      case "next": {
        if (message.id !== this.operation) return;
        const errors = message.payload?.errors;
        if (errors?.length) {
          this.failed(socket, errors);
          return;
        }
        const changes = message.payload?.data?.inboxChanges;
        if (!changes) return;
        this.next = changes.next;
        const live = this.caughtUp;
        if (!changes.hasMore) this.caughtUp = true;
        if (live || !this.fromScratch) this.host.applyChanges(changes, live);
        // Live once caught up: from here on the inbox shows what the server has.
        if (!live && this.caughtUp) {
          if (this.fromScratch) this.host.refresh();
          this.host.connectionChanged(true);
        }
        break;
      }
      case "error":
        if (message.id === this.operation) this.failed(socket, message.payload || []);
        break;
      case "complete":
        if (message.id === this.operation) this.subscribe(socket);
        break;
      default:
        break;
    }
  }

  subscribe(socket) {
    this.serial += 1;
    this.operation = String(this.serial);
    // From nothing, the first answers replay the whole inbox: only their position matters,
    // since the list is read over HTTP (and read again once caught up, see refresh()).
    this.fromScratch = this.next === null;
    this.send(socket, {
      id: this.operation,
      type: "subscribe",
      payload: { query: CHANGES_SUBSCRIPTION, variables: { since: this.next } },
    });
  }

  failed(socket, errors) {
    const code = errors[0]?.extensions?.code;
    if (code === "RESYNC_REQUIRED") {
      // The position is too old: start over from nothing, and reload what is shown.
      this.next = null;
      this.caughtUp = false;
      this.subscribe(socket);
      return;
    }
    this.host.reportError(
      new InboxError(MESSAGES[code] || errors[0]?.message || MESSAGES.NETWORK, code),
    );
    socket.close(1000, "Normal Closure");
  }

  closed(socket, code) {
    if (socket !== this.socket) return;
    this.socket = null;
    this.clearTimers();
    this.host.connectionChanged(false);
    if (this.stopped) return;
    if (code === 4403 || code === 4401) {
      // A bad or expired token: wait for a new one (setting `token` reconnects).
      this.host.reportError(new InboxError(MESSAGES.UNAUTHENTICATED, "UNAUTHENTICATED"));
      return;
    }
    if (!this.acknowledged) {
      // Not even connected: the server is down or unreachable (a drop just reconnects).
      const reason = code === 4503 ? "SERVICE_UNAVAILABLE" : "NETWORK";
      this.host.reportError(new InboxError(MESSAGES[reason], reason));
    }
    this.scheduleRetry();
  }

  scheduleRetry() {
    const ceiling = Math.min(MAX_RETRY_MS, FIRST_RETRY_MS * 2 ** this.attempt);
    const delay = ceiling / 2 + Math.random() * (ceiling / 2) + FIRST_RETRY_MS / 2;
    this.attempt += 1;
    this.retryTimer = setTimeout(() => {
      if (!this.stopped) this.connect();
    }, delay);
  }
}

export class NotifgqlInbox extends HTMLElement {
  static observedAttributes = ["endpoint", "token", "tabs", "heading"];

  #token = null;
  #items = [];
  #pageInfo = { hasNextPage: false, endCursor: null };
  #loading = false;
  #loadSerial = 0;
  #counts = { unread: 0, tabs: [] };
  #tabs = [DEFAULT_TAB];
  #tabIndex = 0;
  #open = false;
  #error = null;
  #newest = 0;
  #feed = new ChangeFeed(this);
  #countsTimer = 0;
  #observer = null;
  #connected = false;
  #snoozing = null;
  #focusId = null;
  #ready = false;
  #pending = [];
  #refreshWhenReady = false;
  #marks = new Map();
  #nodes = new Map();
  #emptyNode = element("div", { class: "empty", part: "empty", text: "You're all caught up." });
  #moreNode = element("div", { class: "more", part: "loading", "aria-hidden": "true" });
  #sentinel = element("div", { class: "sentinel" });

  constructor() {
    super();
    const root = this.attachShadow({ mode: "open", delegatesFocus: false });
    const sheet = new CSSStyleSheet();
    sheet.replaceSync(STYLES);
    root.adoptedStyleSheets = [sheet];
    root.innerHTML = `
      <button class="bell" part="bell" type="button" aria-haspopup="dialog"
        aria-expanded="false" aria-label="Notifications">${BELL_SVG}
        <span class="badge" part="badge" aria-hidden="true" hidden></span></button>
      <div class="popover" part="popover" role="dialog" aria-label="Notifications" hidden>
        <div class="header" part="header">
          <h2 class="heading" part="heading">Notifications</h2>
          <button class="link mark-all" part="mark-all-read" type="button">Mark all read</button>
        </div>
        <div class="tabs" part="tabs" role="tablist" aria-label="Categories" hidden></div>
        <div class="status" part="error" role="alert" hidden></div>
        <div class="list" part="list" role="feed" aria-label="Notifications" aria-busy="false"
          tabindex="-1"></div>
      </div>
      <div class="sr-only" part="announcer" aria-live="polite" aria-atomic="true"></div>`;
    this.bell = root.querySelector(".bell");
    this.badge = root.querySelector(".badge");
    this.panel = root.querySelector(".popover");
    this.headingNode = root.querySelector(".heading");
    this.markAllButton = root.querySelector(".mark-all");
    this.tabsNode = root.querySelector(".tabs");
    this.statusNode = root.querySelector(".status");
    this.listNode = root.querySelector(".list");
    this.announcer = root.querySelector(".sr-only");
    this.bell.addEventListener("click", () => this.toggle());
    this.bell.addEventListener("keydown", (event) => {
      if (event.key === "ArrowDown" && !this.#open) {
        event.preventDefault();
        this.show();
      }
    });
    this.markAllButton.addEventListener("click", () => this.markAllRead());
    this.panel.addEventListener("keydown", (event) => this.#keydown(event));
    this.listNode.addEventListener("click", (event) => this.#click(event));
    this.tabsNode.addEventListener("click", (event) => {
      const tab = event.target.closest("[role=tab]");
      if (tab) this.selectTab(Number(tab.dataset.index));
    });
    this.tabsNode.addEventListener("keydown", (event) => this.#tabKeydown(event));
    this.#onDocumentClick = (event) => {
      if (this.#open && !event.composedPath().includes(this)) this.hide({ focusBell: false });
    };
    this.#onOnline = () => this.#feed.reconnectSoon();
  }

  #onDocumentClick;
  #onOnline;

  // --- attributes and properties ---

  get endpoint() {
    return this.getAttribute("endpoint") || "/graphql";
  }

  set endpoint(value) {
    this.setAttribute("endpoint", value);
  }

  /** The bearer token; setting it (again) reloads the inbox and reconnects. */
  get token() {
    return this.#token ?? this.getAttribute("token");
  }

  set token(value) {
    this.#token = value || null;
    this.#restart();
  }

  get open() {
    return this.#open;
  }

  /** The unread count on the bell. */
  get unreadCount() {
    return this.#counts.unread;
  }

  /** The notifications shown in the current tab, newest first (copies). */
  get notifications() {
    return this.#items.map((item) => structuredClone(item));
  }

  attributeChangedCallback(name, previous, value) {
    if (previous === value) return;
    if (name === "heading") {
      this.headingNode.textContent = value || "Notifications";
      this.panel.setAttribute("aria-label", value || "Notifications");
      return;
    }
    if (name === "tabs") {
      this.#tabs = parseTabs(value);
      this.#tabIndex = 0;
      this.#renderTabs();
    }
    if (name === "token" && this.#token !== null) return;
    if (this.#connected) this.#restart();
  }

  connectedCallback() {
    this.#connected = true;
    this.#tabs = parseTabs(this.getAttribute("tabs"));
    this.#renderTabs();
    document.addEventListener("click", this.#onDocumentClick);
    window.addEventListener("online", this.#onOnline);
    this.#observer = new IntersectionObserver(
      (entries) => {
        if (entries.some((entry) => entry.isIntersecting)) this.loadMore();
      },
      { root: this.listNode, rootMargin: "0px 0px 120px 0px" },
    );
    this.#restart();
  }

  disconnectedCallback() {
    this.#connected = false;
    document.removeEventListener("click", this.#onDocumentClick);
    window.removeEventListener("online", this.#onOnline);
    this.#observer?.disconnect();
    this.#feed.stop();
  }

  // --- public methods ---

  toggle() {
    if (this.#open) this.hide();
    else this.show();
  }

  show() {
    if (this.#open) return;
    this.#open = true;
    // Open towards the wider side of the window, so that a bell on the left stays usable.
    const box = this.getBoundingClientRect();
    this.panel.classList.toggle("start", box.left + box.width / 2 < window.innerWidth / 2);
    this.panel.hidden = false;
    this.bell.setAttribute("aria-expanded", "true");
    this.#emit("notifgql:toggle", { open: true });
    this.#render();
    const first = this.listNode.querySelector("[role=article]");
    (first || this.listNode).focus();
    this.#markShownSeen();
  }

  hide({ focusBell = true } = {}) {
    if (!this.#open) return;
    this.#open = false;
    this.#snoozing = null;
    this.panel.hidden = true;
    this.bell.setAttribute("aria-expanded", "false");
    this.#emit("notifgql:toggle", { open: false });
    if (focusBell) this.bell.focus();
  }

  selectTab(index) {
    if (index === this.#tabIndex || !this.#tabs[index]) return;
    this.#tabIndex = index;
    this.#renderTabs();
    this.reload();
  }

  /** Load the first page of the current tab again. */
  reload() {
    this.#ready = false;
    this.#pending = [];
    this.#items = [];
    this.#pageInfo = { hasNextPage: false, endCursor: null };
    this.#loadSerial += 1;
    this.#loading = false;
    this.#render();
    return this.loadMore();
  }

  async loadMore() {
    if (this.#loading || !this.token) return;
    if (this.#items.length && !this.#pageInfo.hasNextPage) return;
    const serial = this.#loadSerial;
    this.#loading = true;
    this.listNode.setAttribute("aria-busy", "true");
    this.#renderMore();
    try {
      const data = await this.#request(LIST_QUERY, {
        filter: this.#filter(),
        after: this.#pageInfo.endCursor,
      });
      if (serial !== this.#loadSerial) return;
      const known = new Set(this.#items.map((item) => item.id));
      for (const { node } of data.notifications.edges) {
        if (!known.has(node.id)) this.#items.push(node);
        this.#newest = Math.max(this.#newest, sortKey(node));
      }
      this.#pageInfo = data.notifications.pageInfo;
      this.#clearError();
      if (!this.#ready) {
        this.#ready = true;
        for (const [changes, live] of this.#pending.splice(0)) this.applyChanges(changes, live);
        if (this.#refreshWhenReady) queueMicrotask(() => this.refresh());
      }
    } catch (error) {
      if (serial === this.#loadSerial) this.reportError(error);
    } finally {
      if (serial === this.#loadSerial) {
        this.#loading = false;
        this.listNode.setAttribute("aria-busy", "false");
        this.#render();
        if (this.#open) this.#markShownSeen();
      }
    }
  }

  async markRead(id) {
    const item = this.#items.find((candidate) => candidate.id === id);
    if (item?.read) return;
    if (item) this.#patch(id, { read: true, seen: true, newActivitiesCount: 0 });
    this.#mark([id], { read: true, seen: true });
    try {
      const data = await this.#request(
        `mutation NotifgqlInboxRead($id: ID!) { readNotification(id: $id) { ${FIELDS} } }`,
        { id },
      );
      this.#settle([id], true);
      this.#upsert(data.readNotification, false);
      this.#render();
      this.#emit("notifgql:read", { ids: [id], all: false });
    } catch (error) {
      this.#settle([id], false);
      if (item) this.#patch(id, { read: false });
      this.reportError(error);
    }
    this.#refreshCounts();
  }

  async markAllRead() {
    const filter = this.#filter();
    delete filter.dismissed;
    const ids = this.#items.filter((item) => !item.read).map((item) => item.id);
    for (const id of ids) this.#patch(id, { read: true, seen: true, newActivitiesCount: 0 });
    this.#mark(ids, { read: true, seen: true });
    try {
      const data = await this.#request(
        `mutation NotifgqlInboxReadAll($filter: NotificationFilter) {
          markAllRead(filter: $filter) { count } }`,
        { filter },
      );
      this.#settle(ids, true);
      this.#emit("notifgql:read", { ids, all: true, count: data.markAllRead.count });
      this.#announce("All notifications marked read.");
    } catch (error) {
      this.#settle(ids, false);
      this.reportError(error);
    }
    this.#refreshCounts();
  }

  async dismiss(id) {
    const index = this.#items.findIndex((item) => item.id === id);
    const item = this.#items[index];
    this.#remove(id, true);
    try {
      // Dismissed unread ones are read as well: the badge never counts what the list hides.
      await this.#request(
        `mutation NotifgqlInboxDismiss($id: ID!) {
          readNotification(id: $id) { id } dismissNotification(id: $id) { id } }`,
        { id },
      );
      this.#emit("notifgql:dismiss", { id, notification: item ?? null });
      this.#announce("Notification dismissed.");
    } catch (error) {
      if (item) {
        this.#items.splice(index, 0, item);
        this.#render();
      }
      this.reportError(error);
    }
    this.#refreshCounts();
  }

  async snooze(id, until) {
    const item = this.#items.find((candidate) => candidate.id === id);
    const at = until instanceof Date ? until : new Date(until);
    this.#snoozing = null;
    this.#remove(id, true);
    try {
      await this.#request(
        `mutation NotifgqlInboxSnooze($id: ID!, $until: DateTime!) {
          snoozeNotification(id: $id, until: $until) { id snoozedUntil } }`,
        { id, until: at.toISOString() },
      );
      this.#emit("notifgql:snooze", { id, until: at.toISOString(), notification: item ?? null });
      this.#announce(`Notification snoozed until ${at.toLocaleString()}.`);
    } catch (error) {
      this.reportError(error);
      this.reload();
    }
    this.#refreshCounts();
  }

  async completeAction(id, actionId) {
    const item = this.#items.find((candidate) => candidate.id === id);
    const action = item?.actions.find((candidate) => candidate.id === actionId);
    const event = this.#emit(
      "notifgql:action",
      { id, action: action ? { ...action } : { id: actionId }, notification: item ?? null },
      true,
    );
    if (event.defaultPrevented) return;
    try {
      const data = await this.#request(
        `mutation NotifgqlInboxAction($id: ID!, $actionId: ID!) {
          completeAction(id: $id, actionId: $actionId) { ${FIELDS} } }`,
        { id, actionId },
      );
      this.#upsert(data.completeAction, false);
      this.#render();
      this.#announce(`${action?.label ?? "Action"}: done.`);
    } catch (error) {
      this.reportError(error);
    }
    this.#refreshCounts();
  }

  /** Open one notification: it is marked read and `notifgql:open` tells the host. */
  openNotification(id) {
    const item = this.#items.find((candidate) => candidate.id === id);
    if (!item) return;
    this.#emit("notifgql:open", { id, notification: structuredClone(item) });
    this.markRead(id);
  }

  // --- called by the change feed ---

  /** Read the first page again and merge it in (the feed is now caught up from nothing). */
  refresh() {
    if (!this.#ready) {
      this.#refreshWhenReady = true;
      return;
    }
    this.#refreshWhenReady = false;
    this.#refreshFirstPage();
  }

  async #refreshFirstPage() {
    const serial = this.#loadSerial;
    try {
      const data = await this.#request(LIST_QUERY, { filter: this.#filter(), after: null });
      if (serial !== this.#loadSerial || !this.#ready) return;
      const nodes = data.notifications.edges.map((edge) => edge.node);
      const listed = new Set(nodes.map((node) => node.id));
      const { pageInfo } = data.notifications;
      const last = pageInfo.hasNextPage ? nodes[nodes.length - 1] : null;
      // Within the first page's range (all of it, when it is the only page), what the
      // server no longer lists has gone.
      this.#items = this.#items.filter(
        (item) => listed.has(item.id) || (last && before(last, item)),
      );
      if (!pageInfo.hasNextPage) this.#pageInfo = pageInfo;
      for (const node of nodes) this.#upsert(node, false);
      this.#render();
    } catch (error) {
      this.reportError(error);
    }
  }

  applyChanges(changes, live) {
    if (!this.#ready) {
      // Until the first page is here there is nothing to place them against: keep them.
      this.#pending.push([changes, live]);
      return;
    }
    for (const id of changes.removed) this.#remove(id, false);
    const arrived = [];
    for (const notification of changes.changed) {
      if (this.#upsert(notification, live)) arrived.push(notification);
    }
    this.#render();
    if (arrived.length === 1) {
      this.#announce(`New notification: ${plainText(arrived[0].title)}`);
    } else if (arrived.length > 1) {
      this.#announce(`${arrived.length} new notifications.`);
    }
    for (const notification of arrived) {
      this.#emit("notifgql:notification", { notification: structuredClone(notification) });
    }
    if (changes.changed.length || changes.removed.length || !live) this.#refreshCounts();
  }

  connectionChanged(connected) {
    this.toggleAttribute("data-live", connected);
    if (!connected || this.#error?.code === "UNAUTHENTICATED") return;
    const failed = this.#error !== null;
    this.#clearError();
    // Back after a failure: load again what could not be loaded meanwhile.
    if (failed && !this.#ready && !this.#loading) this.reload();
    if (failed) this.#refreshCounts(0);
  }

  reportError(error) {
    const known = error instanceof InboxError;
    const message = known ? error.message : MESSAGES.NETWORK;
    const code = known ? error.code : "NETWORK";
    this.#error = { message, code };
    this.statusNode.textContent = message;
    this.statusNode.hidden = false;
    this.toggleAttribute("data-error", true);
    this.#emit("notifgql:error", { message, code });
  }

  // --- internals ---

  #restart() {
    if (!this.#connected) return;
    this.#feed.stop();
    this.#feed.next = null;
    this.#newest = 0;
    this.#clearError();
    if (!this.token) {
      this.#items = [];
      this.#counts = { unread: 0, tabs: [] };
      this.#renderBadges();
      this.#render();
      this.#error = { message: MESSAGES.NO_TOKEN, code: "NO_TOKEN" };
      this.statusNode.textContent = MESSAGES.NO_TOKEN;
      this.statusNode.hidden = false;
      return;
    }
    this.reload();
    this.#refreshCounts(0);
    this.#feed.start();
  }

  #clearError() {
    this.#error = null;
    this.statusNode.hidden = true;
    this.statusNode.textContent = "";
    this.removeAttribute("data-error");
  }

  #filter(tab = this.#tabs[this.#tabIndex]) {
    const filter = { dismissed: false };
    if (tab?.category) filter.category = tab.category;
    return filter;
  }

  #visible(notification) {
    const tab = this.#tabs[this.#tabIndex];
    if (notification.dismissed || notification.snoozed) return false;
    return !tab?.category || notification.category === tab.category;
  }

  /** Put a notification where it belongs; true when it is new to this list and newest. */
  /** Marks made here that answers read before them may not show yet: they hold until an
   * answer shows them, or a live event comes after the mark was stored. */
  #mark(ids, fields) {
    for (const id of ids) this.#marks.set(id, { fields, settled: false });
  }

  #settle(ids, stored) {
    for (const id of ids) {
      const mark = this.#marks.get(id);
      if (mark && stored) mark.settled = true;
      else this.#marks.delete(id);
    }
  }

  #upsert(notification, live) {
    const mark = this.#marks.get(notification.id);
    if (mark) {
      const shown = Object.entries(mark.fields).every(([key, value]) => notification[key] === value);
      if (shown || (live && mark.settled)) {
        this.#marks.delete(notification.id);
      } else {
        const extra = mark.fields.read ? { newActivitiesCount: 0 } : {};
        notification = { ...notification, ...mark.fields, ...extra };
      }
    }
    const index = this.#items.findIndex((item) => item.id === notification.id);
    if (!this.#visible(notification)) {
      if (index >= 0) this.#items.splice(index, 1);
      return false;
    }
    if (index >= 0) this.#items.splice(index, 1);
    const last = this.#items[this.#items.length - 1];
    const fits = !last || !this.#pageInfo.hasNextPage || before(notification, last);
    if (index < 0 && !fits) return false;
    let at = this.#items.findIndex((item) => before(notification, item));
    if (at < 0) at = this.#items.length;
    this.#items.splice(at, 0, notification);
    const key = sortKey(notification);
    const arrived = live && !notification.read && key > this.#newest;
    this.#newest = Math.max(this.#newest, key);
    return arrived;
  }

  #patch(id, fields) {
    const item = this.#items.find((candidate) => candidate.id === id);
    if (item) Object.assign(item, fields);
    this.#render();
  }

  #remove(id, moveFocus) {
    const index = this.#items.findIndex((item) => item.id === id);
    if (index < 0) return;
    const hadFocus = moveFocus && this.shadowRoot.activeElement?.closest?.(`[data-id="${id}"]`);
    this.#items.splice(index, 1);
    const neighbour = this.#items[Math.min(index, this.#items.length - 1)];
    if (hadFocus || moveFocus) this.#focusId = neighbour?.id ?? null;
    this.#render();
    if (moveFocus && this.#open) {
      const target = neighbour && this.listNode.querySelector(`[data-id="${neighbour.id}"]`);
      (target || this.listNode).focus({ preventScroll: true });
    }
  }

  #refreshCounts(delay = 60) {
    clearTimeout(this.#countsTimer);
    this.#countsTimer = setTimeout(() => this.#loadCounts(), delay);
  }

  async #loadCounts() {
    if (!this.token) return;
    const tabs = this.#tabs;
    const declared = [];
    const aliases = [];
    const variables = {};
    tabs.forEach((tab, index) => {
      if (!tab.category) return;
      declared.push(`$c${index}: String!`);
      aliases.push(`tab${index}: notificationCounts(filter: {category: $c${index}}) { unread }`);
      variables[`c${index}`] = tab.category;
    });
    const signature = declared.length ? `(${declared.join(", ")})` : "";
    try {
      const data = await this.#request(
        `query NotifgqlInboxCounts${signature} {
          all: notificationCounts { unread } ${aliases.join(" ")} }`,
        variables,
      );
      if (tabs !== this.#tabs) return;
      this.#counts = {
        unread: data.all.unread,
        tabs: tabs.map((tab, index) => (tab.category ? data[`tab${index}`].unread : data.all.unread)),
      };
      this.#renderBadges();
      this.#emit("notifgql:counts", { unread: data.all.unread, tabs: [...this.#counts.tabs] });
    } catch (error) {
      this.reportError(error);
    }
  }

  async #markShownSeen() {
    const ids = this.#items.filter((item) => !item.seen).map((item) => item.id);
    if (!ids.length || !this.token) return;
    for (const id of ids) {
      const item = this.#items.find((candidate) => candidate.id === id);
      if (item) item.seen = true;
    }
    this.#mark(ids, { seen: true });
    this.#render();
    try {
      await this.#request(
        "mutation NotifgqlInboxSeen($ids: [ID!]!) { markSeen(ids: $ids) { count } }",
        { ids },
      );
      this.#settle(ids, true);
    } catch (error) {
      this.#settle(ids, false);
      this.reportError(error);
    }
  }

  async #request(query, variables = {}) {
    let response;
    try {
      response = await fetch(new URL(this.endpoint, document.baseURI), {
        method: "POST",
        headers: {
          "Content-Type": "application/json",
          Accept: "application/graphql-response+json, application/json",
          Authorization: `Bearer ${this.token}`,
        },
        body: JSON.stringify({ query, variables }),
      });
    } catch {
      throw new InboxError(MESSAGES.NETWORK, "NETWORK");
    }
    let body = null;
    try {
      body = await response.json();
    } catch {
      body = null;
    }
    const first = body?.errors?.[0];
    if (first) {
      const code = first.extensions?.code || "ERROR";
      throw new InboxError(MESSAGES[code] || first.message || MESSAGES.NETWORK, code);
    }
    if (!response.ok || !body?.data) {
      const code = response.status === 503 ? "SERVICE_UNAVAILABLE" : "NETWORK";
      throw new InboxError(MESSAGES[code], code);
    }
    return body.data;
  }

  #emit(type, detail, cancelable = false) {
    const event = new CustomEvent(type, { detail, bubbles: true, composed: true, cancelable });
    this.dispatchEvent(event);
    return event;
  }

  #announce(text) {
    // Changed text is announced; clearing first makes a repeated sentence count too.
    this.announcer.textContent = "";
    requestAnimationFrame(() => {
      this.announcer.textContent = text;
    });
  }

  #renderBadges() {
    const unread = this.#counts.unread;
    this.badge.textContent = unread > 99 ? "99+" : String(unread);
    this.badge.hidden = unread === 0;
    this.bell.setAttribute(
      "aria-label",
      unread === 0 ? "Notifications, none unread" : `Notifications, ${unread} unread`,
    );
    this.markAllButton.disabled = unread === 0;
    this.tabsNode.querySelectorAll("[role=tab]").forEach((tab, index) => {
      const badge = tab.querySelector(".tab-badge");
      const count = this.#counts.tabs[index] ?? 0;
      badge.textContent = String(count);
      badge.hidden = count === 0;
      tab.setAttribute("aria-label", `${this.#tabs[index].label}, ${count} unread`);
    });
  }

  #renderTabs() {
    const tabs = this.#tabs;
    this.tabsNode.hidden = tabs.length < 2;
    this.tabsNode.replaceChildren(
      ...tabs.map((tab, index) =>
        element("button", {
          type: "button",
          role: "tab",
          class: "tab",
          part: index === this.#tabIndex ? "tab tab-selected" : "tab",
          "data-index": index,
          "data-category": tab.category ?? "",
          "aria-selected": String(index === this.#tabIndex),
          tabindex: index === this.#tabIndex ? "0" : "-1",
        }, [
          document.createTextNode(tab.label),
          element("span", { class: "tab-badge", part: "tab-badge", "aria-hidden": "true", hidden: true }),
        ]),
      ),
    );
    this.#renderBadges();
  }

  #renderMore() {
    const more = this.listNode.querySelector(".more");
    if (more) more.textContent = this.#loading ? "Loading…" : "";
  }

  #render() {
    const focused = this.shadowRoot.activeElement?.closest?.("[data-id]")?.dataset.id;
    const keep = this.#focusId ?? focused ?? null;
    this.#focusId = null;
    const setSize = this.#pageInfo.hasNextPage ? -1 : this.#items.length;
    const built = new Map();
    const nodes = this.#items.map((item, index) => {
      // An unchanged notification keeps its node: a click in progress on it is not lost.
      const signature = JSON.stringify([item, this.#snoozing === item.id, this.#when(item)]);
      let cached = this.#nodes.get(item.id);
      if (!cached || cached.signature !== signature) {
        cached = { node: this.#renderItem(item), signature };
      }
      built.set(item.id, cached);
      const { node } = cached;
      node.setAttribute("aria-posinset", String(index + 1));
      node.setAttribute("aria-setsize", String(setSize));
      node.setAttribute("tabindex", (keep ? item.id === keep : index === 0) ? "0" : "-1");
      return node;
    });
    this.#nodes = built;
    if (!this.#items.length && !this.#loading && !this.#error) nodes.push(this.#emptyNode);
    this.#moreNode.textContent = this.#loading ? "Loading…" : "";
    nodes.push(this.#moreNode, this.#sentinel);
    // Move only what moved, so that nodes in place stay untouched.
    const list = this.listNode;
    nodes.forEach((node, index) => {
      if (list.children[index] !== node) list.insertBefore(node, list.children[index] ?? null);
    });
    while (list.children.length > nodes.length) list.lastElementChild.remove();
    this.#observer?.disconnect();
    if (this.#pageInfo.hasNextPage) this.#observer?.observe(this.#sentinel);
    if (keep && this.#open) {
      const target = list.querySelector(`[data-id="${keep}"]`);
      if (target && focused && this.shadowRoot.activeElement !== target) {
        if (!target.contains(this.shadowRoot.activeElement)) target.focus({ preventScroll: true });
      }
    }
  }

  #when(item) {
    return [item.actor?.name, relativeTime(item.lastActionAt || item.createdAt)]
      .filter(Boolean)
      .join(" · ");
  }

  #renderItem(item) {
    const titleId = `title-${item.id}`;
    const activities = item.activities?.totalCount ?? 0;
    const meta = element("p", { class: "meta", part: "meta" }, [
      document.createTextNode(this.#when(item)),
    ]);
    if (activities > 1) {
      const fresh = item.newActivitiesCount;
      meta.append(
        element("span", {
          class: "count",
          part: "activity-count",
          text: fresh > 0 ? `${activities} activities · ${fresh} new` : `${activities} activities`,
        }),
      );
    }
    const body = element("div", { class: "body" }, [
      element("p", { class: "title", part: "title", id: titleId }, [richText(item.title)]),
      meta,
      item.excerpt ? element("p", { class: "excerpt", part: "excerpt", text: item.excerpt }) : null,
    ]);
    if (item.actions?.length) {
      const actions = element("div", { class: "actions", part: "actions" });
      for (const action of item.actions) {
        if (action.status === "DONE") {
          actions.append(
            element("span", { class: "done", part: "action-done", text: `${action.label} ✓` }),
          );
        } else {
          actions.append(
            element("button", {
              type: "button",
              class: action.primary ? "action primary" : "action",
              part: action.primary ? "action action-primary" : "action",
              "data-action": action.id,
              text: action.label,
            }),
          );
        }
      }
      body.append(actions);
    }
    const tools = element("div", { class: "tools" });
    if (this.#snoozing === item.id) {
      tools.append(
        element("div", { class: "snooze-menu", part: "snooze-menu", role: "group", "aria-label": "Snooze until" }, [
          element("button", { type: "button", class: "tool", "data-snooze": "hour", text: "For 1 hour" }),
          element("button", { type: "button", class: "tool", "data-snooze": "tomorrow", text: "Until tomorrow" }),
        ]),
      );
    } else {
      tools.append(
        element("button", {
          type: "button", class: "tool", part: "snooze-button", "data-tool": "snooze",
          "aria-label": `Snooze: ${plainText(item.title)}`, "aria-expanded": "false", text: "Snooze",
        }),
        element("button", {
          type: "button", class: "tool", part: "dismiss-button", "data-tool": "dismiss",
          "aria-label": `Dismiss: ${plainText(item.title)}`, text: "Dismiss",
        }),
      );
    }
    const article = element(
      "article",
      {
        class: item.read ? "item" : "item unread",
        part: item.read ? "item" : "item item-unread",
        role: "article",
        "data-id": item.id,
        "data-read": String(item.read),
        "data-category": item.category ?? "",
        "aria-labelledby": titleId,
      },
      [body, tools],
    );
    if (!item.read) {
      article.prepend(element("span", { class: "sr-only", text: "Unread. " }));
    }
    return article;
  }

  #click(event) {
    const article = event.target.closest("[data-id]");
    if (!article) return;
    const id = article.dataset.id;
    const action = event.target.closest("[data-action]");
    const tool = event.target.closest("[data-tool]");
    const snooze = event.target.closest("[data-snooze]");
    if (action) {
      this.completeAction(id, action.dataset.action);
    } else if (snooze) {
      const until = snooze.dataset.snooze === "hour" ? new Date(Date.now() + 3_600_000) : tomorrowMorning();
      this.snooze(id, until);
    } else if (tool?.dataset.tool === "dismiss") {
      this.dismiss(id);
    } else if (tool?.dataset.tool === "snooze") {
      this.#snoozing = id;
      this.#focusId = id;
      this.#render();
      this.listNode.querySelector(`[data-id="${id}"] [data-snooze]`)?.focus();
    } else {
      this.openNotification(id);
    }
  }

  #keydown(event) {
    if (event.key === "Escape") {
      event.preventDefault();
      event.stopPropagation();
      if (this.#snoozing) {
        const id = this.#snoozing;
        this.#snoozing = null;
        this.#focusId = id;
        this.#render();
        this.listNode.querySelector(`[data-id="${id}"]`)?.focus();
        return;
      }
      this.hide();
      return;
    }
    const articles = [...this.listNode.querySelectorAll("[role=article]")];
    const current = event.target.closest?.("[role=article]");
    const onArticle = current && event.target === current;
    const index = articles.indexOf(current);
    let target = null;
    switch (event.key) {
      case "ArrowDown":
      case "PageDown":
        target = articles[Math.min(index + 1, articles.length - 1)] || articles[0];
        break;
      case "ArrowUp":
      case "PageUp":
        target = articles[Math.max(index - 1, 0)] || articles[0];
        break;
      case "Home":
        if (onArticle || event.target === this.listNode) target = articles[0];
        break;
      case "End":
        if (onArticle || event.target === this.listNode) target = articles[articles.length - 1];
        break;
      case "Enter":
      case " ":
        if (onArticle) {
          event.preventDefault();
          this.openNotification(current.dataset.id);
        }
        return;
      default:
        return;
    }
    if (!target) return;
    event.preventDefault();
    for (const article of articles) article.setAttribute("tabindex", article === target ? "0" : "-1");
    target.focus();
    if (target === articles[articles.length - 1]) this.loadMore();
  }

  #tabKeydown(event) {
    const count = this.#tabs.length;
    let index = this.#tabIndex;
    if (event.key === "ArrowRight") index = (index + 1) % count;
    else if (event.key === "ArrowLeft") index = (index - 1 + count) % count;
    else if (event.key === "Home") index = 0;
    else if (event.key === "End") index = count - 1;
    else return;
    event.preventDefault();
    event.stopPropagation();
    this.selectTab(index);
    this.tabsNode.querySelector(`[data-index="${index}"]`)?.focus();
  }
}

if (!customElements.get("notifgql-inbox")) {
  customElements.define("notifgql-inbox", NotifgqlInbox);
}
