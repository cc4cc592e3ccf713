"""An in-process Bot API: answers the bot like Telegram would and records what it sent.

Used by ``kursbot chat``, the tests and the benchmarks, so that all three drive the real
`Application` (handlers, database, scheduler) without a network. It is a PTB `BaseRequest`:
plug it in with ``ApplicationBuilder().request(api).get_updates_request(api)``.

It keeps the messages per chat, so edits and button presses work on what a user would see,
and it can be told that a chat blocked the bot (``blocked``), answering 403 as Telegram does.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from telegram import Update
from telegram.request import BaseRequest, RequestData

BOT_ID = 7_000_000_001
BOT_USERNAME = "kursbot_local_bot"


@dataclass
class Sent:
    """One message as the chat shows it: text or document, and its inline buttons."""

    chat_id: int
    message_id: int
    text: str | None = None
    buttons: list[list[dict[str, Any]]] = field(default_factory=list)
    document: tuple[str, bytes] | None = None  # (file name, content)
    edits: int = 0

    def button_texts(self) -> list[str]:
        """The labels of all buttons, row by row."""
        return [b["text"] for row in self.buttons for b in row]

    def button(self, label: str) -> dict[str, Any]:
        """The button whose label contains ``label``."""
        for row in self.buttons:
            for b in row:
                if label in b["text"]:
                    return b
        raise KeyError(f"no button {label!r} in {self.button_texts()}")


class LocalBotApi(BaseRequest):
    """A Bot API server in the same process (see module doc)."""

    def __init__(self, *, check_html: bool = True) -> None:
        # Refuse HTML Telegram would refuse (tests, `kursbot chat`); the benchmarks switch it
        # off, as Telegram parses on its servers, not in the bot's process.
        self.check_html = check_html
        self.calls: list[tuple[str, dict[str, Any]]] = []
        self.sent_at: dict[int, float] = {}  # chat id -> perf_counter of its first message
        # user id -> perf_counter of the first thing shown to them: a message, an edit, a file
        # or a button's answer with a text (what the benchmarks time)
        self.answered_at: dict[int, float] = {}
        self._pressed_by: dict[str, int] = {}  # callback query id -> user id
        self.chats: dict[int, list[Sent]] = {}
        self.blocked: set[int] = set()
        self.retry_after: dict[int, int] = {}  # chat id -> seconds, answered once as 429
        # chat id -> event: the next call into that chat waits until it is set (a slow send)
        self.hold: dict[int, asyncio.Event] = {}
        self.holding: set[int] = set()  # chats whose call is waiting on its `hold` now
        # True: every button press is too old to answer, as after the bot was down a while
        self.queries_expired = False
        self.callback_answers: list[dict[str, Any]] = []
        self.commands: dict[str, list[dict[str, Any]]] = {}
        # Told of each message as the bot sends it (False) or edits it (True), and of each
        # button answer: `kursbot chat` prints them as they happen, in every chat.
        self.on_message: Callable[[Sent, bool], None] | None = None
        self.on_answer: Callable[[dict[str, Any]], None] | None = None
        self.updates: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        self._message_ids = itertools.count(1)
        self._update_ids = itertools.count(1)

    # --- BaseRequest ---------------------------------------------------------------------
    @property
    def read_timeout(self) -> float | None:
        return 1.0

    async def initialize(self) -> None:
        """Nothing to open."""

    async def shutdown(self) -> None:
        """Nothing to close."""

    async def do_request(
        self,
        url: str,
        method: str,  # noqa: ARG002 - BaseRequest.do_request's keywords
        request_data: RequestData | None = None,
        read_timeout: Any = None,  # noqa: ARG002 - BaseRequest.do_request's keywords
        write_timeout: Any = None,  # noqa: ARG002 - BaseRequest.do_request's keywords
        connect_timeout: Any = None,  # noqa: ARG002 - BaseRequest.do_request's keywords
        pool_timeout: Any = None,  # noqa: ARG002 - BaseRequest.do_request's keywords
    ) -> tuple[int, bytes]:
        """Answers one Bot API call."""
        name = url.rsplit("/", 1)[-1]
        params = dict(request_data.parameters) if request_data else {}
        files = request_data.multipart_data if request_data else {}
        self.calls.append((name, params))
        raw_chat_id = params.get("chat_id")
        chat_id = int(raw_chat_id) if isinstance(raw_chat_id, int | str) else None
        if chat_id is not None and chat_id in self.hold:
            release = self.hold.pop(chat_id)
            self.holding.add(chat_id)
            await release.wait()
            self.holding.discard(chat_id)
        if chat_id is not None and chat_id in self.blocked:
            return self._error(403, "Forbidden: bot was blocked by the user")
        if chat_id is not None and chat_id in self.retry_after:
            seconds = self.retry_after.pop(chat_id)
            payload = {
                "ok": False,
                "error_code": 429,
                "parameters": {"retry_after": seconds},
                "description": f"Too Many Requests: retry after {seconds}",
            }
            return 429, json.dumps(payload).encode()
        problem = html_problem(params) if self.check_html else None
        if problem is not None:  # Telegram refuses what it cannot show
            return self._error(400, f"Bad Request: {problem}")
        handler = getattr(self, f"_api_{name}", None)
        if handler is None:
            return self._ok(True)
        result = handler(params, files)
        if isinstance(result, tuple):
            return result
        if name == "getUpdates":
            result = await result
        return self._ok(result)

    # --- what the bot calls ----------------------------------------------------------------
    def _api_getMe(self, _params: dict[str, Any], _files: Any) -> dict[str, Any]:
        return {
            "id": BOT_ID,
            "is_bot": True,
            "first_name": "Kursbot",
            "username": BOT_USERNAME,
            "can_join_groups": False,
            "can_read_all_group_messages": False,
            "supports_inline_queries": False,
        }

    async def _api_getUpdates(self, params: dict[str, Any], _files: Any) -> list[dict[str, Any]]:
        timeout = min(float(params.get("timeout", 0) or 0), 1.0)
        batch = []
        try:
            batch.append(await asyncio.wait_for(self.updates.get(), timeout or 0.01))
        except TimeoutError:
            return []
        while not self.updates.empty() and len(batch) < 100:
            batch.append(self.updates.get_nowait())
        return batch

    def _api_setMyCommands(self, params: dict[str, Any], _files: Any) -> bool:
        self.commands[str(params.get("language_code", ""))] = _json(params["commands"])
        return True

    def _api_answerCallbackQuery(self, params: dict[str, Any], _files: Any) -> Any:
        if len(str(params.get("text") or "")) > 200:
            return self._error(400, "Bad Request: MESSAGE_TOO_LONG")
        if self.queries_expired:
            return self._error(
                400,
                "Bad Request: query is too old and response timeout expired or query ID is "
                "invalid",
            )
        self.callback_answers.append(params)
        if self.on_answer is not None:
            self.on_answer(params)
        user_id = self._pressed_by.pop(str(params.get("callback_query_id")), None)
        if user_id is not None and params.get("text"):
            self.answered_at.setdefault(user_id, time.perf_counter())
        return True

    def _api_sendMessage(self, params: dict[str, Any], _files: Any) -> dict[str, Any]:
        sent = Sent(int(params["chat_id"]), next(self._message_ids), text=params["text"])
        self.sent_at.setdefault(sent.chat_id, time.perf_counter())
        self.answered_at.setdefault(sent.chat_id, time.perf_counter())
        sent.buttons = _buttons(params)
        self.chats.setdefault(sent.chat_id, []).append(sent)
        self._told(sent, edited=False)
        return self._message_json(sent)

    def _api_sendDocument(self, params: dict[str, Any], files: Any) -> dict[str, Any]:
        name, content = "document", b""
        for part in files.values():
            name, content = part[0], part[1] if isinstance(part[1], bytes) else part[1].read()
        sent = Sent(int(params["chat_id"]), next(self._message_ids), document=(name, content))
        self.answered_at.setdefault(sent.chat_id, time.perf_counter())
        sent.text = params.get("caption")
        sent.buttons = _buttons(params)
        self.chats.setdefault(sent.chat_id, []).append(sent)
        self._told(sent, edited=False)
        return self._message_json(sent)

    def _api_sendPhoto(self, params: dict[str, Any], files: Any) -> dict[str, Any]:
        """A picture (the check-in's QR code): kept like a document, as a file with a name."""
        return self._api_sendDocument(params, files)

    def _api_editMessageText(self, params: dict[str, Any], _files: Any) -> Any:
        sent = self._find(int(params["chat_id"]), int(params["message_id"]))
        if sent is None:
            return self._error(400, "Bad Request: message to edit not found")
        buttons = _buttons(params)
        if sent.text == params["text"] and sent.buttons == buttons:
            return self._error(
                400,
                "Bad Request: message is not modified: specified new message content and reply "
                "markup are exactly the same as a current content and reply markup of the message",
            )
        sent.text, sent.buttons, sent.edits = params["text"], buttons, sent.edits + 1
        self.answered_at.setdefault(sent.chat_id, time.perf_counter())
        self._told(sent, edited=True)
        return self._message_json(sent)

    def _api_editMessageMedia(self, params: dict[str, Any], files: Any) -> Any:
        """A new picture (and caption) in a message sent with one (the check-in code)."""
        sent = self._find(int(params["chat_id"]), int(params["message_id"]))
        if sent is None or sent.document is None:
            return self._error(400, "Bad Request: message to edit not found")
        media = params["media"]
        media = json.loads(media) if isinstance(media, str) else media
        for part in files.values():
            content = part[1] if isinstance(part[1], bytes) else part[1].read()
            sent.document = (part[0], content)
        sent.text, sent.buttons = media.get("caption"), _buttons(params)
        sent.edits += 1
        self._told(sent, edited=True)
        return self._message_json(sent)

    def _api_editMessageCaption(self, params: dict[str, Any], _files: Any) -> Any:
        sent = self._find(int(params["chat_id"]), int(params["message_id"]))
        if sent is None or sent.document is None:
            return self._error(400, "Bad Request: message to edit not found")
        buttons = _buttons(params)
        if sent.text == params.get("caption") and sent.buttons == buttons:
            return self._error(400, "Bad Request: message is not modified")
        sent.text, sent.buttons, sent.edits = params.get("caption"), buttons, sent.edits + 1
        self._told(sent, edited=True)
        return self._message_json(sent)

    def _api_editMessageReplyMarkup(self, params: dict[str, Any], _files: Any) -> Any:
        sent = self._find(int(params["chat_id"]), int(params["message_id"]))
        if sent is None:
            return self._error(400, "Bad Request: message to edit not found")
        sent.buttons, sent.edits = _buttons(params), sent.edits + 1
        self._told(sent, edited=True)
        return self._message_json(sent)

    def _api_deleteWebhook(self, _params: dict[str, Any], _files: Any) -> bool:
        return True

    # --- for tests and the terminal --------------------------------------------------------
    def messages(self, chat_id: int) -> list[Sent]:
        """Everything the bot has sent to ``chat_id``, oldest first."""
        return self.chats.get(chat_id, [])

    def show(self, chat_id: int, text: str, buttons: list[list[dict[str, Any]]]) -> Sent:
        """Puts a message into a chat as if the bot had sent it (for benchmarks)."""
        sent = Sent(chat_id, next(self._message_ids), text=text, buttons=buttons)
        self.chats.setdefault(chat_id, []).append(sent)
        return sent

    def last(self, chat_id: int) -> Sent:
        """The newest message in the chat."""
        return self.chats[chat_id][-1]

    def user_message(self, user: dict[str, Any], text: str) -> Update:
        """Builds the update for ``user`` typing ``text`` in the private chat with the bot."""
        update_id = next(self._update_ids)
        message: dict[str, Any] = {
            "message_id": 1_000_000 + update_id,
            "date": int(time.time()),
            "chat": {"id": user["id"], "type": "private", "first_name": user["first_name"]},
            "from": user,
            "text": text,
        }
        if text.startswith("/"):
            length = len(text.split()[0])
            message["entities"] = [{"type": "bot_command", "offset": 0, "length": length}]
        return self._update({"update_id": update_id, "message": message})

    def edited_message(self, user: dict[str, Any], text: str, message_id: int) -> Update:
        """Builds the update for ``user`` editing their message ``message_id`` to ``text``."""
        update_id = next(self._update_ids)
        message: dict[str, Any] = {
            "message_id": message_id,
            "date": int(time.time()) - 60,
            "edit_date": int(time.time()),
            "chat": {"id": user["id"], "type": "private", "first_name": user["first_name"]},
            "from": user,
            "text": text,
        }
        if text.startswith("/"):
            length = len(text.split()[0])
            message["entities"] = [{"type": "bot_command", "offset": 0, "length": length}]
        return self._update({"update_id": update_id, "edited_message": message})

    def button_press(self, user: dict[str, Any], sent: Sent, data: str) -> Update:
        """Builds the update for ``user`` pressing a button with ``data`` under ``sent``."""
        update_id = next(self._update_ids)
        query = {
            "id": str(update_id),
            "from": user,
            "chat_instance": str(user["id"]),
            "data": data,
            "message": self._message_json(sent),
        }
        self._pressed_by[str(update_id)] = user["id"]
        return self._update({"update_id": update_id, "callback_query": query})

    def bind(self, bot: Any) -> None:
        """Remembers the bot that builds `Update` objects from our JSON."""
        self._bot = bot

    def _update(self, payload: dict[str, Any]) -> Update:
        update = Update.de_json(payload, self._bot)
        assert update is not None
        return update

    # --- helpers ---------------------------------------------------------------------------
    def _told(self, sent: Sent, *, edited: bool) -> None:
        if self.on_message is not None:
            self.on_message(sent, edited)

    def _find(self, chat_id: int, message_id: int) -> Sent | None:
        return next((s for s in self.chats.get(chat_id, []) if s.message_id == message_id), None)

    def _message_json(self, sent: Sent) -> dict[str, Any]:
        message: dict[str, Any] = {
            "message_id": sent.message_id,
            "date": int(time.time()),
            "chat": {"id": sent.chat_id, "type": "private"},
            "from": self._api_getMe({}, None),
        }
        if sent.document is not None:
            message["document"] = {
                "file_id": f"doc{sent.message_id}",
                "file_unique_id": f"doc{sent.message_id}",
                "file_name": sent.document[0],
            }
            if sent.text:
                message["caption"] = sent.text
        else:
            message["text"] = sent.text or ""
        if sent.buttons:
            message["reply_markup"] = {"inline_keyboard": sent.buttons}
        return message

    @staticmethod
    def _ok(result: Any) -> tuple[int, bytes]:
        return 200, json.dumps({"ok": True, "result": result}).encode()

    @staticmethod
    def _error(code: int, description: str) -> tuple[int, bytes]:
        return code, json.dumps(
            {"ok": False, "error_code": code, "description": description}
        ).encode()


def _json(value: Any) -> Any:
    return json.loads(value) if isinstance(value, str) else value


def _buttons(params: dict[str, Any]) -> list[list[dict[str, Any]]]:
    markup = _json(params.get("reply_markup")) or {}
    return list(markup.get("inline_keyboard", []))


# What Telegram's HTML mode accepts (https://core.telegram.org/bots/api#html-style).
_ALLOWED_TAGS = frozenset(
    (
        *("b", "strong", "i", "em", "u", "ins", "s", "strike", "del", "span", "tg-spoiler"),
        *("a", "tg-emoji", "code", "pre", "blockquote"),
    )
)
_MARKUP = re.compile(r"<(/?)([a-zA-Z-]*)[^<>]*>|&(#\d+|#x[0-9a-fA-F]+|lt|gt|amp|quot);|([<>&])")
_LIMITS = {"text": 4096, "caption": 1024}


def html_problem(params: dict[str, Any]) -> str | None:
    """Why Telegram would refuse the text or caption of a call in HTML mode, or None:
    unknown or unbalanced tags, a bare ``<``, ``>`` or ``&``, or too long once parsed."""
    if params.get("parse_mode") != "HTML":
        return None
    for name, limit in _LIMITS.items():
        text = params.get(name)
        if not isinstance(text, str):
            continue
        open_tags: list[str] = []
        visible = len(_MARKUP.sub(lambda m: "x" if m.group(3) or m.group(4) else "", text))
        for match in _MARKUP.finditer(text):
            closing, tag, _entity, bare = match.groups()
            if bare:
                return f"can't parse entities: unexpected {bare!r} at {match.start()}"
            if tag is None:
                continue
            tag = tag.lower()
            if tag not in _ALLOWED_TAGS:
                return f"can't parse entities: unsupported tag {tag!r} at {match.start()}"
            if not closing:
                open_tags.append(tag)
            elif not open_tags or open_tags.pop() != tag:
                return f"can't parse entities: unmatched end tag {tag!r} at {match.start()}"
        if open_tags:
            return f"can't parse entities: unclosed tag {open_tags[-1]!r}"
        if visible > limit:
            return "message is too long" if name == "text" else "message caption is too long"
    return None
