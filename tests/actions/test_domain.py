"""The domain, the rules and the action package agree with each other."""
from pathlib import Path

import yaml
from rasa_sdk.executor import ActionExecutor

ROOT = Path(__file__).resolve().parents[2]


def test_every_domain_action_is_served(domain):
    """The action server registers exactly the custom actions the domain lists."""
    executor = ActionExecutor()
    executor.register_package("actions")
    assert set(executor.actions) == set(domain["actions"])


def test_rules_and_stories_use_known_actions(domain):
    known = set(domain["actions"]) | set(domain["responses"]) | set(domain["forms"]) | {
        "action_deactivate_loop", "action_listen"}
    for name in ("rules.yml", "stories.yml"):
        data = yaml.safe_load((ROOT / "data" / name).read_text())
        for block in data.get("rules") or data.get("stories"):
            for step in block["steps"]:
                if "action" in step:
                    assert step["action"] in known, (name, step["action"])
                if "intent" in step:
                    assert step["intent"] in domain["intents"], (name, step["intent"])


def test_responses_hold_no_company_facts(domain):
    text = yaml.safe_dump(domain["responses"]).lower()
    for fact in ("brightwave", "8:00", "30 days", "15 days", "$", "1-800"):
        assert fact not in text


def test_every_form_interruption_has_a_rule(domain):
    """What the forms refuse to take as an answer is handled by a rule for each form."""
    from actions.identity import INTERRUPTIONS

    rules = yaml.safe_load((ROOT / "data" / "rules.yml").read_text())["rules"]
    for form in domain["forms"]:
        handled = {
            step["intent"] for rule in rules
            if {"active_loop": form} in (rule.get("condition") or [])
            for step in rule["steps"] if "intent" in step
        }
        assert INTERRUPTIONS <= handled, (form, INTERRUPTIONS - handled)
