// Nuage browser softphone (CFG-1, CFG-3): the user's softphone in the portal, through Janus's SIP
// plugin: Janus registers to Nuage with the device's credentials and bridges WebRTC (ICE, DTLS-SRTP)
// to SIP/RTP, so every call is placed and received under Nuage's call rules.
"use strict";

(function () {
  const phone = { janus: null, session: null, handle: null, pc: null, ice: [], domain: null,
                  registered: false, events: [], emergency: [], location: null };
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
        phone.caller = callerId(result);
        document.getElementById("caller").textContent = phone.caller;
        document.getElementById("incoming").hidden = false;
        status("incoming call");
        break;
      }
      case "hangup":
        document.getElementById("incoming").hidden = true;
        phone.incoming = null;
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
    Object.assign(phone, { janus: config.janus_url, ice: config.ice_servers, domain: config.sip.domain,
                           emergency: config.emergency_numbers || [], location: config.location });
    askLocation(!phone.location);
    phone.session = (await janus("", { janus: "create" })).data.id;
    phone.handle = (await janus("/" + phone.session, { janus: "attach", plugin: "janus.plugin.sip" })).data.id;
    poll();
    await send({ request: "register", username: config.sip.uri, secret: config.sip.secret,
                 proxy: config.sip.proxy, display_name: config.sip.display });
    status("registering");
  }

  // EMG-3: a browser cannot be located, so the page asks the user where they are when it does not
  // know (on connecting, and again on dialling an emergency number). The emergency call itself is
  // never held back for it (EMG-4): it is placed at once and the form stays beside it.
  function askLocation(show) {
    document.getElementById("location-form").hidden = !show;
    document.getElementById("location-known").textContent = phone.location || "";
  }

  async function saveLocation(event) {
    event.preventDefault();
    const page = document.getElementById("softphone");
    const answer = await fetch(page.dataset.locationUrl, {
      method: "POST", headers: { "Content-Type": "application/json", "X-CSRF-Token": page.dataset.csrf },
      body: JSON.stringify({ location: document.getElementById("location").value.trim() }),
    });
    const data = await answer.json();
    if (!answer.ok) { document.getElementById("location-error").textContent = data.message; return; }
    phone.location = data.location;
    document.getElementById("location-error").textContent = "";
    askLocation(false);
  }

  async function call(event) {
    event.preventDefault();
    const destination = document.getElementById("destination").value.trim();
    if (phone.emergency.includes(destination)) { askLocation(!phone.location); }
    const pc = await peer();
    const sent = trickle(pc);
    await pc.setLocalDescription(await pc.createOffer());
    await send({ request: "call", uri: "sip:" + destination + "@" + phone.domain },
               { type: "offer", sdp: pc.localDescription.sdp });
    sent();
  }

  // The caller as the page shows it: the display name and the number or extension of its SIP URI.
  function callerId(result) {
    const uri = String(result.username || "");
    const number = uri.replace(/^sips?:/, "").split("@")[0];
    const name = String(result.displayname || "").replace(/^"|"$/g, "");
    return name && name !== number ? name + " (" + number + ")" : number;
  }

  async function accept() {
    document.getElementById("incoming").hidden = true;
    const pc = await peer();
    const sent = trickle(pc);
    await pc.setRemoteDescription(phone.incoming);
    await pc.setLocalDescription(await pc.createAnswer());
    await send({ request: "accept" }, { type: "answer", sdp: pc.localDescription.sdp });
    sent();
  }

  async function decline() {
    document.getElementById("incoming").hidden = true;
    phone.incoming = null;
    await send({ request: "decline" });
    status("declined");
  }

  // The loudest level (RMS, 0..1) of the remote audio over ``ms`` milliseconds (a WebAudio analyser).
  phone.remoteLevel = async function (ms) {
    const stream = document.getElementById("remote-audio").srcObject;
    if (!stream || stream.getAudioTracks().length === 0) { return 0; }
    const context = new AudioContext();
    const analyser = context.createAnalyser();
    analyser.fftSize = 2048;
    context.createMediaStreamSource(stream).connect(analyser);
    const samples = new Float32Array(2048);
    let peak = 0;
    const end = performance.now() + ms;
    while (performance.now() < end) {
      analyser.getFloatTimeDomainData(samples);
      let sum = 0;
      for (const value of samples) { sum += value * value; }
      peak = Math.max(peak, Math.sqrt(sum / samples.length));
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    await context.close();
    return peak;
  };

  async function hangup() {
    await send({ request: "hangup" });
    ended();
  }

  document.addEventListener("DOMContentLoaded", () => {
    const fail = (error) => status("error: " + error.message);
    document.getElementById("register").addEventListener("click", () => register().catch(fail));
    document.getElementById("call-form").addEventListener("submit", (event) => call(event).catch(fail));
    document.getElementById("accept").addEventListener("click", () => accept().catch(fail));
    document.getElementById("decline").addEventListener("click", () => decline().catch(fail));
    document.getElementById("location-form").addEventListener("submit", (event) => saveLocation(event).catch(fail));
    document.getElementById("change-location").addEventListener("click", () => askLocation(true));
    document.getElementById("hangup").addEventListener("click", () => hangup().catch(fail));
  });
})();
