// What the pages that call rathaus' JSON API share (inbox, application checks, portfolio): the page's texts, the
// CSRF header on every call, the server's specific message in the alert (which takes the focus), and a note that
// survives the reload after a change. Loaded before the page's own script.
window.rathausPage = function (name, workingKey) {
  "use strict";
  const t = JSON.parse(document.getElementById("texts").textContent);
  const csrf = document.querySelector('meta[name="csrf-token"]');
  const alertBox = document.getElementById("alert");
  const statusBox = document.getElementById("status");
  const noteKey = `${name}-status`;
  const note = sessionStorage.getItem(noteKey);
  if (note) { statusBox.textContent = note; sessionStorage.removeItem(noteKey); }

  function fail(text) {
    alertBox.textContent = text;
    alertBox.hidden = false;
    statusBox.textContent = "";
    alertBox.focus();
  }

  // JSON (or a FormData body, sent as is); on an error status the message is shown and an Error thrown
  async function call(method, path, body) {
    const headers = { Accept: "application/json" };
    if (csrf) headers["X-CSRF-Token"] = csrf.content;
    const isForm = body instanceof FormData;
    if (body !== undefined && !isForm) headers["Content-Type"] = "application/json";
    statusBox.textContent = t[workingKey];
    alertBox.hidden = true;
    const resp = await fetch(path, {
      method, headers, body: body === undefined ? undefined : (isForm ? body : JSON.stringify(body)),
    });
    const data = await resp.json().catch(() => ({}));
    if (!resp.ok) {
      fail(data.detail || data.title || String(resp.status));
      throw new Error(alertBox.textContent);
    }
    return data;
  }

  // to ``url`` (null: this page again) with ``text`` shown there
  function go(url, text) {
    if (text) sessionStorage.setItem(noteKey, text);
    if (url === null) window.location.reload(); else window.location.assign(url);
  }

  return { t, alertBox, statusBox, fail, call, go };
};
