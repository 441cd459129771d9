// Nuage click-to-call widget (CFG-10): a "Call us" button on the customer's page. Embedded as
// <script src="https://NUAGE/widget/loader.js" data-widget="WEB_CHANNEL_ID" async></script>.
// It asks Nuage for a short-lived token, then for a call ticket, and calls through the WebRTC
// gateway's SIP plugin with the ticket: Nuage places the call to the destination its administrator
// configured (the page cannot choose another), or answers "all lines busy" when the widget's
// channels are all in calls. Closing the page ends the call, and its line is free again.
"use strict";

(function () {
  const script = document.currentScript;
  if (!script) { return; }
  const widget = script.dataset.widget;
  const base = new URL(script.src).origin + "/widget/" + encodeURIComponent(widget);
  const label = script.dataset.label || "Call us";
  const key = "nuage-widget-visitor";
  let visitor = window.localStorage.getItem(key);
  if (!visitor) {
    visitor = Math.random().toString(36).slice(2) + Date.now().toString(36);
    window.localStorage.setItem(key, visitor);
  }

  const state = { janus: null, session: null, handle: null, pc: null, local: null, status: "idle",
                  events: [], last: null };
  window.nuageWidget = state;

  const button = document.createElement("button");
  button.type = "button";
  button.id = "nuage-call-us";
  button.textContent = label;
  const note = document.createElement("span");
  note.id = "nuage-call-status";
  note.setAttribute("role", "status");

  function show(status, text) {
    state.status = status;
    state.events.push(status);
    note.textContent = text === undefined ? "" : text;
    button.textContent = ["calling", "ringing", "in call"].includes(status) ? "Hang up" : label;
  }

  async function post(path, body) {
    const answer = await fetch(base + path, {
      method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(body),
    });
    const data = answer.status === 204 ? {} : await answer.json();
    if (!answer.ok) { throw Object.assign(new Error(data.message), { data: data }); }
    return data;
  }

  function tx() { return Math.random().toString(36).slice(2, 14); }

  async function janus(path, body) {
    const answer = await fetch(state.janus + path, {
      method: "POST", headers: { "Content-Type": "application/json" },
      body: JSON.stringify(Object.assign({ transaction: tx() }, body)),
    });
    const data = await answer.json();
    if (data.janus === "error") { throw new Error(data.error.reason); }
    return data;
  }

  function send(body, jsep) {
    const message = { janus: "message", body: body };
    if (jsep) { message.jsep = jsep; }
    return janus("/" + state.session + "/" + state.handle, message);
  }

  function ended() {
    if (state.pc) { state.pc.close(); state.pc = null; }
    if (state.local) { state.local.getTracks().forEach((track) => track.stop()); state.local = null; }
    const session = state.session;
    state.session = null;
    if (session) { janus("/" + session, { janus: "destroy" }).catch(() => {}); }
  }

  async function onEvent(event) {
    const data = (event.plugindata || {}).data || {};
    const result = data.result || {};
    if (data.error) { show("failed", data.error); ended(); return; }
    switch (result.event) {
      case "ringing": show("ringing", "Ringing…"); break;
      case "accepted":
        if (event.jsep) { await state.pc.setRemoteDescription(event.jsep); }
        show("in call", "Connected");
        break;
      case "hangup":
        state.last = { code: result.code, reason: result.reason };
        if (state.status === "calling" && result.code === 486) {
          show("busy", "All lines busy: please try again in a moment");
        } else if (state.status !== "ended") {
          show("ended", "Call ended");
        }
        ended();
        break;
      default: break;
    }
  }

  async function poll(session) {
    while (state.session === session) {
      let events;
      try {
        const answer = await fetch(state.janus + "/" + session + "?maxev=10&rid=" + Date.now());
        events = await answer.json();
      } catch (error) { return; }
      for (const event of Array.isArray(events) ? events : [events]) {
        if (event.sender === state.handle) { await onEvent(event); }
      }
    }
  }

  async function start() {
    show("calling", "Calling…");
    const token = await post("/token", { visitor: visitor });
    const line = await post("/call", { token: token.token });
    state.janus = line.janus_url;
    const session = (await janus("", { janus: "create" })).data.id;
    state.session = session;
    state.handle = (await janus("/" + session, { janus: "attach", plugin: "janus.plugin.sip" })).data.id;
    poll(session);
    // a guest of the SIP plugin: it registers nowhere; the ticket is what Nuage lets through
    await send({ request: "register", type: "guest", username: line.sip.identity, proxy: line.sip.proxy,
                 display_name: "Web visitor" });
    const media = await navigator.mediaDevices.getUserMedia({ audio: true, video: false });
    const pc = new RTCPeerConnection({ iceServers: line.ice_servers, bundlePolicy: "max-bundle" });
    media.getAudioTracks().forEach((track) => pc.addTrack(track, media));
    pc.addEventListener("track", (event) => {
      const audio = document.getElementById("nuage-call-audio") || document.createElement("audio");
      audio.id = "nuage-call-audio";
      audio.autoplay = true;
      audio.srcObject = event.streams[0] || new MediaStream([event.track]);
      if (!audio.isConnected) { note.insertAdjacentElement("afterend", audio); }
    });
    state.pc = pc;
    state.local = media;
    const waiting = [];
    let ready = false;
    const trickle = (candidate) => janus("/" + session + "/" + state.handle,
      { janus: "trickle", candidate: candidate || { completed: true } }).catch(() => {});
    pc.addEventListener("icecandidate", (event) => {
      const candidate = event.candidate ? event.candidate.toJSON() : null;
      if (ready) { trickle(candidate); } else { waiting.push(candidate); }
    });
    await pc.setLocalDescription(await pc.createOffer());
    const headers = {};
    headers[line.header] = line.ticket;
    await send({ request: "call", uri: line.sip.uri, headers: headers },
               { type: "offer", sdp: pc.localDescription.sdp });
    ready = true;
    waiting.splice(0).forEach(trickle);
  }

  async function stop() {
    if (state.session && state.handle) { await send({ request: "hangup" }).catch(() => {}); }
    show("ended", "Call ended");
    ended();
  }

  state.start = start;
  state.stop = stop;

  button.addEventListener("click", () => {
    const action = ["calling", "ringing", "in call"].includes(state.status) ? stop() : start();
    action.catch((error) => {
      state.last = error.data || { message: error.message };
      const busy = error.data && error.data.details && error.data.details.rule_id === "CFG-10";
      show(busy ? "busy" : "failed", error.message);
      ended();
    });
  });
  // the page goes away: end the gateway session, which hangs the call up (its line is free again)
  window.addEventListener("pagehide", () => {
    if (state.session && state.janus) {
      navigator.sendBeacon(state.janus + "/" + state.session,
        JSON.stringify({ janus: "destroy", transaction: tx() }));
    }
  });
  script.insertAdjacentElement("afterend", button);
  button.insertAdjacentElement("afterend", note);
})();
