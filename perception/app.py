"""The perception service's HTTP API (FastAPI). Models load once, at start-up.

Every route follows the same three steps: preprocess (read the upload within the limits, sniff
its format, decode it with caps), forward (the engine call, in a worker thread behind the
engine's bounded queue), postprocess (map to JSON). Errors are JSON: {"error": {code, message}}.

Pictures are decoded at most `limits.image.max_concurrent_decodes` at a time, each reduced at once
to `limits.image.work_pixels` (perception/decode_image.py), so ten pictures at the cap arriving
together cost a bounded amount of memory and time; their answers give boxes in the upload's pixels.
Text that cannot be encoded as UTF-8 (a lone surrogate such as "\ud800" in the JSON) is refused
with 400 invalid_text. Anything unexpected is a JSON 500 and one log line naming the exception's
type (never a traceback: it could hold the customer's words).
"""
import asyncio
import logging
import time
from contextlib import asynccontextmanager
from typing import Any, Dict, List

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from starlette.exceptions import HTTPException

from perception.decode_audio import decode_audio
from perception.decode_image import Picture, open_image
from perception.encode_audio import MEDIA_TYPES, encode_audio
from perception.errors import APIError
from perception.limits import BodyLimit, TrackedSend
from perception.metrics import Metrics
from perception.registry import Registry
from perception.settings import load_config
from perception.uploads import read_upload

log = logging.getLogger(__name__)

UPLOAD_ROUTES = {"/v1/transcribe": "audio", "/v1/vad": "audio", "/v1/ocr": "image", "/v1/image/analyze": "image"}
RAW_PCM_TYPES = ("audio/l16", "application/octet-stream")
KNOWN_PATHS = {"/health", "/metrics", "/v1/embed", "/v1/synthesize", *UPLOAD_ROUTES}


def error_response(status: int, code: str, message: str, headers: Dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse({"error": {"code": code, "message": message}}, status_code=status, headers=headers)


async def json_body(request: Request, example: str) -> Dict[str, Any]:
    try:
        body = await request.json()
    except ValueError:
        raise APIError(400, "invalid_json", f"the body must be JSON: {example}")
    if not isinstance(body, dict):
        raise APIError(422, "invalid_body", f"the body must be a JSON object: {example}")
    return body


def pcm16_body(content_type: str, body: bytes, max_seconds: float):
    """Raw PCM16LE mono at 16 kHz (Content-Type audio/L16;rate=16000 or application/octet-stream)
    as float32 samples; APIError when it is not that."""
    import numpy as np

    _, _, parameters = content_type.partition(";")
    params = dict(part.strip().lower().split("=", 1) for part in parameters.split(";") if "=" in part)
    if params.get("rate", "16000") != "16000" or params.get("channels", "1") != "1":
        raise APIError(422, "unsupported_sample_rate", "raw PCM must be 16 kHz mono (audio/L16;rate=16000)")
    if not body:
        raise APIError(400, "empty_file", "the audio is empty (0 bytes)")
    if len(body) % 2:
        raise APIError(422, "invalid_pcm", "raw PCM16 audio must hold an even number of bytes")
    if len(body) / 32000 > max_seconds:
        raise APIError(413, "audio_too_long", f"audio longer than the limit of {max_seconds:g} seconds")
    return np.frombuffer(body, dtype="<i2").astype(np.float32) / 32768.0


def check_text(text: str, what: str) -> str:
    """Preprocess: text that UTF-8 cannot hold (lone surrogates from JSON escapes) is refused."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        raise APIError(400, "invalid_text", f"{what} must be valid Unicode text (no lone surrogates such as \\ud800)")
    return text


class CatchAll:
    """ASGI middleware: an exception no handler took becomes a JSON 500 and one log line with the
    exception's type and the route (never a traceback, never the request's content); Starlette and
    uvicorn never see it, so they print no traceback either."""

    def __init__(self, app: Any, routes: Any) -> None:
        self.app = app
        self.routes = routes

    async def __call__(self, scope: Dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        tracked = TrackedSend(send)
        try:
            await self.app(scope, receive, tracked)
        except Exception as error:  # noqa: BLE001 - the one place that catches everything
            path = scope.get("path", "") if scope.get("path", "") in self.routes else "other"
            log.error("unexpected %s on %s", type(error).__name__, path)
            if not tracked.started:
                await error_response(500, "internal", "the perception service failed on this request")(
                    scope, receive, send)


def int_field(fields: Dict[str, str], name: str, default: int, low: int, high: int) -> int:
    raw = fields.get(name)
    if raw in (None, ""):
        return default
    try:
        value = int(raw)
    except ValueError:
        raise APIError(422, f"invalid_{name}", f"'{name}' must be a whole number")
    if not low <= value <= high:
        raise APIError(422, f"invalid_{name}", f"'{name}' must be between {low} and {high}")
    return value


def create_app(config: Dict[str, Any] | None = None) -> FastAPI:
    config = config or load_config()
    registry = Registry(config)
    limits = config.get("limits") or {}
    audio_limits = limits.get("audio") or {}
    image_limits = limits.get("image") or {}
    max_audio_seconds = float(audio_limits.get("max_seconds", 300))
    max_pixels = int(image_limits.get("max_pixels", 40_000_000))
    work_pixels = int(image_limits.get("work_pixels", 4_000_000))
    decodes = int(image_limits.get("max_concurrent_decodes", 2))
    decode_slots: List[asyncio.Semaphore] = []  # made on the serving event loop
    max_images = int(image_limits.get("max_in_flight", 16))
    images_in_flight = [0]
    max_synthesize_chars = int((limits.get("text") or {}).get("max_synthesize_chars", 2000))
    metrics = Metrics(lambda: registry.runners)

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        registry.load_all()
        log.info("perception service ready: %s", ", ".join(registry.runners))
        yield

    app = FastAPI(title="Parley perception service", lifespan=lifespan)
    app.state.registry = registry
    # multipart form parsing itself runs under these caps, before any file is buffered
    upload_bytes = {"audio": int(audio_limits.get("max_bytes", 25 << 20)),
                    "image": int(image_limits.get("max_bytes", 15 << 20))}
    app.add_middleware(BodyLimit, limits={path: upload_bytes[kind] for path, kind in UPLOAD_ROUTES.items()},
                       default=int(config["server"].get("max_request_bytes", 1 << 20)))
    app.add_middleware(CatchAll, routes=KNOWN_PATHS)  # outside BodyLimit, inside the metrics

    @app.middleware("http")
    async def count_requests(request: Request, call_next):
        started = time.perf_counter()
        response = await call_next(request)
        path = request.url.path if request.url.path in KNOWN_PATHS else "other"
        metrics.observe(path, response.status_code, started)
        return response

    @app.exception_handler(APIError)
    async def api_error(_: Request, error: APIError) -> JSONResponse:
        return error_response(error.status, error.code, error.message, error.headers)

    @app.exception_handler(HTTPException)
    async def http_error(_: Request, error: HTTPException) -> JSONResponse:
        code = {404: "not_found", 405: "method_not_allowed"}.get(error.status_code, "http_error")
        return error_response(error.status_code, code, str(error.detail))

    @app.exception_handler(RequestValidationError)
    async def invalid_request(_: Request, error: RequestValidationError) -> JSONResponse:
        return error_response(422, "invalid_request", "the request is not of the expected shape")

    @app.get("/health")
    async def health() -> Dict[str, Any]:
        engines = registry.health()
        ok = bool(engines) and all(e["loaded"] for e in engines.values())
        return {"status": "ok" if ok else "loading", "engines": engines}

    @app.get("/metrics")
    async def prometheus_metrics() -> Response:
        return Response(metrics.render(), media_type="text/plain; version=0.0.4; charset=utf-8")

    @app.post("/v1/embed")
    async def embed(request: Request) -> Dict[str, Any]:
        body = await json_body(request, '{"texts": ["..."]}')
        runner = registry.runner("embed")
        texts = [check_text(text, "'texts'") for text in runner.engine.validate(body.get("texts"))]
        vectors = await runner.run_batched(runner.engine.embed, texts)
        return {"model": runner.engine.info().get("model"), "dim": len(vectors[0]),
                "embeddings": [vector.tolist() for vector in vectors]}

    @app.post("/v1/transcribe")
    async def transcribe(request: Request) -> Dict[str, Any]:
        upload = await read_upload(request, "audio")
        language = (upload.fields.get("language") or "").strip().lower() or None
        if language is not None and not (2 <= len(language) <= 3 and language.isalpha()):
            raise APIError(422, "invalid_language", "'language' must be a code such as 'en'")
        runner = registry.runner("transcribe")

        def decode_and_transcribe() -> Dict[str, Any]:
            started = time.perf_counter()
            audio = decode_audio(upload.data, upload.format, max_audio_seconds)
            result = runner.engine.transcribe(audio, language)
            result["processing_s"] = round(time.perf_counter() - started, 3)
            return result

        result = await runner.run(decode_and_transcribe)
        return {**result, "format": upload.format, **runner.engine.describe()}

    @app.post("/v1/vad")
    async def vad(request: Request) -> Dict[str, Any]:
        """Speech probabilities per 32 ms window: raw PCM16 (low overhead, for streams) or a file."""
        content_type = request.headers.get("content-type", "").lower()
        runner = registry.runner("vad")
        if content_type.split(";")[0].strip() in RAW_PCM_TYPES:
            audio = pcm16_body(content_type, await request.body(), max_audio_seconds)
            return {**await runner.run(runner.engine.detect, audio), "format": "pcm16", **runner.engine.describe()}
        upload = await read_upload(request, "audio")

        def decode_and_detect() -> Dict[str, Any]:
            return runner.engine.detect(decode_audio(upload.data, upload.format, max_audio_seconds))

        return {**await runner.run(decode_and_detect), "format": upload.format, **runner.engine.describe()}

    @app.post("/v1/synthesize")
    async def synthesize(request: Request) -> Response:
        body = await json_body(request, '{"text": "...", "voice": null, "speed": 1.0, "format": "wav"}')
        text = body.get("text")
        if not isinstance(text, str) or not text.strip():
            raise APIError(422, "invalid_text", "'text' must be a non-empty string")
        check_text(text, "'text'")
        if len(text) > max_synthesize_chars:
            raise APIError(413, "text_too_long", f"at most {max_synthesize_chars} characters per request")
        audio_format = body.get("format", "wav")
        if audio_format not in MEDIA_TYPES:
            raise APIError(422, "invalid_format", f"'format' must be one of: {', '.join(MEDIA_TYPES)}")
        speed = body.get("speed", 1.0)
        if isinstance(speed, bool) or not isinstance(speed, (int, float)) or not 0.5 <= speed <= 2.0:
            raise APIError(422, "invalid_speed", "'speed' must be a number from 0.5 to 2.0")
        runner = registry.runner("synthesize")
        voice = body.get("voice")
        if voice is not None and voice not in runner.engine.voices():
            raise APIError(422, "unknown_voice", f"'voice' must be one of: {', '.join(runner.engine.voices())}")

        def synthesize_and_encode():
            samples, rate = runner.engine.synthesize(text.strip(), voice, float(speed))
            return encode_audio(samples, rate, audio_format), len(samples) / rate, rate

        data, duration, rate = await runner.run(synthesize_and_encode)
        return Response(data, media_type=MEDIA_TYPES[audio_format],
                        headers={"X-Audio-Duration": f"{duration:.3f}", "X-Sample-Rate": str(rate),
                                 "X-Engine": runner.engine.name})

    @asynccontextmanager
    async def admitted_image():
        """At most max_in_flight picture requests hold an upload and a work copy; more get 429."""
        if images_in_flight[0] >= max_images:
            raise APIError(429, "busy", "too many pictures at once; retry shortly", headers={"Retry-After": "1"})
        images_in_flight[0] += 1
        try:
            yield
        finally:
            images_in_flight[0] -= 1

    async def decode(upload) -> Picture:
        """The upload as a Picture of at most work_pixels, at most `decodes` at a time."""
        if not decode_slots:
            decode_slots.append(asyncio.Semaphore(decodes))
        async with decode_slots[0]:
            return await asyncio.to_thread(open_image, upload.data, upload.format, max_pixels, work_pixels)

    async def read_text(image) -> Dict[str, Any]:
        runner = registry.runner("ocr")
        return await runner.run(runner.engine.read, image)

    def in_upload_pixels(result: Dict[str, Any], picture: Picture) -> Dict[str, Any]:
        lines = [{**line, "box": picture.box_in_upload(line["box"])} for line in result.get("lines") or []]
        return {**result, "lines": lines}

    @app.post("/v1/ocr")
    async def ocr(request: Request) -> Dict[str, Any]:
        async with admitted_image():
            upload = await read_upload(request, "image")
            picture = await decode(upload)
            result = in_upload_pixels(await read_text(picture.image), picture)
        return {**result, "width": picture.width, "height": picture.height, "format": upload.format}

    @app.post("/v1/image/analyze")
    async def analyze_image(request: Request) -> Dict[str, Any]:
        from perception.image_kind import classify_kind

        runner = registry.runner("image")
        async with admitted_image():
            upload = await read_upload(request, "image")
            top_k = int_field(upload.fields, "top_k", int(runner.engine.options.get("top_k", 5)), 1, 10)
            picture = await decode(upload)
            image = picture.image
            [analysis] = await runner.run_batched(runner.engine.analyze_batch, [image])
            text = await read_text(image) if "ocr" in registry.runners else None
            kind = await asyncio.to_thread(classify_kind, image, text)  # boxes, sizes: the work image's
        if text is not None:
            text = in_upload_pixels(text, picture)
        embedding = analysis["embedding"]
        return {
            "labels": analysis["labels"][:top_k],
            "embedding": [float(x) for x in embedding],
            "dim": len(embedding),
            "kind": kind["kind"],
            "text_heavy": kind["kind"] != "photo",
            "signals": kind["signals"],
            "ocr": text if kind["kind"] != "photo" else None,
            "width": picture.width, "height": picture.height, "format": upload.format,
            "engine": runner.engine.name,
        }

    return app
