// /governance: the report form goes to /governance/reports/<kind>?month=… (the kind is part of the path).
"use strict";
(function () {
  const form = document.getElementById("report-form");
  if (!form) return;
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const kind = document.getElementById("report-kind").value;
    const month = document.getElementById("report-month").value;
    window.location.href = "/governance/reports/" + encodeURIComponent(kind) + "?month=" + encodeURIComponent(month);
  });
})();
