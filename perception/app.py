"""The perception service's HTTP API (FastAPI). Models load once, at start-up."""
import logging
from contextlib import asynccontextmanager
from typing import Any, Dict

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse

from perception.errors import APIError
from perception.registry import Registry
from perception.settings import load_config

log = logging.getLogger(__name__)


def error_response(status: int, code: str, message: str, headers: Dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse({"error": {"code": code, "message": message}}, status_code=status, headers=headers)


def create_app(config: Dict[str, Any] | None = None) -> FastAPI:
    config = config or load_config()
    registry = Registry(config)
    max_request_bytes = int(config["server"].get("max_request_bytes", 1 << 20))

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        registry.load_all()
        log.info("perception service ready: %s", ", ".join(registry.runners))
        yield

    app = FastAPI(title="Parley perception service", lifespan=lifespan)
    app.state.registry = registry

    @app.middleware("http")
    async def limit_body(request: Request, call_next):
        length = request.headers.get("content-length")
        if length is not None and (not length.isdigit() or int(length) > max_request_bytes):
            return error_response(413, "too_large", f"request bodies are limited to {max_request_bytes} bytes")
        return await call_next(request)

    @app.exception_handler(APIError)
    async def api_error(_: Request, error: APIError) -> JSONResponse:
        return error_response(error.status, error.code, error.message, error.headers)

    @app.exception_handler(RequestValidationError)
    async def invalid_request(_: Request, error: RequestValidationError) -> JSONResponse:
        return error_response(422, "invalid_request", "the request body is not valid JSON of the expected shape")

    @app.exception_handler(Exception)
    async def unexpected(_: Request, error: Exception) -> JSONResponse:
        log.exception("unexpected error: %s", type(error).__name__)
        return error_response(500, "internal", "the perception service failed on this request")

    @app.get("/health")
    async def health() -> Dict[str, Any]:
        engines = registry.health()
        ok = bool(engines) and all(e["loaded"] for e in engines.values())
        return {"status": "ok" if ok else "loading", "engines": engines}

    @app.post("/v1/embed")
    async def embed(request: Request) -> Dict[str, Any]:
        try:
            body = await request.json()
        except ValueError:
            raise APIError(400, "invalid_json", "the body must be JSON: {\"texts\": [\"...\"]}")
        if not isinstance(body, dict):
            raise APIError(422, "invalid_texts", "the body must be a JSON object with 'texts'")
        runner = registry.runner("embed")
        texts = runner.engine.validate(body.get("texts"))
        vectors = await runner.run(runner.engine.embed, texts)
        return {"model": runner.engine.info().get("model"), "dim": int(vectors.shape[1]),
                "embeddings": vectors.tolist()}

    return app
