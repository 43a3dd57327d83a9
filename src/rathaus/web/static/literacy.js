// A learning module's check: the chosen options go to /api/v1/literacy/modules/{id}/attempts (JSON, CSRF header);
// the server scores them and explains each answer, shown next to its question; the result takes the focus.
(function () {
  "use strict";
  const { t, alertBox, statusBox, fail, call } = window.rathausPage("literacy", "lit_working");
  const form = document.getElementById("quiz");
  if (!form) return;
  const options = JSON.parse(document.getElementById("quiz-options").textContent);
  const result = document.getElementById("quiz-result");
  const fmt = (s, c, n) => s.replace("{c}", c).replace("{n}", n);

  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const answers = options.map((_, i) => {
      const chosen = form.querySelector(`input[name="q${i}"]:checked`);
      return chosen ? Number(chosen.value) : null;
    });
    const missing = answers.indexOf(null);
    if (missing >= 0) {
      fail(t.lit_unanswered);
      return;
    }
    let body;
    try {
      body = await call("POST", `/api/v1/literacy/modules/${form.dataset.module}/attempts`,
        { answers, lang: form.dataset.lang });
    } catch (e) { return; }
    statusBox.textContent = "";
    alertBox.hidden = true;
    for (const r of body.results) {
      const p = document.getElementById(`q${r.index}-feedback`);
      p.textContent = (r.correct ? t.lit_right + " " : t.lit_wrong + options[r.index][r.answer] + ". ") + r.explanation;
      p.className = "lit-feedback " + (r.correct ? "ok" : "warn");
      p.hidden = false;
    }
    result.textContent = fmt(body.passed ? t.lit_result_pass : t.lit_result_fail, body.correct, body.total);
    result.className = body.passed ? "notice ok" : "notice warn";
    result.hidden = false;
    result.focus();
  });
})();
