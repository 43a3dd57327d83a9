// The portfolio page: sends the idea form to /api/v1/portfolio/ideas, and – for the IT department's assessors –
// the assessment, the sending of it and the status change to /api/v1/portfolio/ideas/{id}/… (JSON, CSRF header).
// The server's specific message on bad input goes to the alert, which takes the focus; after a change the page
// reloads and says what was done.
(function () {
  "use strict";
  const { t, call, go } = window.rathausPage("portfolio", "pf_working");
  // the server's message is in the alert when a call fails; after a change the page is loaded again with a new
  // query string (a changed #fragment alone would not reload it)
  async function post(path, body) {
    try { return await call("POST", path, body || {}); } catch (e) { return null; }
  }

  const form = document.getElementById("idea-form");
  if (form) {
    form.addEventListener("submit", async (ev) => {
      ev.preventDefault();
      const data = Object.fromEntries(new FormData(form).entries());
      data.hours_saved_per_year = data.hours_saved_per_year === "" ? null : Number(data.hours_saved_per_year);
      for (const key of ["contact_name", "contact_email"]) if (!data[key]) delete data[key];
      const body = await post("/api/v1/portfolio/ideas", data);
      if (body) go("/portfolio?idea=" + body.id + "#idea-" + body.id, t.pf_done + " #" + body.id);
    });
  }

  const panel = document.getElementById("assess");
  if (!panel) return;
  const base = "/api/v1/portfolio/ideas/" + panel.dataset.id;
  const here = "/portfolio?idea=" + panel.dataset.id + "&t=" + Date.now() + "#assess-h";
  const assess = document.getElementById("assess-form");
  if (assess) {
    assess.addEventListener("submit", async (ev) => {
      ev.preventDefault();
      const data = {};
      for (const [key, value] of new FormData(assess).entries()) {
        const [name, part] = key.split(".");
        if (part) {
          data[name] = data[name] || {};
          data[name][part] = part === "points" ? Number(value) : value;
        } else {
          data[name] = value;
        }
      }
      if (await post(base + "/assessments", data)) go(here, t.pf_saved);
    });
  }
  const send = document.getElementById("as-send");
  if (send) {
    send.addEventListener("click", async () => {
      if (!window.confirm(t.pf_send_confirm)) return;
      if (await post(base + "/assessment/send")) go(here, t.pf_sent_done);
    });
  }
  const status = document.getElementById("status-form");
  if (status) {
    status.addEventListener("submit", async (ev) => {
      ev.preventDefault();
      const data = Object.fromEntries(new FormData(status).entries());
      for (const key of ["register_id", "note"]) if (!data[key]) delete data[key];
      if (await post(base + "/status", data)) go(here, t.pf_saved);
    });
  }
})();
