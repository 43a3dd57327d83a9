// The inbox page: reassign, spam, draft, save, approve and send through /api/v1/inbox (CSRF header on every call).
(function () {
  "use strict";
  const { t, statusBox, call, go } = window.rathausPage("inbox", "inbox_working");
  const message = document.getElementById("message");

  // patterns: topics and spikes as text, the plot only when there is a topic to draw; loaded when opened
  const patterns = document.getElementById("patterns");
  if (patterns) {
    patterns.addEventListener("toggle", async () => {
      if (!patterns.open || patterns.dataset.loaded) return;
      patterns.dataset.loaded = "true";
      const result = document.getElementById("patterns-result");
      let data;
      try { data = await call("GET", patterns.dataset.api); } catch (e) { delete patterns.dataset.loaded; return; }
      statusBox.textContent = "";
      result.replaceChildren();
      const topics = data.topics.filter((tp) => tp.id !== -1);
      if (!topics.length) {
        const p = document.createElement("p");
        p.id = "patterns-none";
        p.textContent = t.inbox_patterns_none;
        result.append(p);
        return;
      }
      const h = document.createElement("h3");
      h.textContent = t.inbox_patterns_topics;
      const list = document.createElement("ul");
      list.id = "topics";
      for (const tp of topics) {
        const li = document.createElement("li");
        li.textContent = `${tp.label}: ${t.inbox_patterns_messages.replace("{n}", tp.size)}`;
        list.append(li);
      }
      result.append(h, list);
      if (data.spikes.length) {
        const sh = document.createElement("h3");
        sh.textContent = t.inbox_patterns_spikes;
        const spikes = document.createElement("ul");
        spikes.id = "spikes";
        for (const sp of data.spikes) {
          const li = document.createElement("li");
          li.textContent = sp.text;
          spikes.append(li);
        }
        result.append(sh, spikes);
      }
      const plot = document.getElementById("patterns-plot");
      plot.src = plot.dataset.src;
      plot.hidden = false;
    });
  }

  if (!message) return;
  const id = message.dataset.id;

  // after an action the page is rendered again from the server; the note survives the reload and focus returns
  // to the control that was used (keyboard users keep their place)
  function reload(text, focusId) {
    if (focusId) sessionStorage.setItem("inbox-focus", focusId);
    go(null, text);
  }
  const focusId = sessionStorage.getItem("inbox-focus");
  if (focusId) {
    sessionStorage.removeItem("inbox-focus");
    const el = document.getElementById(focusId);
    if (el) el.focus();
  }
  async function busy(button, work) {
    button.disabled = true;
    try { await work(); } catch (e) { button.disabled = false; /* the message is in the alert */ }
  }

  // route form: the category select offers only the categories of the selected department
  const routeForm = document.getElementById("route-form");
  if (routeForm) {
    const dept = routeForm.elements.department;
    const cat = routeForm.elements.category;
    const filterCategories = () => {
      for (const opt of cat.options) {
        if (!opt.value) continue;
        const fits = opt.dataset.department === dept.value;
        opt.hidden = !fits;
        opt.disabled = !fits;
      }
      if (cat.selectedOptions.length && cat.selectedOptions[0].disabled) cat.value = "";
    };
    dept.addEventListener("change", filterCategories);
    filterCategories();
    routeForm.addEventListener("submit", (ev) => {
      ev.preventDefault();
      const f = routeForm.elements;
      busy(document.getElementById("route-button"), async () => {
        await call("POST", `/api/v1/inbox/messages/${id}/route`, {
          department: f.department.value, category: f.category.value || null, urgency: f.urgency.value || null });
        if (message.dataset.seesAll !== "true" && f.department.value !== message.dataset.ownDepartment) {
          // routed to another department: it leaves this person's queue, so back to the queue
          go("/inbox", t.inbox_done_reassigned);
          return;
        }
        reload(t.inbox_done_reassigned, "route-button");
      });
    });
  }
  const spamButton = document.getElementById("spam-button");
  if (spamButton) {
    spamButton.addEventListener("click", () => busy(spamButton, async () => {
      await call("POST", `/api/v1/inbox/messages/${id}/spam`, { spam: spamButton.dataset.spam === "true" });
      reload(t.inbox_done_spam, "spam-button");
    }));
  }
  // data takeover: the values as shown (corrected ones included) go to the specialist procedure
  const exportButton = document.getElementById("export-button");
  if (exportButton) {
    exportButton.addEventListener("click", () => busy(exportButton, async () => {
      const corrections = {};
      const inputs = [...document.querySelectorAll("#fields input.field-value")];
      for (const kind of new Set(inputs.map((el) => el.dataset.kind))) {
        const mine = inputs.filter((el) => el.dataset.kind === kind);
        if (mine.some((el) => el.value !== el.defaultValue)) {
          corrections[kind] = mine.map((el) => el.value.trim()).filter((v) => v);
        }
      }
      await call("POST", `/api/v1/inbox/messages/${id}/export`, { corrections });
      reload(t.inbox_done_export, "export-state");
    }));
  }
  const draftButton = document.getElementById("draft-button");
  if (draftButton) {
    draftButton.addEventListener("click", () => busy(draftButton, async () => {
      statusBox.textContent = t.inbox_working;
      await call("POST", `/api/v1/inbox/messages/${id}/drafts`);
      reload(t.inbox_done_draft, "draft-text");
    }));
  }

  const draftForm = document.getElementById("draft-form");
  if (!draftForm) return;
  const draftId = draftForm.dataset.draft;
  const text = draftForm.elements.text;
  const subject = draftForm.elements.subject;
  const companion = draftForm.elements.companion_text;  // only when the reply is in another language
  const appendGerman = draftForm.elements.send_companion;
  const sendButton = document.getElementById("send-button");
  const changed = () => text.value !== text.defaultValue || subject.value !== subject.defaultValue ||
    (companion && companion.value !== companion.defaultValue) ||
    (appendGerman && appendGerman.checked !== appendGerman.defaultChecked);
  const body = () => Object.assign({ text: text.value, subject: subject.value },
    companion ? { companion_text: companion.value, send_companion: appendGerman.checked } : {});
  async function saveIfChanged() {
    if (changed()) await call("PUT", `/api/v1/inbox/drafts/${draftId}`, body());
  }
  // an approval covers one text: once it is changed, sending waits for saving and approving again
  for (const field of [text, subject, companion, appendGerman].filter(Boolean)) {
    field.addEventListener(field === appendGerman ? "change" : "input", () => {
      if (sendButton && !sendButton.disabled && changed()) {
        sendButton.disabled = true;
        statusBox.textContent = t.inbox_changed_unsaved;
      }
    });
  }
  draftForm.addEventListener("submit", (ev) => {
    ev.preventDefault();
    busy(document.getElementById("save-draft"), async () => {
      await call("PUT", `/api/v1/inbox/drafts/${draftId}`, body());
      reload(t.inbox_done_saved, "draft-text");
    });
  });
  const approveButton = document.getElementById("approve-button");
  if (approveButton) {
    approveButton.addEventListener("click", () => busy(approveButton, async () => {
      await saveIfChanged();
      await call("POST", `/api/v1/inbox/drafts/${draftId}/approve`);
      reload(t.inbox_done_approved, "send-button");
    }));
  }
  if (sendButton) {
    sendButton.addEventListener("click", () => {
      if (changed()) { statusBox.textContent = t.inbox_changed_unsaved; return; }
      if (!window.confirm(t.inbox_send_confirm)) return;
      busy(sendButton, async () => {
        await call("POST", `/api/v1/inbox/drafts/${draftId}/send`);
        reload(t.inbox_done_sent, "draft-state");
      });
    });
  }
})();
