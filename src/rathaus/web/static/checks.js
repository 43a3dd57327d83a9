// The application checks page: upload a packet, wait for its check, the applicant letter (copy/download),
// confirmation and deletion through /api/v1/checks (CSRF header on every call).
(function () {
  "use strict";
  const { t, statusBox, fail, call, go } = window.rathausPage("checks", "checks_working");

  const upload = document.getElementById("upload-form");
  if (upload) {
    upload.addEventListener("submit", async (ev) => {
      ev.preventDefault();
      const files = document.getElementById("up-files");
      if (!files.files.length) { fail(t.checks_no_files); files.focus(); return; }
      const form = new FormData();
      for (const f of files.files) form.append("files", f, f.name);
      form.append("type_id", document.getElementById("up-type").value);
      form.append("submitted_on", document.getElementById("up-date").value);
      let data;
      try { data = await call("POST", "/api/v1/checks/packets", form); } catch (e) { return; }
      go(`/pruefung?packet=${data.id}`, t.checks_done_uploaded);
    });
  }

  const packet = document.getElementById("packet");
  if (!packet) return;
  const id = packet.dataset.id;
  const api = `/api/v1/checks/packets/${id}`;

  if (packet.dataset.status === "received") {  // the check runs in the background: look again until it is done
    const poll = async () => {
      const resp = await fetch(api, { headers: { Accept: "application/json" } });
      if (resp.ok) {
        const data = await resp.json();
        if (data.status !== "received") { go(`/pruefung?packet=${id}`, ""); return; }
      }
      setTimeout(poll, 1500);
    };
    setTimeout(poll, 1500);
  }

  const letterForm = document.getElementById("letter-form");
  if (letterForm) {
    const box = document.getElementById("letter-box");
    const text = document.getElementById("letter-text");
    const letterNote = document.getElementById("letter-note");
    const download = document.getElementById("download-letter");
    letterForm.addEventListener("submit", async (ev) => {
      ev.preventDefault();
      const lang = document.getElementById("letter-lang").value;
      let data;
      try { data = await call("GET", `${api}/letter?lang=${encodeURIComponent(lang)}`); } catch (e) { return; }
      statusBox.textContent = "";
      text.value = data.language === "de" || !data.german || data.text === data.german
        ? data.text : `${data.text}\n\n----------\n\n${data.german}`;
      letterNote.textContent = data.note || "";
      letterNote.hidden = !data.note;
      box.hidden = false;
      if (download.href.startsWith("blob:")) URL.revokeObjectURL(download.href);
      download.href = URL.createObjectURL(new Blob([text.value], { type: "text/plain;charset=utf-8" }));
      text.focus();
    });
    document.getElementById("copy-letter").addEventListener("click", async () => {
      try { await navigator.clipboard.writeText(text.value); } catch (e) { text.select(); document.execCommand("copy"); }
      statusBox.textContent = t.checks_copied;
    });
  }

  const confirmForm = document.getElementById("confirm-form");
  if (confirmForm) {
    confirmForm.addEventListener("submit", async (ev) => {
      ev.preventDefault();
      const noteField = document.getElementById("confirm-note");
      try { await call("POST", `${api}/confirm`, { note: noteField.value }); } catch (e) { return; }
      go(`/pruefung?packet=${id}`, t.checks_done_confirmed);
    });
  }

  document.getElementById("delete-button").addEventListener("click", async () => {
    if (!window.confirm(t.checks_delete_confirm)) return;
    try { await call("DELETE", api); } catch (e) { return; }
    go("/pruefung", t.checks_deleted);
  });
})();
