"""From a reviewer's correction of one user turn to a scrubbed annotation (errors as values)."""
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Dict, List, Optional, Set, Tuple, Union

import yaml

from review import settings
from review.conversation import FALLBACK_INTENT, UserTurn
from privacy.pii import Scrubber

MARKUP = re.compile(r"\[[^\]]*\](\([^)]*\)|\{[^}]*\})")
MAX_TEXT = 2000


@dataclass
class Refused:
    code: str
    message: str
    status: int = 400


@dataclass
class Domain:
    intents: Set[str]
    entities: Set[str]

    @classmethod
    def load(cls, path: Optional[Path] = None) -> "Domain":
        data = yaml.safe_load((path or settings.project_dir() / "domain.yml").read_text(encoding="utf-8"))
        return cls(_names(data.get("intents")), _names(data.get("entities")))

    @property
    def trainable(self) -> List[str]:
        return sorted(self.intents - {FALLBACK_INTENT})


def _names(items: Any) -> Set[str]:
    names = set()
    for item in items or []:
        if isinstance(item, str):
            names.add(item)
        elif isinstance(item, dict):
            names.update(str(k) for k in item)
    return names


def check_entities(text: str, entities: Any, domain: Domain) -> Union[List[Dict[str, Any]], Refused]:
    """Entities from the form: [{entity, start, end}] or [{entity, text}] (first free place)."""
    if not isinstance(entities, list):
        return Refused("invalid_entities", "entities must be a list")
    checked: List[Dict[str, Any]] = []
    for item in entities:
        if not isinstance(item, dict) or not isinstance(item.get("entity"), str):
            return Refused("invalid_entities", "each entity needs a name")
        name = item["entity"]
        if name not in domain.entities:
            return Refused("unknown_entity", f"'{name}' is not an entity of domain.yml")
        start, end = item.get("start"), item.get("end")
        words = item.get("text")
        if isinstance(words, str) and not (isinstance(start, int) and isinstance(end, int)
                                           and text[start:end] == words):
            start = _free_place(text, words, checked)
            if start is None:
                return Refused("entity_not_in_text", f"'{words}' ({name}) is not in the text")
            end = start + len(words)
        if not (isinstance(start, int) and isinstance(end, int)) or isinstance(start, bool) \
                or not 0 <= start < end <= len(text):
            return Refused("invalid_entities", f"the {name} entity does not fit the text")
        if text[start:end] != text[start:end].strip():
            return Refused("invalid_entities", f"the {name} entity starts or ends with a space")
        if any(c["start"] < end and start < c["end"] for c in checked):
            return Refused("overlapping_entities", "two entities overlap")
        entity = {"entity": name, "start": start, "end": end}
        if isinstance(item.get("value"), str) and item["value"] != text[start:end]:
            entity["value"] = item["value"]
        checked.append(entity)
    return sorted(checked, key=lambda e: e["start"])


def _free_place(text: str, words: str, taken: List[Dict[str, Any]]) -> Optional[int]:
    """Where `words` are in `text` and no entity is yet: exactly, else ignoring case (a corrected
    transcript often changes only the case)."""
    if not words:
        return None
    for haystack, needle in ((text, words), (text.lower(), words.lower())):
        start = haystack.find(needle)
        while start >= 0:
            if not any(c["start"] < start + len(needle) and start < c["end"] for c in taken):
                return start
            start = haystack.find(needle, start + 1)
    return None


def annotation(turn: UserTurn, form: Dict[str, Any], domain: Domain,
               scrubber: Scrubber) -> Union[Dict[str, Any], Refused]:
    """The scrubbed record to queue for `turn`; `form`: {action: good|save, intent, text?, entities?}."""
    if not turn.annotatable:
        return Refused("not_annotatable", "a button click or an empty turn has nothing to learn from")
    action = form.get("action") or "save"
    if action not in ("good", "save"):
        return Refused("invalid_action", "action is 'good' or 'save'")
    text = turn.text
    if action == "good":
        intent = turn.intent
        entities: Any = [{k: e[k] for k in ("entity", "start", "end", "value") if e.get(k) is not None}
                         for e in turn.entities]
        if intent == FALLBACK_INTENT or not intent:
            return Refused("choose_intent", "the assistant did not understand this turn: choose its intent")
    else:
        intent = form.get("intent")
        entities = form.get("entities", [])
        corrected = form.get("text")
        if isinstance(corrected, str) and corrected.strip() != text.strip():
            if turn.voice is None:
                return Refused("text_not_editable", "only a voice note's transcript can be corrected")
            text = " ".join(corrected.split())
    if not isinstance(intent, str) or not intent:
        return Refused("missing_intent", "choose an intent")
    if intent == FALLBACK_INTENT:
        return Refused("unknown_intent", "nlu_fallback is not an intent to train: choose another")
    if intent not in domain.intents:
        return Refused("unknown_intent", f"'{intent}' is not an intent of domain.yml")
    if not text.strip():
        return Refused("empty_text", "the text is empty")
    if len(text) > MAX_TEXT:
        return Refused("text_too_long", f"the text is longer than {MAX_TEXT} characters")
    entities = check_entities(text, entities, domain)
    if isinstance(entities, Refused):
        return entities
    clean_text, clean_entities = scrubber.scrub(text, entities)
    outside = _without_spans(clean_text, clean_entities)
    if MARKUP.search(outside):
        return Refused("markup_in_text", "the text looks like entity markup ([...](...)): it cannot be "
                                         "written as training data")
    return {"text": clean_text, "entities": clean_entities, "intent": intent,
            "kind": "good" if action == "good" else "corrected",
            "attachment": _picture(turn, scrubber)}


def _without_spans(text: str, entities: List[Dict[str, Any]]) -> str:
    for entity in sorted(entities, key=lambda e: -e["start"]):
        text = text[:entity["start"]] + "x" * (entity["end"] - entity["start"]) + text[entity["end"]:]
    return text


def _picture(turn: UserTurn, scrubber: Scrubber) -> Optional[Dict[str, Any]]:
    """What the first picture showed, as the training data's example metadata (OCR scrubbed)."""
    for item in turn.attachments:
        summary = item.get("summary") or {}
        if item.get("kind") == "image" and summary.get("analysed", True) and summary.get("image_kind"):
            labels = [l.get("label") for l in summary.get("labels") or [] if isinstance(l, dict)]
            return {"image_kind": summary["image_kind"], "labels": [l for l in labels if l][:3],
                    "text": scrubber.scrub(str(summary.get("text") or ""))[0]}
    return None


def markup(text: str, entities: List[Dict[str, Any]]) -> str:
    """Rasa's entity markup: [words](entity), or [words]{"entity": .., "value": ..}."""
    import json

    out, cursor = [], 0
    for entity in sorted(entities, key=lambda e: e["start"]):
        words = text[entity["start"]:entity["end"]]
        out.append(text[cursor:entity["start"]])
        value = entity.get("value")
        if isinstance(value, str) and value != words:
            out.append(f"[{words}]" + json.dumps({"entity": entity["entity"], "value": value}))
        else:
            out.append(f"[{words}]({entity['entity']})")
        cursor = entity["end"]
    out.append(text[cursor:])
    return "".join(out)


def split_markup(text: str) -> Tuple[str, List[Dict[str, Any]]]:  # used by tests
    entities, plain, cursor = [], "", 0
    for m in re.finditer(r"\[([^\]]*)\]\(([^)]*)\)", text):
        plain += text[cursor:m.start()]
        entities.append({"entity": m.group(2), "start": len(plain), "end": len(plain) + len(m.group(1))})
        plain += m.group(1)
        cursor = m.end()
    return plain + text[cursor:], entities
