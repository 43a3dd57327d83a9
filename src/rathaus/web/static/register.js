// The register entry form (/register/manage/{id}): sends the fields to PUT /api/v1/register/{id}?source=form.
(function () {
  "use strict";
  const form = document.getElementById("entry-form");
  if (!form) return;
  const status = document.getElementById("entry-status");
  const csrf = document.querySelector('meta[name="csrf-token"]');

  function collect() {
    const body = {};
    for (const el of form.elements) {
      if (!el.name) continue;
      let value = el.type === "checkbox" ? el.checked : el.value.trim();
      if (value === "" && (el.name === "staff_council_approval" || el.name === "begin_date")) value = null;
      const [key, lang] = el.name.split(".");
      if (lang) {
        body[key] = body[key] || {};
        body[key][lang] = value;
      } else {
        body[key] = value;
      }
    }
    return body;
  }

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const id = form.dataset.system;
    const version = form.dataset.version;
    const query = new URLSearchParams({ source: "form" });
    if (version) query.set("version", version);
    const headers = { Accept: "application/json", "Content-Type": "application/json" };
    if (csrf) headers["X-CSRF-Token"] = csrf.content;
    status.textContent = "…";
    try {
      const resp = await fetch(`/api/v1/register/${encodeURIComponent(id)}?${query}`, {
        method: "PUT", headers, body: JSON.stringify(collect()),
      });
      const data = await resp.json();
      if (!resp.ok) {
        status.textContent = `Fehler / error: ${data.detail || resp.status}`;
        return;
      }
      form.dataset.version = data.version;
      status.textContent = `Gespeichert / saved: Version ${data.version}` +
        (data.changed.length ? ` (${data.changed.join(", ")})` : " – nichts geändert / nothing changed");
    } catch (err) {
      status.textContent = `Fehler / error: ${err}`;
    }
  });
})();
