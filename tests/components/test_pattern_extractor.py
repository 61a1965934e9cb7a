"""PatternEntityExtractor: one entity per place, the pattern's where it matches."""
from rasa.shared.nlu.training_data.message import Message

from components.pattern_extractor import PatternEntityExtractor, overlaps

ORDER = {"name": "order_id", "pattern": r"\b[Bb][Ww][- ]?\d{6}\b"}
CONFIG = {"case_sensitive": False, "use_lookup_tables": False, "use_regexes": True}


def diet(entity, start, end, value):
    return {"entity": entity, "start": start, "end": end, "value": value, "extractor": "DIETClassifier"}


def test_the_pattern_replaces_diets_entity_at_the_same_place_and_keeps_the_rest():
    picture = {"entity": "order_id", "value": "BW-111111", "extractor": "AttachmentAnalyzer", "source": "attachment"}
    message = Message(data={"text": "order BW-318904 for the Aero 14", "entities": [
        diet("error_code", 6, 15, "BW-318904"), diet("product", 24, 31, "Aero 14"), picture]})
    PatternEntityExtractor(CONFIG, None, None, patterns=[ORDER]).process([message])
    entities = message.get("entities")
    assert [(e["entity"], e["value"], e["extractor"]) for e in entities] == [
        ("product", "Aero 14", "DIETClassifier"), ("order_id", "BW-111111", "AttachmentAnalyzer"),
        ("order_id", "BW-318904", "PatternEntityExtractor")]


def test_no_match_leaves_diets_entities_alone():
    message = Message(data={"text": "my order is late", "entities": [diet("product", 0, 2, "my")]})
    PatternEntityExtractor(CONFIG, None, None, patterns=[ORDER]).process([message])
    assert message.get("entities") == [diet("product", 0, 2, "my")]


def test_overlap_needs_positions_and_a_shared_character():
    assert overlaps({"start": 0, "end": 5}, {"start": 4, "end": 9})
    assert not overlaps({"start": 0, "end": 5}, {"start": 5, "end": 9})
    assert not overlaps({"start": 0, "end": 5}, {"value": "x"})
