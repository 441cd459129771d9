// The portal's one script: the live parts of a page follow the server without reloading it.
// An element marked data-live="<URL>" has its content replaced by each server-sent event's data
// (HTML the server rendered, in the page's language); an "end" event closes the stream. Without
// this script, the page reloads itself instead (its <noscript> refresh).
"use strict";
(function () {
  if (!window.EventSource) {
    return;
  }
  document.querySelectorAll("[data-live]").forEach(function (element) {
    var source = new EventSource(element.getAttribute("data-live"));
    source.addEventListener("message", function (event) {
      element.innerHTML = event.data;
      element.setAttribute("data-live-updates", String(Number(element.getAttribute("data-live-updates") || 0) + 1));
    });
    source.addEventListener("end", function () {
      source.close();
      element.setAttribute("data-live-ended", "true");
    });
  });
}());
