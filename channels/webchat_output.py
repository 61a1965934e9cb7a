"""What the web chat sends: bot messages with their index, and a conversation's history.

Every bot message goes out as one ``bot_uttered`` payload in the shapes of Rasa's socket.io
channel (``{"text"}``, ``{"text", "quick_replies": [{"content_type", "title", "payload"}]}``,
``{"attachment": {"type": "image", "payload": {"src"}}}``), plus:

- ``index``: the position of that bot message among all the bot messages (BotUttered events) of
  the conversation, from 0, counted over every session of the tracker. The widget sends it back
  with a thumbs up/down; the review inbox finds the message with it. A message with text and an
  image gives two payloads with the same index.
- ``{"custom": {...}, "index"}`` for custom payloads (Rasa's own channel passed their keys to
  ``emit`` as keyword arguments, which fails for most payloads).

Unlike Rasa's channel a text is not split at blank lines: one bot message is one bubble, so the
index, the thumbs and reading aloud apply to the whole message.
"""
from typing import Any, Awaitable, Callable, Dict, List, Optional, Text

from rasa.core.channels.socketio import SocketIOOutput
from rasa.shared.core.events import BotUttered, SlotSet, UserUttered

FEEDBACK_SLOT = "feedback"
IMAGE_TEXT = "[image]"   # channels/multimodal.py: the text of a message with only pictures
HISTORY_LIMIT = 200      # messages sent back after a reload (the latest ones)

# the number of bot messages already in the stored conversation (None: no conversation yet)
CountBotMessages = Callable[[Text], Awaitable[int]]


class WebChatOutput(SocketIOOutput):
    """Rasa's socket.io output with one payload per message part, each carrying `index`."""

    @classmethod
    def name(cls) -> Text:
        return "webchat"

    def __init__(self, sio: Any, bot_message_evt: Text, count_bot_messages: Optional[CountBotMessages]
                 ) -> None:
        super().__init__(sio, bot_message_evt)
        self._count = count_bot_messages
        self._next: Optional[int] = None
        self._index: Optional[int] = None

    async def send_response(self, recipient_id: Text, message: Dict[Text, Any]) -> None:
        # Rasa sends the turn's bot messages in the order they are logged, while it holds the
        # conversation lock and before it saves the tracker: the first one's index is the number
        # of bot messages already stored.
        if self._next is None and self._count is not None:
            self._next = await self._count(recipient_id)
        self._index = self._next
        try:
            await super().send_response(recipient_id, message)
        finally:
            if self._next is not None:
                self._next += 1
            self._index = None

    async def _send_message(self, socket_id: Text, response: Any) -> None:
        if self._index is not None and isinstance(response, dict):
            response = {**response, "index": self._index}
        await super()._send_message(socket_id, response)

    async def send_text_message(self, recipient_id: Text, text: Text, **kwargs: Any) -> None:
        await self._send_message(recipient_id, {"text": text.strip()})

    async def send_text_with_buttons(self, recipient_id: Text, text: Text,
                                     buttons: List[Dict[Text, Any]], **kwargs: Any) -> None:
        replies = [{"content_type": "text", "title": button.get("title"), "payload": button.get("payload")}
                   for button in buttons]
        await self._send_message(recipient_id, {"text": (text or "").strip(), "quick_replies": replies})

    async def send_custom_json(self, recipient_id: Text, json_message: Dict[Text, Any],
                               **kwargs: Any) -> None:
        await self._send_message(recipient_id, {"custom": json_message})


class _Collector(WebChatOutput):
    """Renders stored bot messages into the payloads the widget got live (for the history)."""

    def __init__(self) -> None:
        super().__init__(None, "bot_uttered", None)
        self.payloads: List[Dict[str, Any]] = []

    async def _send_message(self, socket_id: Text, response: Any) -> None:
        if self._index is not None:
            response = {**response, "index": self._index}
        self.payloads.append(response)


def _user_entry(event: UserUttered, last_bot: Optional[Dict[str, Any]]) -> Dict[str, Any]:
    metadata = event.metadata or {}
    text = event.text or ""
    attachments = [{"kind": ref.get("kind"), "format": ref.get("format")}
                   for ref in metadata.get("attachments") or [] if isinstance(ref, dict)]
    if text == IMAGE_TEXT and attachments:
        text = ""
    if text.startswith("/") and last_bot:  # a quick reply: show its title, not its payload
        for reply in last_bot.get("quick_replies") or []:
            if reply.get("payload") == text:
                text = reply.get("title") or text
                break
    entry: Dict[str, Any] = {"sender": "user", "text": text}
    if attachments:
        entry["attachments"] = attachments
    if isinstance(metadata.get("voice"), dict):
        entry["voice"] = True
    return entry


async def history(events: List[Any]) -> List[Dict[str, Any]]:
    """The conversation as the widget shows it: user messages ({"sender": "user", "text",
    "attachments"?: [{"kind", "format"}], "voice"?}) and bot payloads ({"sender": "bot", ...the
    live payload..., "index", "rating"?: "up"|"down"}), oldest first, at most HISTORY_LIMIT."""
    collector = _Collector()
    collector._next = 0
    entries: List[Dict[str, Any]] = []
    ratings: Dict[int, str] = {}
    last_bot: Optional[Dict[str, Any]] = None
    for event in events:
        if isinstance(event, UserUttered):
            entries.append(_user_entry(event, last_bot))
        elif isinstance(event, BotUttered):
            collector.payloads = []
            await collector.send_response("history", event.message())
            for payload in collector.payloads:
                entries.append({"sender": "bot", **payload})
                last_bot = payload
        elif isinstance(event, SlotSet) and event.key == FEEDBACK_SLOT and isinstance(event.value, dict):
            index, rating = event.value.get("bot_index"), event.value.get("rating")
            if isinstance(index, int) and rating in ("up", "down"):
                ratings[index] = rating
    for entry in entries:
        if entry["sender"] == "bot" and entry.get("index") in ratings:
            entry["rating"] = ratings[entry["index"]]
    return entries[-HISTORY_LIMIT:]
