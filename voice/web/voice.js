// The voice page: microphone -> 16 kHz PCM16 frames over the WebSocket; the reply's PCM16 ->
// speaker. Protocol: channels/voice.py. No dependencies, nothing loaded from elsewhere.
"use strict";

const page = {
  start: document.getElementById("start"),
  stop: document.getElementById("stop"),
  state: document.getElementById("state"),
  log: document.getElementById("log"),
};
// what happened, for tests and the curious: window.voice.events
const voice = { events: [], audioChunks: 0, socket: null, context: null, stream: null, player: null, rate: 22050 };
window.voice = voice;

// the conversation: the server issues its id and token on the first call ("ready"); a later
// call resumes it by sending both (an id without its token would be refused)
function startMessage() {
  const message = { type: "start", sample_rate: 16000, encoding: "pcm_s16le" };
  const sender = localStorage.getItem("parley-voice-sender");
  const token = localStorage.getItem("parley-voice-token");
  if (sender && token) { message.sender = sender; message.session_token = token; }
  return message;
}

function keepSession(event) {
  if (typeof event.sender === "string" && typeof event.session_token === "string") {
    localStorage.setItem("parley-voice-sender", event.sender);
    localStorage.setItem("parley-voice-token", event.session_token);
  }
}

function setState(text) { page.state.textContent = text; }

function add(kind, text, options) {
  const item = document.createElement("div");
  item.className = "turn " + kind;
  item.textContent = text;
  if (options && options.length) {
    const row = document.createElement("div");
    row.className = "options";
    for (const title of options) {
      const chip = document.createElement("span");
      chip.textContent = title;
      row.appendChild(chip);
    }
    item.appendChild(row);
  }
  page.log.appendChild(item);
  item.scrollIntoView({ block: "end" });
}

function toFloat(buffer, fromRate, toRate) {
  // PCM16 at the server's rate -> Float32 at the AudioContext's rate (linear interpolation)
  const pcm = new Int16Array(buffer);
  const ratio = fromRate / toRate;
  const out = new Float32Array(Math.floor(pcm.length / ratio));
  for (let i = 0; i < out.length; i++) {
    const x = i * ratio;
    const j = Math.floor(x);
    const a = pcm[j] / 32768;
    const b = j + 1 < pcm.length ? pcm[j + 1] / 32768 : a;
    out[i] = a + (b - a) * (x - j);
  }
  return out;
}

function onEvent(event) {
  voice.events.push(event);
  switch (event.type) {
    case "ready": keepSession(event); setState("listening"); break;
    case "user_speech_start": setState("hearing you"); break;
    case "user_speech_end": setState("thinking"); break;
    case "transcript": add("user", event.text); break;
    case "no_words": add("note", "(I heard something, but no words)"); setState("listening"); break;
    case "bot":
      for (const message of event.messages) {
        const options = (message.buttons || []).map((b) => b.title);
        if (message.text || options.length) add("bot", message.text || "", options);
      }
      if (!event.spoken) setState("listening");
      break;
    case "speech_start": voice.rate = event.sample_rate; setState("speaking"); break;
    case "speech_end": setState("listening"); break;
    case "barge_in": voice.player && voice.player.port.postMessage({ type: "flush" }); setState("hearing you"); break;
    case "timings":
      if (event.total_ms != null) {
        const t = document.createElement("div");
        t.className = "timings";
        t.textContent = `end of speech → first audio ${Math.round(event.total_ms)} ms (wait ${Math.round(event.end_of_turn_ms)}, ` +
          `transcript ${Math.round(event.transcript_ms)}, reply ${Math.round(event.rasa_ms)}, voice ${Math.round(event.first_audio_ms)})`;
        page.log.appendChild(t);
      }
      break;
    case "error":
      add("note", event.message);
      if (event.code === "bad_session_token") {  // e.g. the server's secret changed: start afresh next time
        localStorage.removeItem("parley-voice-sender");
        localStorage.removeItem("parley-voice-token");
      }
      if (event.fatal) setState("error: " + event.code);
      break;
    case "bye": setState("ended"); break;
  }
}

async function start() {
  page.start.disabled = true;
  try {
    voice.stream = await navigator.mediaDevices.getUserMedia({
      audio: { channelCount: 1, echoCancellation: true, noiseSuppression: true, autoGainControl: true },
    });
    voice.context = new AudioContext({ sampleRate: 16000 });
    await voice.context.audioWorklet.addModule("worklets.js");
    const source = voice.context.createMediaStreamSource(voice.stream);
    const capture = new AudioWorkletNode(voice.context, "pcm-capture");
    voice.player = new AudioWorkletNode(voice.context, "pcm-player");
    voice.player.connect(voice.context.destination);
    source.connect(capture);

    const base = location.pathname.endsWith("/") ? location.pathname : location.pathname + "/";
    const socket = new WebSocket((location.protocol === "https:" ? "wss://" : "ws://") + location.host + base + "stream");
    socket.binaryType = "arraybuffer";
    voice.socket = socket;
    socket.onopen = () => {
      socket.send(JSON.stringify(startMessage()));
      capture.port.onmessage = (message) => { if (socket.readyState === WebSocket.OPEN) socket.send(message.data); };
      page.stop.disabled = false;
    };
    socket.onmessage = (message) => {
      if (typeof message.data === "string") {
        onEvent(JSON.parse(message.data));
      } else {
        voice.audioChunks += 1;
        voice.player.port.postMessage({ type: "push", samples: toFloat(message.data, voice.rate, voice.context.sampleRate) });
      }
    };
    socket.onclose = (event) => {
      voice.closeCode = event.code;
      if (event.code !== 1000) setState(`disconnected (${event.code})`);
      finish();
    };
  } catch (error) {
    add("note", "Could not start: " + error.message);
    finish();
  }
}

function finish() {
  if (voice.stream) voice.stream.getTracks().forEach((track) => track.stop());
  if (voice.context && voice.context.state !== "closed") voice.context.close();
  voice.stream = null;
  voice.context = null;
  page.start.disabled = false;
  page.stop.disabled = true;
}

function stop() {
  page.stop.disabled = true;
  if (voice.socket && voice.socket.readyState === WebSocket.OPEN) {
    voice.socket.send(JSON.stringify({ type: "stop" }));
    setState("finishing");
  } else {
    finish();
  }
}

page.start.addEventListener("click", start);
page.stop.addEventListener("click", stop);
