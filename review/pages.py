"""Server-rendered HTML of the review inbox (every value escaped; no inline script or style)."""
import json
from datetime import datetime, timezone
from html import escape
from typing import Any, Dict, List, Optional
from urllib.parse import quote, urlencode

from review.annotate import markup
from review.conversation import BotMessage, Conversation, UserTurn


def e(value: Any) -> str:
    return escape("" if value is None else str(value), quote=True)


def when(stamp: Optional[float]) -> str:
    if not isinstance(stamp, (int, float)):
        return ""
    return datetime.fromtimestamp(stamp, timezone.utc).strftime("%Y-%m-%d %H:%M UTC")


def conversation_url(sender_id: str) -> str:
    return "/conversation?" + urlencode({"id": sender_id})


def layout(title: str, body: str, user: Optional[str] = None, csrf: str = "") -> str:
    nav = ""
    if user:
        nav = (f'<nav><a href="/">Inbox</a> <a href="/queue">Review queue</a> <a href="/export">Export</a>'
               f'<form method="post" action="/logout" class="logout"><input type="hidden" name="csrf" '
               f'value="{e(csrf)}"><span>{e(user)}</span> <button type="submit">Log out</button></form></nav>')
    return (f'<!doctype html><html lang="en"><head><meta charset="utf-8"><title>{e(title)} · Parley review'
            f'</title><meta name="viewport" content="width=device-width, initial-scale=1">'
            f'<meta name="csrf-token" content="{e(csrf)}"><link rel="stylesheet" href="/static/review.css">'
            f'<script src="/static/review.js" defer></script></head><body>'
            f'<header class="top"><h1>Parley review</h1>{nav}</header><main>{body}</main></body></html>')


def login(error: str = "", next_path: str = "/") -> str:
    message = f'<p class="error" role="alert">{e(error)}</p>' if error else ""
    return layout("Log in", f"""<form method="post" action="/login" class="login">
<h2>Log in</h2>{message}
<input type="hidden" name="next" value="{e(next_path)}">
<label>User name <input name="username" autocomplete="username" required></label>
<label>Password <input name="password" type="password" autocomplete="current-password" required></label>
<button type="submit">Log in</button></form>""")


def message(title: str, text: str, user: str, csrf: str, back: str = "/") -> str:
    return layout(title, f'<h2>{e(title)}</h2><p class="error" role="alert">{e(text)}</p>'
                         f'<p><a href="{e(back)}">Back</a></p>', user, csrf)


# ------------------------------------------------------------------ inbox


def inbox(rows: List[Conversation], query: Dict[str, str], channels: List[str], threshold: float,
          reviewed: Dict[str, int], user: str, csrf: str, total: int, page: int = 1,
          matching: int = 0) -> str:
    def box(name: str, label: str) -> str:
        checked = " checked" if query.get(name) else ""
        return f'<label><input type="checkbox" name="{name}" value="1"{checked}> {label}</label>'

    options = "".join(f'<option value="{e(c)}"{" selected" if query.get("channel") == c else ""}>{e(c)}</option>'
                      for c in channels)
    form = f"""<form method="get" action="/" class="filters" aria-label="Filters">
{box("low", "Low confidence below")} <input name="threshold" type="number" step="0.05" min="0" max="1"
 value="{e(query.get("threshold") or threshold)}" aria-label="Confidence threshold">
{box("fallback", "Fallback")} {box("handoff", "Handoff")} {box("thumbs_down", "Thumbs down")}
{box("attachments", "Has attachments")} {box("voice", "Voice note")} {box("unreviewed", "Not reviewed")}
<label>Channel <select name="channel"><option value="">any</option>{options}</select></label>
<label>From <input type="date" name="since" value="{e(query.get("since"))}"></label>
<label>To <input type="date" name="until" value="{e(query.get("until"))}"></label>
<button type="submit">Filter</button> <a href="/">Clear</a></form>"""
    items = []
    for c in rows:
        badges = []
        if c.thumbs_down:
            badges.append('<span class="badge down">thumbs down</span>')
        if c.fallback:
            badges.append('<span class="badge fallback">fallback</span>')
        if c.handoff:
            badges.append('<span class="badge handoff">handoff</span>')
        if c.has_attachments:
            badges.append('<span class="badge attach">attachments</span>')
        if c.has_voice:
            badges.append('<span class="badge voice">voice</span>')
        low = c.lowest_confidence
        first = next((t.text for t in c.turns if t.text), "")
        done = reviewed.get(c.sender_id, 0)
        items.append(f"""<tr class="conversation" data-sender="{e(c.sender_id)}">
<td><a href="{e(conversation_url(c.sender_id))}">{e(first[:80] or "(no words)")}</a><br><small>{e(c.sender_id)}</small></td>
<td>{e(", ".join(c.channels))}</td><td>{len(c.turns)}</td>
<td>{"" if low is None else f"{low:.2f}"}</td><td>{" ".join(badges)}</td>
<td>{e(when(c.last))}</td><td>{done}/{len(c.turns)}</td></tr>""")
    table = ("<table class=\"inbox\"><thead><tr><th>Conversation</th><th>Channel</th><th>Turns</th>"
             "<th>Lowest confidence</th><th>Signals</th><th>Last message</th><th>Reviewed</th></tr></thead>"
             f"<tbody>{''.join(items)}</tbody></table>") if items else '<p class="empty">No conversation matches.</p>'
    pager = []
    if page > 1:
        pager.append(f'<a href="/?{e(urlencode({**query, "page": page - 1}))}">Previous</a>')
    if page * 50 < matching:
        pager.append(f'<a href="/?{e(urlencode({**query, "page": page + 1}))}">Next</a>')
    nav = f'<p class="pager">Page {page} {" ".join(pager)}</p>' if pager else ""
    return layout("Inbox", f"<h2>Conversations ({matching} of {total})</h2>{form}{table}{nav}", user, csrf)


# ------------------------------------------------------------ conversation


def _bot(message: BotMessage) -> str:
    thumb = ""
    if message.rating == "down":
        thumb = '<span class="rating down" title="thumbs down">👎 thumbs down</span>'
    elif message.rating == "up":
        thumb = '<span class="rating up" title="thumbs up">👍 thumbs up</span>'
    buttons = "".join(f'<span class="chip">{e(b.get("title"))}</span>' for b in message.buttons
                      if isinstance(b, dict))
    return f'<div class="bot" data-index="{message.index}"><p>{e(message.text)}</p>{buttons}{thumb}</div>'


def _attachment(item: Dict[str, Any], analysis: Optional[Dict[str, Any]], turn: UserTurn) -> str:
    url = f"/attachments/{quote(item['id'])}"
    if item.get("kind") == "audio":
        transcript = (turn.voice or {}).get("transcript") if (turn.voice or {}).get("attachment_id") in (
            None, item["id"]) else None
        return (f'<figure class="voice"><audio controls preload="metadata" src="{e(url)}"></audio>'
                f'<figcaption>Voice note · transcript: <q class="transcript">{e(transcript or turn.text)}</q>'
                f'</figcaption></figure>')
    summary = item.get("summary") or {}
    analysis = analysis or {}
    labels = summary.get("labels") or analysis.get("labels") or []
    label_text = ", ".join(f"{l.get('label')} {float(l.get('score') or 0):.2f}" for l in labels[:5]
                           if isinstance(l, dict))
    ocr = summary.get("text") or ((analysis.get("ocr") or {}).get("text") if isinstance(analysis.get("ocr"), dict) else "")
    kind = summary.get("image_kind") or analysis.get("kind") or "image"
    category = f" · category {e(summary.get('category'))}" if summary.get("category") else ""
    return (f'<figure class="picture"><a href="{e(url)}" target="_blank" rel="noopener">'
            f'<img class="thumb" src="{e(url)}/thumb" alt="picture sent by the customer"></a>'
            f'<figcaption><span class="kind">{e(kind)}</span>{category}<br><span class="labels">Labels: '
            f'{e(label_text or "none")}</span></figcaption>'
            f'<details open><summary>OCR text</summary><pre class="ocr">{e(ocr or "(no text read)")}</pre>'
            f'</details></figure>')


def _form(sender_id: str, turn: UserTurn, intents: List[str], entity_names: List[str], csrf: str,
          saved: Optional[Dict[str, Any]]) -> str:
    if not turn.annotatable:
        return '<p class="muted">A button click: nothing to annotate.</p>'
    chosen = saved["intent"] if saved else (turn.intent if turn.intent in intents else "")
    options = '<option value="">choose…</option>' + "".join(
        f'<option value="{e(i)}"{" selected" if i == chosen else ""}>{e(i)}</option>' for i in intents)
    entities = [{"entity": x["entity"], "start": x["start"], "end": x["end"],
                 "text": turn.text[x["start"]:x["end"]]} for x in turn.entities]
    entity_options = "".join(f'<option value="{e(n)}">{e(n)}</option>' for n in entity_names)
    transcript = ""
    if turn.voice is not None:
        transcript = (f'<label>Transcript <textarea name="text" rows="2" class="transcript-edit">'
                      f'{e(turn.text)}</textarea></label>')
    status = ""
    if saved:
        status = (f'<p class="saved status-{e(saved["status"])}">In the review queue ({e(saved["status"])}): '
                  f'<code>{e(markup(saved["text"], saved["entities"]))}</code> → <b>{e(saved["intent"])}</b></p>')
    return f"""{status}<form method="post" action="/annotate" class="annotate" aria-label="Annotate turn {turn.index + 1}">
<input type="hidden" name="csrf" value="{e(csrf)}"><input type="hidden" name="sender_id" value="{e(sender_id)}">
<input type="hidden" name="turn" value="{turn.index}">
<input type="hidden" name="entities" value="{e(json.dumps(entities))}">
<label>Intent <select name="intent" aria-label="Intent of turn {turn.index + 1}">{options}</select></label>
{transcript}
<div class="entity-editor"><ul class="entity-list"></ul>
<select class="entity-name" aria-label="Entity">{entity_options}</select>
<input class="entity-text" placeholder="words of the entity" aria-label="Entity words">
<button type="button" class="entity-add">Add entity</button></div>
<button type="submit" name="action" value="good">Good as is</button>
<button type="submit" name="action" value="save">Save correction</button></form>"""


def conversation(c: Conversation, analyses: Dict[str, Dict[str, Any]], intents: List[str],
                 entity_names: List[str], saved: Dict[int, Dict[str, Any]], user: str, csrf: str,
                 notice: str = "", threshold: float = 0.6) -> str:
    parts = [_bot(m) for m in c.opening]
    for turn in c.turns:
        files = "".join(_attachment(a, analyses.get(a["id"]), turn) for a in turn.attachments)
        words = "" if turn.voice is not None else f'<p class="text">{e(turn.text)}</p>'
        entities = " ".join(f'<span class="chip entity">{e(x["entity"])}: {e(turn.text[x["start"]:x["end"]])}</span>'
                            for x in turn.entities)
        seen = " ".join(f'<span class="chip entity picture">{e(x["entity"])}: {e(x["value"])} (picture)</span>'
                        for x in turn.picture_entities)
        ranking = ", ".join(f"{e(r.get('name'))} {float(r.get('confidence') or 0):.2f}" for r in turn.ranking[1:4])
        confidence = "" if turn.confidence is None else f"{turn.confidence:.2f}"
        low = " low" if turn.confidence is not None and turn.confidence < threshold else ""
        actions = " · ".join(e(a["action"]) for a in turn.after if "action" in a)
        parts.append(f"""<section class="turn" id="turn-{turn.index}" data-turn="{turn.index}">
<div class="user"><header>Customer · {e(turn.channel or "")} · {e(when(turn.timestamp))}</header>{words}{files}
<p class="nlu">Intent <b class="intent">{e(turn.intent)}</b> <span class="confidence{low}">{confidence}</span>
<small>{f"then {ranking}" if ranking else ""}</small></p><p>{entities} {seen}</p>
{_form(c.sender_id, turn, intents, entity_names, csrf, saved.get(turn.index))}</div>
{"".join(_bot(m) for m in turn.replies)}
{f'<p class="actions">{actions}</p>' if actions else ""}</section>""")
    note = f'<p class="notice" role="status">{e(notice)}</p>' if notice else ""
    return layout("Conversation", f'<h2>Conversation <small>{e(c.sender_id)}</small></h2>{note}'
                                  f'<div class="conversation-view">{"".join(parts)}</div>', user, csrf)


# ------------------------------------------------------------------ queue


def queue(items: List[Dict[str, Any]], status: str, user: str, csrf: str) -> str:
    tabs = " ".join(f'<a href="/queue?status={s}"{" class=current" if s == status else ""}>{s or "all"}</a>'
                    for s in ("pending", "approved", "rejected", ""))
    rows = []
    for item in items:
        buttons = "".join(
            f'<form method="post" action="/queue/{item["id"]}/{verb}"><input type="hidden" name="csrf" '
            f'value="{e(csrf)}"><button type="submit">{label}</button></form>'
            for verb, label in (("approve", "Approve"), ("reject", "Reject"), ("delete", "Delete")))
        picture = " 🖼" if item["attachment"] else ""
        changed = "" if item["predicted_intent"] == item["intent"] else f' <small>(was {e(item["predicted_intent"])})</small>'
        rows.append(f"""<tr class="item status-{e(item["status"])}" data-id="{item["id"]}">
<td><code>{e(markup(item["text"], item["entities"]))}</code>{picture}</td><td>{e(item["intent"])}{changed}</td>
<td>{e(item["kind"])}</td><td>{e(item["status"])}</td><td>{e(item["reviewer"])}</td>
<td><a href="{e(conversation_url(item["sender_id"]))}#turn-{item["turn"]}">turn {item["turn"] + 1}</a></td>
<td class="buttons">{buttons}</td></tr>""")
    table = ("<table class=\"queue\"><thead><tr><th>Example (scrubbed)</th><th>Intent</th><th>Kind</th>"
             "<th>Status</th><th>Reviewer</th><th>From</th><th></th></tr></thead>"
             f"<tbody>{''.join(rows)}</tbody></table>") if rows else '<p class="empty">Nothing here.</p>'
    bulk = ""
    if status == "pending" and items:
        bulk = (f'<form method="post" action="/queue/approve-pending"><input type="hidden" name="csrf" '
                f'value="{e(csrf)}"><button type="submit">Approve all {len(items)} pending</button></form>')
    return layout("Review queue", f'<h2>Review queue</h2><p class="tabs">{tabs}</p>{bulk}{table}', user, csrf)


def export(result: Any, user: str, csrf: str, approved: int) -> str:
    form = (f'<form method="post" action="/export"><input type="hidden" name="csrf" value="{e(csrf)}">'
            f'<button type="submit">Export {approved} approved example(s)</button></form>')
    done = ""
    if result is not None:
        errors = "".join(f"<li>{e(x)}</li>" for x in result.errors)
        done = (f'<div class="export-result" role="status"><p>Exported {result.examples} example(s) and '
                f'{result.stories} test story(ies); {result.already_in_data} already in data/.</p>'
                f'<p>Files: {"".join(f"<code>{e(f)}</code> " for f in result.files)}</p>'
                + (f'<p class="error">Not exported:</p><ul class="errors">{errors}</ul>' if errors else "")
                + "</div>")
    return layout("Export", "<h2>Export</h2><p>Approved examples become NLU training data in "
                            "<code>data/nlu/reviewed.yml</code>; fully reviewed conversations become test "
                            "stories in <code>tests/test_reviewed_stories.yml</code>.</p>" + form + done, user, csrf)
