"""A fake Slack Web API on loopback: real HTTP in Slack's shapes, for the real slack_sdk/Bolt clients.

Follows specs/slack.md §9: POST /{method} with a form, JSON or query body and a bot token; the
methods Handoff uses; files_upload_v2's three steps (files.getUploadURLExternal hands out an upload URL on
this fake, the bytes are POSTed there, files.completeUploadExternal shares them); a `response_url` endpoint; scripted failures (429 + Retry-After, 5xx, error
codes, a connection dropped after the message was stored); Block Kit limit checks (§5) answered
with `invalid_blocks`; and a record of any special mention that would ping a channel (§8).

Channels are modelled as Slack has them: an id (C…) and a name. chat.postMessage takes either and
answers with the id; conversations.history / replies and files.completeUploadExternal take only ids and
answer a name with `channel_not_found`; conversations.list pages through them with a cursor. A test adds
channels with add_channel(), or a post creates one: a post to a name makes that channel with a fresh id, a
post to an id takes the id as an existing channel (the fake does not know the workspace's channels).
`messages` is keyed by channel id.
"""
from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import itertools
import json
import re
import secrets
import socket
import threading
import time
from dataclasses import dataclass
from typing import Any, Callable
from urllib.parse import urlencode

from werkzeug.wrappers import Request, Response

from tests.fakes.loopback import LoopbackServer

TEAM_ID = "T0001"
BOT_ID = "B0HANDOFF"
BOT_USER_ID = "U0HANDOFF"
DEFAULT_SCOPES = ("chat:write", "im:write", "users:read", "users:read.email",
                  "channels:history", "groups:history", "im:history", "files:write", "channels:read", "groups:read")
# conversations.list: the scope each conversation type needs (docs: conversations.list, "Scopes").
LIST_SCOPES = {"public_channel": "channels:read", "private_channel": "groups:read", "mpim": "mpim:read",
               "im": "im:read"}
LIST_LIMIT = 1000                # conversations.list: "an integer no larger than 1000" (invalid_limit above)
UPLOAD = "upload"                # the name fail_next() and calls use for the POST of a file's bytes
MAX_UPLOAD_BYTES = 1024 * 1024 * 1024   # Slack's 1 GB per file (file_upload_size_restricted above it)
ALT_TEXT_LIMIT = 1000            # files.getUploadURLExternal's alt_txt (alt_txt_too_large above it)
TRIGGER_SECONDS = 3.0            # a trigger_id is valid 3 s, once (§2.5)
HOOK_USES = 5                    # a response_url: 5 uses within 30 minutes (§2.4)
HOOK_SECONDS = 30 * 60
MESSAGE_BLOCKS, VIEW_BLOCKS = 50, 100
TEXT_LIMIT = 40_000
JSON_PARAMS = ("blocks", "metadata", "view", "attachments", "files")
_SPECIAL_MENTION = re.compile(r"<!(?:channel|here|everyone)\b")
_RAW_MENTION = re.compile(r"(?<![\w<])@(?:channel|here|everyone)\b")
_USER_ID = re.compile(r"[UW][A-Z0-9]+")
_CHANNEL_ID = re.compile(r"[CDG][A-Z0-9]+")


@dataclass(frozen=True)
class Call:
    method: str
    params: dict
    headers: dict
    at: float


@dataclass
class _Failure:
    status: int
    error: str | None
    retry_after: str | None
    times: int


class SlackError(Exception):
    """A Web API method answered `{"ok": false, "error": code, **details}` (missing_scope adds needed/provided)."""

    def __init__(self, code: str, **details: str):
        super().__init__(code)
        self.code = code
        self.details = details


class FakeSlack(LoopbackServer):
    """Slack's Web API on 127.0.0.1 (port 0) in a daemon thread; see the module docstring."""

    def __init__(self, *, scopes: tuple[str, ...] = DEFAULT_SCOPES, clock: Callable[[], float] = time.monotonic):
        # base_url ends with "/" like slack_sdk's, so f"{base_url}{method}" is a method's URL.
        super().__init__(self._wsgi, base_path="/", thread_name="fake-slack")
        self.scopes = scopes
        self.clock = clock              # for trigger and response_url expiry; tests may replace it
        self.calls: list[Call] = []
        self.messages: dict[str, list[dict]] = {}   # channel id -> its messages, oldest first
        self.channels: dict[str, dict] = {}         # channel id -> the channel, as conversations.list shows it
        self.ephemerals: list[dict] = []
        self.hook_posts: list[dict] = []
        self.injections: list[str] = []
        self.home_views: dict[str, dict] = {}
        self.reactions: list[dict] = []
        self.files: list[dict] = []     # files shared by files.completeUploadExternal, with their bytes
        self.drop_connection_after_post = 0
        self.latency = 0.0
        self._users: dict[str, dict] = {}
        self._failures: dict[str, list[_Failure]] = {}
        self._triggers: dict[str, float] = {}
        self._used_triggers: set[str] = set()
        self._views: dict[str, dict] = {}
        self._hooks: dict[str, list[float]] = {}   # hook id -> [created_at, uses]
        self._opened: set[str] = set()
        self._uploads: dict[str, dict] = {}   # file id -> the upload files.getUploadURLExternal began
        self._seq = itertools.count(1)
        self._lock = threading.RLock()
        self._methods: dict[str, Callable[[dict], dict]] = {
            "auth.test": self._auth_test, "chat.postMessage": self._post_message,
            "chat.update": self._update_message, "chat.postEphemeral": self._post_ephemeral,
            "conversations.open": self._open_conversation, "conversations.history": self._history,
            "conversations.replies": self._replies, "users.lookupByEmail": self._lookup_by_email,
            "users.info": self._user_info, "views.open": self._open_view, "views.update": self._update_view,
            "views.publish": self._publish_view, "reactions.add": self._add_reaction,
            "files.getUploadURLExternal": self._get_upload_url, "files.completeUploadExternal": self._complete_upload,
            "conversations.list": self._list_conversations,
        }

    # --- scripting ---------------------------------------------------------------------------

    def add_user(self, user_id: str, email: str, name: str = "") -> None:
        """A workspace member that users.lookupByEmail and users.info can find."""
        shown = name or email.split("@")[0]
        profile = {"email": email, "real_name": shown, "display_name": shown}
        with self._lock:
            self._users[user_id] = {"id": user_id, "team_id": TEAM_ID, "name": shown, "real_name": shown,
                                    "deleted": False, "is_bot": False, "profile": profile}

    def add_channel(self, name: str, id: str | None = None, is_private: bool = False,
                    is_archived: bool = False) -> str:
        """A channel the app is a member of, named `name` ("leads" or "#leads"); returns its id."""
        name = name.removeprefix("#")
        with self._lock:
            if self._channel_named(name) is not None:
                raise ValueError(f"a channel is already named #{name}")   # Slack's names are unique
            channel_id = id or f"C{next(self._seq):08X}"
            if not _CHANNEL_ID.fullmatch(channel_id) or channel_id in self.channels:
                raise ValueError(f"not a new channel id: {channel_id!r}")
            self.channels[channel_id] = _channel_object(channel_id, name, is_private, is_archived,
                                                        int(time.time()))
        return channel_id

    def fail_next(self, method: str, *, status: int = 200, error: str | None = None,
                  retry_after: str | None = None, times: int = 1) -> None:
        """The next `times` calls of `method` fail: HTTP `status`, error code, optional Retry-After."""
        with self._lock:
            self._failures.setdefault(method, []).append(_Failure(status, error, retry_after, times))

    def count(self, method: str) -> int:
        """How many calls of `method` arrived (failed ones included)."""
        with self._lock:
            return sum(1 for call in self.calls if call.method == method)

    def response_url(self) -> str:
        """A fresh response_url on this fake, usable HOOK_USES times within HOOK_SECONDS."""
        hook_id = f"{next(self._seq):06d}"
        with self._lock:
            self._hooks[hook_id] = [self.clock(), 0]
        return f"{self.base_url}hooks/{hook_id}"

    def new_trigger_id(self) -> str:
        """A trigger_id as Slack puts in an interaction payload: valid TRIGGER_SECONDS, once."""
        trigger = f"{next(self._seq)}.{TEAM_ID}.{secrets.token_hex(8)}"
        with self._lock:
            self._triggers[trigger] = self.clock()
        return trigger

    # --- HTTP --------------------------------------------------------------------------------

    def _wsgi(self, environ: dict, start_response: Callable) -> Any:
        request = Request(environ)
        if self.latency:
            time.sleep(self.latency)
        path = request.path.strip("/")
        if path.startswith("hooks/"):
            response = self._hook(path[len("hooks/"):], request)
        elif path.startswith("upload/v1/"):
            response = self._upload(path[len("upload/v1/"):], request)
        else:
            response = self._web_api(path, request)
        return response(environ, start_response)

    def _web_api(self, method: str, request: Request) -> Response:
        params = _request_params(request)
        with self._lock:
            self.calls.append(Call(method, params, dict(request.headers), self.clock()))
            if not request.headers.get("Authorization", "").startswith("Bearer xoxb-"):
                return self._answer({"ok": False, "error": "invalid_auth"})
            failure = self._take_failure(method)
            if failure is not None:
                return self._failure_response(failure)
            body = self._run(method, params)
            if method == "chat.postMessage" and body.get("ok") and self.drop_connection_after_post > 0:
                self.drop_connection_after_post -= 1
                _reset_connection(request.environ)
        return self._answer(body)

    def _run(self, method: str, params: dict) -> dict:
        handler = self._methods.get(method)
        if handler is None:
            return {"ok": False, "error": "unknown_method"}
        try:
            return {"ok": True, **handler(params)}
        except SlackError as err:
            return {"ok": False, "error": err.code, **err.details}

    def _answer(self, body: dict, status: int = 200, headers: dict | None = None) -> Response:
        # Real Slack names the token's scopes on every Web API response; Bolt reads it after auth.test.
        all_headers = {"x-oauth-scopes": ",".join(self.scopes), **(headers or {})}
        return Response(json.dumps(body), status=status, headers=all_headers, mimetype="application/json")

    def _take_failure(self, method: str) -> _Failure | None:
        queue = self._failures.get(method)
        if not queue:
            return None
        failure = queue[0]
        failure.times -= 1
        if failure.times <= 0:
            queue.pop(0)
        return failure

    def _failure_response(self, failure: _Failure) -> Response:
        headers = {"Retry-After": failure.retry_after} if failure.retry_after is not None else {}
        if failure.error is None and failure.status >= 500:
            # Slack's edge answers outages with a non-JSON page; the client must cope with that too.
            return Response("upstream connect error", status=failure.status, headers=headers, mimetype="text/plain")
        default = "ratelimited" if failure.status == 429 else "fatal_error"
        return self._answer({"ok": False, "error": failure.error or default}, failure.status, headers)

    # --- checks shared by every message-carrying method ----------------------------------------

    def _check_message(self, params: dict, *, require_content: bool = True) -> None:
        text, blocks = params.get("text"), params.get("blocks")
        if require_content and not text and not blocks:
            raise SlackError("no_text")
        if isinstance(text, str) and len(text) > TEXT_LIMIT:
            raise SlackError("msg_too_long")
        if blocks is not None and block_kit_problems(blocks, max_blocks=MESSAGE_BLOCKS):
            raise SlackError("invalid_blocks")
        self._scan_mentions({"text": text, "blocks": blocks})

    def _scan_mentions(self, payload: Any) -> None:
        self.injections.extend(find_pings(payload))

    # --- Web API methods ---------------------------------------------------------------------

    def _auth_test(self, params: dict) -> dict:
        return {"url": "https://handoff-test.slack.com/", "team": "Handoff Test", "user": "handoff",
                "team_id": TEAM_ID, "user_id": BOT_USER_ID, "bot_id": BOT_ID}

    def _post_message(self, params: dict) -> dict:
        channel = self._posting_channel(_required(params, "channel", "channel_not_found"))
        self._check_message(params)
        message = {"type": "message", "ts": self._next_ts(), "text": params.get("text") or "",
                   "blocks": params.get("blocks"), "metadata": params.get("metadata"),
                   "thread_ts": params.get("thread_ts"), "bot_id": BOT_ID, "user": BOT_USER_ID}
        self.messages.setdefault(channel, []).append(message)
        return {"channel": channel, "ts": message["ts"], "message": _without_metadata(message)}

    def _update_message(self, params: dict) -> dict:
        channel = self._known_channel(_required(params, "channel", "channel_not_found"))
        message = self._find_message(channel, _required(params, "ts", "message_not_found"))
        self._check_message(params, require_content=False)
        for key in ("text", "blocks", "metadata"):
            if params.get(key) is not None:
                message[key] = params[key]
        return {"channel": channel, "ts": message["ts"], "text": message["text"], "message": _without_metadata(message)}

    def _post_ephemeral(self, params: dict) -> dict:
        channel = _required(params, "channel", "channel_not_found")
        user = _required(params, "user", "user_not_in_channel")
        self._check_message(params)
        ephemeral = {"channel": channel, "user": user, "text": params.get("text") or "",
                     "blocks": params.get("blocks"), "message_ts": self._next_ts()}
        self.ephemerals.append(ephemeral)
        return {"message_ts": ephemeral["message_ts"]}

    def _open_conversation(self, params: dict) -> dict:
        users = [u for u in str(_required(params, "users", "users_list_not_supplied")).split(",") if u]
        if not users or not all(_USER_ID.fullmatch(user) for user in users):
            raise SlackError("user_not_found")
        channel_id = ("D" + users[0][1:]) if len(users) == 1 else "G" + "".join(u[1:] for u in sorted(users))
        already = channel_id in self._opened
        self._opened.add(channel_id)
        return {"channel": {"id": channel_id}, **({"no_op": True, "already_open": True} if already else {})}

    def _history(self, params: dict) -> dict:
        channel = _channel_id_only(params.get("channel"))
        top_level = [m for m in self.messages.get(channel, []) if m["thread_ts"] in (None, m["ts"])]
        newest_first = list(reversed(top_level))
        return self._page(newest_first, params)

    def _replies(self, params: dict) -> dict:
        channel = _channel_id_only(params.get("channel"))
        parent = self._find_message(channel, _required(params, "ts", "thread_not_found"), "thread_not_found")
        thread = [parent] + [m for m in self.messages[channel] if m["thread_ts"] == parent["ts"] and m is not parent]
        return self._page(thread, params)

    def _page(self, messages: list[dict], params: dict) -> dict:
        limit = _int(params.get("limit"), 100)
        keep_metadata = _flag(params.get("include_all_metadata"))
        shown = [dict(m) if keep_metadata else _without_metadata(m) for m in messages[:limit]]
        return {"messages": shown, "has_more": len(messages) > limit}

    def _list_conversations(self, params: dict) -> dict:
        """The channels of the asked types, a page at a time: response_metadata.next_cursor is "" on the last."""
        types = self._listable_types(str(params.get("types") or "public_channel"))
        limit = _list_limit(params.get("limit"))
        listed = [c for c in self._conversations() if _conversation_type(c) in types
                  and not (_flag(params.get("exclude_archived")) and c["is_archived"])]
        start = _cursor_position(params.get("cursor"), listed)
        page = listed[start:start + limit]
        rest = listed[start + limit:]
        return {"channels": [dict(c) for c in page],
                "response_metadata": {"next_cursor": _cursor_for(rest[0]) if rest else ""}}

    def _listable_types(self, types: str) -> set[str]:
        asked = {kind.strip() for kind in types.split(",") if kind.strip()}
        if not asked or not asked <= set(LIST_SCOPES):
            raise SlackError("invalid_types")
        needed = sorted({LIST_SCOPES[kind] for kind in asked} - set(self.scopes))
        if needed:
            raise SlackError("missing_scope", needed=",".join(needed), provided=",".join(self.scopes))
        return asked

    def _conversations(self) -> list[dict]:
        """Channels, then the DMs conversations.open began (shown as Slack shows an im)."""
        dms = [{"id": dm, "is_im": True, "is_archived": False, "user": "U" + dm[1:], "created": 0}
               for dm in sorted(self._opened) if dm.startswith("D")]
        return list(self.channels.values()) + dms

    def _lookup_by_email(self, params: dict) -> dict:
        email = str(params.get("email") or "").lower()
        for user in self._users.values():
            if user["profile"]["email"].lower() == email:
                return {"user": user}
        raise SlackError("users_not_found")     # plural here, singular in users.info (§4.2)

    def _user_info(self, params: dict) -> dict:
        user = self._users.get(str(params.get("user") or ""))
        if user is None:
            raise SlackError("user_not_found")
        return {"user": user}

    def _open_view(self, params: dict) -> dict:
        self._use_trigger(str(params.get("trigger_id") or ""))
        return {"view": self._store_view(params.get("view"), view_id=None)}

    def _use_trigger(self, trigger: str) -> None:
        issued = self._triggers.get(trigger)
        if issued is None:
            raise SlackError("invalid_trigger_id")
        if trigger in self._used_triggers:
            raise SlackError("exchanged_trigger_id")
        if self.clock() - issued > TRIGGER_SECONDS:
            raise SlackError("expired_trigger_id")
        self._used_triggers.add(trigger)

    def _update_view(self, params: dict) -> dict:
        view_id = params.get("view_id") or self._view_id_for(params.get("external_id"))
        current = self._views.get(str(view_id))
        if current is None:
            raise SlackError("not_found")
        _check_hash(params, current)
        return {"view": self._store_view(params.get("view"), view_id=current["id"])}

    def _publish_view(self, params: dict) -> dict:
        user_id = _required(params, "user_id", "user_not_found")
        view = params.get("view")
        if not isinstance(view, dict) or view.get("type") != "home":
            raise SlackError("invalid_arguments")
        if user_id in self.home_views:
            _check_hash(params, self.home_views[user_id])
        stored = self._store_view(view, view_id=self.home_views.get(user_id, {}).get("id"))
        self.home_views[user_id] = stored
        return {"view": stored}

    def _store_view(self, view: Any, *, view_id: str | None) -> dict:
        if not isinstance(view, dict):
            raise SlackError("invalid_arguments")
        if block_kit_problems(view.get("blocks") or [], max_blocks=VIEW_BLOCKS):
            raise SlackError("invalid_blocks")
        self._scan_mentions(view)
        seq = next(self._seq)
        view_hash = f"{seq}.{hashlib.sha1(str(seq).encode()).hexdigest()[:8]}"
        stored = {**view, "id": view_id or f"V{seq:08d}", "hash": view_hash, "team_id": TEAM_ID}
        self._views[stored["id"]] = stored
        return stored

    def _view_id_for(self, external_id: Any) -> str | None:
        matches = (v["id"] for v in self._views.values() if external_id and v.get("external_id") == external_id)
        return next(matches, None)

    def _add_reaction(self, params: dict) -> dict:
        channel = _required(params, "channel", "channel_not_found")
        message = self._find_message(channel, _required(params, "timestamp", "message_not_found"))
        reaction = {"channel": channel, "ts": message["ts"], "name": _required(params, "name", "invalid_name")}
        if reaction in self.reactions:
            raise SlackError("already_reacted")
        self.reactions.append(reaction)
        return {}

    def _get_upload_url(self, params: dict) -> dict:
        filename = _required(params, "filename", "invalid_arguments")
        length = str(params.get("length") or "")
        if not length.isdigit() or int(length) < 1:
            raise SlackError("missing_argument")        # Slack: "typically only occurs when length is 0"
        length = int(length)
        if len(str(params.get("alt_txt") or "")) > ALT_TEXT_LIMIT:
            raise SlackError("alt_txt_too_large")
        if length > MAX_UPLOAD_BYTES:
            raise SlackError("file_upload_size_restricted")
        file_id = f"F{next(self._seq):08d}"
        self._uploads[file_id] = {"id": file_id, "name": filename, "length": length,
                                  "alt_txt": params.get("alt_txt"), "content": None}
        # Real Slack answers a files.slack.com URL; ours points back at this fake, on loopback.
        return {"upload_url": f"{self.base_url}upload/v1/{file_id}", "file_id": file_id}

    def _complete_upload(self, params: dict) -> dict:
        listed = params.get("files")
        if not isinstance(listed, list) or not listed or not all(isinstance(f, dict) and f.get("id") for f in listed):
            raise SlackError("invalid_arguments")
        uploads = [self._uploads.get(str(f["id"])) for f in listed]
        if any(upload is None or upload["content"] is None for upload in uploads):
            raise SlackError("file_not_found")     # never began, or its bytes never arrived
        targets, thread_ts = _upload_targets(params), params.get("thread_ts") or None
        shared = [self._share(upload, str(f.get("title") or upload["name"]), targets, thread_ts)
                  for f, upload in zip(listed, uploads)]
        for channel in targets:
            self._post_file_message(channel, shared, thread_ts, params.get("initial_comment"))
        return {"files": [{"id": f["id"], "title": f["title"]} for f in shared]}

    def _share(self, upload: dict, title: str, targets: list[str], thread_ts: str | None) -> dict:
        del self._uploads[upload["id"]]           # an upload completes once
        shared = {**upload, "title": title, "channel": targets[0] if targets else None, "channels": targets,
                  "thread_ts": thread_ts}
        self.files.append(shared)
        return shared

    def _post_file_message(self, channel: str, shared: list[dict], thread_ts: str | None, comment: Any) -> None:
        """Sharing files in a channel posts a message carrying them, as Slack shows it in history."""
        message = {"type": "message", "ts": self._next_ts(), "text": str(comment or ""), "upload": True,
                   "files": [{"id": f["id"], "name": f["name"], "title": f["title"], "mimetype": "image/png"}
                             for f in shared],
                   "thread_ts": thread_ts, "metadata": None, "bot_id": BOT_ID, "user": BOT_USER_ID}
        self.messages.setdefault(channel, []).append(message)

    # --- the upload URL ------------------------------------------------------------------------

    def _upload(self, file_id: str, request: Request) -> Response:
        """The bytes of a file, POSTed raw (or multipart) to the URL files.getUploadURLExternal gave; no token."""
        data = request.get_data(cache=True)
        with self._lock:
            self.calls.append(Call(UPLOAD, {"file_id": file_id, "bytes": len(data)}, dict(request.headers),
                                   self.clock()))
            failure = self._take_failure(UPLOAD)
            if failure is not None:
                return Response("upload failed", status=failure.status if failure.status >= 400 else 500,
                                mimetype="text/plain")
            upload = self._uploads.get(file_id)
            if upload is None or upload["content"] is not None:
                return Response("no such upload", status=404, mimetype="text/plain")
            upload["content"] = data
        return Response(f"OK - {len(data)}", mimetype="text/plain")

    # --- response_url ------------------------------------------------------------------------

    def _hook(self, hook_id: str, request: Request) -> Response:
        body = request.get_json(silent=True, force=True)
        with self._lock:
            params = body if isinstance(body, dict) else {}
            self.calls.append(Call("hooks", params, dict(request.headers), self.clock()))
            problem = self._hook_problem(hook_id, body)
            if problem:
                return Response(problem, status=404 if problem != "invalid_blocks" else 400, mimetype="text/plain")
            self._hooks[hook_id][1] += 1
            self._scan_mentions(body)
            self.hook_posts.append({"hook_id": hook_id, **body})
        return Response("ok", mimetype="text/plain")

    def _hook_problem(self, hook_id: str, body: Any) -> str | None:
        # Slack documents the 5-uses / 30-minutes rule but not the refusal; these bodies are ours.
        hook = self._hooks.get(hook_id)
        if hook is None:
            return "no_such_hook"
        if hook[1] >= HOOK_USES:
            return "used_url"
        if self.clock() - hook[0] > HOOK_SECONDS:
            return "expired_url"
        if not isinstance(body, dict):
            return "invalid_payload"
        blocks = body.get("blocks")
        return "invalid_blocks" if blocks is not None and block_kit_problems(blocks) else None

    # --- small helpers -----------------------------------------------------------------------

    def _posting_channel(self, channel: str) -> str:
        """chat.postMessage's channel, a name or an id, as the id of a channel the post can go to."""
        if _CHANNEL_ID.fullmatch(channel):
            if channel[0] != "D" and channel not in self.channels:
                self.channels[channel] = _channel_object(channel, channel.lower(), False, False, int(time.time()))
            found = self.channels.get(channel)
        elif _USER_ID.fullmatch(channel):
            return channel                        # a user id: Slack posts in the app's DM with them
        else:
            found = self._channel_named(channel.removeprefix("#"))
            if found is None:
                found = self.channels[self.add_channel(channel)]
        if found is not None and found["is_archived"]:
            raise SlackError("is_archived")
        return channel if found is None else found["id"]

    def _known_channel(self, channel: str) -> str:
        """A channel given by id, or by the name of a channel that exists."""
        if _CHANNEL_ID.fullmatch(channel) or _USER_ID.fullmatch(channel):
            return channel
        found = self._channel_named(channel.removeprefix("#"))
        if found is None:
            raise SlackError("channel_not_found")
        return found["id"]

    def _channel_named(self, name: str) -> dict | None:
        return next((c for c in self.channels.values() if c["name"] == name), None)

    def _next_ts(self) -> str:
        return f"{int(time.time())}.{next(self._seq):06d}"

    def _find_message(self, channel: str, ts: str, error: str = "message_not_found") -> dict:
        for message in self.messages.get(channel, []):
            if message["ts"] == ts:
                return message
        raise SlackError(error)


# --- request parsing ---------------------------------------------------------------------------

def _request_params(request: Request) -> dict:
    """Query string, then a JSON or form body; JSON-valued form fields (blocks, view…) decoded."""
    params: dict = dict(request.args)
    if request.mimetype == "application/json":
        body = request.get_json(silent=True)
        params.update(body if isinstance(body, dict) else {})
    else:
        params.update(request.form.to_dict())
    for key in JSON_PARAMS:
        if isinstance(params.get(key), str):
            params[key] = _json_or_raw(params[key])
    return params


def _json_or_raw(text: str) -> Any:
    try:
        return json.loads(text)
    except ValueError:
        return text


def _required(params: dict, key: str, error: str) -> str:
    value = params.get(key)
    if value in (None, ""):
        raise SlackError(error)
    return str(value)


def _flag(value: Any) -> bool:
    return value in (True, 1, "1", "true", "True")


def _int(value: Any, default: int) -> int:
    try:
        return max(1, min(int(value), 999))
    except (TypeError, ValueError):
        return default


def _check_hash(params: dict, current: dict) -> None:
    if params.get("hash") and params["hash"] != current.get("hash"):
        raise SlackError("hash_conflict")


def _channel_id_only(value: Any) -> str:
    """Methods that take only a channel id answer a name ("#leads" or "leads") as Slack does."""
    if not isinstance(value, str) or not _CHANNEL_ID.fullmatch(value):
        raise SlackError("channel_not_found")
    return value


def _upload_targets(params: dict) -> list[str]:
    """files.completeUploadExternal's channel_id, or its comma-separated channels: ids only."""
    if params.get("channel_id"):
        targets = [params["channel_id"]]
    else:
        targets = [c.strip() for c in str(params.get("channels") or "").split(",") if c.strip()]
    return [_channel_id_only(target) for target in targets]


def _channel_object(channel_id: str, name: str, is_private: bool, is_archived: bool, created: int) -> dict:
    """A channel as conversations.list shows it. is_group marks only the old private channels with G ids."""
    return {"id": channel_id, "name": name, "name_normalized": name, "is_channel": not channel_id.startswith("G"),
            "is_group": channel_id.startswith("G"), "is_im": False, "is_mpim": False, "is_private": is_private,
            "is_archived": is_archived, "is_general": False, "is_member": True, "is_shared": False,
            "is_ext_shared": False, "is_org_shared": False, "created": created, "creator": "U0ADMIN",
            "previous_names": [], "num_members": 1,
            "topic": {"value": "", "creator": "", "last_set": 0}, "purpose": {"value": "", "creator": "", "last_set": 0}}


def _conversation_type(conversation: dict) -> str:
    if conversation.get("is_im"):
        return "im"
    return "private_channel" if conversation["is_private"] else "public_channel"


def _list_limit(value: Any) -> int:
    if value in (None, ""):
        return 100                               # Slack's default page
    try:
        limit = int(value)
    except (TypeError, ValueError):
        raise SlackError("invalid_limit") from None
    if not 1 <= limit <= LIST_LIMIT:
        raise SlackError("invalid_limit")
    return limit


def _cursor_for(conversation: dict) -> str:
    """Opaque to clients, like Slack's ("dGVhbTpDMDYxRkE1UEI=" is base64 of "team:C061FA5PB")."""
    return base64.b64encode(f"channel:{conversation['id']}".encode()).decode()


def _cursor_position(cursor: Any, listed: list[dict]) -> int:
    """Where the page a cursor names starts; a cursor this fake never gave is invalid_cursor."""
    if not cursor:
        return 0
    try:
        decoded = base64.b64decode(str(cursor), validate=True).decode()
    except (binascii.Error, UnicodeDecodeError):
        raise SlackError("invalid_cursor") from None
    ids = [f"channel:{c['id']}" for c in listed]
    if decoded not in ids:
        raise SlackError("invalid_cursor")
    return ids.index(decoded)


def _without_metadata(message: dict) -> dict:
    return {key: value for key, value in message.items() if key != "metadata"}


def _reset_connection(environ: dict) -> None:
    """Close the socket under the request: the message is stored but the client never hears back."""
    try:
        environ["werkzeug.socket"].shutdown(socket.SHUT_RDWR)
    except OSError:
        pass


# --- Block Kit limits (specs/slack.md §5) ---------------------------------------------------------

def block_kit_problems(blocks: Any, *, max_blocks: int = MESSAGE_BLOCKS) -> list[str]:
    """Every documented Block Kit limit the blocks break; empty when Slack would accept them."""
    if not isinstance(blocks, list):
        return ["blocks is not a list"]
    problems = [f"{len(blocks)} blocks > {max_blocks}"] if len(blocks) > max_blocks else []
    for index, block in enumerate(blocks):
        problems += [f"blocks[{index}] {problem}" for problem in _block_problems(block)]
    return problems


def _block_problems(block: Any) -> list[str]:
    if not isinstance(block, dict):
        return ["is not an object"]
    problems = _too_long(block.get("block_id"), 255, "block_id")
    kind = block.get("type")
    if kind in _BLOCK_CHECKS:
        return problems + _BLOCK_CHECKS[kind](block)
    return problems if kind in _UNCHECKED_BLOCKS else problems + [f"unknown block type {kind!r}"]


def _section_problems(block: dict) -> list[str]:
    if "text" not in block and "fields" not in block:
        return ["section needs text or fields"]
    problems = _text_problems(block["text"], 3000, "text") if "text" in block else []
    if "fields" in block:
        problems += _items_problems(block["fields"], "fields", 10, lambda field, where: _text_problems(field, 2000, where))
    if "accessory" in block:
        problems += _element_problems(block["accessory"], "accessory")
    return problems


def _header_problems(block: dict) -> list[str]:
    return _text_problems(block.get("text"), 150, "header text", plain_only=True)


def _context_problems(block: dict) -> list[str]:
    return _items_problems(block.get("elements"), "elements", 10, _context_element_problems)


def _actions_problems(block: dict) -> list[str]:
    return _items_problems(block.get("elements"), "elements", 25, _element_problems)


def _items_problems(items: Any, name: str, most: int, check: Callable[[Any, str], list[str]]) -> list[str]:
    if not isinstance(items, list) or not 1 <= len(items) <= most:
        return [f"{name} must hold 1 to {most} items"]
    problems: list[str] = []
    for index, item in enumerate(items):
        problems += check(item, f"{name}[{index}]")
    return problems


def _context_element_problems(element: Any, where: str) -> list[str]:
    if isinstance(element, dict) and element.get("type") == "image":
        return []
    return _text_problems(element, 3000, where)


def _element_problems(element: Any, where: str) -> list[str]:
    if not isinstance(element, dict):
        return [f"{where} is not an object"]
    problems = _too_long(element.get("action_id"), 255, f"{where}.action_id")
    if element.get("type") != "button":
        return problems
    problems += _text_problems(element.get("text"), 75, f"{where}.text", plain_only=True)
    problems += _too_long(element.get("value"), 2000, f"{where}.value")
    problems += _too_long(element.get("url"), 3000, f"{where}.url")
    if element.get("style") not in (None, "primary", "danger"):
        problems.append(f"{where}.style must be primary or danger")
    return problems


def _text_problems(obj: Any, limit: int, where: str, *, plain_only: bool = False) -> list[str]:
    if not isinstance(obj, dict) or obj.get("type") not in ("plain_text", "mrkdwn"):
        return [f"{where} is not a text object"]
    text = obj.get("text")
    if not isinstance(text, str) or not text:
        return [f"{where} is empty"]
    problems = [f"{where} has {len(text)} chars > {limit}"] if len(text) > limit else []
    if plain_only and obj["type"] != "plain_text":
        problems.append(f"{where} must be plain_text")
    if obj["type"] == "mrkdwn" and "emoji" in obj:
        problems.append(f"{where}: emoji is only allowed on plain_text")
    if obj["type"] == "plain_text" and "verbatim" in obj:
        problems.append(f"{where}: verbatim is only allowed on mrkdwn")
    return problems


def _too_long(value: Any, limit: int, where: str) -> list[str]:
    return [f"{where} longer than {limit}"] if isinstance(value, str) and len(value) > limit else []


_BLOCK_CHECKS: dict[str, Callable[[dict], list[str]]] = {
    "section": _section_problems, "header": _header_problems,
    "context": _context_problems, "actions": _actions_problems, "divider": lambda block: [],
}
_UNCHECKED_BLOCKS = {"image", "input", "rich_text", "markdown", "file", "video"}


# --- mention injection (specs/slack.md §8) ----------------------------------------------------------

def find_pings(payload: Any) -> list[str]:
    """Strings that would notify a whole channel: `<!channel>`-style tokens in any text Slack parses
    (all but plain_text objects), and raw `@here`-style words in mrkdwn objects without verbatim: true."""
    found: list[str] = []
    _walk_pings(payload, auto_parsed=False, found=found)
    return found


def _walk_pings(value: Any, *, auto_parsed: bool, found: list[str]) -> None:
    if isinstance(value, str):
        if _SPECIAL_MENTION.search(value) or (auto_parsed and _RAW_MENTION.search(value)):
            found.append(value)
    elif isinstance(value, dict):
        if value.get("type") == "plain_text":
            return                      # Slack never parses plain_text: "<!channel>" shows as typed
        parsed = value.get("type") == "mrkdwn" and value.get("verbatim") is not True
        for item in value.values():
            _walk_pings(item, auto_parsed=parsed, found=found)
    elif isinstance(value, list):
        for item in value:
            _walk_pings(item, auto_parsed=auto_parsed, found=found)


# --- inbound side: what Slack sends to us -----------------------------------------------------------

def sign_slack_request(secret: str, body: bytes | str, timestamp: int | None = None) -> dict[str, str]:
    """The X-Slack-Signature and X-Slack-Request-Timestamp headers Slack would send with `body` (§1.1)."""
    stamp = str(int(time.time()) if timestamp is None else timestamp)
    raw = body.decode("utf-8") if isinstance(body, bytes) else body
    digest = hmac.new(secret.encode("utf-8"), f"v0:{stamp}:{raw}".encode("utf-8"), hashlib.sha256).hexdigest()
    return {"X-Slack-Signature": f"v0={digest}", "X-Slack-Request-Timestamp": stamp}


def block_action_body(*, user_id: str, action_id: str, value: str, channel: str, message_ts: str,
                      response_url: str, team_id: str = TEAM_ID, trigger_id: str = "1.T0001.block-action",
                      block_id: str = "lead_actions") -> str:
    """A form-encoded `payload=…` button click, shaped like Slack's
    (specs/slack-samples/block_actions.message.bolt-tests.json)."""
    action = {"action_id": action_id, "block_id": block_id, "value": value, "type": "button",
              "text": {"type": "plain_text", "text": "Accept", "emoji": True}, "action_ts": message_ts}
    payload = {
        "type": "block_actions", "api_app_id": "A0HANDOFF", "token": "verification_token",
        "user": {"id": user_id, "username": user_id.lower(), "name": user_id.lower(), "team_id": team_id},
        "team": {"id": team_id, "domain": "handoff-test"},
        "container": {"type": "message", "message_ts": message_ts, "channel_id": channel, "is_ephemeral": False},
        "trigger_id": trigger_id, "channel": {"id": channel, "name": "sales-leads"},
        "message": {"type": "message", "ts": message_ts, "bot_id": BOT_ID, "user": BOT_USER_ID, "text": ""},
        "response_url": response_url, "actions": [action],
    }
    return urlencode({"payload": json.dumps(payload)})
