"""`python -m review`: the review inbox on REVIEW_HOST:REVIEW_PORT (default 127.0.0.1:5006)."""
import logging

from aiohttp import web
from aiohttp.abc import AbstractAccessLogger

from privacy.redact import install
from review import settings
from review.app import ReviewApp


class AccessLog(AbstractAccessLogger):
    """Method, path, status, size, time and the client's tag (a keyed hash of its address, set by
    the app's middleware): no query string (conversation ids), no bodies. Status and size are
    int arguments, so the log redaction leaves them alone (privacy/redact.py)."""

    def log(self, request, response, time: float) -> None:
        client = request.get("client") or "ip-unknown"
        self.logger.info("%s %s %d %d %.3fs client=%s", request.method, request.path, response.status,
                         response.body_length, time, client)


def main() -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    install()  # no e-mails, phone or card numbers, customer names in any log line
    app = ReviewApp().build()
    print(f"review inbox: http://{settings.host()}:{settings.port()}/", flush=True)
    web.run_app(app, host=settings.host(), port=settings.port(), print=None, access_log_class=AccessLog)


if __name__ == "__main__":
    main()
