// Own assistants: create/edit (new version), publish with EU AI Act screening and confirmation, duplicate, delete.
(function () {
  "use strict";
  const t = JSON.parse(document.getElementById("texts").textContent);
  const $ = (id) => document.getElementById(id);
  const csrf = document.querySelector('meta[name="csrf-token"]');
  const alertBox = $("alert"), status = $("status");

  async function api(method, url, body) {
    const headers = {};
    if (body !== undefined) headers["Content-Type"] = "application/json";
    if (csrf) headers["X-CSRF-Token"] = csrf.content;
    const resp = await fetch(url, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
    const data = await resp.json().catch(() => ({ detail: resp.statusText }));
    return { ok: resp.ok, status: resp.status, data };
  }
  function showAlert(text) { alertBox.textContent = text || ""; alertBox.hidden = !text; if (text) alertBox.focus(); }
  alertBox.tabIndex = -1;

  const form = $("assistant-form");
  if (form) form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const f = form.elements;
    if (!f.name.value.trim()) { showAlert(`${t.name}: ${t.empty_prompt}`); f.name.focus(); return; }
    if (!f.system_prompt.value.trim()) { showAlert(`${t.system_prompt}: ${t.empty_prompt}`); f.system_prompt.focus(); return; }
    const body = {
      name: f.name.value, description: f.description.value, system_prompt: f.system_prompt.value,
      starter_prompts: f.starter_prompts.value.split("\n").map((s) => s.trim()).filter(Boolean),
      data_class: f.data_class.value, visibility: f.visibility.value,
      share_departments: f.share_departments.value.split(",").map((s) => s.trim()).filter(Boolean),
      safeguards: { personal_data: f.personal_data.value, content_guard: f.content_guard.value },
    };
    const id = form.dataset.id;
    if (id) body.version = Number(form.dataset.version);
    const r = await api(id ? "PATCH" : "POST", id ? `/api/v1/my-assistants/${id}` : "/api/v1/my-assistants", body);
    if (!r.ok) { showAlert(r.data.detail || r.data.title); return; }
    location.href = `/assistants/${r.data.id}`;
  });

  async function publish(confirm) {
    const id = $("publish").dataset.id;
    status.textContent = t.screening + " …";
    const r = await api("POST", `/api/v1/my-assistants/${id}/publish`, { confirm });
    status.textContent = "";
    const box = $("screening"), body = $("screening-body");
    box.hidden = false;
    if (r.status === 409 && r.data.screening) {
      body.innerHTML = "";
      const p = document.createElement("p"); p.className = "warn";
      p.textContent = `${t.high_risk_found}: ` + r.data.screening.areas.map((a) => a.label).join("; ");
      body.append(p);
      $("confirm-box").hidden = false;
      $("confirm-high-risk").focus();
      return;
    }
    if (!r.ok) { showAlert(r.data.detail || r.data.title); return; }
    location.reload();
  }
  if ($("publish")) $("publish").addEventListener("click", () => publish(false));
  if ($("publish-confirmed")) $("publish-confirmed").addEventListener("click", () => {
    if (!$("confirm-high-risk").checked) { showAlert(t.confirm_high_risk); $("confirm-high-risk").focus(); return; }
    publish(true);
  });
  if ($("duplicate")) $("duplicate").addEventListener("click", async () => {
    const b = $("duplicate");
    const r = await api("POST", `/api/v1/my-assistants/${b.dataset.id}/duplicate` + (b.dataset.link ? `?link=${encodeURIComponent(b.dataset.link)}` : ""));
    if (!r.ok) { showAlert(r.data.detail || r.data.title); return; }
    location.href = `/assistants/${r.data.id}`;
  });
  if ($("delete-assistant")) $("delete-assistant").addEventListener("click", async () => {
    if (!window.confirm(t.delete + "?")) return;
    const r = await api("DELETE", `/api/v1/my-assistants/${$("delete-assistant").dataset.id}`);
    if (!r.ok) { showAlert(r.data.detail || r.data.title); return; }
    location.href = "/assistants";
  });
})();
