// Nuage browser softphone (CFG-1, CFG-3): the user's softphone in the portal, through Janus's SIP
// plugin: Janus registers to Nuage with the device's credentials and bridges WebRTC (ICE, DTLS-SRTP)
// to SIP/RTP, so every call is placed and received under Nuage's call rules.
"use strict";

(function () {
  const phone = { janus: null, session: null, handle: null, pc: null, ice: [], domain: null,
                  registered: false, events: [] };
  window.nuageSoftphone = phone;

  function tx() { return Math.random().toString(36).slice(2, 14); }

  function status(text) {
    phone.events.push(text);
    document.getElementById("phone-status").textContent = text;
  }

  async function janus(path, body) {
    const answer = await fetch(phone.janus + path, {
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
    return janus("/" + phone.session + "/" + phone.handle, message);
  }

  function trickle(pc) {
    const waiting = [];
    let ready = false;
    const post = (candidate) => janus("/" + phone.session + "/" + phone.handle,
      { janus: "trickle", candidate: candidate || { completed: true } }).catch(() => {});
    pc.addEventListener("icecandidate", (event) => {
      const candidate = event.candidate ? event.candidate.toJSON() : null;
      if (ready) { post(candidate); } else { waiting.push(candidate); }
    });
    return () => { ready = true; waiting.splice(0).forEach(post); };
  }

  async function peer() {
    const media = await navigator.mediaDevices.getUserMedia({ audio: true, video: false });
    const pc = new RTCPeerConnection({ iceServers: phone.ice, bundlePolicy: "max-bundle" });
    media.getAudioTracks().forEach((track) => pc.addTrack(track, media));
    pc.addEventListener("track", (event) => {
      document.getElementById("remote-audio").srcObject = event.streams[0] || new MediaStream([event.track]);
    });
    phone.pc = pc;
    phone.local = media;
    return pc;
  }

  function ended() {
    if (phone.pc) { phone.pc.close(); phone.pc = null; }
    if (phone.local) { phone.local.getTracks().forEach((track) => track.stop()); phone.local = null; }
  }

  async function onEvent(event) {
    const data = (event.plugindata || {}).data || {};
    const result = data.result || {};
    if (data.error) { status("refused: " + data.error); return; }
    switch (result.event) {
      case "registered": phone.registered = true; status("registered"); break;
      case "registration_failed": status("registration failed: " + result.code + " " + result.reason); break;
      case "calling": status("calling"); break;
      case "ringing": status("ringing"); break;
      case "accepted":
        if (event.jsep) { await phone.pc.setRemoteDescription(event.jsep); }
        status("in call");
        break;
      case "incomingcall": {
        phone.incoming = event.jsep;
        document.getElementById("caller").textContent = result.displayname || result.username || "";
        document.getElementById("accept").hidden = false;
        status("incoming call");
        break;
      }
      case "hangup":
        ended();
        status("call ended: " + (result.code || "") + " " + (result.reason || ""));
        break;
      default: break;
    }
  }

  async function poll() {
    while (phone.session) {
      let events;
      try {
        const answer = await fetch(phone.janus + "/" + phone.session + "?maxev=10&rid=" + Date.now());
        events = await answer.json();
      } catch (error) { status("connection lost"); return; }
      for (const event of Array.isArray(events) ? events : [events]) {
        if (event.sender === phone.handle) { await onEvent(event); }
      }
    }
  }

  async function register() {
    const page = document.getElementById("softphone");
    const answer = await fetch(page.dataset.registrationUrl, {
      method: "POST", headers: { "Content-Type": "application/json", "X-CSRF-Token": page.dataset.csrf },
      body: "{}",
    });
    const config = await answer.json();
    if (!answer.ok) { status("refused: " + config.message); return; }
    Object.assign(phone, { janus: config.janus_url, ice: config.ice_servers, domain: config.sip.domain });
    phone.session = (await janus("", { janus: "create" })).data.id;
    phone.handle = (await janus("/" + phone.session, { janus: "attach", plugin: "janus.plugin.sip" })).data.id;
    poll();
    await send({ request: "register", username: config.sip.uri, secret: config.sip.secret,
                 proxy: config.sip.proxy, display_name: config.sip.display });
    status("registering");
  }

  async function call(event) {
    event.preventDefault();
    const destination = document.getElementById("destination").value.trim();
    const pc = await peer();
    const sent = trickle(pc);
    await pc.setLocalDescription(await pc.createOffer());
    await send({ request: "call", uri: "sip:" + destination + "@" + phone.domain },
               { type: "offer", sdp: pc.localDescription.sdp });
    sent();
  }

  async function accept() {
    document.getElementById("accept").hidden = true;
    const pc = await peer();
    const sent = trickle(pc);
    await pc.setRemoteDescription(phone.incoming);
    await pc.setLocalDescription(await pc.createAnswer());
    await send({ request: "accept" }, { type: "answer", sdp: pc.localDescription.sdp });
    sent();
  }

  async function hangup() {
    await send({ request: "hangup" });
    ended();
  }

  document.addEventListener("DOMContentLoaded", () => {
    const fail = (error) => status("error: " + error.message);
    document.getElementById("register").addEventListener("click", () => register().catch(fail));
    document.getElementById("call-form").addEventListener("submit", (event) => call(event).catch(fail));
    document.getElementById("accept").addEventListener("click", () => accept().catch(fail));
    document.getElementById("hangup").addEventListener("click", () => hangup().catch(fail));
  });
})();
