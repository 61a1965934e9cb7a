"""Approved annotations → Rasa training data and test stories, in their own files so a person
can review the diff:

- `data/nlu/reviewed.yml`: NLU examples with entity markup (pictures' metadata as in
  data/nlu/multimodal.yml);
- `tests/test_reviewed_stories.yml`: one test story per conversation session whose every user
  turn was reviewed and approved (the customer's words as corrected, the actions the assistant
  took, slot values scrubbed like the text).

Only approved annotations are written, and they were scrubbed when they were saved. Both files are
rewritten from the whole queue each time (stable order), atomically.

    python -m review.export      # the same as the inbox's Export button
"""
import hashlib
import os
import re
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Dict, List, Optional, Tuple

import yaml

from review import settings
from review.annotate import Domain, markup
from review.conversation import Conversation
from privacy.pii import PII_ENTITIES, Scrubber
from review.queue import ReviewQueue

NLU_FILE = Path("data") / "nlu" / "reviewed.yml"
STORIES_FILE = Path("tests") / "test_reviewed_stories.yml"
HEADER = ("# Written by the review inbox (python -m review.export) from approved, scrubbed\n"
          "# annotations. Change them in the inbox: this file is rewritten on every export.\n")
ENTITY_MARKUP = re.compile(r"\[([^\]]*)\](?:\(([^)]*)\)|\{[^}]*\})")


@dataclass
class ExportResult:
    examples: int = 0
    stories: int = 0
    already_in_data: int = 0
    errors: List[str] = field(default_factory=list)
    files: List[str] = field(default_factory=list)


def existing_examples(data_dir: Path, skip: Path) -> Dict[str, str]:
    """Text (without markup, lowercased) → intent of the examples already in data/."""
    known: Dict[str, str] = {}
    for path in sorted(data_dir.rglob("*.yml")):
        if path.resolve() == skip.resolve():
            continue
        try:
            content = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        except yaml.YAMLError:
            continue
        for block in content.get("nlu") or [] if isinstance(content, dict) else []:
            if not isinstance(block, dict) or "intent" not in block:
                continue
            examples = block.get("examples")
            texts = [line[2:] for line in examples.splitlines() if line.startswith("- ")] \
                if isinstance(examples, str) else \
                [e.get("text", "") for e in examples or [] if isinstance(e, dict)]
            for text in texts:
                known[_plain(text)] = str(block["intent"])
    return known


def _plain(text: str) -> str:
    return " ".join(ENTITY_MARKUP.sub(lambda m: m.group(1), str(text)).lower().split())


def _write(path: Path, content: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    with os.fdopen(handle, "w", encoding="utf-8") as out:
        out.write(content)
    os.replace(temporary, path)


class _Dumper(yaml.SafeDumper):
    """Multi-line strings (OCR text) as literal blocks: readable in a diff."""


def _string(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
    if "\n" in value:
        return dumper.represent_scalar("tag:yaml.org,2002:str", value, style="|")
    return dumper.represent_scalar("tag:yaml.org,2002:str", value)


_Dumper.add_representer(str, _string)


def _dump(value: Any) -> str:
    return yaml.dump(value, Dumper=_Dumper, sort_keys=False, allow_unicode=True, width=100000)


class Exporter:
    def __init__(self, queue: ReviewQueue, scrubber: Scrubber,
                 conversation: Callable[[str], Optional[Conversation]],
                 project: Optional[Path] = None, domain: Optional[Domain] = None) -> None:
        self.queue = queue
        self.scrubber = scrubber
        self.conversation = conversation
        self.project = Path(project or settings.project_dir())
        self.domain = domain or Domain.load(self.project / "domain.yml")

    def run(self) -> ExportResult:
        result = ExportResult()
        approved = self.queue.items(status="approved")
        usable = []
        for item in approved:
            if item["intent"] not in self.domain.trainable:
                result.errors.append(f"annotation #{item['id']}: the intent '{item['intent']}' is not "
                                     f"an intent of domain.yml; correct it and approve again")
                continue
            unknown = sorted({e["entity"] for e in item["entities"]} - self.domain.entities)
            if unknown:
                result.errors.append(f"annotation #{item['id']}: unknown entities {', '.join(unknown)}")
                continue
            usable.append(item)
        self._nlu(usable, result)
        self._stories(usable, result)
        return result

    # ---------------------------------------------------------------- NLU

    def _nlu(self, items: List[Dict[str, Any]], result: ExportResult) -> None:
        target = self.project / NLU_FILE
        known = existing_examples(self.project / "data", target)
        by_intent: Dict[str, Dict[Tuple[str, str], Dict[str, Any]]] = {}
        for item in items:
            text = markup(item["text"], item["entities"])
            plain = _plain(text)
            if not item["attachment"] and plain in known:
                if known[plain] == item["intent"]:
                    result.already_in_data += 1
                else:
                    result.errors.append(f"annotation #{item['id']}: the same words are an example of "
                                         f"'{known[plain]}' in data/; not exported as '{item['intent']}'")
                continue
            example: Dict[str, Any] = {"text": text}
            if item["attachment"]:
                example["metadata"] = {"attachment": item["attachment"]}
            key = (text, _dump(example.get("metadata")))
            by_intent.setdefault(item["intent"], {})[key] = example
        nlu = [{"intent": intent, "examples": [examples[k] for k in sorted(examples)]}
               for intent, examples in sorted(by_intent.items())]
        result.examples = sum(len(block["examples"]) for block in nlu)
        content = HEADER + _dump({"version": "3.1", "nlu": nlu}) if nlu else \
            HEADER + 'version: "3.1"\nnlu: []\n'
        _write(target, content)
        result.files.append(str(NLU_FILE))

    # ------------------------------------------------------------- stories

    def _stories(self, items: List[Dict[str, Any]], result: ExportResult) -> None:
        by_sender: Dict[str, Dict[int, Dict[str, Any]]] = {}
        for item in items:
            by_sender.setdefault(item["sender_id"], {})[item["turn"]] = item
        stories = []
        for sender_id in sorted(by_sender):
            conversation = self.conversation(sender_id)
            if conversation is None:
                continue
            annotated = by_sender[sender_id]
            sessions = sorted({conversation.turns[t].session for t in annotated if t < len(conversation.turns)})
            for session in sessions:
                story = self._story(conversation, session, annotated)
                if story:
                    stories.append(story)
        result.stories = len(stories)
        content = HEADER + (_dump({"version": "3.1", "stories": stories}) if stories
                            else 'version: "3.1"\nstories: []\n')
        _write(self.project / STORIES_FILE, content)
        result.files.append(str(STORIES_FILE))

    def _story(self, conversation: Conversation, session: int,
               annotated: Dict[int, Dict[str, Any]]) -> Optional[Dict[str, Any]]:
        turns = [t for t in conversation.turns if t.session == session]
        steps: List[Dict[str, Any]] = []
        for turn in turns:
            item = annotated.get(turn.index)
            if item is not None:
                steps.append({"user": markup(item["text"], item["entities"]), "intent": item["intent"]})
            elif turn.is_button and turn.intent:
                steps.append({"user": self.scrubber.scrub(turn.text)[0], "intent": turn.intent})
            else:
                return None  # a turn nobody approved: the conversation is not reviewed yet
            for step in turn.after:
                if "slot_was_set" in step:
                    [(name, value)] = step["slot_was_set"][0].items()
                    step = {"slot_was_set": [{name: self.scrubber.scrub_value(
                        value, name if name in PII_ENTITIES else None)}]}
                steps.append(step)
        if not steps:
            return None
        digest = hashlib.sha256(conversation.sender_id.encode("utf-8")).hexdigest()[:10]
        return {"story": f"reviewed conversation {digest} session {session}", "steps": steps}


def main() -> int:
    from privacy.pii import customer_names
    from review.tracker import TrackerReader

    key = settings.derived(settings.secret(), "pii")
    reader = TrackerReader(settings.tracker_url())
    result = Exporter(ReviewQueue(), Scrubber(key, customer_names()), reader.conversation).run()
    print(f"review export: {result.examples} example(s), {result.stories} test story(ies), "
          f"{result.already_in_data} already in data/ -> {', '.join(result.files)}")
    for error in result.errors:
        print(f"  not exported: {error}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
