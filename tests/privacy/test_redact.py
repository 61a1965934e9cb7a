"""privacy/redact.py on log records: message and arguments, exceptions, stacks, customer names
read on first use (never at import), decimals kept, and every logger of the process covered."""
import io
import logging
import subprocess

from privacy.redact import Redactor, RedactingFilter, redact_record
from tests import services

NAMES = ["Ana Lopez", "Ben Okafor"]


def record(msg, *args, exc_info=None) -> logging.LogRecord:
    return logging.LogRecord("rasa.core.processor", logging.DEBUG, __file__, 1, msg, args, exc_info)


def test_message_arguments_exception_and_stack_are_redacted():
    redactor = Redactor(lambda: NAMES)
    try:
        raise ValueError("no customer ben.okafor@example.com")
    except ValueError as error:
        item = record("parse %s for %r", {"text": "card 4111 1111 1111 1111, phone +1 312 555 0111"}, "Ana Lopez",
                      exc_info=(type(error), error, error.__traceback__))
    item.stack_info = "Stack (most recent call last):\n  Okafor"
    redact_record(item, redactor)
    text = logging.Formatter().format(item)
    for value in ("ben.okafor", "4111", "312 555", "Ana Lopez", "Okafor"):
        assert value not in text
    assert "[email]" in text and "[card]" in text and "[phone]" in text and "[name]" in text
    assert "confidence 0.9685534834861755" == redactor.redact("confidence 0.9685534834861755")


def test_bad_format_arguments_do_not_break_logging():
    item = record("%d items for %s", "ana.lopez@example.com")
    redact_record(item, Redactor(lambda: []))
    assert "ana.lopez" not in item.getMessage()


def test_names_are_read_on_first_use_and_unreadable_records_still_redact_patterns():
    calls = []
    redactor = Redactor(lambda: calls.append(1) or NAMES)
    assert calls == []
    assert redactor.redact("Ana Lopez") == "[name]" and redactor.redact("Ben Okafor") == "[name]"
    assert calls == [1]

    def broken():
        raise OSError("no database")
    assert Redactor(broken).redact("mail ana.lopez@example.com") == "mail [email]"


def test_the_filter_redacts_on_a_handler():
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.addFilter(RedactingFilter())
    logger = logging.getLogger("privacy-test-filter")
    logger.addHandler(handler)
    logger.propagate = False
    logger.warning("mail %s", "ana.lopez@example.com")
    assert stream.getvalue() == "mail [email]\n"


def test_the_logging_config_covers_every_logger_even_handlers_added_later():
    """What Rasa does with --logging-config-file, then coloredlogs/uvicorn adding handlers."""
    script = (
        "import logging, logging.config, sys, yaml\n"
        "logging.config.dictConfig(yaml.safe_load(open('privacy/logging.yml')))\n"
        "logging.basicConfig(level=logging.DEBUG, stream=sys.stdout, format='%(message)s')\n"
        "logging.getLogger('sanic.root').debug('from %s', 'ana.lopez@example.com')\n"
        "try:\n    {}['Ben Okafor']\nexcept KeyError:\n    logging.getLogger('rasa').exception('failed')\n"
        "import privacy.redact\n"  # importing reads nothing: no records opened before the first line
    )
    result = subprocess.run([str(services.VENV_DIALOGUE / "bin" / "python"), "-c", script], cwd=services.ROOT,
                            env=services.base_env(COMPANY_DIR=str(services.ROOT / "packs" / "brightwave")),
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr[-2000:]
    assert "from [email]" in result.stdout and "KeyError: '[name]'" in result.stdout, result.stdout
    assert "ana.lopez" not in result.stdout and "Okafor" not in result.stdout


def test_status_size_and_duration_stay_real_phone_numbers_go():
    """An access line's status and size are int arguments: "200 1234" is not a phone number. The
    same digits as text (a customer's words, a path) are still redacted, even next to numbers."""
    redactor = Redactor(lambda: [])

    def logged(msg, *args) -> str:
        return redact_record(record(msg, *args), redactor).getMessage()

    access = "%s %s %d %d %.3fs client=%s"
    assert logged(access, "POST", "/login", 200, 1234, 0.004, "ip-3fa2b1c9d0e4") == \
        "POST /login 200 1234 0.004s client=ip-3fa2b1c9d0e4"
    assert logged(access, "GET", "/", 401, 15234, 1.25, "ip-0") == "GET / 401 15234 1.250s client=ip-0"
    assert logged("stored %s (%s, %d bytes)", "a1b2", "png", 2_457_600) == "stored a1b2 (png, 2457600 bytes)"
    assert logged("%d%% done", 50) == "50% done"
    # text is redacted as before, in the message, in string arguments and next to numbers
    assert logged("call %s", "555 1234") == "call [phone]"
    assert logged("%s %s %d %d", "GET", "/customer/2125550110", 200, 512) == "GET /customer/[phone] 200 512"
    assert logged("POST /login 200 1234 0.004s") == "POST /login [phone] 0.004s"  # pre-formatted: text
    assert logged("%d %s", 3, "my card number is 4111 1111 1111 1111") == "3 my card number is [card]"
    assert logged("%(who)s on %(phone)s", {"who": "x", "phone": "+1 312 555 0111"}) == "x on [phone]"
