// pantau status page: re-fetch the main part when the server says something changed (SSE),
// and every 30 s anyway (RTT, "since" times). No framework, no build step.
(function () {
  "use strict";
  var main = document.getElementById("main");
  if (!main) { return; }
  var busy = false;
  function refresh() {
    if (busy) { return; }
    busy = true;
    var params = new URLSearchParams(location.search);
    params.set("part", "main");
    fetch(location.pathname + "?" + params.toString(), { credentials: "same-origin" })
      .then(function (r) {
        if (r.redirected || r.status === 401) { location.reload(); return null; }
        return r.ok ? r.text() : null;
      })
      .then(function (html) { if (html !== null && html !== undefined) { main.innerHTML = html; } })
      .catch(function () {})
      .then(function () { busy = false; });
  }
  if (window.EventSource) {
    var stream = new EventSource("/status/stream");
    stream.addEventListener("change", refresh);
  }
  setInterval(refresh, 30000);
})();
