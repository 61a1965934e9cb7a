// The socket.io connection to the Rasa server: the session (kept in localStorage so a reload
// continues the same conversation), automatic reconnection, and an outbox so nothing typed
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
    this.sessionId = store.getItem(this.key);
    this.confirmed = false;
    this.outbox = [];
    this.socket = null;
  }

  start() {
    const socket = io(this.server, { path: this.path, reconnectionDelayMax: 8000 });
    this.socket = socket;
    const on = (name, fn) => socket.on(name, fn);
    on("connect", () => {
      this.handlers.status("connecting");
      socket.emit("session_request", { session_id: this.sessionId });
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

  // user_uttered and feedback carry the session id; they wait in the outbox while offline
  emit(event, payload) {
    if (!this.socket || !this.socket.connected || !this.confirmed) {
      this.outbox.push([event, payload]);
      return false;
    }
    this.socket.emit(event, { ...payload, session_id: this.sessionId });
    return true;
  }

  // closes the transport as a network failure would; socket.io reconnects by itself
  drop() {
    if (this.socket && this.socket.io.engine) this.socket.io.engine.close();
  }
}
