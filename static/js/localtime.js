// Times are printed in UTC with their zone; this adds the reader's local time as a tooltip
// (and after the UTC time when the reader is not on UTC), so "from 00:00 UTC" also reads locally.
document.addEventListener("DOMContentLoaded", function () {
  var fmt;
  try {
    fmt = new Intl.DateTimeFormat(undefined, {dateStyle: "medium", timeStyle: "short", timeZoneName: "short"});
  } catch (e) { return; }
  var offset = new Date().getTimezoneOffset();
  document.querySelectorAll("time[datetime]").forEach(function (el) {
    var d = new Date(el.getAttribute("datetime"));
    if (isNaN(d)) return;
    var local = fmt.format(d);
    el.title = local;
    if (offset !== 0 && el.closest(".note")) el.textContent += " (" + local + ")";
  });
});
