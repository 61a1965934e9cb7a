"""Personal data out of reviewed examples, before anything is written (standard library only).

`Scrubber.scrub(text, entities)` finds e-mails, card numbers (Luhn), phone numbers, order and
invoice numbers, street addresses, secrets (password/PIN ...), customer names from the company
records and names after "my name is", and replaces each with a realistic fake value of the same
shape. The fake is chosen by a keyed hash of the original (HMAC, the review server's secret), so
the same value always gets the same fake: a conversation's e-mail in the text and in a slot stay
equal after scrubbing, and nobody can go back from the fake without the key. Entity spans are moved
with the text, so `[BW-318904](order_id)` becomes `[BW-1xxxxx](order_id)`, still well formed.
"""
import csv
import hashlib
import hmac
import os
import re
import sqlite3
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Dict, Iterable, List, Optional, Sequence, Tuple

ROOT = Path(__file__).resolve().parents[1]

FAKE_FIRST = ["Alex", "Jordan", "Sam", "Robin", "Casey", "Morgan", "Taylor", "Jamie", "Riley",
              "Avery", "Quinn", "Rowan", "Emery", "Harper", "Logan", "Parker", "Reese", "Sage"]
FAKE_LAST = ["Rivera", "Novak", "Lindqvist", "Moreau", "Haddad", "Kowalski", "Ferreira", "Brandt",
             "Castillo", "Nakamura", "Osei", "Petrov", "Quigley", "Sorensen", "Varga", "Whitlock"]
FAKE_STREETS = ["Maple Avenue", "Cedar Lane", "Harbor Road", "Willow Street", "Orchard Drive",
                "Juniper Court", "Lakeview Boulevard", "Birch Way"]

EMAIL = re.compile(r"\b[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}\b")
CARD = re.compile(r"(?<![\w-])(?:\d[ -]?){12,18}\d(?![\w-])")
PHONE = re.compile(r"(?<![\w+-])(?:\+\d{1,3}[ .-]?)?(?:\(\d{2,4}\)[ .-]?)?\d{2,4}(?:[ .-]?\d{2,4}){1,4}(?![\w-])")
ORDER = re.compile(r"(?<![A-Za-z0-9-])([Bb][Ww])([- ]?)(\d{6})(?![A-Za-z0-9])")
INVOICE = re.compile(r"(?<![A-Za-z0-9])(INV)([-\s]?)(\d{4})([-\s]?)(\d{4,8})(?![A-Za-z0-9])", re.I)
SECRET = re.compile(r"\b(?:password|passcode|pin|one[- ]time code|otp|verification code|security code|cvv|cvc)"
                    r"(?:[ \t]+(?:is|was)[ \t]+|[ \t]*[:=][ \t]*)([^\s.,;!?]\S*)", re.I)
ADDRESS = re.compile(r"\b\d{1,5}\s+(?:[A-Z][a-z]+\s+){1,3}(?:Street|St|Avenue|Ave|Road|Rd|Lane|Ln|Drive|Dr|"
                     r"Boulevard|Blvd|Way|Court|Ct|Place|Pl|Terrace|Square)\b\.?")
NAME_INTRO = re.compile(r"\b(?:my name is|my name's|name is|call me|i am called|this is)\s+"
                        r"((?:[A-Z][a-z'-]+)(?:\s+[A-Z][a-z'-]+){0,2})", re.I)
NOT_NAMES = {"Brightwave", "Nova", "Aero", "Studio", "Pulse", "Echoes", "Guard", "Keytone", "Sonora",
             "The", "A", "An", "It", "Not", "Your", "My", "Here", "About", "Still", "Very", "Really"}
PII_ENTITIES = {"email", "order_id", "phone_last4", "invoice_number"}


def luhn_ok(digits: str) -> bool:
    total, double = 0, False
    for char in reversed(digits):
        number = int(char)
        if double:
            number = number * 2 - 9 if number > 4 else number * 2
        total += number
        double = not double
    return total % 10 == 0


@dataclass
class Span:
    start: int
    end: int
    replacement: str
    kind: str


class Scrubber:
    """Replaces personal data by consistent fakes; `names` are full names from the records."""

    def __init__(self, key: bytes, names: Iterable[str] = ()) -> None:
        self.key = key
        full = {" ".join(n.split()) for n in names if n and n.strip()}
        self.names = sorted(full, key=len, reverse=True)
        self.last_names = sorted({n.split()[-1] for n in full if len(n.split()) > 1
                                  and len(n.split()[-1]) > 2}, key=len, reverse=True)
        self.first_names = {n.split()[0] for n in full if len(n.split()) > 1}
        parts = [re.escape(n) for n in self.names] + [re.escape(n) for n in self.last_names]
        self.known = re.compile(r"\b(?:" + "|".join(parts) + r")\b", re.I) if parts else None

    # -------------------------------------------------------------- fakes

    def _number(self, kind: str, original: str, modulo: int) -> int:
        digest = hmac.new(self.key, f"{kind}:{original}".encode("utf-8"), hashlib.sha256).digest()
        return int.from_bytes(digest[:8], "big") % modulo

    def _digits(self, kind: str, original: str, count: int) -> str:
        return str(self._number(kind, original, 10 ** count)).zfill(count)

    def fake_name(self, original: str) -> str:
        key = " ".join(original.lower().split())
        words = original.split()
        first = FAKE_FIRST[self._number("first", key, len(FAKE_FIRST))]
        last = FAKE_LAST[self._number("last", key, len(FAKE_LAST))]
        if len(words) == 1:
            # a lone last name (known from the records) or a lone first name
            return last if original.lower() in {n.lower() for n in self.last_names} else first
        return f"{first} {last}"

    def fake_email(self, original: str) -> str:
        name = self.fake_name(original.lower().split("@")[0].replace(".", " ") + " x")
        first, last = name.lower().split()
        return f"{first}.{last}@example.com"

    def _same_shape(self, kind: str, original: str, key: str) -> str:
        digits = [c for c in original if c.isdigit()]
        fake = self._digits(kind, key, len(digits))
        it = iter(fake)
        return "".join(next(it) if c.isdigit() else c for c in original)

    def fake_phone(self, original: str) -> str:
        digits = "".join(c for c in original if c.isdigit())
        return self._same_shape("phone", original, digits)

    def fake_card(self, original: str) -> str:
        digits = "".join(c for c in original if c.isdigit())
        body = "4000" + self._digits("card", digits, len(digits) - 5)
        check = next(str(d) for d in range(10) if luhn_ok(body + str(d)))
        it = iter(body + check)
        return "".join(next(it) if c.isdigit() else c for c in original)

    def fake_order(self, original: str) -> str:
        match = ORDER.fullmatch(original.strip())
        digits = "".join(c for c in original if c.isdigit())[-6:]
        fake = "1" + self._digits("order", digits, 5)
        if not match:
            return f"BW-{fake}"
        return f"{match.group(1)}{match.group(2)}{fake}"

    def fake_invoice(self, original: str) -> str:
        digits = "".join(c for c in original if c.isdigit())
        return self._same_shape("invoice", original, digits)

    def fake_last4(self, original: str) -> str:
        return self._same_shape("last4", original, original)

    def fake_address(self, original: str) -> str:
        number = str(1 + self._number("house", original.lower(), 899))
        return f"{number} {FAKE_STREETS[self._number('street', original.lower(), len(FAKE_STREETS))]}"

    # ---------------------------------------------------------- detection

    def find(self, text: str) -> List[Span]:
        """Non-overlapping spans of personal data in `text`, in order."""
        found: List[Span] = []

        def add(start: int, end: int, replacement: str, kind: str) -> None:
            if start >= end or any(s.start < end and start < s.end for s in found):
                return
            found.append(Span(start, end, replacement, kind))

        for m in EMAIL.finditer(text):
            add(m.start(), m.end(), self.fake_email(m.group(0)), "email")
        for m in SECRET.finditer(text):
            add(m.start(1), m.end(1), "[secret]", "secret")
        for m in ORDER.finditer(text):
            add(m.start(), m.end(), self.fake_order(m.group(0)), "order_id")
        for m in INVOICE.finditer(text):
            add(m.start(), m.end(), self.fake_invoice(m.group(0)), "invoice_number")
        for m in CARD.finditer(text):
            digits = re.sub(r"\D", "", m.group(0))
            if 13 <= len(digits) <= 19 and luhn_ok(digits):
                add(m.start(), m.end(), self.fake_card(m.group(0)), "card")
        for m in ADDRESS.finditer(text):
            add(m.start(), m.end(), self.fake_address(m.group(0)), "address")
        for m in PHONE.finditer(text):
            digits = re.sub(r"\D", "", m.group(0))
            if 7 <= len(digits) <= 15 and not _looks_like_date_or_amount(text, m.start(), m.end()):
                add(m.start(), m.end(), self.fake_phone(m.group(0)), "phone")
        if self.known is not None:
            for m in self.known.finditer(text):
                add(m.start(), m.end(), self.fake_name(m.group(0)), "name")
        for m in NAME_INTRO.finditer(text):
            words = m.group(1).split()
            kept: List[str] = []
            for word in words:
                if not word[0].isupper() or word in NOT_NAMES:
                    break
                kept.append(word)
            if kept:
                start = m.start(1)
                end = start + len(" ".join(kept))
                if text[start:end] == " ".join(kept):
                    add(start, end, self.fake_name(" ".join(kept)), "name")
        found.sort(key=lambda s: s.start)
        return found

    # ------------------------------------------------------------ scrubbing

    def scrub(self, text: str, entities: Sequence[Dict[str, Any]] = ()) -> Tuple[str, List[Dict[str, Any]]]:
        """(text, entities) with personal data replaced; entities keep pointing at their words.

        `entities` are dicts with `entity`, `start`, `end` (offsets into `text`) and optional
        `value`; entities of personal kinds (e-mail, order id, phone digits, invoice) are always
        replaced, whatever the detectors say, so the annotation can never keep a real value.
        """
        spans = self.find(text)
        for entity in entities:
            start, end = int(entity["start"]), int(entity["end"])
            kind = entity.get("entity")
            if kind in PII_ENTITIES and not any(s.start <= start and end <= s.end for s in spans):
                spans = [s for s in spans if not (s.start < end and start < s.end)]
                spans.append(Span(start, end, self._entity_fake(kind, text[start:end]), kind))
        spans.sort(key=lambda s: s.start)
        pieces: List[str] = []
        shifts: List[Tuple[int, int, int, int]] = []
        cursor = 0
        for span in spans:
            pieces.append(text[cursor:span.start])
            new_start = sum(len(p) for p in pieces)
            pieces.append(span.replacement)
            shifts.append((span.start, span.end, new_start, new_start + len(span.replacement)))
            cursor = span.end
        pieces.append(text[cursor:])
        new_text = "".join(pieces)

        def moved(position: int, is_end: bool) -> int:
            delta = 0
            for old_start, old_end, new_start, new_end in shifts:
                if position < old_start or (is_end and position == old_start):
                    break
                if position == old_start:
                    return new_start
                if position < old_end:  # inside a replaced span: the entity covers all of it
                    return new_end if is_end else new_start
                delta = new_end - old_end
            return position + delta

        scrubbed = []
        for entity in entities:
            start = moved(int(entity["start"]), False)
            end = moved(int(entity["end"]), True)
            item = {"entity": entity["entity"], "start": start, "end": end, "value": new_text[start:end]}
            original_value = entity.get("value")
            if isinstance(original_value, str) and original_value != text[int(entity["start"]):int(entity["end"])]:
                item["value"] = self.scrub_value(original_value, entity["entity"])
            scrubbed.append(item)
        return new_text, scrubbed

    def _entity_fake(self, kind: str, raw: str) -> str:
        if kind == "email":
            return self.fake_email(raw)
        if kind == "order_id":
            return self.fake_order(raw)
        if kind == "invoice_number":
            return self.fake_invoice(raw)
        return self.fake_last4(raw)

    def scrub_value(self, value: Any, entity: Optional[str] = None) -> Any:
        """A slot or entity value: strings scrubbed (whole-value kinds replaced), containers walked."""
        if isinstance(value, str):
            if entity in PII_ENTITIES and value:
                return self._entity_fake(entity, value)
            return self.scrub(value)[0]
        if isinstance(value, list):
            return [self.scrub_value(v) for v in value]
        if isinstance(value, dict):
            return {k: self.scrub_value(v) for k, v in value.items()}
        return value


def _looks_like_date_or_amount(text: str, start: int, end: int) -> bool:
    raw = text[start:end]
    if re.fullmatch(r"\d{4}-\d{2}-\d{2}|\d{1,2}[./-]\d{1,2}[./-]\d{2,4}", raw):
        return True
    before = text[max(0, start - 1):start]
    return before in ("$", "€", "£")


def customer_names() -> List[str]:
    """Names from the company records: var/company.db (PARLEY_DB) and the pack's customers.csv."""
    names: List[str] = []
    db = Path(os.environ.get("PARLEY_DB") or ROOT / "var" / "company.db")
    if db.exists():
        try:
            with sqlite3.connect(f"file:{db}?mode=ro", uri=True) as connection:
                names += [row[0] for row in connection.execute("SELECT name FROM customers") if row[0]]
        except sqlite3.Error:
            pass
    pack = Path(os.environ.get("COMPANY_DIR") or ROOT / "packs" / "brightwave")
    try:
        with (pack / "customers.csv").open(encoding="utf-8") as handle:
            names += [row.get("name") or "" for row in csv.DictReader(handle)]
    except OSError:
        pass
    return [n for n in names if n.strip()]
