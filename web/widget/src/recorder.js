// Voice notes with MediaRecorder: Opus in WebM (Chromium, Firefox) or Ogg, else the browser's
// default; the server sniffs the format from the bytes.

const TYPES = ["audio/webm;codecs=opus", "audio/ogg;codecs=opus", "audio/webm", "audio/ogg", "audio/mp4"];

export function canRecord() {
  return typeof window.MediaRecorder === "function" && !!(navigator.mediaDevices && navigator.mediaDevices.getUserMedia);
}

export class VoiceRecorder {
  constructor({ maxSeconds = 120, onTick = () => {}, onLimit = () => {} } = {}) {
    this.maxSeconds = maxSeconds;
    this.onTick = onTick;
    this.onLimit = onLimit;
    this.recorder = null;
  }

  get recording() {
    return !!this.recorder && this.recorder.state === "recording";
  }

  async start() {
    const stream = await navigator.mediaDevices.getUserMedia({ audio: true });
    const mimeType = TYPES.find((type) => MediaRecorder.isTypeSupported(type));
    const recorder = new MediaRecorder(stream, mimeType ? { mimeType } : undefined);
    this.chunks = [];
    this.stream = stream;
    this.recorder = recorder;
    recorder.ondataavailable = (event) => event.data && event.data.size && this.chunks.push(event.data);
    recorder.start(250);
    this.started = Date.now();
    this.timer = setInterval(() => {
      const seconds = Math.floor((Date.now() - this.started) / 1000);
      this.onTick(seconds);
      if (seconds >= this.maxSeconds) this.onLimit();
    }, 250);
  }

  // resolves with the recording as a Blob (null when cancelled)
  stop(keep = true) {
    const recorder = this.recorder;
    clearInterval(this.timer);
    if (!recorder) return Promise.resolve(null);
    this.recorder = null;
    return new Promise((resolve) => {
      recorder.onstop = () => {
        this.stream.getTracks().forEach((track) => track.stop());
        resolve(keep ? new Blob(this.chunks, { type: (recorder.mimeType || "audio/webm").split(";")[0] }) : null);
      };
      if (recorder.state !== "inactive") recorder.stop();
      else recorder.onstop();
    });
  }
}
