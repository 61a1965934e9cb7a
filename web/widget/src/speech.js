// Reading the bot's replies aloud: each text goes to the server's speech route (the perception
// service's text to speech) and plays in order. Off by default; the choice is remembered.

export class Speaker {
  constructor({ endpoint, maxChars, onError }) {
    this.endpoint = endpoint;
    this.maxChars = maxChars;
    this.onError = onError;
    this.enabled = false;
    this.queue = [];
    this.busy = false;
    this.audio = new Audio();
    this.played = 0;
  }

  setEnabled(on) {
    this.enabled = on;
    if (!on) {
      this.queue = [];
      this.audio.pause();
    }
  }

  say(text) {
    const clean = String(text || "").replace(/\s+/g, " ").trim();
    if (!this.enabled || !clean) return;
    this.queue.push(clean.slice(0, this.maxChars));
    this.pump();
  }

  async pump() {
    if (this.busy) return;
    this.busy = true;
    try {
      while (this.enabled && this.queue.length) {
        const text = this.queue.shift();
        let response;
        try {
          // text/plain keeps it a simple cross-origin request (no preflight)
          response = await fetch(this.endpoint, { method: "POST", headers: { "Content-Type": "text/plain" }, body: JSON.stringify({ text }) });
        } catch (error) {
          this.onError("Reading aloud is not available right now.");
          continue;
        }
        if (!response.ok) {
          let message = "Reading aloud is not available right now.";
          try { message = (await response.json()).error.message || message; } catch (error) { /* not JSON */ }
          this.onError(message);
          continue;
        }
        const url = URL.createObjectURL(await response.blob());
        try {
          await this.play(url);
          this.played += 1;
        } finally {
          URL.revokeObjectURL(url);
        }
      }
    } finally {
      this.busy = false;
    }
  }

  play(url) {
    return new Promise((resolve) => {
      const done = () => { this.audio.onended = this.audio.onerror = this.audio.onpause = null; resolve(); };
      this.audio.onended = done;
      this.audio.onerror = done;
      this.audio.onpause = done;
      this.audio.src = url;
      this.audio.play().catch(() => {
        this.onError("The browser did not let the reply play; press the speaker button again.");
        done();
      });
    });
  }
}
