// Employee chat: streaming answers, stop, regenerate, edit-and-resend, copy, uploads, history search.
// Talks only to the public REST API (/api/v1/chats…); the server keeps the history.
(function () {
  "use strict";
  const cfg = JSON.parse(document.getElementById("config").textContent);
  const t = cfg.t;
  const $ = (id) => document.getElementById(id);
  const form = $("composer"), prompt = $("prompt"), send = $("send"), stop = $("stop");
  const dataClass = $("data-class"), model = $("model"), mode = $("mode");
  const list = $("messages"), alertBox = $("alert"), status = $("status");
  const csrf = document.querySelector('meta[name="csrf-token"]');
  const state = { chat: cfg.chat, version: cfg.chat ? cfg.chat.version : null, controller: null, busy: false };

  // --- API ------------------------------------------------------------------------------------------
  class Problem extends Error {
    constructor(status, body) { super(body.detail || body.title || String(status)); this.status = status; this.body = body; }
  }
  function headers(json) {
    const h = {};
    if (json) h["Content-Type"] = "application/json";
    if (csrf) h["X-CSRF-Token"] = csrf.content;
    return h;
  }
  async function api(method, url, body) {
    const resp = await fetch(url, { method, headers: headers(body !== undefined), body: body === undefined ? undefined : JSON.stringify(body) });
    if (!resp.ok) throw new Problem(resp.status, await resp.json().catch(() => ({ detail: resp.statusText })));
    return resp.status === 204 ? null : resp.json();
  }

  // --- messages to the user --------------------------------------------------------------------------
  function say(text) { status.textContent = text || ""; }
  function showAlert(text, withReload, body) {
    alertBox.textContent = text || "";
    alertBox.hidden = !text;
    const hint = text ? problemHint(body) : null;
    if (hint) alertBox.append(hint);
    if (text && withReload) {
      const b = document.createElement("button");
      b.type = "button"; b.className = "secondary"; b.textContent = t.reload;
      b.addEventListener("click", () => location.reload());
      alertBox.append(" ", b);
    }
  }
  // AI literacy: a hint with a link to the matching learning module next to a refusal, abstention or guard warning
  const hints = JSON.parse((document.getElementById("literacy-hints") || { textContent: "{}" }).textContent);
  function hintFor(kind) {
    const h = hints[kind];
    if (!h) return null;
    const p = document.createElement("p");
    p.className = "notice lit-hint";
    p.dataset.hint = kind;
    const a = document.createElement("a");
    a.href = h.href; a.textContent = t.lit_learn_more;
    p.append(h.text + " ", a);
    return p;
  }
  function problemHint(body) {
    const type = String((body && body.type) || "");
    if (type.endsWith("/data-class-not-allowed") || type.endsWith("/personal-data-blocked")) return hintFor("data_class");
    if (type.endsWith("/content-refused")) return hintFor("guard");
    return null;
  }
  function problemText(err) {
    if (err instanceof Problem) return err.status === 409 ? t.conflict : err.message;
    return t.lost;
  }

  // --- models allowed for the data class ----------------------------------------------------------------
  function fillModels() {
    const names = cfg.allowed[dataClass.value] || [];
    const current = state.chat ? state.chat.model : (cfg.assistant ? cfg.assistant.model : "auto");
    model.innerHTML = "";
    for (const name of ["auto", ...names]) {
      const opt = document.createElement("option");
      opt.value = name; opt.textContent = name === "auto" ? "automatisch / auto" : name;
      if (name === current) opt.selected = true;
      model.appendChild(opt);
    }
    send.disabled = names.length === 0;
    if (names.length === 0) showAlert(t.no_models);
  }
  function showOptions() {
    for (const el of document.querySelectorAll(".opt")) el.hidden = el.dataset.for !== mode.value;
  }
  async function saveSettings() {
    fillModelsIfClassChanged();
    showOptions();
    if (!state.chat) return;
    try {
      const body = { version: state.version, mode: mode.value };
      if (!cfg.assistant) { body.data_class = dataClass.value; body.model = model.value; }
      const chat = await api("PATCH", `/api/v1/chats/${state.chat.id}`, body);
      state.version = chat.version; state.chat = chat;
      showAlert("");
    } catch (err) {
      showAlert(problemText(err), err instanceof Problem && err.status === 409, err.body);
    }
  }
  let lastClass = dataClass.value;
  function fillModelsIfClassChanged() { if (dataClass.value !== lastClass) { lastClass = dataClass.value; fillModels(); } }

  // --- rendering --------------------------------------------------------------------------------------
  // small amounts keep two significant digits (0,000036 g rather than 0 g)
  const fmt = (x, d) => {
    const v = Number(x || 0), lang = document.documentElement.lang;
    return v !== 0 && Math.abs(v) < Math.pow(10, -d + 1)
      ? v.toLocaleString(lang, { maximumSignificantDigits: 2 }) : v.toLocaleString(lang, { maximumFractionDigits: d });
  };
  function footprintText(meta) {
    const m = meta && meta.metrics;
    if (!m) return "";
    return `${t.footprint_label}: ${m.total_tokens} ${t.tokens} · ${fmt(m.cost_eur, 5)} € · ${fmt(m.energy_wh, 4)} Wh · ` +
      `${fmt(m.gco2e, 4)} g CO₂e` + (meta.model ? ` · ${meta.model}` : "");
  }
  function el(tag, cls, text) { const e = document.createElement(tag); if (cls) e.className = cls; if (text !== undefined) e.textContent = text; return e; }

  const SHARES = new Set(["source_numbers_kept", "compression", "script_share", "copy_share", "points_covered"]);
  function checkValue(k, v) {
    const pair = (x) => (x && typeof x === "object" ? `${x.from} → ${x.to}` : String(x));
    if (typeof v === "boolean") return v ? "✓" : "✗";
    if (typeof v === "number") return SHARES.has(k) ? `${fmt(100 * v, 0)} %` : String(v);
    if (Array.isArray(v)) return v.map(pair).join(", ");
    if (v && Array.isArray(v.replaced)) return v.replaced.map(pair).join(", ");
    return v ? String(v) : "";
  }
  function renderDetails(li, meta) {
    const box = li.querySelector(".details");
    box.innerHTML = "";
    if (!meta) return;
    if (meta.citations && meta.citations.length) {
      const h = el("h3", "", t.sources); box.append(h);
      const ol = el("ol", "sources");
      for (const c of meta.citations) {
        const item = el("li");
        item.append(el("q", "", c.quote), " — ", c.url ? Object.assign(el("a", "", c.title), { href: c.url }) : el("span", "", c.title));
        if (c.verified) item.append(" ", el("span", "tag", "✓ " + t.verified));
        ol.append(item);
      }
      box.append(ol);
    }
    const warned = (meta.warnings || []).filter((w) => w.startsWith("content-guard"));
    if (warned.length || meta.withheld) {
      box.append(el("p", "notice warn", meta.withheld ? t.guard_withheld : t.guard_warned));
      const hint = hintFor("guard"); if (hint) box.append(hint);
    }
    if (meta.abstained) { const hint = hintFor("abstention"); if (hint) box.append(hint); }
    const found = (meta.safety || {}).personal_data_found || {};
    const kinds = Object.entries(found).map(([k, n]) => `${n}× ${k}`).join(", ");
    if (kinds && (meta.safety || {}).personal_data_action === "pseudonymised") box.append(el("p", "notice", `${t.pii_pseudonymised}: ${kinds}`));
    if (meta.tool) {
      const dl = el("dl", "facts checks");
      const add = (k, v) => { dl.append(el("dt", "", k), el("dd", "", v)); };
      const x = meta.extra || {}, c = meta.checks || {};
      if (x.before && x.after) {
        add(t.readability, `WSTF ${fmt(x.before.wstf, 1)} → ${fmt(x.after.wstf, 1)} (${x.before.level} → ${x.after.level}); ` +
          `Ø ${fmt(x.before.avg_sentence_words, 1)} → ${fmt(x.after.avg_sentence_words, 1)} ${t.words_per_sentence}`);
        add(t.level, `${x.level}: ${x.met ? "✓ " + t.target_met : "✗ " + t.target_missed}`);
      }
      const inText = c.numbers_in_summary !== undefined ? c.numbers_in_summary : c.numbers_in_text;
      if (inText !== undefined) add(t.numbers_ok, `${c.numbers_verified}/${inText}` +
        (c.unverified_numbers && c.unverified_numbers.length ? ` (⚠ ${c.unverified_numbers.join(", ")})` : ""));
      for (const [k, v] of Object.entries(c)) {  // only checks with a label; empty lists say nothing
        const label = t["chk_" + k];
        if (!label || (k === "unverified_numbers" && inText !== undefined)) continue;
        const shown = checkValue(k, v);
        if (shown) add(label, shown);
      }
      if (meta.rounds) add(t.rounds, String(meta.rounds));
      box.append(el("h3", "", t.checks), dl);
    }
  }

  function messageItem(role, content, seq) {
    const li = el("li", `msg ${role} ok`);
    if (seq) li.dataset.seq = seq;
    li.append(el("div", "who", role === "user" ? t.me : t.ai));
    const body = el("div", role === "user" ? "body plain" : "body md");
    body.textContent = content;
    li.append(body, Object.assign(el("div", "raw", content), { hidden: true }), el("div", "footprint"), el("div", "details"));
    list.append(li);
    decorate(li);
    return li;
  }

  function finishAssistant(li, message) {
    li.dataset.seq = message.seq;
    li.className = `msg assistant ${message.status}`;
    li.querySelector(".body").innerHTML = message.html || "";
    li.querySelector(".raw").textContent = message.content;
    li.querySelector(".footprint").textContent = footprintText(message.meta);
    renderDetails(li, message.meta);
    decorate(li);
  }

  // buttons per message: copy everywhere, edit on user messages, regenerate on the last answer
  function decorate(li) {
    let bar = li.querySelector(".actions");
    if (bar) bar.remove();
    bar = el("div", "actions");
    const copy = el("button", "secondary small", t.copy); copy.type = "button";
    copy.addEventListener("click", () => copyText(li.querySelector(".raw").textContent));
    bar.append(copy);
    if (li.classList.contains("user") && li.dataset.seq) {
      const edit = el("button", "secondary small", t.edit); edit.type = "button";
      edit.addEventListener("click", () => startEdit(li));
      bar.append(edit);
    }
    li.append(bar);
    refreshRegenerate();
  }
  function refreshRegenerate() {
    for (const b of list.querySelectorAll(".regenerate")) b.remove();
    const items = list.querySelectorAll(".msg.assistant");
    const last = items[items.length - 1];
    const bar = last && last.querySelector(".actions");
    if (!bar || state.busy) return;
    const b = el("button", "secondary small regenerate", t.regenerate); b.type = "button";
    b.addEventListener("click", () => turn("regenerate", null, null));
    bar.append(b);
  }
  async function copyText(text) {
    try { await navigator.clipboard.writeText(text); }
    catch (e) {
      const area = Object.assign(document.createElement("textarea"), { value: text });
      document.body.append(area); area.select(); document.execCommand("copy"); area.remove();
    }
    say(t.copied);
  }
  function startEdit(li) {
    const body = li.querySelector(".body");
    const original = li.querySelector(".raw").textContent;
    const area = el("textarea"); area.value = original; area.rows = 4;
    area.setAttribute("aria-label", t.edit);
    const save = el("button", "", t.save_resend); save.type = "button";
    const cancel = el("button", "secondary", t.cancel); cancel.type = "button";
    const box = el("div", "edit-box"); box.append(area, save, " ", cancel);
    body.hidden = true; li.insertBefore(box, body.nextSibling); area.focus();
    cancel.addEventListener("click", () => { box.remove(); body.hidden = false; });
    save.addEventListener("click", () => {
      if (!area.value.trim()) { showAlert(t.empty_prompt); area.focus(); return; }
      box.remove(); body.hidden = false;
      turn("edit", area.value, Number(li.dataset.seq));
    });
  }

  // --- chats ----------------------------------------------------------------------------------------------
  async function ensureChat() {
    if (state.chat) return state.chat;
    const body = { mode: mode.value, data_class: dataClass.value, model: model.value };
    if (cfg.assistant) { body.assistant_id = cfg.assistant.id; if (cfg.link) body.link = cfg.link; }
    const chat = await api("POST", "/api/v1/chats", body);
    state.chat = chat; state.version = chat.version;
    history.replaceState(null, "", `/chat/${chat.id}`);
    $("export-md").href = `/api/v1/chats/${chat.id}/export?format=md`;
    $("export-json").href = `/api/v1/chats/${chat.id}/export?format=json`;
    $("chat-actions").hidden = false;
    return chat;
  }
  function options() {
    const names = { summarise: ["length"], simplify: ["level"], translate: ["target"], draft: ["kind", "recipient"] }[mode.value] || [];
    const out = {};
    for (const n of names) { const v = form.elements.namedItem(n).value.trim(); if (v) out[n] = v; }  // not elements[n]: "length" is the collection's own
    return out;
  }

  function setBusy(busy) {
    state.busy = busy;
    send.disabled = busy; stop.disabled = !busy;
    list.setAttribute("aria-busy", busy ? "true" : "false");
    if (!busy) refreshRegenerate(); else for (const b of list.querySelectorAll(".regenerate")) b.remove();
  }

  // A busy model answers 429 with Retry-After and stores nothing, so the same turn can simply be sent again.
  const BUSY_RETRIES = 3;
  function waitBusy(seconds) {
    return new Promise((resolve) => {
      let left = seconds;
      const tick = () => {
        showAlert(t.model_busy.replace("{n}", String(left)));
        if (left-- <= 0) { showAlert(""); resolve(); } else setTimeout(tick, 1000);
      };
      tick();
    });
  }

  async function turn(action, content, editSeq, busyRetries = 0) {
    if (state.busy) return;
    showAlert("");
    if (action !== "regenerate" && !(content || "").trim()) { showAlert(t.empty_prompt); prompt.focus(); return; }
    let chat;
    try { chat = await ensureChat(); } catch (err) { showAlert(problemText(err), false, err.body); return; }
    const removed = [];
    if (action === "regenerate") {
      const items = list.querySelectorAll(".msg.assistant");
      const last = items[items.length - 1];
      if (last) { removed.push(last); last.remove(); }
    } else if (action === "edit") {
      for (const li of [...list.children]) if (Number(li.dataset.seq) >= editSeq) { removed.push(li); li.remove(); }
    }
    const userLi = action === "regenerate" ? null : messageItem("user", content, null);
    const li = messageItem("assistant", "", null);
    li.classList.add("pending");
    say(t.thinking);
    setBusy(true);
    state.controller = new AbortController();
    let ended = false;
    try {
      const resp = await fetch(`/api/v1/chats/${chat.id}/messages`, {
        method: "POST", signal: state.controller.signal, headers: headers(true),
        body: JSON.stringify({ action, content: action === "regenerate" ? null : content, edit_seq: editSeq,
          version: state.version, stream: true, options: options() }),
      });
      if (!resp.ok) {
        const problem = await resp.json().catch(() => ({ detail: resp.statusText }));
        li.remove(); if (userLi) userLi.remove(); say("");
        for (const r of removed) list.append(r);  // nothing was changed on the server
        if (action === "send") prompt.value = content;
        if (resp.status === 429 && problem.retry_after && busyRetries < BUSY_RETRIES) {
          ended = true; setBusy(false);
          await waitBusy(Math.min(Number(resp.headers.get("Retry-After")) || problem.retry_after, 60));
          return await turn(action, content, editSeq, busyRetries + 1);  // runs to its end before this turn's finally
        }
        showAlert(resp.status === 409 ? t.conflict : resp.status === 429 && problem.retry_after
          ? t.model_busy_gave_up : (problem.detail || problem.title), resp.status === 409, problem);
        return;
      }
      if (action === "send") prompt.value = "";
      const reader = resp.body.getReader();
      const decoder = new TextDecoder();
      let buffer = "", text = "";
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        buffer += decoder.decode(value, { stream: true });
        let cut;
        while ((cut = buffer.indexOf("\n\n")) >= 0) {
          const block = buffer.slice(0, cut); buffer = buffer.slice(cut + 2);
          const data = block.split("\n").filter((l) => l.startsWith("data: ")).map((l) => l.slice(6)).join("\n");
          if (!data) continue;
          const ev = JSON.parse(data);
          if (ev.type === "start") state.version = ev.version;
          else if (ev.type === "delta") { text += ev.text; li.querySelector(".body").textContent = text; }
          else if (ev.type === "sources") renderDetails(li, { citations: ev.citations });
          else if (ev.type === "final") {
            ended = true;
            if (ev.message && ev.message.seq) { finishAssistant(li, ev.message); state.version = ev.message.version || state.version; }
          } else if (ev.type === "error") {
            ended = true; li.classList.add("error"); showAlert(`${t.failed} (${ev.detail})`);
          }
        }
      }
      li.classList.remove("pending");
      say(ended ? "" : t.lost);
    } catch (err) {
      li.classList.remove("pending");
      if (err.name === "AbortError") { li.classList.add("cancelled"); say(t.stopped); }
      else { console.error(err); showAlert(t.lost, true); }
    } finally {
      state.controller = null;
      await resync(userLi, li);
      setBusy(false);
      refreshSidebar(document.getElementById("q").value);
    }
  }

  // after a turn: take sequence numbers, status and version from the server (it saved what streamed)
  async function resync(userLi, li) {
    for (let i = 0; i < 10; i++) {
      try {
        const chat = await api("GET", `/api/v1/chats/${state.chat.id}`);
        const msgs = chat.messages;
        const last = msgs[msgs.length - 1];
        if (last && last.role === "assistant") {
          state.version = chat.version;
          if (userLi) { const u = msgs[msgs.length - 2]; if (u) { userLi.dataset.seq = u.seq; decorate(userLi); } }
          if (!li.dataset.seq || li.dataset.seq !== String(last.seq)) finishAssistant(li, last);
          if (last.status === "cancelled") { li.classList.add("cancelled"); say(t.stopped); }
          document.getElementById("chat-title").textContent = chat.title;
          return;
        }
      } catch (e) { /* server busy: try again */ }
      await new Promise((r) => setTimeout(r, 300));
    }
  }

  // --- sidebar: search, rename, delete --------------------------------------------------------------------
  async function refreshSidebar(q) {
    let items;
    try { items = await api("GET", "/api/v1/chats" + (q ? `?q=${encodeURIComponent(q)}` : "")); } catch (e) { return; }
    const ul = $("chat-list");
    ul.innerHTML = "";
    if (!items.length) ul.append(el("li", "meta", t.no_chats));
    for (const c of items) {
      const li = el("li", state.chat && c.id === state.chat.id ? "current" : "");
      const a = el("a", "", c.title); a.href = `/chat/${c.id}`;
      if (state.chat && c.id === state.chat.id) a.setAttribute("aria-current", "page");
      li.append(a, el("span", "meta", `${t["mode_" + c.mode]} · ${c.messages} · ${c.data_class}${c.has_documents ? " · " + t.docs_short : ""}`));
      if (c.snippet) li.append(el("span", "snippet", c.snippet));
      ul.append(li);
    }
  }
  let searchTimer = null;
  $("q").addEventListener("input", (ev) => { clearTimeout(searchTimer); searchTimer = setTimeout(() => refreshSidebar(ev.target.value.trim()), 250); });
  $("chat-search").addEventListener("submit", (ev) => { ev.preventDefault(); refreshSidebar($("q").value.trim()); });

  const rename = $("rename");
  if (rename) rename.addEventListener("click", async () => {
    const title = window.prompt(t.rename, $("chat-title").textContent);
    if (title === null || !title.trim()) return;
    try {
      const chat = await api("PATCH", `/api/v1/chats/${state.chat.id}`, { version: state.version, title });
      state.version = chat.version; $("chat-title").textContent = chat.title; refreshSidebar("");
    } catch (err) { showAlert(problemText(err), err instanceof Problem && err.status === 409, err.body); }
  });
  const del = $("delete");
  if (del) del.addEventListener("click", async () => {
    if (!window.confirm(t.delete_confirm)) return;
    try { await api("DELETE", `/api/v1/chats/${state.chat.id}`); location.href = "/chat"; }
    catch (err) { showAlert(problemText(err), false, err.body); }
  });

  // --- uploads -------------------------------------------------------------------------------------------
  $("upload").addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const files = $("files").files;
    if (!files.length) { showAlert(t.upload_hint.replace("{mb}", cfg.upload_mb)); $("files").focus(); return; }
    showAlert("");
    let chat;
    try { chat = await ensureChat(); } catch (err) { showAlert(problemText(err), false, err.body); return; }
    // one request per file: each may have up to cfg.upload_mb MB (the server's limit for one upload request)
    const failed = [];
    let stored = 0;
    say(t.uploading);
    $("upload-button").disabled = true;
    try {
      for (const f of files) {
        if (f.size > cfg.upload_mb * 1000000) { failed.push(t.file_too_large.replace("{name}", f.name).replace("{mb}", cfg.upload_mb)); continue; }
        const data = new FormData();
        data.append("files", f);
        const resp = await fetch(`/api/v1/chats/${chat.id}/documents`, { method: "POST", body: data, headers: headers(false) });
        const body = await resp.json().catch(() => ({ detail: resp.statusText }));
        if (!resp.ok) {
          const detail = body.detail || body.title;
          failed.push(detail.includes(f.name) ? detail : `${f.name}: ${detail}`);
          continue;
        }
        state.version = body.version;
        stored += body.counts.added + body.counts.updated + body.counts.unchanged;
        for (const i of body.items.filter((i) => i.status === "failed")) failed.push(`${i.source.replace("upload:", "")}: ${i.detail}`);
      }
      say(`${stored} ✓` + (failed.length ? `, ${failed.length} ✗` : ""));
      if (failed.length) showAlert(failed.join("; "));
      if (stored && !$("docs-on")) $("upload").append(Object.assign(el("p", "meta", t.documents_on), { id: "docs-on" }));
      $("files").value = "";
    } catch (err) { showAlert(t.lost); }
    finally { $("upload-button").disabled = false; }
  });

  // --- wiring ------------------------------------------------------------------------------------------------
  form.addEventListener("submit", (ev) => { ev.preventDefault(); turn("send", prompt.value, null); });
  prompt.addEventListener("keydown", (ev) => { if (ev.key === "Enter" && (ev.ctrlKey || ev.metaKey)) { ev.preventDefault(); form.requestSubmit(); } });
  stop.addEventListener("click", () => { if (state.controller) state.controller.abort(); });
  dataClass.addEventListener("change", saveSettings);
  model.addEventListener("change", saveSettings);
  mode.addEventListener("change", saveSettings);
  for (const b of document.querySelectorAll(".starter")) b.addEventListener("click", () => { prompt.value = b.textContent; prompt.focus(); });

  fillModels();
  showOptions();
  for (const li of list.querySelectorAll(".msg")) {
    const meta = JSON.parse(li.querySelector(".meta-json").textContent || "{}");
    renderDetails(li, meta);
    decorate(li);
  }
})();
