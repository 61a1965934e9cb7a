"""The review inbox web app (aiohttp): pages behind a login, JSON twins under /api/."""
import asyncio
import io
import json
import logging
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Dict, Optional
from urllib.parse import urlencode, urlparse

from aiohttp import web

from attachments.store import AttachmentStore, is_valid_id
from perception.formats import MIME_TYPES
from review import pages, settings
from review.annotate import Domain, Refused, annotation
from review.auth import COOKIE, LIFETIME, LoginThrottle, Sessions, tag
from review.conversation import Conversation, Filters, select
from review.export import Exporter
from privacy.pii import Scrubber, customer_names
from review.queue import STATUSES, ReviewQueue
from review.tracker import TrackerReader
from review.users import UserStore

logger = logging.getLogger("review")
STATIC = Path(__file__).resolve().parent / "static"
PUBLIC = ("/login", "/static/")
CSP = ("default-src 'self'; img-src 'self'; media-src 'self'; script-src 'self'; style-src 'self'; "
       "object-src 'none'; frame-ancestors 'none'; form-action 'self'; base-uri 'none'")
NAMES_TTL = 300
PAGE_SIZE = 50


def error(status: int, code: str, message: str) -> web.Response:
    return web.json_response({"error": {"code": code, "message": message}}, status=status)


class ReviewApp:
    def __init__(self, tracker_url: Optional[str] = None, users: Optional[UserStore] = None,
                 queue: Optional[ReviewQueue] = None, store: Optional[AttachmentStore] = None,
                 project: Optional[Path] = None, secret: Optional[bytes] = None) -> None:
        key = secret or settings.secret()
        self.sessions = Sessions(settings.derived(key, "session"))
        self.log_key = settings.derived(key, "log")
        self.pii_key = settings.derived(key, "pii")
        self.users = users or UserStore()
        self.queue = queue or ReviewQueue()
        self.store = store or AttachmentStore()
        self.tracker = TrackerReader(tracker_url or settings.tracker_url())
        self.project = Path(project or settings.project_dir())
        self.threshold = settings.threshold()
        self.throttle = LoginThrottle()
        self._scrubber: Optional[Scrubber] = None
        self._scrubber_at = 0.0
        self.last_export = None

    # ------------------------------------------------------------ helpers

    def scrubber(self) -> Scrubber:
        if self._scrubber is None or time.time() - self._scrubber_at > NAMES_TTL:
            self._scrubber = Scrubber(self.pii_key, customer_names())
            self._scrubber_at = time.time()
        return self._scrubber

    def domain(self) -> Domain:
        return Domain.load(self.project / "domain.yml")

    def build(self) -> web.Application:
        app = web.Application(middlewares=[self.security], client_max_size=256 * 1024)
        app.add_routes([
            web.get("/login", self.login_page), web.post("/login", self.login),
            web.post("/logout", self.logout),
            web.get("/", self.inbox), web.get("/api/conversations", self.inbox_json),
            web.get("/conversation", self.conversation_page),
            web.get("/api/conversation", self.conversation_json),
            web.post("/annotate", self.annotate), web.post("/api/annotations", self.annotate_json),
            web.get("/queue", self.queue_page), web.get("/api/queue", self.queue_json),
            web.post(r"/queue/{id:\d+}/{verb:approve|reject|delete}", self.queue_change),
            web.post("/queue/approve-pending", self.approve_pending),
            web.get("/export", self.export_page), web.post("/export", self.export),
            web.get(r"/attachments/{id}", self.attachment),
            web.get(r"/attachments/{id}/thumb", self.thumbnail),
            web.get(r"/static/{name:[a-z]+\.(?:css|js)}", self.static),
        ])
        return app

    @web.middleware
    async def security(self, request: web.Request, handler) -> web.StreamResponse:
        path = request.path
        request["client"] = tag(self.log_key, "ip", request.remote)  # for the access log too
        if not (path == "/login" or path.startswith("/static/")):
            session = self._session(request)
            if session is None:
                if path.startswith("/api/") or request.method != "GET" or path.startswith("/attachments/"):
                    return error(401, "login_required", "log in first")
                raise web.HTTPSeeOther("/login?" + urlencode({"next": request.path_qs}))
            request["session"] = session
            if request.method == "POST":
                token = request.headers.get("X-CSRF-Token")
                if token is None and request.content_type in ("application/x-www-form-urlencoded",
                                                               "multipart/form-data"):
                    token = (await request.post()).get("csrf")
                if not self._same_origin(request) or not self.sessions.csrf_ok(session, token):
                    return error(403, "csrf", "the request did not come from the inbox's own page")
        elif request.method == "POST" and not self._same_origin(request):
            if path == "/login":
                logger.warning("login refused (cross-site) client=%s", request["client"])
            return error(403, "csrf", "the request did not come from the inbox's own page")
        response = await handler(request)
        response.headers.setdefault("Content-Security-Policy", CSP)
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("Referrer-Policy", "same-origin")
        response.headers.setdefault("Cache-Control", "no-store")
        return response

    def _session(self, request: web.Request) -> Optional[Dict[str, Any]]:
        session = self.sessions.read(request.cookies.get(COOKIE))
        if session is None or self.users.version(session.get("u", "")) != session.get("v"):
            return None
        return session

    @staticmethod
    def _same_origin(request: web.Request) -> bool:
        origin = request.headers.get("Origin") or request.headers.get("Referer")
        if not origin or origin == "null":
            return origin is None
        return origin == f"{request.scheme}://{request.host}" or \
            origin.startswith(f"{request.scheme}://{request.host}/")

    def _who(self, request: web.Request):
        session = request["session"]
        return session["u"], self.sessions.csrf(session)

    @staticmethod
    def html(body: str, status: int = 200) -> web.Response:
        return web.Response(text=body, content_type="text/html", status=status)

    # ------------------------------------------------------------- login

    async def login_page(self, request: web.Request) -> web.Response:
        return self.html(pages.login(next_path=_local(request.query.get("next"))))

    async def login(self, request: web.Request) -> web.Response:
        form = await request.post()
        name, password = str(form.get("username") or ""), str(form.get("password") or "")
        next_path = _local(str(form.get("next") or "/"))
        client = request["client"]
        if self.throttle.blocked(name):
            logger.warning("login locked account=%s client=%s", tag(self.log_key, "user", name), client)
            return self.html(pages.login("Too many wrong passwords: wait a minute.", next_path), 429)
        if not await asyncio.to_thread(self.users.check, name, password):
            self.throttle.failed(name)
            # never the typed name: it may be a password typed in the wrong field
            logger.warning("login refused account=%s client=%s", tag(self.log_key, "user", name), client)
            return self.html(pages.login("Wrong user name or password.", next_path), 401)
        self.throttle.succeeded(name)
        response = web.HTTPSeeOther(next_path)
        response.set_cookie(COOKIE, self.sessions.issue(name, self.users.version(name) or ""),
                            max_age=LIFETIME, httponly=True, samesite="Strict", path="/",
                            secure=settings.secure_cookie())
        logger.info("login ok user=%s client=%s", name, client)  # a staff account that exists
        return response

    async def logout(self, request: web.Request) -> web.Response:
        response = web.HTTPSeeOther("/login")
        response.del_cookie(COOKIE, path="/")
        return response

    # ------------------------------------------------------------- inbox

    async def _listed(self, request: web.Request):
        query = {k: v for k, v in request.query.items() if v}
        filters = Filters()
        try:
            threshold = float(query.get("threshold") or self.threshold)
            if not 0 <= threshold <= 1:
                raise ValueError
            if query.get("low"):
                filters.confidence_below = threshold
            for name in ("fallback", "handoff", "thumbs_down", "attachments", "voice"):
                setattr(filters, name, bool(query.get(name)))
            filters.channel = query.get("channel")
            if query.get("since"):
                filters.since = _day(query["since"])
            if query.get("until"):
                filters.until = _day(query["until"]) + 86400
        except ValueError:
            raise web.HTTPBadRequest(text=json.dumps({"error": {
                "code": "invalid_filter", "message": "threshold is 0-1, dates are YYYY-MM-DD"}}),
                content_type="application/json")
        conversations = await asyncio.to_thread(self.tracker.conversations)
        reviewed = await asyncio.to_thread(self.queue.reviewed_counts)
        rows = select(conversations, filters, threshold, reviewed)
        if query.get("unreviewed"):
            rows = [c for c in rows if reviewed.get(c.sender_id, 0) < len(c.turns)]
        channels = sorted({ch for c in conversations for ch in c.channels})
        return query, rows, channels, threshold, reviewed, len([c for c in conversations if c.turns])

    async def inbox(self, request: web.Request) -> web.Response:
        query, rows, channels, threshold, reviewed, total = await self._listed(request)
        user, csrf = self._who(request)
        page = _page(query.get("page"))
        shown = rows[(page - 1) * PAGE_SIZE:page * PAGE_SIZE]
        return self.html(pages.inbox(shown, query, channels, threshold, reviewed, user, csrf, total,
                                     page, len(rows)))

    async def inbox_json(self, request: web.Request) -> web.Response:
        query, rows, _, threshold, reviewed, total = await self._listed(request)
        page = _page(query.get("page"))
        rows = rows[(page - 1) * PAGE_SIZE:page * PAGE_SIZE]
        return web.json_response({"total": total, "page": page, "conversations": [
            {"sender_id": c.sender_id, "channels": c.channels, "turns": len(c.turns),
             "lowest_confidence": c.lowest_confidence, "fallback": c.fallback, "handoff": c.handoff,
             "thumbs_down": c.thumbs_down, "attachments": c.has_attachments, "voice": c.has_voice,
             "first": c.first, "last": c.last, "reviewed": reviewed.get(c.sender_id, 0),
             "usefulness": round(c.usefulness(threshold), 3)} for c in rows]})

    # ------------------------------------------------------- conversation

    async def _conversation(self, sender_id: Optional[str]) -> Conversation:
        if not sender_id:
            raise web.HTTPNotFound()
        conversation = await asyncio.to_thread(self.tracker.conversation, sender_id)
        if conversation is None or not conversation.turns:
            raise web.HTTPNotFound(text="no such conversation")
        return conversation

    async def conversation_page(self, request: web.Request, notice: str = "") -> web.Response:
        conversation = await self._conversation(request.query.get("id"))
        analyses = await asyncio.to_thread(self._analyses, conversation)
        saved = {i["turn"]: i for i in await asyncio.to_thread(self.queue.items, None, conversation.sender_id)}
        domain = await asyncio.to_thread(self.domain)
        user, csrf = self._who(request)
        notice = notice or {"good": "Saved as good: it waits for approval in the review queue.",
                            "save": "Correction saved: it waits for approval in the review queue."
                            }.get(request.query.get("saved", ""), "")
        return self.html(pages.conversation(conversation, analyses, domain.trainable, sorted(domain.entities),
                                            saved, user, csrf, notice, self.threshold))

    def _analyses(self, conversation: Conversation) -> Dict[str, Dict[str, Any]]:
        found = {}
        for turn in conversation.turns:
            for item in turn.attachments:
                if is_valid_id(item.get("id")) and item.get("kind") == "image":
                    found[item["id"]] = self.store.analysis(item["id"]) or {}
        return found

    async def conversation_json(self, request: web.Request) -> web.Response:
        conversation = await self._conversation(request.query.get("id"))
        return web.json_response({"sender_id": conversation.sender_id, "turns": [
            {"index": t.index, "text": t.text, "channel": t.channel, "intent": t.intent,
             "confidence": t.confidence, "entities": t.entities, "attachments": t.attachments,
             "voice": t.voice, "replies": [{"index": m.index, "text": m.text, "rating": m.rating}
                                          for m in t.replies]} for t in conversation.turns]})

    # ---------------------------------------------------------- annotate

    async def _annotate(self, request: web.Request, form: Dict[str, Any]):
        sender_id = form.get("sender_id")
        turn_number = form.get("turn")
        try:
            turn_number = int(turn_number)
        except (TypeError, ValueError):
            return Refused("invalid_turn", "turn must be a number")
        conversation = await asyncio.to_thread(self.tracker.conversation, str(sender_id or ""))
        if conversation is None or not 0 <= turn_number < len(conversation.turns):
            return Refused("unknown_turn", "no such conversation turn", 404)
        turn = conversation.turns[turn_number]
        domain = await asyncio.to_thread(self.domain)
        record = await asyncio.to_thread(annotation, turn, form, domain, self.scrubber())
        if isinstance(record, Refused):
            return record
        user, _ = self._who(request)
        annotation_id = await asyncio.to_thread(
            lambda: self.queue.save(sender_id=conversation.sender_id, turn=turn.index, session=turn.session,
                                    event_ts=turn.timestamp, predicted_intent=turn.intent, reviewer=user,
                                    **record))
        logger.info("annotation %s saved (%s)", annotation_id, record["kind"])
        return annotation_id, record, conversation.sender_id

    async def annotate(self, request: web.Request) -> web.Response:
        posted = await request.post()
        form: Dict[str, Any] = {k: posted.get(k) for k in ("sender_id", "turn", "intent", "text", "action")}
        try:
            form["entities"] = json.loads(str(posted.get("entities") or "[]"))
        except ValueError:
            form["entities"] = None
        result = await self._annotate(request, form)
        user, csrf = self._who(request)
        if isinstance(result, Refused):
            back = pages.conversation_url(str(form.get("sender_id") or ""))
            return self.html(pages.message("Not saved", result.message, user, csrf, back), result.status)
        _, record, sender_id = result
        raise web.HTTPSeeOther(pages.conversation_url(sender_id) + f"&saved={record['kind'] == 'good' and 'good' or 'save'}"
                               + f"#turn-{form['turn']}")

    async def annotate_json(self, request: web.Request) -> web.Response:
        try:
            form = await request.json()
        except ValueError:
            return error(400, "invalid_json", "the body is not JSON")
        if not isinstance(form, dict):
            return error(400, "invalid_json", "the body must be an object")
        result = await self._annotate(request, form)
        if isinstance(result, Refused):
            return error(result.status, result.code, result.message)
        annotation_id, record, _ = result
        return web.json_response({"id": annotation_id, "status": "pending", **record})

    # ------------------------------------------------------------- queue

    async def queue_page(self, request: web.Request) -> web.Response:
        status = request.query.get("status", "pending")
        status = status if status in STATUSES else ""
        items = await asyncio.to_thread(self.queue.items, status or None)
        user, csrf = self._who(request)
        return self.html(pages.queue(items, status, user, csrf))

    async def queue_json(self, request: web.Request) -> web.Response:
        status = request.query.get("status")
        if status and status not in STATUSES:
            return error(400, "invalid_status", f"status is one of {', '.join(STATUSES)}")
        return web.json_response({"items": await asyncio.to_thread(self.queue.items, status)})

    async def queue_change(self, request: web.Request) -> web.Response:
        number, verb = int(request.match_info["id"]), request.match_info["verb"]
        user, _ = self._who(request)
        if verb == "delete":
            done = await asyncio.to_thread(self.queue.delete, number)
        else:
            status = "approved" if verb == "approve" else "rejected"
            done = await asyncio.to_thread(self.queue.set_status, number, status, user)
        if not done:
            return error(404, "unknown_annotation", "no such annotation")
        if request.headers.get("X-CSRF-Token"):
            return web.json_response({"id": number, "done": verb})
        referer = urlparse(request.headers.get("Referer") or "")
        raise web.HTTPSeeOther(_local(referer.path + (f"?{referer.query}" if referer.query else ""))
                               if referer.path.startswith("/queue") else "/queue")

    async def approve_pending(self, request: web.Request) -> web.Response:
        """Every pending annotation approved at once (each was made by a reviewer)."""
        user, _ = self._who(request)
        count = await asyncio.to_thread(self.queue.approve_pending, user)
        logger.info("%d annotation(s) approved at once", count)
        if request.headers.get("X-CSRF-Token"):
            return web.json_response({"approved": count})
        raise web.HTTPSeeOther("/queue?status=approved")

    # ------------------------------------------------------------ export

    async def export_page(self, request: web.Request) -> web.Response:
        approved = len(await asyncio.to_thread(self.queue.items, "approved"))
        user, csrf = self._who(request)
        return self.html(pages.export(self.last_export, user, csrf, approved))

    async def export(self, request: web.Request) -> web.Response:
        exporter = Exporter(self.queue, self.scrubber(), self.tracker.conversation, self.project)
        result = await asyncio.to_thread(exporter.run)
        self.last_export = result
        logger.info("export of %d example(s), %d story(ies), %d refused", result.examples,
                    result.stories, len(result.errors))
        if request.headers.get("X-CSRF-Token"):
            return web.json_response(result.__dict__)
        return await self.export_page(request)

    # ------------------------------------------------------- attachments

    def _file(self, attachment_id: str):
        if not is_valid_id(attachment_id):
            return None
        ref = self.store.ref(attachment_id)
        if not ref or ref.get("mime") not in MIME_TYPES.values() or not self.store.exists(attachment_id):
            return None
        return ref

    async def attachment(self, request: web.Request) -> web.StreamResponse:
        ref = await asyncio.to_thread(self._file, request.match_info["id"])
        if ref is None:
            return error(404, "unknown_attachment", "no such attachment")
        return web.FileResponse(self.store.path(ref["id"]), headers={
            "Content-Type": ref["mime"], "Content-Disposition": "inline", "Cache-Control": "private, no-store"})

    async def thumbnail(self, request: web.Request) -> web.Response:
        ref = await asyncio.to_thread(self._file, request.match_info["id"])
        if ref is None or ref.get("kind") != "image":
            return error(404, "unknown_attachment", "no such picture")
        data = await asyncio.to_thread(_thumbnail, self.store.path(ref["id"]))
        if data is None:
            return error(422, "undecodable_image", "the picture cannot be shown")
        return web.Response(body=data, content_type="image/png", headers={"Cache-Control": "private, no-store"})

    async def static(self, request: web.Request) -> web.Response:
        path = STATIC / request.match_info["name"]
        if not path.is_file():
            raise web.HTTPNotFound()
        kind = "text/css" if path.suffix == ".css" else "text/javascript"
        return web.Response(body=path.read_bytes(), content_type=kind)


def _thumbnail(path: Path) -> Optional[bytes]:
    from PIL import Image

    try:
        with Image.open(path) as image:
            image.thumbnail((320, 320))
            out = io.BytesIO()
            image.convert("RGB").save(out, "PNG")
            return out.getvalue()
    except (OSError, ValueError, Image.DecompressionBombError):
        return None


def _local(path: Optional[str]) -> str:
    """Only a path on this server is a place to go after the login."""
    if not path or not path.startswith("/") or path.startswith("//") or "\\" in path:
        return "/"
    return path


def _page(text: Optional[str]) -> int:
    try:
        return max(1, min(int(text or 1), 100000))
    except ValueError:
        return 1


def _day(text: str) -> float:
    return datetime.strptime(text, "%Y-%m-%d").replace(tzinfo=timezone.utc).timestamp()
