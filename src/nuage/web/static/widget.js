// Nuage click-to-call widget (CFG-10): a "Call us" button on the customer's page. Embedded as
// <script src="https://NUAGE/widget/loader.js" data-widget="WEB_CHANNEL_ID" async></script>.
// It asks Nuage for a short-lived token, then for a line: Nuage answers with the destination its
// administrator configured, or "all lines busy" when the widget's channels are all in calls.
"use strict";

(function () {
  const script = document.currentScript;
  if (!script) { return; }
  const widget = script.dataset.widget;
  const base = new URL(script.src).origin + "/widget/" + encodeURIComponent(widget);
  const key = "nuage-widget-visitor";
  let visitor = window.localStorage.getItem(key);
  if (!visitor) {
    visitor = Math.random().toString(36).slice(2) + Date.now().toString(36);
    window.localStorage.setItem(key, visitor);
  }

  async function post(path, body) {
    const answer = await fetch(base + path, {
      method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(body),
    });
    const data = answer.status === 204 ? {} : await answer.json();
    if (!answer.ok) { throw Object.assign(new Error(data.message), { data: data }); }
    return data;
  }

  const widgetState = { line: null, last: null };
  window.nuageWidget = widgetState;

  async function start() {
    const token = await post("/token", { visitor: visitor });
    const line = await post("/call", { token: token.token });
    widgetState.line = line;
    return line;
  }

  async function stop() {
    if (widgetState.line) {
      await post("/hangup", { line_id: widgetState.line.line_id });
      widgetState.line = null;
    }
  }

  widgetState.start = start;
  widgetState.stop = stop;

  const button = document.createElement("button");
  button.type = "button";
  button.id = "nuage-call-us";
  button.textContent = script.dataset.label || "Call us";
  button.addEventListener("click", () => {
    const action = widgetState.line ? stop() : start();
    action.then(() => { button.textContent = widgetState.line ? "Hang up" : (script.dataset.label || "Call us"); })
      .catch((error) => { widgetState.last = error.data || { message: error.message }; button.title = error.message; });
  });
  script.insertAdjacentElement("afterend", button);
})();
