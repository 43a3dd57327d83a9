// Model playground: streams an answer from /v1/chat/completions and shows its footprint.
(function () {
  "use strict";
  const form = document.getElementById("playground");
  if (!form) return;
  const allowed = JSON.parse(form.dataset.allowed);
  const dc = document.getElementById("data-class");
  const model = document.getElementById("model");
  const prompt = document.getElementById("prompt");
  const send = document.getElementById("send");
  const stop = document.getElementById("stop");
  const answer = document.getElementById("answer");
  const footprint = document.getElementById("footprint");
  const error = document.getElementById("error");
  let controller = null;

  function fillModels() {
    model.innerHTML = "";
    const names = allowed[dc.value] || [];
    for (const name of names) {
      const opt = document.createElement("option");
      opt.value = name; opt.textContent = name;
      model.appendChild(opt);
    }
    send.disabled = names.length === 0;
    showError(names.length === 0 ? form.dataset.none : "");
  }

  function showError(text) {
    error.textContent = text;
    error.hidden = !text;
  }

  function fmt(x, digits) { return Number(x).toLocaleString(document.documentElement.lang, { maximumFractionDigits: digits }); }

  dc.addEventListener("change", fillModels);
  stop.addEventListener("click", () => { if (controller) controller.abort(); });

  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    if (!prompt.value.trim()) { showError(form.dataset.empty); prompt.focus(); return; }
    showError(""); answer.textContent = ""; footprint.textContent = "";
    controller = new AbortController();
    send.disabled = true; stop.disabled = false;
    try {
      const resp = await fetch("/v1/chat/completions", {
        method: "POST", signal: controller.signal,
        headers: { "Content-Type": "application/json", "X-Rathaus-Use-Case": "playground" },
        body: JSON.stringify({ model: model.value, stream: true, data_class: dc.value,
          messages: [{ role: "user", content: prompt.value }] }),
      });
      if (!resp.ok) {
        const problem = await resp.json().catch(() => ({ detail: resp.statusText }));
        showError(problem.detail || problem.title);
        return;
      }
      const reader = resp.body.getReader();
      const decoder = new TextDecoder();
      let buffer = "";
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        buffer += decoder.decode(value, { stream: true });
        let idx;
        while ((idx = buffer.indexOf("\n\n")) >= 0) {
          const line = buffer.slice(0, idx).trim(); buffer = buffer.slice(idx + 2);
          if (!line.startsWith("data:")) continue;
          const data = line.slice(5).trim();
          if (data === "[DONE]") continue;
          const msg = JSON.parse(data);
          if (msg.error) { showError(msg.error.message); continue; }
          const delta = msg.choices && msg.choices[0] && msg.choices[0].delta;
          if (delta && delta.content) answer.textContent += delta.content;
          if (msg.rathaus) {
            const r = msg.rathaus;
            footprint.textContent = `${footprint.dataset.label}: ${r.total_tokens} Token · ${fmt(r.cost_eur, 6)} € · ` +
              `${fmt(r.energy_wh, 4)} Wh · ${fmt(r.gco2e, 4)} g CO₂e · ${r.model}`;
            footprint.dataset.tokens = r.total_tokens;
          }
        }
      }
    } catch (e) {
      if (e.name !== "AbortError") showError(String(e));
    } finally {
      controller = null; send.disabled = false; stop.disabled = true;
    }
  });
  fillModels();
})();
