// Nuage Web Meeting client (MTG-1): joins a Janus video room and the audio bridge room of the same
// number over Janus's HTTP API. The page gives the room's id; Nuage checks the PIN, the payment
// (BIL-6) and the lock, then hands out the gateway's address, room number and key. One publisher
// handle sends this browser's camera; one subscriber handle per other participant receives theirs.
// The sound goes through the audio bridge (where phones dialling in are mixed too): this browser's
// microphone goes in, the mix of everyone else comes back (``state.mix``); it joins the bridge with
// its video room id, so the host's mute and removal name one participant. Sharing the screen (getDisplayMedia) publishes it as
// a second video feed of this browser, on a publisher handle of its own, display "<name> (screen)":
// the others subscribe to it like to any feed. Events arrive by long poll, which also keeps the
// Janus session alive.
"use strict";

(function () {
  const state = { janus: null, session: null, publisher: null, room: null, key: null, ice: [],
                  privateId: null, myId: null, feeds: new Map(), handlers: new Map(), closed: false,
                  remote: new Map(), display: "", screen: null, mix: null, audio: null };
  window.nuageMeeting = state;

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

  function attach(plugin) {
    return janus("/" + state.session, { janus: "attach", plugin: plugin || "janus.plugin.videoroom" })
      .then((data) => data.data.id);
  }

  function send(handle, body, jsep) {
    const message = { janus: "message", body: body };
    if (jsep) { message.jsep = jsep; }
    return janus("/" + state.session + "/" + handle, message);
  }

  // Trickle ICE: each candidate goes to Janus as it is found; those found before the handle's offer
  // or answer went out wait for it (Janus takes candidates for a PeerConnection it knows).
  function trickle(pc, handle) {
    const waiting = [];
    let ready = false;
    const post = (candidate) => janus("/" + state.session + "/" + handle,
      candidate ? { janus: "trickle", candidate: candidate } : { janus: "trickle", candidate: { completed: true } })
      .catch(() => {});
    pc.addEventListener("icecandidate", (event) => {
      const candidate = event.candidate ? event.candidate.toJSON() : null;
      if (ready) { post(candidate); } else { waiting.push(candidate); }
    });
    return () => { ready = true; waiting.splice(0).forEach(post); };
  }

  function status(text) {
    const element = document.getElementById("meeting-status");
    if (element) { element.textContent = text; }
  }

  async function poll() {
    while (!state.closed) {
      let events;
      try {
        const answer = await fetch(state.janus + "/" + state.session + "?maxev=10&rid=" + Date.now());
        events = await answer.json();
      } catch (error) {
        status("connection lost");
        return;
      }
      for (const event of Array.isArray(events) ? events : [events]) {
        const handler = state.handlers.get(event.sender);
        if (handler) { handler(event); }
      }
    }
  }

  function publishers(list) {
    for (const feed of list || []) {
      const mine = feed.id === state.myId || (state.screen && feed.id === state.screen.id);
      if (!mine && !state.feeds.has(feed.id)) { subscribe(feed); }
    }
  }

  function onPublisherEvent(event) {
    const data = (event.plugindata || {}).data || {};
    if (data.videoroom === "joined") {
      state.myId = data.id;
      state.privateId = data.private_id;
      publish().catch((error) => status("cannot publish: " + error.message));
      publishers(data.publishers);
    } else if (data.videoroom === "event") {
      publishers(data.publishers);
      const gone = data.leaving || data.unpublished || data.kicked;
      if (gone === "ok" || data.kicked === state.myId) { leave(data.reason === "kicked" ? "removed" : "left"); return; }
      if (gone) { dropFeed(gone); }
      if (data.error_code) { status("refused: " + data.error); }
    }
    if (event.jsep && event.jsep.type === "answer") {
      state.publisherPc.setRemoteDescription(event.jsep);
    }
    // once left or removed, the hang-up that follows closing the connection changes nothing shown
    if (!state.closed && event.janus === "hangup" && event.sender === state.publisher && data.videoroom !== "joined") {
      status("disconnected");
    }
  }

  async function publish() {
    const media = await navigator.mediaDevices.getUserMedia({ audio: true, video: true });
    state.local = media;
    const pc = new RTCPeerConnection({ iceServers: state.ice, bundlePolicy: "max-bundle" });
    state.publisherPc = pc;
    const sent = trickle(pc, state.publisher);
    for (const track of media.getVideoTracks()) { pc.addTransceiver(track, { direction: "sendonly" }); }
    const local = document.getElementById("local-video");
    if (local) { local.srcObject = media; }
    await pc.setLocalDescription(await pc.createOffer());
    const offer = { type: "offer", sdp: pc.localDescription.sdp };
    await send(state.publisher, { request: "configure", audio: false, video: true }, offer);
    sent();
    await joinAudio(media);
    status("in the meeting");
    screenButton(false);
  }

  // The sound: this browser in the audio bridge, under its video room id.
  async function joinAudio(media) {
    const handle = await attach("janus.plugin.audiobridge");
    const audio = { handle: handle, pc: null };
    state.audio = audio;
    state.handlers.set(handle, async (event) => {
      const data = (event.plugindata || {}).data || {};
      if (data.audiobridge === "joined" && !audio.pc) {
        const pc = new RTCPeerConnection({ iceServers: state.ice, bundlePolicy: "max-bundle" });
        audio.pc = pc;
        const sent = trickle(pc, handle);
        for (const track of media.getAudioTracks()) { pc.addTransceiver(track, { direction: "sendrecv" }); }
        pc.addEventListener("track", (got) => {
          state.mix = new MediaStream([got.track]);
          const player = document.getElementById("meeting-audio");
          if (player) { player.srcObject = state.mix; }
        });
        await pc.setLocalDescription(await pc.createOffer());
        await send(handle, { request: "configure", muted: false },
                   { type: "offer", sdp: pc.localDescription.sdp });
        sent();
      }
      if (event.jsep && event.jsep.type === "answer" && audio.pc) {
        await audio.pc.setRemoteDescription(event.jsep);
      }
      if (data.error_code) { status("refused: " + data.error); }
    });
    await send(handle, { request: "join", room: state.room, pin: state.key, id: state.myId,
                         display: state.display });
  }

  async function subscribe(feed) {
    state.feeds.set(feed.id, { display: feed.display });
    const handle = await attach();
    const pc = new RTCPeerConnection({ iceServers: state.ice, bundlePolicy: "max-bundle" });
    const sent = trickle(pc, handle);
    const stream = new MediaStream();
    state.feeds.set(feed.id, { display: feed.display, handle: handle, pc: pc, stream: stream });
    state.remote.set(feed.id, stream);
    pc.addEventListener("track", (event) => {
      stream.addTrack(event.track);
      showFeed(feed, stream);
    });
    state.handlers.set(handle, async (event) => {
      const data = (event.plugindata || {}).data || {};
      if (event.jsep && event.jsep.type === "offer") {
        await pc.setRemoteDescription(event.jsep);
        await pc.setLocalDescription(await pc.createAnswer());
        const answer = { type: "answer", sdp: pc.localDescription.sdp };
        await send(handle, { request: "start" }, answer);
        sent();
      }
      if (data.error_code) { status("refused: " + data.error); }
    });
    await send(handle, { request: "join", ptype: "subscriber", room: state.room, pin: state.key,
                         streams: [{ feed: feed.id }], private_id: state.privateId });
  }

  function showFeed(feed, stream) {
    let element = document.getElementById("feed-" + feed.id);
    if (!element) {
      element = document.createElement("video");
      element.id = "feed-" + feed.id;
      element.autoplay = true;
      element.playsInline = true;
      element.title = feed.display || "";
      document.getElementById("remote-feeds").appendChild(element);
    }
    element.srcObject = stream;
  }

  function dropFeed(id) {
    const feed = state.feeds.get(id);
    if (!feed) { return; }
    if (feed.pc) { feed.pc.close(); }
    state.feeds.delete(id);
    state.remote.delete(id);
    const element = document.getElementById("feed-" + id);
    if (element) { element.remove(); }
  }

  // Screen sharing: a second publisher in the room, sending only the captured screen (video).
  async function shareScreen() {
    if (state.screen || !state.session) { return; }
    const media = await navigator.mediaDevices.getDisplayMedia({ video: true, audio: false });
    const screen = { media: media, handle: await attach(), id: null, pc: null };
    state.screen = screen;
    state.handlers.set(screen.handle, async (event) => {
      const data = (event.plugindata || {}).data || {};
      if (data.videoroom === "joined") {
        screen.id = data.id;
        const pc = new RTCPeerConnection({ iceServers: state.ice, bundlePolicy: "max-bundle" });
        screen.pc = pc;
        const sent = trickle(pc, screen.handle);
        for (const track of media.getVideoTracks()) { pc.addTransceiver(track, { direction: "sendonly" }); }
        await pc.setLocalDescription(await pc.createOffer());
        await send(screen.handle, { request: "configure", audio: false, video: true },
                   { type: "offer", sdp: pc.localDescription.sdp });
        sent();
        screenButton(true);
      }
      if (event.jsep && event.jsep.type === "answer" && screen.pc) {
        await screen.pc.setRemoteDescription(event.jsep);
      }
      if (data.error_code) { status("refused: " + data.error); }
    });
    // The browser's own "stop sharing" ends the feed too.
    media.getVideoTracks().forEach((track) => track.addEventListener("ended", () => stopScreen()));
    await send(screen.handle, { request: "join", ptype: "publisher", room: state.room, pin: state.key,
                                display: state.display + " (screen)" });
  }

  function stopScreen() {
    const screen = state.screen;
    if (!screen) { return; }
    state.screen = null;
    if (screen.pc) { screen.pc.close(); }
    screen.media.getTracks().forEach((track) => track.stop());
    state.handlers.delete(screen.handle);
    if (!state.closed) {
      janus("/" + state.session + "/" + screen.handle, { janus: "detach" }).catch(() => {});
    }
    screenButton(false);
  }

  function screenButton(sharing) {
    const button = document.getElementById("share-screen");
    if (!button) { return; }
    button.hidden = false;
    button.textContent = sharing ? button.dataset.stop : button.dataset.start;
    button.setAttribute("aria-pressed", sharing ? "true" : "false");
  }

  state.shareScreen = shareScreen;
  state.stopScreen = stopScreen;

  function leave(why) {
    stopScreen();
    state.closed = true;
    for (const id of Array.from(state.feeds.keys())) { dropFeed(id); }
    if (state.publisherPc) { state.publisherPc.close(); }
    if (state.audio && state.audio.pc) { state.audio.pc.close(); }
    if (state.local) { state.local.getTracks().forEach((track) => track.stop()); }
    status(why || "left");
  }

  // The loudness of what arrives (RMS, 0..1): the audio bridge's mix (key "mix") and any remote
  // feed with audio, measured by a WebAudio analyser over ``ms`` milliseconds: the largest value seen.
  state.remoteLevels = async function (ms) {
    const context = new AudioContext();
    const meters = [];
    const streams = new Map(state.remote);
    if (state.mix) { streams.set("mix", state.mix); }
    for (const [id, stream] of streams) {
      if (stream.getAudioTracks().length === 0) { meters.push([id, null]); continue; }
      const analyser = context.createAnalyser();
      analyser.fftSize = 2048;
      context.createMediaStreamSource(stream).connect(analyser);
      meters.push([id, analyser]);
    }
    const peaks = new Map(meters.map(([id]) => [id, 0]));
    const samples = new Float32Array(2048);
    const end = performance.now() + ms;
    while (performance.now() < end) {
      for (const [id, analyser] of meters) {
        if (!analyser) { continue; }
        analyser.getFloatTimeDomainData(samples);
        let sum = 0;
        for (const value of samples) { sum += value * value; }
        peaks.set(id, Math.max(peaks.get(id), Math.sqrt(sum / samples.length)));
      }
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    await context.close();
    return Object.fromEntries(peaks);
  };

  state.leave = leave;

  async function join(event) {
    if (event) { event.preventDefault(); }
    const form = document.getElementById("join-form");
    const refusal = document.getElementById("refusal");
    refusal.hidden = true;
    const answer = await fetch(form.dataset.joinUrl, {
      method: "POST", headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ pin: document.getElementById("pin").value,
                             display: document.getElementById("display").value }),
    });
    const ticket = await answer.json();
    if (!answer.ok) {
      refusal.textContent = ticket.message + (ticket.details && ticket.details.rule_id
        ? " (" + ticket.details.rule_id + ")" : "");
      refusal.dataset.ruleId = (ticket.details && ticket.details.rule_id) || "";
      refusal.hidden = false;
      return;
    }
    Object.assign(state, { janus: ticket.janus_url, room: ticket.room, key: ticket.key,
                           ice: ticket.ice_servers, closed: false, display: ticket.display });
    form.hidden = true;
    status("connecting");
    state.session = (await janus("", { janus: "create" })).data.id;
    state.publisher = await attach();
    state.handlers.set(state.publisher, onPublisherEvent);
    poll();
    await send(state.publisher, { request: "join", ptype: "publisher", room: state.room, pin: state.key,
                                  display: ticket.display });
  }

  document.addEventListener("DOMContentLoaded", () => {
    document.getElementById("join-form").addEventListener("submit", (event) => {
      join(event).catch((error) => status("cannot join: " + error.message));
    });
    const share = document.getElementById("share-screen");
    if (share) {
      share.addEventListener("click", () => {
        const action = state.screen ? Promise.resolve(stopScreen()) : shareScreen();
        action.catch((error) => { stopScreen(); status("cannot share the screen: " + error.message); });
      });
    }
  });
})();
