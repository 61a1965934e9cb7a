"""Real-time voice for Parley: small typed stages, one per file, assembled by the voice channel
(channels/voice.py), in the spirit of pipecat's frame processors.

- frames.py   — the wire: PCM16 frames and JSON control messages checked, WAV in and out
- vad.py      — SpeechDetector: energy gate per frame, Silero VAD (perception /v1/vad) per hop,
                speech start and end of turn
- turns.py    — TurnPolicy: how long a silence ends the turn (longer while a number, an e-mail
                or digits are being asked) and what the tracker says is being asked
- speech.py   — bot messages made speakable, codes read digit by digit, read-backs, and spoken
                numbers and e-mails written the way the forms expect them
- speaker.py  — Speaker: synthesizes sentence by sentence and streams PCM paced to real time,
                so that a barge-in stops it mid-way
- pipeline.py — VoiceSession (one websocket call) and VoiceTurn (transcribe, Rasa, speak), with
                the per-turn stage timings
"""
