"""scripts/train_progress.py without training: stage lines from Rasa's hook records, and only the
validator warnings that do not apply to this project are expected."""
import importlib.util
import io
import logging

from tests import services

SPEC = importlib.util.spec_from_file_location("train_progress", services.ROOT / "scripts" / "train_progress.py")
train_progress = importlib.util.module_from_spec(SPEC)
SPEC.loader.exec_module(train_progress)


def hook(message: str) -> logging.LogRecord:
    return logging.LogRecord("rasa.engine.training.hooks", logging.INFO, __file__, 1, message, None, None)


def test_one_line_per_stage_in_order():
    out = io.StringIO()
    progress = train_progress.Progress(out, {"MemoizationPolicy", "TEDPolicy"}, started=0.0)
    for message in ["Starting to train component 'RegexFeaturizer'.", "Finished training component 'RegexFeaturizer'.",
                    "Restored component 'CountVectorsFeaturizer' from cache.",
                    "Starting to train component 'DIETClassifier'.", "Finished training component 'DIETClassifier'.",
                    "Starting to train component 'MemoizationPolicy'.", "Finished training component 'MemoizationPolicy'.",
                    "Starting to train component 'TEDPolicy'.", "Finished training component 'TEDPolicy'.",
                    "Starting to train component 'SomethingElse'."]:  # after the policies: still the policies
        progress.emit(hook(message))
    progress.finish(progress.last_finished)
    lines = [line.split(" (")[0] for line in out.getvalue().splitlines()]
    assert lines == ["training 1/4: data and config checked", "training 2/4: NLU pipeline trained",
                     "training 3/4: dialogue policies trained"]


def test_duration_reads_like_a_person_would_say_it():
    assert train_progress.duration(0.44) == "0.4 s"
    assert train_progress.duration(192.4) == "3 min 12 s"


def test_only_responses_said_by_forms_or_actions_are_expected_unused(tmp_path):
    domain = tmp_path / "domain.yml"
    domain.write_text("forms:\n  pay_form:\n    required_slots: [email]\n"
                      "responses:\n  utter_ask_email: [{text: e-mail}]\n  utter_rephrase: [{text: again}]\n"
                      "  utter_never_said: [{text: nobody says this}]\n")
    said = train_progress.responses_said_outside_stories(domain, services.ROOT / "actions")
    assert said == {"utter_ask_email", "utter_rephrase"}  # utter_rephrase: actions/fallback.py


def test_only_words_told_apart_by_their_pictures_are_expected_under_several_intents(tmp_path):
    (tmp_path / "nlu.yml").write_text(
        'version: "3.1"\nnlu:\n'
        "- intent: payment_problem\n  examples:\n  - text: what is this?\n    metadata: {attachment: {text: declined}}\n"
        "  - text: help me\n"
        "- intent: product_info\n  examples:\n  - text: what is this?\n    metadata: {attachment: {labels: [tv]}}\n"
        "- intent: human_handoff\n  examples: |\n    - help me\n")
    assert train_progress.texts_told_apart_by_pictures(tmp_path) == {"what is this?"}
