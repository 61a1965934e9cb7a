// The socket.io connection to the Rasa server: the session (its server-issued id and token, kept
// in localStorage so a reload continues the same conversation; an id without its token would get
// a new conversation), automatic reconnection, and an outbox so nothing typed
// while the connection is down is lost or sent before the session is confirmed.
import { io } from "socket.io-client";

const store = (() => {
  try {
    const probe = "parley-probe";
    window.localStorage.setItem(probe, "1");
    window.localStorage.removeItem(probe);
    return window.localStorage;
  } catch (error) {
    const memory = new Map();
    return { getItem: (k) => memory.get(k) ?? null, setItem: (k, v) => memory.set(k, v), removeItem: (k) => memory.delete(k) };
  }
})();

export { store };

export class Connection {
  constructor({ server, path, handlers }) {
    this.server = server;
    this.path = path;
    this.handlers = handlers;
    this.key = `parley-chat:session:${server}`;
    this.tokenKey = `parley-chat:token:${server}`;
    this.sessionId = store.getItem(this.key);
    this.sessionToken = store.getItem(this.tokenKey);
    this.confirmed = false;
    this.outbox = [];
    this.socket = null;
    this.metadata = null;  // a customer the site's server signed in (signIn), sent with each message
  }

  // {customer: {email, expires}, customer_signature}, made by the site's server (README, Security)
  signIn(customer, signature) {
    this.metadata = customer && signature ? { customer, customer_signature: signature } : null;
  }

  start() {
    const socket = io(this.server, { path: this.path, reconnectionDelayMax: 8000 });
    this.socket = socket;
    const on = (name, fn) => socket.on(name, fn);
    on("connect", () => {
      this.handlers.status("connecting");
      socket.emit("session_request", { session_id: this.sessionId, session_token: this.sessionToken });
    });
    on("session_token", (data) => {
      if (!data || typeof data.session_id !== "string" || typeof data.session_token !== "string") return;
      this.sessionToken = data.session_token;
      store.setItem(this.tokenKey, this.sessionToken);
    });
    on("session_confirm", (id) => {
      const first = !this.confirmed && this.sessionId !== id;
      this.sessionId = typeof id === "string" ? id : (id && id.session_id) || this.sessionId;
      store.setItem(this.key, this.sessionId);
      this.confirmed = true;
      this.handlers.status("connected", { newSession: first });
      const waiting = this.outbox.splice(0);
      for (const [event, payload] of waiting) this.emit(event, payload);
    });
    on("disconnect", () => {
      this.confirmed = false;
      this.handlers.status("reconnecting");
    });
    on("connect_error", () => this.handlers.status("unreachable"));
    for (const name of ["webchat_config", "history", "bot_uttered", "transcript", "typing", "error", "feedback_saved"]) {
      on(name, (payload) => this.handlers[name] && this.handlers[name](payload));
    }
  }

  // user_uttered and feedback go to the socket's confirmed session; they wait in the outbox
  // while offline or before the session is confirmed
  emit(event, payload) {
    if (!this.socket || !this.socket.connected || !this.confirmed) {
      this.outbox.push([event, payload]);
      return false;
    }
    const withMetadata = event === "user_uttered" && this.metadata ? { ...payload, metadata: this.metadata } : payload;
    this.socket.emit(event, withMetadata);
    return true;
  }

  // closes the transport as a network failure would; socket.io reconnects by itself
  drop() {
    if (this.socket && this.socket.io.engine) this.socket.io.engine.close();
  }
}
