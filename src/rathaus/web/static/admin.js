// Administration: withdraw a published assistant with a reason its owner sees; cancel background jobs.
(function () {
  "use strict";
  const t = JSON.parse(document.getElementById("texts").textContent);
  const csrf = document.querySelector('meta[name="csrf-token"]');
  const alertBox = document.getElementById("alert");
  for (const form of document.querySelectorAll("form.unpublish")) {
    form.addEventListener("submit", async (ev) => {
      ev.preventDefault();
      const reason = form.elements.reason.value.trim();
      if (!reason) { alertBox.textContent = `${t.reason}: ${t.empty_prompt}`; alertBox.hidden = false; form.elements.reason.focus(); return; }
      const row = form.closest("tr");
      const headers = { "Content-Type": "application/json" };
      if (csrf) headers["X-CSRF-Token"] = csrf.content;
      const resp = await fetch(`/api/v1/my-assistants/${row.dataset.id}/unpublish`, { method: "POST", headers, body: JSON.stringify({ reason }) });
      const data = await resp.json().catch(() => ({}));
      if (!resp.ok) { alertBox.textContent = data.detail || data.title; alertBox.hidden = false; return; }
      document.getElementById("status").textContent = `${row.querySelector("th").textContent}: ${t.not_published}`;
      row.remove();
    });
  }
  for (const button of document.querySelectorAll("button.cancel-job")) {
    button.addEventListener("click", async () => {
      const row = button.closest("tr");
      const headers = {};
      if (csrf) headers["X-CSRF-Token"] = csrf.content;
      const resp = await fetch(`/api/v1/jobs/${row.dataset.id}/cancel`, { method: "POST", headers });
      const data = await resp.json().catch(() => ({}));
      if (!resp.ok) { alertBox.textContent = data.detail || data.title; alertBox.hidden = false; return; }
      let state = t[`job_status_${data.status}`] || data.status;
      if (data.cancel_requested && (data.status === "todo" || data.status === "doing")) state += ` (${t.job_cancel_asked})`;
      row.querySelector(".job-status").textContent = state;
      document.getElementById("status").textContent = `${data.name} #${data.id}: ${state}`;
      button.replaceWith(document.createTextNode("–"));
    });
  }
})();
