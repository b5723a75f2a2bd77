// Live status of a submission: polls the JSON endpoint until a final state.
(function () {
  "use strict";
  var box = document.getElementById("status");
  if (!box) return;
  var url = box.getAttribute("data-url");
  var initial = document.getElementById("state").textContent.trim();
  function set(id, text) { var el = document.getElementById(id); if (el) el.textContent = text; }
  function poll() {
    fetch(url, { headers: { "Accept": "application/json" }, credentials: "same-origin" })
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (s) {
        if (!s) { setTimeout(poll, 5000); return; }
        var state = document.getElementById("state");
        state.textContent = s.state_display;
        state.className = "badge state-" + s.state;
        set("stage", s.progress.stage || "—");
        set("percent", s.progress.percent);
        document.getElementById("bar").value = s.progress.percent;
        var reason = document.getElementById("reason");
        reason.hidden = !s.reason; reason.textContent = s.reason || "";
        if (s.state === "verified") {
          document.getElementById("result").hidden = false;
          set("count", s.correct_count + "/" + s.total_count);
          set("accuracy", s.accuracy.toFixed(2));
        }
        if (s.final) {
          if (s.state_display !== initial) { setTimeout(function () { window.location.reload(); }, 800); }
        } else {
          setTimeout(poll, s.state === "committed" ? 5000 : 1000);
        }
      })
      .catch(function () { setTimeout(poll, 5000); });
  }
  poll();
})();
