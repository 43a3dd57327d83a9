// rathaus widget: <script src="https://<rathaus>/widget.js" data-assistant="buergerservice" data-lang="de" async></script>
// Adds a button to the page that opens the assistant in an iframe (anonymous, no cookies needed).
(function () {
  "use strict";
  const script = document.currentScript;
  const origin = new URL(script.src).origin;
  const name = script.dataset.assistant || "buergerservice";
  const lang = script.dataset.lang || document.documentElement.lang || "de";
  const label = script.dataset.label || (lang.startsWith("de") ? "Fragen Sie uns" : "Ask us");
  const button = document.createElement("button");
  button.type = "button";
  button.textContent = label;
  button.setAttribute("aria-expanded", "false");
  button.className = "rathaus-widget-button";
  button.style.cssText = "position:fixed;right:1rem;bottom:1rem;z-index:2147483000;padding:.6rem 1rem;" +
    "border-radius:1.5rem;border:0;background:#0b5394;color:#fff;font:600 1rem system-ui,sans-serif;cursor:pointer";
  const frame = document.createElement("iframe");
  frame.title = label;
  frame.className = "rathaus-widget-frame";
  frame.src = `${origin}/embed/${encodeURIComponent(name)}?lang=${encodeURIComponent(lang.slice(0, 2))}`;
  frame.style.cssText = "position:fixed;right:1rem;bottom:4rem;width:min(26rem,calc(100vw - 2rem));" +
    "height:min(36rem,calc(100vh - 6rem));border:1px solid #d0d7de;border-radius:.75rem;background:#fff;" +
    "box-shadow:0 8px 30px rgba(0,0,0,.2);z-index:2147483000;display:none";
  button.addEventListener("click", () => {
    const open = frame.style.display === "none";
    frame.style.display = open ? "block" : "none";
    button.setAttribute("aria-expanded", String(open));
  });
  document.body.append(frame, button);
})();
