// The portfolio page: sends the idea form to /api/v1/portfolio/ideas (JSON, CSRF header) and shows the
// server's specific message on bad input; after storing, the page reloads with the new idea in the lists.
(function () {
  "use strict";
  const t = JSON.parse(document.getElementById("texts").textContent);
  const csrf = document.querySelector('meta[name="csrf-token"]');
  const alertBox = document.getElementById("alert");
  const statusBox = document.getElementById("status");
  const note = sessionStorage.getItem("portfolio-status");
  if (note) { statusBox.textContent = note; sessionStorage.removeItem("portfolio-status"); }

  const form = document.getElementById("idea-form");
  if (!form) return;
  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const data = Object.fromEntries(new FormData(form).entries());
    data.hours_saved_per_year = data.hours_saved_per_year === "" ? null : Number(data.hours_saved_per_year);
    for (const key of ["contact_name", "contact_email"]) if (!data[key]) delete data[key];
    const headers = { Accept: "application/json", "Content-Type": "application/json" };
    if (csrf) headers["X-CSRF-Token"] = csrf.content;
    statusBox.textContent = t.pf_working;
    alertBox.hidden = true;
    const resp = await fetch("/api/v1/portfolio/ideas", { method: "POST", headers, body: JSON.stringify(data) });
    const body = await resp.json().catch(() => ({}));
    if (!resp.ok) {
      statusBox.textContent = "";
      alertBox.textContent = body.detail || body.title || String(resp.status);
      alertBox.hidden = false;
      alertBox.focus();
      return;
    }
    sessionStorage.setItem("portfolio-status", t.pf_done + " #" + body.id);
    // a new query string, so that the page really reloads (a changed #fragment alone would not)
    window.location.assign("/portfolio?idea=" + body.id + "#idea-" + body.id);
  });
})();
