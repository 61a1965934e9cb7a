// Parley web chat widget. Embed with one tag:
//   <script src="https://HOST/webhooks/webchat/widget.js" data-theme="light|dark|auto"
//           data-title="Chat with us" data-server="https://HOST" data-open="false"></script>
// data-server defaults to the script's own origin. window.ParleyChat: open(), close(),
// setTheme(name), sessionId, dropConnection() (closes the transport as a network failure would),
// signIn(customer, signature) (a customer the site's server signed in; README, Security).
import css from "./widget.css";
import { Connection, store } from "./connection.js";
import { el, formatBytes, imageSource, richText } from "./render.js";
import { canRecord, VoiceRecorder } from "./recorder.js";
import { Speaker } from "./speech.js";

const ICONS = {
  chat: '<svg viewBox="0 0 24 24" fill="currentColor" aria-hidden="true"><path d="M4 4h16a2 2 0 0 1 2 2v10a2 2 0 0 1-2 2H9l-5 4v-4H4a2 2 0 0 1-2-2V6a2 2 0 0 1 2-2z"/></svg>',
  close: '<svg viewBox="0 0 24 24" fill="none" stroke="currentColor" stroke-width="2.2" aria-hidden="true"><path d="M6 6l12 12M18 6L6 18"/></svg>',
  speaker: '<svg viewBox="0 0 24 24" fill="none" stroke="currentColor" stroke-width="2" aria-hidden="true"><path d="M4 9v6h4l5 4V5L8 9H4z" fill="currentColor"/><path d="M16 8.5a5 5 0 0 1 0 7M18.5 6a8.5 8.5 0 0 1 0 12"/></svg>',
  attach: '<svg viewBox="0 0 24 24" fill="none" stroke="currentColor" stroke-width="2" aria-hidden="true"><path d="M21 11.5l-8.5 8.5a5.5 5.5 0 0 1-7.8-7.8l9-9a3.7 3.7 0 0 1 5.2 5.2l-9 9a1.8 1.8 0 0 1-2.6-2.6l8.3-8.3"/></svg>',
  mic: '<svg viewBox="0 0 24 24" fill="none" stroke="currentColor" stroke-width="2" aria-hidden="true"><rect x="9" y="3" width="6" height="11" rx="3" fill="currentColor"/><path d="M5 11a7 7 0 0 0 14 0M12 18v3"/></svg>',
  send: '<svg viewBox="0 0 24 24" fill="currentColor" aria-hidden="true"><path d="M3 20l18-8L3 4v6l12 2-12 2z"/></svg>',
  up: '<svg viewBox="0 0 24 24" fill="currentColor" aria-hidden="true"><path d="M2 21h4V9H2v12zm20-11a2 2 0 0 0-2-2h-6.3l1-4.6v-.3c0-.4-.2-.8-.4-1.1L13.2 1 6.6 7.6c-.4.4-.6.9-.6 1.4V19a2 2 0 0 0 2 2h9c.8 0 1.5-.5 1.8-1.2l3-7.1c.1-.2.2-.5.2-.7v-2z"/></svg>',
  down: '<svg viewBox="0 0 24 24" fill="currentColor" aria-hidden="true"><path d="M22 3h-4v12h4V3zM2 14a2 2 0 0 0 2 2h6.3l-1 4.6v.3c0 .4.2.8.4 1.1l1.1 1 6.6-6.6c.4-.4.6-.9.6-1.4V5a2 2 0 0 0-2-2H7c-.8 0-1.5.5-1.8 1.2l-3 7.1c-.1.2-.2.5-.2.7v2z"/></svg>',
};

const DEFAULT_LIMITS = {
  max_attachments: 5, max_image_bytes: 15 * 1024 * 1024, max_audio_bytes: 25 * 1024 * 1024,
  max_total_bytes: 40 * 1024 * 1024, max_text_chars: 5000, max_speech_chars: 1000,
  image_types: ["image/png", "image/jpeg", "image/webp"],
};

function icon(name) {
  const span = el("span", { class: "icon" });
  span.innerHTML = ICONS[name]; // constant markup above, never user data
  return span;
}

function iconButton(name, label, extra = {}) {
  return el("button", { type: "button", "aria-label": label, title: label, ...extra }, icon(name));
}

class Widget {
  constructor(script) {
    const data = script ? script.dataset : {};
    const scriptOrigin = script && script.src ? new URL(script.src, location.href).origin : location.origin;
    this.server = (data.server || scriptOrigin).replace(/\/+$/, "");
    this.title = data.title || "Chat with us";
    this.limits = { ...DEFAULT_LIMITS };
    this.pending = [];
    this.clientCounter = 0;
    this.userBubbles = new Map();   // client_id -> user message element
    this.botGroups = new Map();     // bot index -> last element of that message
    this.ratings = new Map();       // bot index -> "up" | "down"
    this.historyShown = false;
    this.openKey = `parley-chat:open:${this.server}`;
    this.speechKey = `parley-chat:speech:${this.server}`;
    this.build(data.theme || "light");
    this.connection = new Connection({ server: this.server, path: data.socketPath || "/socket.io/", handlers: this.handlers() });
    this.speaker = new Speaker({ endpoint: `${this.server}/webhooks/webchat/speech`, maxChars: this.limits.max_speech_chars, onError: (m) => this.notify(m) });
    if (store.getItem(this.speechKey) === "on") this.setSpeech(true);
    this.connection.start();
    const open = data.open === "true" || (typeof sessionStorage !== "undefined" && sessionStorage.getItem(this.openKey) === "1");
    if (open) this.open(false);
  }

  // ---------------------------------------------------------------- the page

  build(theme) {
    const host = el("div", { id: "parley-chat", "data-parley-chat": "" });
    document.body.append(host);
    const root = host.attachShadow({ mode: "open" });
    root.append(el("style", { text: css }));
    this.root = el("div", { class: "parley" });
    root.append(this.root);
    this.setTheme(theme);

    this.title_ = el("h2", { id: "parley-title", text: this.title });
    this.statusText = el("span", { class: "status", role: "status", text: "Connecting…" });
    this.speechButton = iconButton("speaker", "Read replies aloud", { "aria-pressed": "false", class: "speech" });
    this.speechButton.addEventListener("click", () => this.setSpeech(this.speechButton.getAttribute("aria-pressed") !== "true"));
    const close = iconButton("close", "Close chat", { class: "close" });
    close.addEventListener("click", () => this.close());

    this.log = el("ol", { class: "log", role: "log", "aria-live": "polite", "aria-label": "Conversation" });
    this.typing = el("div", { class: "typing", hidden: true },
      el("span", { class: "sr-only", text: "The assistant is typing" }),
      el("span", { class: "dot", "aria-hidden": "true" }), el("span", { class: "dot", "aria-hidden": "true" }),
      el("span", { class: "dot", "aria-hidden": "true" }));
    this.notice = el("div", { class: "notice", role: "alert" });
    this.recordingStatus = el("div", { class: "recording", role: "status", hidden: true });
    this.previews = el("ul", { class: "previews", "aria-label": "Files to send", style: "list-style:none;margin:0" });

    this.fileInput = el("input", { type: "file", multiple: true, accept: this.limits.image_types.join(","), hidden: true, tabindex: "-1", "aria-hidden": "true" });
    this.fileInput.addEventListener("change", () => { this.addFiles(this.fileInput.files); this.fileInput.value = ""; });
    const attach = iconButton("attach", "Attach a picture", { class: "attach" });
    attach.addEventListener("click", () => this.fileInput.click());
    this.input = el("textarea", { id: "parley-input", rows: "1", placeholder: "Type a message", maxlength: String(this.limits.max_text_chars), "aria-describedby": "parley-help" });
    this.input.addEventListener("keydown", (event) => {
      if (event.key === "Enter" && !event.shiftKey && !event.isComposing) { event.preventDefault(); this.send(); }
    });
    this.input.addEventListener("input", () => this.autosize());
    this.recordButton = iconButton("mic", "Record a voice note", { class: "record", "aria-pressed": "false" });
    this.recordButton.addEventListener("click", () => this.toggleRecording());
    if (!canRecord()) this.recordButton.hidden = true;
    const sendButton = el("button", { type: "submit", class: "send", "aria-label": "Send", title: "Send" }, icon("send"));
    const form = el("form", { class: "composer", "aria-label": "Write a message" },
      el("div", { class: "row" },
        attach, this.fileInput,
        el("label", { class: "sr-only", for: "parley-input", text: "Message" }),
        this.input, this.recordButton, sendButton),
      el("p", { id: "parley-help", class: "sr-only", text: "Enter sends, Shift+Enter starts a new line. You can paste or drop a screenshot." }));
    form.addEventListener("submit", (event) => { event.preventDefault(); this.send(); });

    this.dropHint = el("div", { class: "drop", hidden: true, "aria-hidden": "true", text: "Drop the picture to send it" });
    this.panel = el("section", { class: "panel", id: "parley-panel", role: "dialog", "aria-labelledby": "parley-title", hidden: true },
      el("header", {}, this.title_, this.statusText, this.speechButton, close),
      this.log, this.typing, this.recordingStatus, this.notice, this.previews, form, this.dropHint);
    this.panel.addEventListener("keydown", (event) => {
      if (event.key !== "Escape") return;
      if (this.recorder && this.recorder.recording) this.stopRecording(false);
      else this.close();
    });
    this.panel.addEventListener("paste", (event) => this.onPaste(event));
    this.panel.addEventListener("dragover", (event) => { if (this.hasFiles(event)) { event.preventDefault(); this.dropHint.hidden = false; } });
    this.panel.addEventListener("dragleave", (event) => { if (!this.panel.contains(event.relatedTarget)) this.dropHint.hidden = true; });
    this.panel.addEventListener("drop", (event) => {
      this.dropHint.hidden = true;
      if (!this.hasFiles(event)) return;
      event.preventDefault();
      this.addFiles(event.dataTransfer.files);
    });

    this.launcher = el("button", { type: "button", class: "launcher", "aria-label": "Open chat", "aria-expanded": "false", "aria-controls": "parley-panel" }, icon("chat"));
    this.launcher.addEventListener("click", () => (this.panel.hidden ? this.open() : this.close()));
    this.root.append(this.panel, this.launcher);
  }

  setTheme(name) {
    let theme = name === "dark" ? "dark" : "light";
    if (name === "auto" && window.matchMedia) theme = window.matchMedia("(prefers-color-scheme: dark)").matches ? "dark" : "light";
    this.root.dataset.theme = theme;
  }

  open(focus = true) {
    this.panel.hidden = false;
    this.launcher.setAttribute("aria-expanded", "true");
    this.launcher.setAttribute("aria-label", "Hide chat");
    try { sessionStorage.setItem(this.openKey, "1"); } catch (error) { /* storage off */ }
    this.scrollDown();
    if (focus) this.input.focus();
  }

  close() {
    this.panel.hidden = true;
    this.launcher.setAttribute("aria-expanded", "false");
    this.launcher.setAttribute("aria-label", "Open chat");
    try { sessionStorage.removeItem(this.openKey); } catch (error) { /* storage off */ }
    this.launcher.focus();
  }

  autosize() {
    this.input.style.height = "auto";
    this.input.style.height = `${Math.min(this.input.scrollHeight, 120)}px`;
  }

  scrollDown() {
    this.log.scrollTop = this.log.scrollHeight;
  }

  notify(message) {
    this.notice.textContent = message || "";
  }

  setSpeech(on) {
    this.speechButton.setAttribute("aria-pressed", on ? "true" : "false");
    this.speaker.setEnabled(on);
    store.setItem(this.speechKey, on ? "on" : "off");
  }

  // ---------------------------------------------------------------- events from the server

  handlers() {
    return {
      status: (state) => {
        const text = { connecting: "Connecting…", connected: "Online", reconnecting: "Reconnecting…", unreachable: "Can't reach the assistant" }[state];
        this.statusText.textContent = text || "";
        this.root.dataset.connection = state;
        if (state !== "connected") this.typing.hidden = true;
      },
      webchat_config: (config) => {
        if (config && typeof config === "object") this.limits = { ...this.limits, ...config };
        this.input.maxLength = this.limits.max_text_chars;
        this.speaker.maxChars = this.limits.max_speech_chars;
      },
      history: (payload) => this.showHistory((payload && payload.messages) || []),
      bot_uttered: (payload) => {
        this.typing.hidden = true;
        this.addBot(payload, true);
      },
      transcript: (payload) => this.showTranscript(payload || {}),
      typing: (payload) => {
        this.typing.hidden = !(payload && payload.on);
        if (!this.typing.hidden) this.scrollDown();
        // a voice note without words: the assistant said so; no transcript will come
        else this.log.querySelectorAll(".pending-text").forEach((body) => body.remove());
      },
      error: (payload) => this.showError(payload || {}),
      feedback_saved: (payload) => {
        if (payload && Number.isInteger(payload.bot_index)) this.ratings.set(payload.bot_index, payload.rating);
      },
    };
  }

  showHistory(messages) {
    if (!this.historyShown) {
      this.historyShown = true;
      this.log.replaceChildren();
      this.botGroups.clear();
      for (const message of messages) {
        if (message.sender === "user") this.addUser({ text: message.text, attachments: message.attachments || [], voice: message.voice });
        else if (message.sender === "bot") this.addBot(message, false);
      }
      this.scrollDown();
      return;
    }
    // after a reconnection: only the bot messages that came while the connection was down
    const known = Math.max(-1, ...this.botGroups.keys());
    for (const message of messages) {
      if (message.sender === "bot" && Number.isInteger(message.index) && message.index > known) this.addBot(message, true);
    }
  }

  showTranscript({ text, client_id: clientId }) {
    const bubble = clientId && this.userBubbles.get(clientId);
    if (bubble) {
      const body = bubble.querySelector(".text");
      body.classList.remove("pending-text");
      body.replaceChildren(richText(text));
    } else {
      this.addUser({ text, voice: true });
    }
  }

  showError({ code, message, client_id: clientId, bot_index: botIndex }) {
    const text = message || "Something went wrong.";
    const bubble = clientId && this.userBubbles.get(clientId);
    if (bubble) {
      bubble.append(el("span", { class: "failed", text: `Not sent: ${text}` }));
      bubble.querySelector(".pending-text")?.remove();
    }
    if (Number.isInteger(botIndex)) this.paintRating(botIndex, this.ratings.get(botIndex));
    this.notify(text);
    this.typing.hidden = true;
    this.root.dataset.lastError = code || "error";
  }

  // ---------------------------------------------------------------- messages

  addUser({ text, attachments = [], voice = false, files = [], clientId }) {
    const item = el("li", { class: "msg user" });
    item.append(el("span", { class: "sr-only", text: "You said:" }));
    if (files.length || attachments.length) {
      const strip = el("div", { class: "files" });
      for (const file of files) {
        if (file.kind === "image") strip.append(el("img", { src: file.url, alt: `Picture you sent: ${file.file.name || "pasted image"}` }));
      }
      for (const attachment of attachments) {
        if (attachment.kind === "image") strip.append(el("span", { class: "chip", text: "Picture" }));
        else if (attachment.kind === "audio" && !voice) strip.append(el("span", { class: "chip", text: "Voice note" }));
      }
      if (strip.childElementCount) item.append(strip);
    }
    if (voice) item.append(el("span", { class: "chip", text: "Voice note" }));
    const body = el("div", { class: "bubble text" });
    if (text) body.append(richText(text));
    else if (voice) { body.classList.add("pending-text"); body.textContent = "Transcribing…"; }
    if (text || voice) item.append(body);
    this.log.append(item);
    if (clientId) this.userBubbles.set(clientId, item);
    this.scrollDown();
    return item;
  }

  addBot(payload, live) {
    if (!payload || typeof payload !== "object") return;
    const item = el("li", { class: "msg bot" });
    item.append(el("span", { class: "sr-only", text: "Assistant said:" }));
    let spoken = "";
    if (payload.text) {
      const body = el("div", { class: "bubble text" }, richText(payload.text));
      item.append(body);
      spoken = body.textContent;
    }
    const src = imageSource(payload, this.server);
    if (src) item.append(el("div", { class: "bubble" }, el("img", { class: "picture", src, alt: "Picture from the assistant", loading: "lazy" })));
    const replies = payload.quick_replies || payload.buttons;
    if (Array.isArray(replies) && replies.length) {
      const group = el("div", { class: "replies", role: "group", "aria-label": "Suggested replies" });
      for (const reply of replies) {
        const title = String(reply.title || reply.payload || "");
        const button = el("button", { type: "button", text: title });
        button.addEventListener("click", () => {
          group.querySelectorAll("button").forEach((b) => { b.disabled = true; });
          this.sendText(String(reply.payload || title), title);
        });
        if (!live) button.disabled = true;
        group.append(button);
      }
      item.append(group);
    }
    if (item.childElementCount === 1) return; // nothing the widget can show (e.g. custom data)
    if (Number.isInteger(payload.index)) {
      item.dataset.index = String(payload.index);
      const previous = this.botGroups.get(payload.index);
      if (previous) previous.querySelector(".rate")?.remove();
      item.append(this.rateBar(payload.index));
      this.botGroups.set(payload.index, item);
      if (payload.rating) this.ratings.set(payload.index, payload.rating);
      this.paintRating(payload.index, this.ratings.get(payload.index));
    }
    this.log.append(item);
    this.scrollDown();
    if (live && spoken) this.speaker.say(spoken);
  }

  rateBar(index) {
    const bar = el("div", { class: "rate", role: "group", "aria-label": "Rate this answer" });
    for (const [rating, label] of [["up", "Helpful"], ["down", "Not helpful"]]) {
      const button = el("button", { type: "button", "aria-label": label, title: label, "aria-pressed": "false", "data-rating": rating }, icon(rating));
      button.addEventListener("click", () => {
        this.ratings.set(index, rating);
        this.paintRating(index, rating);
        this.connection.emit("feedback", { bot_index: index, rating });
      });
      bar.append(button);
    }
    return bar;
  }

  paintRating(index, rating) {
    const item = this.botGroups.get(index);
    if (!item) return;
    item.querySelectorAll(".rate button").forEach((button) => {
      button.setAttribute("aria-pressed", button.dataset.rating === rating ? "true" : "false");
    });
  }

  // ---------------------------------------------------------------- sending

  nextClientId() {
    this.clientCounter += 1;
    return `c${Date.now().toString(36)}${this.clientCounter}`;
  }

  disableOldReplies() {
    this.log.querySelectorAll(".replies button").forEach((button) => { button.disabled = true; });
  }

  sendText(payload, shown) {
    const clientId = this.nextClientId();
    this.disableOldReplies();
    this.addUser({ text: shown, clientId });
    this.notify("");
    this.connection.emit("user_uttered", { message: payload, client_id: clientId });
  }

  async send() {
    const text = this.input.value.trim();
    const files = this.pending.slice();
    if (!text && !files.length) return;
    if (text.length > this.limits.max_text_chars) {
      this.notify(`Your message is too long: at most ${this.limits.max_text_chars} characters.`);
      return;
    }
    const total = files.reduce((sum, item) => sum + item.file.size, 0);
    if (total > this.limits.max_total_bytes) {
      this.notify(`These files add up to ${formatBytes(total)}; the limit is ${formatBytes(this.limits.max_total_bytes)}.`);
      return;
    }
    this.input.value = "";
    this.autosize();
    this.pending = [];
    this.previews.replaceChildren();
    this.disableOldReplies();
    const clientId = this.nextClientId();
    this.addUser({ text, files, clientId });
    this.notify("");
    const attachments = await Promise.all(files.map(async (item) => ({ name: item.file.name || "", type: item.file.type || "", data: await item.file.arrayBuffer() })));
    this.connection.emit("user_uttered", { message: text, client_id: clientId, attachments });
  }

  kindOf(file) {
    if (this.limits.image_types.includes(file.type)) return "image";
    if (file.type && file.type.startsWith("audio/")) return "audio";
    return null;
  }

  // the size and type check before anything is uploaded
  addFiles(list) {
    for (const file of Array.from(list || [])) {
      const kind = this.kindOf(file);
      if (!kind) {
        this.notify(`${file.name || "That file"} can't be sent: I can read pictures (PNG, JPEG or WebP).`);
        continue;
      }
      const limit = kind === "image" ? this.limits.max_image_bytes : this.limits.max_audio_bytes;
      if (file.size > limit) {
        this.notify(`${file.name || "That picture"} is ${formatBytes(file.size)}; the limit is ${formatBytes(limit)}.`);
        continue;
      }
      if (file.size === 0) {
        this.notify(`${file.name || "That file"} is empty.`);
        continue;
      }
      if (this.pending.length >= this.limits.max_attachments) {
        this.notify(`At most ${this.limits.max_attachments} files per message.`);
        break;
      }
      this.addPreview({ file, kind, url: kind === "image" ? URL.createObjectURL(file) : null });
    }
    if (this.panel.hidden) this.open();
  }

  addPreview(item) {
    this.pending.push(item);
    const name = item.file.name || "pasted image";
    const remove = el("button", { type: "button", "aria-label": `Remove ${name}`, title: "Remove", text: "×" });
    const row = el("li", { class: "preview" },
      item.url ? el("img", { src: item.url, alt: `Preview of ${name}` }) : el("span", { text: "Audio" }),
      el("span", { class: "name", text: `${name} · ${formatBytes(item.file.size)}` }), remove);
    remove.addEventListener("click", () => {
      this.pending = this.pending.filter((p) => p !== item);
      row.remove();
      this.input.focus();
    });
    this.previews.append(row);
    this.notify("");
  }

  onPaste(event) {
    const files = Array.from((event.clipboardData && event.clipboardData.files) || []);
    if (!files.length) return;
    event.preventDefault();
    this.addFiles(files);
  }

  hasFiles(event) {
    return !!event.dataTransfer && Array.from(event.dataTransfer.types || []).includes("Files");
  }

  // ---------------------------------------------------------------- voice notes

  async toggleRecording() {
    if (this.recorder && this.recorder.recording) return this.stopRecording(true);
    this.recorder = new VoiceRecorder({
      onTick: (s) => { this.recordingStatus.textContent = `Recording ${Math.floor(s / 60)}:${String(s % 60).padStart(2, "0")} — press the microphone again to send, Escape to cancel`; },
      onLimit: () => this.stopRecording(true),
    });
    try {
      await this.recorder.start();
    } catch (error) {
      this.notify("The microphone is not available. Allow it in the browser to send voice notes, or type your message.");
      return;
    }
    this.recordButton.setAttribute("aria-pressed", "true");
    this.recordButton.setAttribute("aria-label", "Stop recording and send");
    this.recordingStatus.hidden = false;
    this.recordingStatus.textContent = "Recording 0:00 — press the microphone again to send, Escape to cancel";
  }

  async stopRecording(keep) {
    const blob = await this.recorder.stop(keep);
    this.recordButton.setAttribute("aria-pressed", "false");
    this.recordButton.setAttribute("aria-label", "Record a voice note");
    this.recordingStatus.hidden = true;
    if (!blob) return;
    if (!blob.size) { this.notify("The recording is empty; please try again."); return; }
    if (blob.size > this.limits.max_audio_bytes) { this.notify("That voice note is too long to send."); return; }
    const clientId = this.nextClientId();
    this.disableOldReplies();
    this.addUser({ voice: true, clientId });
    this.notify("");
    const data = await blob.arrayBuffer();
    this.connection.emit("user_uttered", { message: "", client_id: clientId, attachments: [{ name: "voice-note", type: blob.type, data }] });
  }
}

function boot() {
  if (window.ParleyChat && window.ParleyChat.ready) return;
  const script = document.currentScript || document.querySelector("script[src*='webhooks/webchat/widget.js']");
  const start = () => {
    const widget = new Widget(script);
    window.ParleyChat = {
      ready: true,
      open: () => widget.open(),
      close: () => widget.close(),
      setTheme: (name) => widget.setTheme(name),
      // a customer the site's server signed in: signIn({email, expires}, signature); signIn() forgets it
      signIn: (customer, signature) => widget.connection.signIn(customer, signature),
      get sessionId() { return widget.connection.sessionId; },
      get spoken() { return widget.speaker.played; },
      dropConnection: () => widget.connection.drop(),
    };
    document.dispatchEvent(new CustomEvent("parley-chat-ready"));
  };
  if (document.body) start();
  else document.addEventListener("DOMContentLoaded", start);
}

boot();
