// The /inbox page: give <notifgql-inbox> a token from the URL fragment (#token=...) or the
// form, kept in sessionStorage only (this tab, until it closes).

const KEY = "notifgql-token";
const inbox = document.getElementById("inbox");
const signedOut = document.getElementById("signed-out");
const signedIn = document.getElementById("signed-in");
const form = document.getElementById("token-form");
const input = document.getElementById("token-input");
const problem = document.getElementById("token-problem");
const lastOpened = document.getElementById("last-opened");

function tokenFromFragment() {
  const fragment = new URLSearchParams(location.hash.slice(1));
  const token = fragment.get("token");
  if (token !== null) {
    // Out of the address bar and the history: the token stays in this tab's storage only.
    history.replaceState(null, "", location.pathname + location.search);
  }
  return token && token.trim();
}

function use(token, { open = true } = {}) {
  if (token) sessionStorage.setItem(KEY, token);
  else sessionStorage.removeItem(KEY);
  signedOut.hidden = Boolean(token);
  signedIn.hidden = !token;
  inbox.token = token || null;
  if (token && open) inbox.show();
  if (!token) input.focus();
}

form.addEventListener("submit", (event) => {
  event.preventDefault();
  problem.hidden = true;
  use(input.value.trim());
  input.value = "";
});

document.getElementById("forget").addEventListener("click", () => {
  inbox.hide({ focusBell: false });
  use(null);
});

inbox.addEventListener("notifgql:error", (event) => {
  if (event.detail.code === "UNAUTHENTICATED" || event.detail.code === "FORBIDDEN") {
    sessionStorage.removeItem(KEY);
    inbox.hide({ focusBell: false });
    signedOut.hidden = false;
    signedIn.hidden = true;
    problem.textContent = event.detail.message;
    problem.hidden = false;
  }
});

inbox.addEventListener("notifgql:open", (event) => {
  const { notification } = event.detail;
  const title = notification.title.replace(/<[^>]*>/g, "");
  lastOpened.textContent = notification.resource
    ? `Opened “${title}” (${notification.resource}).`
    : `Opened “${title}”.`;
});

use(tokenFromFragment() || sessionStorage.getItem(KEY));
