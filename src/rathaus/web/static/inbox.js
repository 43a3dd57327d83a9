// The inbox page: reassign, spam, draft, save, approve and send through /api/v1/inbox (CSRF header on every call).
(function () {
  "use strict";
  const t = JSON.parse(document.getElementById("texts").textContent);
  const csrf = document.querySelector('meta[name="csrf-token"]');
  const alertBox = document.getElementById("alert");
  const statusBox = document.getElementById("status");
  const message = document.getElementById("message");
  if (!message) return;
  const id = message.dataset.id;

  async function call(method, path, body) {
    const headers = {};
    if (csrf) headers["X-CSRF-Token"] = csrf.content;
    if (body !== undefined) headers["Content-Type"] = "application/json";
    statusBox.textContent = t.inbox_working;
    alertBox.hidden = true;
    const resp = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
    const data = await resp.json().catch(() => ({}));
    if (!resp.ok) {
      alertBox.textContent = data.detail || data.title || String(resp.status);
      alertBox.hidden = false;
      statusBox.textContent = "";
      throw new Error(alertBox.textContent);
    }
    return data;
  }
  function reload(note) {
    sessionStorage.setItem("inbox-status", note);
    window.location.reload();
  }
  const note = sessionStorage.getItem("inbox-status");
  if (note) { statusBox.textContent = note; sessionStorage.removeItem("inbox-status"); }

  const routeForm = document.getElementById("route-form");
  routeForm.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const f = routeForm.elements;
    try {
      await call("POST", `/api/v1/inbox/messages/${id}/route`, {
        department: f.department.value, category: f.category.value || null, urgency: f.urgency.value || null });
      reload(t.inbox_done_reassigned);
    } catch (e) { /* shown in the alert */ }
  });
  const spamButton = document.getElementById("spam-button");
  spamButton.addEventListener("click", async () => {
    try {
      await call("POST", `/api/v1/inbox/messages/${id}/spam`, { spam: spamButton.dataset.spam === "true" });
      reload(t.inbox_done_spam);
    } catch (e) { /* shown */ }
  });
  document.getElementById("draft-button").addEventListener("click", async (ev) => {
    ev.target.disabled = true;
    statusBox.textContent = t.thinking;
    try {
      await call("POST", `/api/v1/inbox/messages/${id}/drafts`);
      reload(t.inbox_done_draft);
    } catch (e) { ev.target.disabled = false; }
  });
  const draftForm = document.getElementById("draft-form");
  if (!draftForm) return;
  const draftId = draftForm.dataset.draft;
  draftForm.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    try {
      await call("PUT", `/api/v1/inbox/drafts/${draftId}`, {
        text: draftForm.elements.text.value, subject: draftForm.elements.subject.value });
      reload(t.inbox_done_saved);
    } catch (e) { /* shown */ }
  });
  document.getElementById("approve-button").addEventListener("click", async () => {
    try {
      await call("PUT", `/api/v1/inbox/drafts/${draftId}`, {
        text: draftForm.elements.text.value, subject: draftForm.elements.subject.value });
      await call("POST", `/api/v1/inbox/drafts/${draftId}/approve`);
      reload(t.inbox_done_approved);
    } catch (e) { /* shown */ }
  });
  document.getElementById("send-button").addEventListener("click", async () => {
    if (!window.confirm(t.inbox_send_confirm)) return;
    try {
      await call("POST", `/api/v1/inbox/drafts/${draftId}/send`);
      reload(t.inbox_done_sent);
    } catch (e) { /* shown */ }
  });
})();
