"""Product questions by fuzzy name, with or without the product entity."""
from actions.products import ActionProductInfo
from tests.actions.conftest import make_tracker, run


def ask(domain, text, product=None):
    entities = [{"entity": "product", "value": product}] if product else []
    return run(ActionProductInfo(), make_tracker(text, "product_info", entities=entities), domain)[0]


def test_price_specs_and_warranty_from_the_entity(domain):
    [said] = ask(domain, "how much is the aero 14?", product="aero 14")
    assert "Brightwave Aero 14 Laptop costs $899.00" in said
    assert "16 GB RAM" in said and "24-month warranty" in said


def test_without_entity_the_text_is_used(domain):
    [said] = ask(domain, "tell me about the hush pro headphones")
    assert "Brightwave Hush Pro Headphones costs $249.00" in said


def test_ambiguous_name_asks_which(domain):
    [said] = ask(domain, "how much is the vista tv")
    assert said.startswith("Which one do you mean") and "Vista 55" in said and "Vista 65" in said


def test_unknown_product(domain):
    """A product we don't sell gets a plain no, never a product guessed from a similar name."""
    [said] = ask(domain, "do you sell toasters?")
    assert said.startswith("No, we don't sell") and "toasters" in said
    assert "$" not in said and "Brightwave" not in said
