"""Engines: one class per model family. The registry maps task and engine names to them."""
