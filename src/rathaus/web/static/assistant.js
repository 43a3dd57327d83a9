// Citizen assistant: streams an answer from the public API, shows verified quotes, collects feedback.
(function () {
  "use strict";
  const root = document.querySelector(".assistant");
  if (!root) return;
  const api = root.dataset.api, feedbackApi = root.dataset.feedback, lang = root.dataset.lang;
  const form = document.getElementById("ask"), question = document.getElementById("question");
  const send = document.getElementById("send"), log = document.getElementById("log");
  const error = document.getElementById("error"), template = document.getElementById("answer-template");

  function showError(text) { error.textContent = text || ""; error.hidden = !text; }

  function render(card, answer) {
    card.classList.toggle("abstained", answer.abstained);
    card.querySelector(".a").textContent = answer.text;
    const list = card.querySelector(".sources");
    list.innerHTML = "";
    for (const c of answer.citations) {
      const li = document.createElement("li");
      li.value = c.n;
      const link = document.createElement(c.url ? "a" : "span");
      if (c.url) { link.href = c.url; link.target = "_blank"; link.rel = "noopener"; }
      link.textContent = c.title;
      const quote = document.createElement("blockquote");
      quote.textContent = c.quote;
      li.append(link, quote);
      list.appendChild(li);
    }
    const m = answer.metrics || {};
    card.querySelector(".meta").textContent = `${answer.notice} · ${m.total_tokens || 0} Token · ` +
      `${Number(m.energy_wh || 0).toLocaleString(lang, {maximumFractionDigits: 4})} Wh · ` +
      `${Number(m.gco2e || 0).toLocaleString(lang, {maximumFractionDigits: 4})} g CO₂e`;
    card.dataset.answerId = answer.id;
    card.dataset.feedbackToken = answer.feedback_token || "";
  }

  async function sendFeedback(card, rating) {
    const body = { rating, comment: card.querySelector(".comment").value || null,
                   token: card.dataset.feedbackToken };
    const resp = await fetch(`${feedbackApi}/${card.dataset.answerId}/feedback`, {
      method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(body) });
    if (resp.ok) {
      card.querySelector(".thanks").hidden = false;
      card.querySelector(".up").setAttribute("aria-pressed", rating === 1);
      card.querySelector(".down").setAttribute("aria-pressed", rating === -1);
      card.dataset.rating = rating;
    }
  }

  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const q = question.value.trim();
    if (!q) { showError(root.dataset.empty || "?"); question.focus(); return; }
    showError("");
    const card = template.content.firstElementChild.cloneNode(true);
    card.querySelector(".q").textContent = q;
    card.querySelector(".up").addEventListener("click", () => sendFeedback(card, 1));
    card.querySelector(".down").addEventListener("click", () => sendFeedback(card, -1));
    card.querySelector(".send-comment").addEventListener("click", () => sendFeedback(card, Number(card.dataset.rating || 1)));
    card.querySelector(".feedback").hidden = true;
    log.appendChild(card);
    send.disabled = true;
    try {
      const resp = await fetch(api, { method: "POST", headers: { "Content-Type": "application/json" },
                                      body: JSON.stringify({ question: q, stream: true }) });
      if (!resp.ok) {
        const problem = await resp.json().catch(() => ({}));
        card.remove();
        showError(problem.detail || resp.statusText);
        return;
      }
      const reader = resp.body.getReader(), decoder = new TextDecoder();
      let buffer = "", draft = "";
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        buffer += decoder.decode(value, { stream: true });
        let idx;
        while ((idx = buffer.indexOf("\n\n")) >= 0) {
          const block = buffer.slice(0, idx); buffer = buffer.slice(idx + 2);
          const data = block.split("\n").find((l) => l.startsWith("data:"));
          if (!data) continue;
          const event = JSON.parse(data.slice(5));
          if (event.type === "delta") { draft += event.text; card.querySelector(".a").textContent = draft; }
          else if (event.type === "final") { render(card, event.answer); card.querySelector(".feedback").hidden = false; }
          else if (event.detail) { showError(event.detail); }
        }
      }
      question.value = "";
    } catch (e) {
      showError(String(e));
    } finally {
      send.disabled = false;
    }
  });
})();
