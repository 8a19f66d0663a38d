"""A fake HubSpot on loopback: the CRM endpoints Handoff calls, in HubSpot's documented shapes, and a webhook sender.

Shapes follow shared/specs/hubspot.md §4 and §6: batch answers carry status/results/startedAt/
completedAt, 207 answers add numErrors/errors, objects carry id/properties/createdAt/updatedAt/
archived, errors carry status/message/correlationId/category.
"""
from __future__ import annotations

import itertools
import json
import threading
import time
import uuid
from collections import deque
from dataclasses import dataclass
from datetime import datetime, timezone
from urllib.parse import urlencode
from typing import Any, Callable

from werkzeug.exceptions import HTTPException
from werkzeug.routing import Map, Rule
from werkzeug.wrappers import Request, Response

from bot.models import to_utc_iso
from integrations.hubspot.signature import sign_v1, sign_v3
from tests.fakes.loopback import LoopbackServer

DEFAULT_TOKEN = "fake-hubspot-token"
DEFAULT_PORTAL_ID = "62515"
FAKE_APP_ID = 54321
BATCH_LIMIT = 100
HISTORY_BATCH_LIMIT = 50
DEFAULT_RATE_MAX = 190                 # a Professional private app's 10-second burst
DAILY_LIMIT = 1_000_000
LIFECYCLE_ORDER = ["subscriber", "lead", "marketingqualifiedlead", "salesqualifiedlead", "opportunity",
                   "customer", "evangelist", "other"]
ENGAGEMENT_TYPES = ("calls", "emails", "meetings")
# HubSpot returns these on every object whatever properties were asked for.
ALWAYS_RETURNED = {"contacts": {"createdate", "lastmodifieddate", "hs_object_id"},
                   "companies": {"createdate", "hs_lastmodifieddate", "hs_object_id"},
                   **{kind: {"hs_createdate", "hs_lastmodifieddate", "hs_object_id"} for kind in ENGAGEMENT_TYPES}}
NOT_MERGED = ALWAYS_RETURNED["contacts"] | {"hs_merged_object_ids"}
CREATED_PROPERTY = {"contacts": "createdate", "companies": "createdate",
                    **{kind: "hs_createdate" for kind in ENGAGEMENT_TYPES}}
MODIFIED_PROPERTY = {"contacts": "lastmodifieddate", "companies": "hs_lastmodifieddate",
                     **{kind: "hs_lastmodifieddate" for kind in ENGAGEMENT_TYPES}}
# HubSpot-defined association type ids, contact -> call / email / meeting (shared/specs/hubspot.md §4.6).
CONTACT_TO = {"calls": 193, "emails": 197, "meetings": 199}
ASSOCIATION_PAGE_MAX = 500
PROPERTY_TYPES = {"bool", "date", "datetime", "enumeration", "number", "phone_number", "string"}
PROPERTY_REQUIRED = ("groupName", "name", "label", "type", "fieldType")
STANDARD_GROUPS = {"contactinformation": "Contact information", "conversioninformation": "Conversion information",
                   "emailinformation": "Email information", "sales_properties": "Sales properties"}
STANDARD_PROPERTIES = [
    ("email", "Email", "string", "text", "contactinformation"),
    ("firstname", "First Name", "string", "text", "contactinformation"),
    ("lastname", "Last Name", "string", "text", "contactinformation"),
    ("jobtitle", "Job Title", "string", "text", "contactinformation"),
    ("lifecyclestage", "Lifecycle Stage", "enumeration", "radio", "contactinformation"),
    ("hs_lead_status", "Lead Status", "enumeration", "radio", "sales_properties"),
    ("hubspot_owner_id", "Contact owner", "enumeration", "select", "sales_properties"),
    ("associatedcompanyid", "Primary Associated Company ID", "number", "number", "contactinformation"),
    ("recent_conversion_event_name", "Recent Conversion", "string", "text", "conversioninformation"),
    ("recent_conversion_date", "Recent Conversion Date", "datetime", "date", "conversioninformation"),
]
WEBHOOK_USER_AGENT = "HubSpot Connect 2.0 (http://dev.hubspot.com/) - WebhooksExecutorDaemon-executor"
SUBSCRIPTION_IDS = {"contact.creation": 3329277, "contact.deletion": 3329278, "contact.merge": 3329279,
                    "contact.restore": 3329280, "contact.propertyChange": 3329281,
                    "contact.privacyDeletion": 3329282}
CHANGE_FLAGS = {"contact.creation": "CREATED", "contact.deletion": "DELETED"}

_event_ids = itertools.count(5_000_000_001)


@dataclass(frozen=True)
class Call:
    method: str
    path: str
    query: dict[str, str]
    json: Any
    headers: dict[str, str]
    at: float                      # time.monotonic() when the request arrived


@dataclass
class _Failure:
    path_contains: str
    status: int
    times: int
    retry_after: str | None
    body: dict | None
    method: str | None


def _now_iso() -> str:
    return to_utc_iso(datetime.now(timezone.utc))


def error(status: int, message: str, category: str, **extra: Any) -> tuple[int, dict]:
    """HubSpot's error body (shared/specs/hubspot-samples/error-structure.json)."""
    return status, {"status": "error", "message": message, "correlationId": str(uuid.uuid4()),
                    "category": category, **extra}


def rate_limit_body(policy: str = "TEN_SECONDLY_ROLLING") -> dict:
    """HubSpot's 429 body (shared/specs/hubspot-samples/rate-limit-429-daily.json)."""
    return {"status": "error", "message": f"You have reached your {policy.lower()} limit.",
            "errorType": "RATE_LIMIT", "correlationId": str(uuid.uuid4()), "policyName": policy,
            "requestId": str(uuid.uuid4())}


def _default_failure_body(status: int) -> dict:
    if status == 429:
        return rate_limit_body()
    if status == 401:
        return _unauthorized()[1]
    category = "INTERNAL_ERROR" if status >= 500 else "VALIDATION_ERROR"
    return error(status, f"Injected failure {status}", category)[1]


def missing_scopes(scope: str) -> tuple[int, dict]:
    """HubSpot's 403 for a token without a scope (or a portal whose tier lacks the API)."""
    return error(403, "This app hasn't been granted all required scopes to make this call. Read more about "
                 "required scopes here: https://developers.hubspot.com/scopes.", "MISSING_SCOPES",
                 errors=[{"message": "One or more of the following scopes are required.",
                          "context": {"requiredGranularScopes": [scope]}}],
                 links={"scopes": "https://developers.hubspot.com/scopes"})


def _unauthorized() -> tuple[int, dict]:
    return error(401, "Authentication credentials not found. This API supports OAuth 2.0 authentication and "
                 "you can find more details at https://developers.hubspot.com/docs/methods/auth/oauth-overview",
                 "INVALID_AUTHENTICATION")


def _text_props(props: dict[str, Any]) -> dict[str, str]:
    return {name: "" if value is None else str(value) for name, value in props.items()}


def _merged_ids(props: dict[str, str]) -> list[str]:
    return [part for part in props.get("hs_merged_object_ids", "").split(";") if part]


def _json_id(value: str | int) -> str | int:
    text = str(value)
    return int(text) if text.isdigit() else value


def next_lifecycle_value(current: str | None, wanted: str) -> str | None:
    """HubSpot's forward-only rule: "" clears, a backward move is silently ignored (None = unchanged)."""
    if wanted == "" or current not in LIFECYCLE_ORDER or wanted not in LIFECYCLE_ORDER:
        return wanted
    return wanted if LIFECYCLE_ORDER.index(wanted) >= LIFECYCLE_ORDER.index(current) else None


class FakeHubSpot(LoopbackServer):
    """HubSpot's CRM API on 127.0.0.1 (port 0), with knobs for failures, latency and rate limits."""

    def __init__(self, token: str | None = None, portal_id: str = DEFAULT_PORTAL_ID):
        super().__init__(self, thread_name="fake-hubspot")
        self.token = token                       # None: any non-empty Bearer token is accepted
        self.portal_id = portal_id
        self.contacts: dict[str, dict[str, str]] = {}
        self.companies: dict[str, dict[str, str]] = {}
        self.owners: dict[str, dict] = {}
        self.archived_contacts: dict[str, dict[str, str]] = {}
        self.merged_into: dict[str, str] = {}
        self.merged_read_mode = "404"            # or "redirect": reads of a merged id answer with the survivor
        self.property_groups: dict[str, dict] = {name: self._group_json(name, label)
                                                 for name, label in STANDARD_GROUPS.items()}
        self.properties: dict[str, dict] = {
            name: self._property_json({"name": name, "label": label, "type": kind, "fieldType": field,
                                       "groupName": group}, hubspot_defined=True)
            for name, label, kind, field, group in STANDARD_PROPERTIES}
        self.calls: list[Call] = []
        self.updates: list[tuple[str, dict]] = []
        self.notes: list[dict] = []   # {"id", "contact_id", "body", "timestamp"} for every note created
        self.lose_note_answers = 0     # store the next note(s), then answer 502: the caller cannot know it worked
        self.engagements: dict[str, dict[str, dict[str, str]]] = {kind: {} for kind in ENGAGEMENT_TYPES}
        self.engagement_links: dict[str, dict[str, list[str]]] = {kind: {} for kind in ENGAGEMENT_TYPES}
        self.association_page_size = ASSOCIATION_PAGE_MAX
        self.web_events: list[dict] = []
        self.refused_scopes: dict[str, str] = {}   # path fragment -> the scope whose absence refuses it (403)
        self.latency = 0.0
        self.rate_limit_per_10s: int | None = None
        self._failures: list[_Failure] = []
        self._admitted: deque[float] = deque()
        self._daily_used = 0
        self._lock = threading.RLock()
        self._routes = Map([
            Rule("/crm/v3/objects/<any(contacts, companies, calls, emails, meetings):object_type>/batch/read",
                 methods=["POST"], endpoint="batch_read"),
            Rule("/crm/v4/associations/<from_type>/<to_type>/batch/read", methods=["POST"],
                 endpoint="associations_read"),
            Rule("/events/v3/events/", methods=["GET"], endpoint="web_events_page"),
            Rule("/crm/v3/objects/contacts/batch/update", methods=["POST"], endpoint="batch_update"),
            Rule("/crm/v3/owners/<owner_id>", methods=["GET"], endpoint="owner"),
            Rule("/account-info/v3/details", methods=["GET"], endpoint="account"),
            Rule("/crm/v3/objects/notes", methods=["POST"], endpoint="create_note"),
            Rule("/crm/v3/objects/notes/search", methods=["POST"], endpoint="search_notes"),
            Rule("/crm/v3/properties/contacts", methods=["GET"], endpoint="list_properties"),
            Rule("/crm/v3/properties/contacts", methods=["POST"], endpoint="create_property"),
            Rule("/crm/v3/properties/contacts/groups", methods=["GET"], endpoint="list_groups"),
            Rule("/crm/v3/properties/contacts/groups", methods=["POST"], endpoint="create_group"),
        ], strict_slashes=False)

    # --- state the tests arrange -------------------------------------------------------------

    def add_contact(self, contact_id: str, **props: Any) -> None:
        self._add_record(self.contacts, "contacts", str(contact_id), props)

    def add_company(self, company_id: str, **props: Any) -> None:
        self._add_record(self.companies, "companies", str(company_id), props)

    def _add_record(self, store: dict, object_type: str, record_id: str, props: dict[str, Any]) -> None:
        now = _now_iso()
        defaults = {"hs_object_id": record_id, CREATED_PROPERTY[object_type]: now, MODIFIED_PROPERTY[object_type]: now}
        with self._lock:
            store[record_id] = {**defaults, **_text_props(props)}

    def add_owner(self, owner_id: str, email: str, first_name: str = "", last_name: str = "") -> None:
        now = _now_iso()
        user_id = 9_000_000 + len(self.owners)
        with self._lock:
            self.owners[str(owner_id)] = {
                "id": str(owner_id), "email": email, "type": "PERSON", "firstName": first_name,
                "lastName": last_name, "userId": user_id, "userIdIncludingInactive": user_id,
                "createdAt": now, "updatedAt": now, "archived": False, "teams": []}

    def add_engagement(self, kind: str, engagement_id: str, contact_id: str, **props: Any) -> None:
        """A call, email or meeting (kind: calls | emails | meetings) associated with the contact."""
        self._add_record(self.engagements[kind], kind, str(engagement_id), props)
        with self._lock:
            self.engagement_links[kind].setdefault(str(contact_id), []).append(str(engagement_id))

    def add_web_event(self, contact_id: str, event_type: str, occurred_at: datetime, *,
                      event_id: str | None = None, **properties: Any) -> str:
        """One web-analytics event occurrence on the contact (e_visited_page with hs_url, pe…_custom)."""
        event_id = event_id or f"leviathan-{uuid.uuid4()}"
        with self._lock:
            self.web_events.append({"objectType": "CONTACT", "objectId": str(contact_id), "eventType": event_type,
                                    "occurredAt": to_utc_iso(occurred_at), "id": event_id,
                                    "properties": _text_props(properties)})
        return event_id

    def refuse_scope(self, path_contains: str, scope: str) -> None:
        """Every request to a path containing `path_contains` answers 403 MISSING_SCOPES until allowed again."""
        with self._lock:
            self.refused_scopes[path_contains] = scope

    def delete_contact(self, contact_id: str) -> None:
        """Archive the contact, as DELETE /crm/v3/objects/contacts/{id} does (restorable)."""
        with self._lock:
            self.archived_contacts[str(contact_id)] = self.contacts.pop(str(contact_id))

    def merge_contacts(self, primary_id: str, merged_id: str) -> None:
        """Merge merged_id into primary_id: blanks filled from the loser, its id listed in hs_merged_object_ids."""
        primary_id, merged_id = str(primary_id), str(merged_id)
        with self._lock:
            primary, merged = self.contacts[primary_id], self.contacts.pop(merged_id)
            for name, value in merged.items():
                if not primary.get(name) and name not in NOT_MERGED:
                    primary[name] = value
            absorbed = [*_merged_ids(primary), merged_id, *_merged_ids(merged)]
            primary["hs_merged_object_ids"] = ";".join(dict.fromkeys(absorbed))
            for old, survivor in list(self.merged_into.items()):
                if survivor == merged_id:
                    self.merged_into[old] = primary_id
            self.merged_into[merged_id] = primary_id

    def fail_next(self, path_contains: str, status: int, *, times: int = 1, retry_after: str | None = None,
                  body: dict | None = None, method: str | None = None) -> None:
        """Answer the next `times` requests whose path contains `path_contains` (and method, if given) with `status`."""
        with self._lock:
            self._failures.append(_Failure(path_contains, status, times, retry_after, body, method))

    def count(self, path_contains: str) -> int:
        """How many requests hit a path containing `path_contains`."""
        with self._lock:
            return sum(path_contains in call.path for call in self.calls)

    # --- WSGI --------------------------------------------------------------------------------

    def __call__(self, environ: dict, start_response: Callable) -> Any:
        request = Request(environ)
        call = self._record(request)
        if self.latency:
            time.sleep(self.latency)
        status, body, headers = self._answer(request, call)
        response = Response(json.dumps(body), status=status, mimetype="application/json")
        response.headers.update(headers)
        response.headers.update(self._rate_headers())
        return response(environ, start_response)

    def _record(self, request: Request) -> Call:
        try:
            payload = json.loads(request.get_data()) if request.get_data() else None
        except ValueError:
            payload = None
        call = Call(request.method, request.path, dict(request.args), payload, dict(request.headers),
                    time.monotonic())
        with self._lock:
            self.calls.append(call)
        return call

    def _answer(self, request: Request, call: Call) -> tuple[int, dict, dict]:
        failure = self._take_failure(request.method, request.path)
        if failure:
            headers = {"Retry-After": failure.retry_after} if failure.retry_after is not None else {}
            return failure.status, failure.body or _default_failure_body(failure.status), headers
        if not self._authorized(request.headers.get("Authorization", "")):
            return (*_unauthorized(), {})
        if not self._admit():
            return 429, rate_limit_body(), {}
        refused = next((scope for fragment, scope in self.refused_scopes.items() if fragment in request.path), None)
        if refused:
            return (*missing_scopes(refused), {})
        return (*self._route(request, call), {})

    def _authorized(self, header: str) -> bool:
        scheme, _, token = header.partition(" ")
        return scheme == "Bearer" and bool(token.strip()) and self.token in (None, token)

    def _take_failure(self, method: str, path: str) -> _Failure | None:
        with self._lock:
            for failure in self._failures:
                if failure.path_contains in path and failure.times > 0 and failure.method in (None, method):
                    failure.times -= 1
                    return failure
        return None

    def _admit(self) -> bool:
        """Rolling 10-second window per token, like HubSpot's TEN_SECONDLY_ROLLING policy."""
        now = time.monotonic()
        with self._lock:
            while self._admitted and self._admitted[0] <= now - 10:
                self._admitted.popleft()
            if self.rate_limit_per_10s is not None and len(self._admitted) >= self.rate_limit_per_10s:
                return False
            self._admitted.append(now)
            self._daily_used += 1
            return True

    def _rate_headers(self) -> dict[str, str]:
        limit = self.rate_limit_per_10s or DEFAULT_RATE_MAX
        with self._lock:
            used, daily = len(self._admitted), self._daily_used
        return {"X-HubSpot-RateLimit-Interval-Milliseconds": "10000",
                "X-HubSpot-RateLimit-Max": str(limit),
                "X-HubSpot-RateLimit-Remaining": str(max(0, limit - used)),
                "X-HubSpot-RateLimit-Daily": str(DAILY_LIMIT),
                "X-HubSpot-RateLimit-Daily-Remaining": str(max(0, DAILY_LIMIT - daily))}

    def _route(self, request: Request, call: Call) -> tuple[int, dict]:
        try:
            endpoint, args = self._routes.bind_to_environ(request.environ).match()
        except HTTPException as miss:
            return error(miss.code or 404, f"{request.method} {request.path} is not served here", "NOT_FOUND")
        if request.method == "POST" and not isinstance(call.json, dict):
            return error(400, "Invalid input JSON on line 1", "VALIDATION_ERROR")
        with self._lock:
            return getattr(self, f"_{endpoint}")(request, call.json, **args)

    # --- endpoints (called with the lock held) -----------------------------------------------

    def _batch_read(self, request: Request, body: dict, object_type: str) -> tuple[int, dict]:
        inputs = body.get("inputs")
        limit = HISTORY_BATCH_LIMIT if body.get("propertiesWithHistory") else BATCH_LIMIT
        problem = self._check_inputs(inputs, limit)
        if problem:
            return problem
        if body.get("idProperty") not in (None, "", "hs_object_id"):
            return error(400, "idProperty lookups are not served by the fake", "VALIDATION_ERROR")
        # The SDK sends Python's "False"/"True"; HubSpot parses booleans case-insensitively.
        archived = request.args.get("archived", "").lower() == "true"
        requested = list(body.get("properties") or []) + list(body.get("propertiesWithHistory") or [])
        results, missing = {}, []
        for item in inputs:
            record_id = self._resolve(object_type, str(item.get("id")), archived)
            if record_id is None:
                missing.append(str(item.get("id")))
            else:
                results[record_id] = self._object_json(object_type, record_id, requested, archived)
        return self._batch_answer(list(results.values()), missing, object_type)

    def _check_inputs(self, inputs: Any, limit: int) -> tuple[int, dict] | None:
        if not isinstance(inputs, list) or not all(isinstance(item, dict) for item in inputs):
            return error(400, "inputs must be a list of objects", "VALIDATION_ERROR")
        if len(inputs) > limit:
            return error(400, f"The maximum number of inputs supported in a batch request is {limit}. "
                         "Please reduce the number of items and try again", "VALIDATION_ERROR")
        return None

    def _store(self, object_type: str, archived: bool = False) -> dict[str, dict[str, str]]:
        if object_type in ENGAGEMENT_TYPES:
            return {} if archived else self.engagements[object_type]
        if object_type == "companies":
            return {} if archived else self.companies
        return self.archived_contacts if archived else self.contacts

    def _resolve(self, object_type: str, record_id: str, archived: bool) -> str | None:
        if object_type == "contacts" and record_id in self.merged_into and not archived:
            if self.merged_read_mode != "redirect":
                return None
            record_id = self.merged_into[record_id]
        return record_id if record_id in self._store(object_type, archived) else None

    def _object_json(self, object_type: str, record_id: str, requested: list[str],
                     archived: bool = False) -> dict:
        props = self._store(object_type, archived)[record_id]
        wanted = set(requested) | ALWAYS_RETURNED[object_type]
        return {"id": record_id,
                "properties": {name: value for name, value in props.items() if name in wanted and value != ""},
                "createdAt": props[CREATED_PROPERTY[object_type]], "updatedAt": props[MODIFIED_PROPERTY[object_type]],
                "archived": archived}

    def _batch_answer(self, results: list[dict], missing: list[str], object_type: str) -> tuple[int, dict]:
        now = _now_iso()
        answer = {"status": "COMPLETE", "results": results, "startedAt": now, "completedAt": now}
        if not missing:
            return 200, answer
        kind = object_type.rstrip("s").upper().replace("COMPANIE", "COMPANY")   # CONTACT, COMPANY, CALL, …
        answer["numErrors"] = 1
        answer["errors"] = [{
            "status": "error", "category": "OBJECT_NOT_FOUND",
            "message": f"Could not get some {kind} objects, they may be deleted or not exist. "
                       "Check that ids are valid.",
            "context": {"ids": missing}, "links": {}, "errors": []}]
        return 207, answer

    def _batch_update(self, request: Request, body: dict) -> tuple[int, dict]:
        inputs = body.get("inputs")
        problem = self._check_inputs(inputs, BATCH_LIMIT)
        if problem:
            return problem
        results, missing = [], []
        for item in inputs:
            contact_id, props = str(item.get("id")), item.get("properties") or {}
            if contact_id in self.merged_into or contact_id not in self.contacts:
                missing.append(contact_id)
                continue
            self.updates.append((contact_id, self._apply(contact_id, _text_props(props))))
            results.append(self._object_json("contacts", contact_id, list(props)))
        return self._batch_answer(results, missing, "contacts")

    def _apply(self, contact_id: str, props: dict[str, str]) -> dict[str, str]:
        record, applied = self.contacts[contact_id], {}
        for name, value in props.items():
            if name == "lifecyclestage":
                value = next_lifecycle_value(record.get(name), value)
            if value is not None:
                record[name] = applied[name] = value
        record["lastmodifieddate"] = _now_iso()
        return applied

    def _associations_read(self, request: Request, body: dict, from_type: str, to_type: str) -> tuple[int, dict]:
        """v4 batch read, contacts -> calls/emails/meetings; a contact with none is an error of a 207."""
        if from_type != "contacts" or to_type not in ENGAGEMENT_TYPES:
            return error(400, f"Association {from_type} -> {to_type} is not served by the fake", "VALIDATION_ERROR")
        inputs = body.get("inputs")
        problem = self._check_inputs(inputs, BATCH_LIMIT)
        if problem:
            return problem
        links = self.engagement_links[to_type]
        missing = [str(item.get("id")) for item in inputs if not links.get(str(item.get("id")))]
        results = [self._association_page(str(item["id"]), to_type, links[str(item["id"])], item.get("after"))
                   for item in inputs if str(item.get("id")) not in missing]
        now = _now_iso()
        answer = {"status": "COMPLETE", "results": results, "startedAt": now, "completedAt": now}
        if not missing:
            return 200, answer
        return 207, {**answer, "numErrors": len(missing), "errors": [{
            "status": "error", "category": "OBJECT_NOT_FOUND", "subCategory": "crm.associations.NO_ASSOCIATIONS_FOUND",
            "message": f"No {to_type} is associated with contacts {contact_id}.",
            "context": {"fromObjectId": [contact_id]}, "links": {}, "errors": []} for contact_id in missing]}

    def _association_page(self, contact_id: str, to_type: str, linked: list[str], after: Any) -> dict:
        start = int(after) if str(after or "").isdigit() else 0
        end = start + self.association_page_size
        page = {"from": {"id": contact_id},
                "to": [{"toObjectId": _json_id(engagement_id), "associationTypes": [
                    {"category": "HUBSPOT_DEFINED", "typeId": CONTACT_TO[to_type], "label": None}]}
                       for engagement_id in linked[start:end]]}
        if end < len(linked):
            page["paging"] = {"next": {"after": str(end), "link": None}}
        return page

    def _web_events_page(self, request: Request, body: Any) -> tuple[int, dict]:
        """GET /events/v3/events: one contact's events, filtered by type and time, paged by `after`."""
        args = request.args
        if args.get("objectId") and not args.get("objectType"):
            return error(400, "objectType is required with objectId", "VALIDATION_ERROR")
        if not args.get("objectId"):
            return error(400, "objectId or objectProperty is required", "VALIDATION_ERROR")
        try:
            after_time = datetime.fromisoformat(args["occurredAfter"]) if args.get("occurredAfter") else None
        except ValueError:
            return error(400, f"occurredAfter is not a date-time: {args['occurredAfter']}", "VALIDATION_ERROR")
        found = [event for event in self.web_events
                 if event["objectId"] == args["objectId"] and args.get("eventType") in (None, event["eventType"])
                 and (after_time is None or datetime.fromisoformat(event["occurredAt"]) > after_time)]
        found.sort(key=lambda event: event["occurredAt"], reverse=args.get("sort", "DESCENDING") == "DESCENDING")
        start = int(args["after"]) if args.get("after", "").isdigit() else 0
        end = start + min(int(args.get("limit") or 10), 100)
        answer: dict[str, Any] = {"results": found[start:end]}
        if end < len(found):
            query = urlencode({**args, "after": str(end)})
            answer["paging"] = {"next": {"after": str(end), "link": f"https://api.hubapi.com{request.path}?{query}"}}
        return 200, answer

    def _owner(self, request: Request, body: Any, owner_id: str) -> tuple[int, dict]:
        by_user_id = request.args.get("idProperty") == "userId"
        for owner in self.owners.values():
            if (str(owner["userId"]) if by_user_id else owner["id"]) == owner_id:
                return 200, owner
        return error(404, f"Owner {owner_id} not found", "OBJECT_NOT_FOUND")

    def _create_note(self, request: Request, body: dict) -> tuple[int, dict]:
        props = body.get("properties") or {}
        targets = [str(a.get("to", {}).get("id")) for a in body.get("associations") or []
                   if any(t.get("associationTypeId") == 202 for t in a.get("types") or [])]
        if not props.get("hs_timestamp"):
            return error(400, "Property values were not valid: hs_timestamp is required", "VALIDATION_ERROR")
        unknown = [cid for cid in targets if cid not in self.contacts]
        if unknown:
            return error(400, f"Contact {unknown[0]} does not exist", "VALIDATION_ERROR")
        note_id = str(700_000 + len(self.notes))
        self.notes.append({"id": note_id, "contact_id": targets[0] if targets else None,
                           "body": props.get("hs_note_body", ""), "timestamp": props["hs_timestamp"]})
        if self.lose_note_answers > 0:
            self.lose_note_answers -= 1
            return error(502, "Bad gateway", "SERVER_ERROR")
        now = _now_iso()
        return 201, {"id": note_id, "properties": {k: str(v) for k, v in props.items()}, "createdAt": now,
                     "updatedAt": now, "archived": False}

    def _search_notes(self, request: Request, body: dict) -> tuple[int, dict]:
        filters = [f for group in body.get("filterGroups") or [] for f in group.get("filters") or []]
        contact = next((str(f.get("value")) for f in filters if f.get("propertyName") == "associations.contact"), None)
        now = _now_iso()
        found = [{"id": n["id"], "properties": {"hs_note_body": n["body"], "hs_object_id": n["id"]},
                  "createdAt": now, "updatedAt": now, "archived": False}
                 for n in reversed(self.notes) if contact is None or n["contact_id"] == contact]
        limit = int(body.get("limit") or 10)
        return 200, {"total": len(found), "results": found[:limit]}

    def _account(self, request: Request, body: Any) -> tuple[int, dict]:
        return 200, {"portalId": _json_id(self.portal_id), "accountType": "STANDARD", "timeZone": "US/Eastern",
                     "companyCurrency": "USD", "additionalCurrencies": [], "utcOffset": "-05:00",
                     "utcOffsetMilliseconds": -18000000, "uiDomain": "app.hubspot.com",
                     "dataHostingLocation": "na1"}

    def _list_properties(self, request: Request, body: Any) -> tuple[int, dict]:
        return 200, {"results": list(self.properties.values())}

    def _create_property(self, request: Request, body: dict) -> tuple[int, dict]:
        absent = [key for key in PROPERTY_REQUIRED if not body.get(key)]
        if absent:
            return error(400, f"Missing required fields: {', '.join(absent)}", "VALIDATION_ERROR")
        if body["type"] not in PROPERTY_TYPES:
            return error(400, f"Unknown property type {body['type']}", "VALIDATION_ERROR")
        if body["groupName"] not in self.property_groups:
            return error(400, f"Property group {body['groupName']} does not exist", "VALIDATION_ERROR")
        if body["type"] == "enumeration" and not body.get("options"):
            return error(400, "Enumeration properties need options", "VALIDATION_ERROR")
        if body["name"] in self.properties:
            return error(409, f"Property named '{body['name']}' already exists.", "OBJECT_ALREADY_EXISTS")
        self.properties[body["name"]] = self._property_json(body, hubspot_defined=False)
        return 201, self.properties[body["name"]]

    def _property_json(self, body: dict, hubspot_defined: bool) -> dict:
        now = _now_iso()
        return {"name": body["name"], "label": body["label"], "type": body["type"],
                "fieldType": body["fieldType"], "groupName": body["groupName"],
                "description": body.get("description") or "", "options": body.get("options") or [],
                "displayOrder": body.get("displayOrder", -1), "calculated": False, "externalOptions": False,
                "hasUniqueValue": False, "hidden": False, "hubspotDefined": hubspot_defined,
                "formField": False, "createdAt": now, "updatedAt": now, "archived": False,
                "modificationMetadata": {"archivable": not hubspot_defined, "readOnlyDefinition": hubspot_defined,
                                         "readOnlyValue": False}}

    def _list_groups(self, request: Request, body: Any) -> tuple[int, dict]:
        return 200, {"results": list(self.property_groups.values())}

    def _create_group(self, request: Request, body: dict) -> tuple[int, dict]:
        if not body.get("name") or not body.get("label"):
            return error(400, "Missing required fields: name, label", "VALIDATION_ERROR")
        if body["name"] in self.property_groups:
            return error(409, f"Property group named '{body['name']}' already exists.", "OBJECT_ALREADY_EXISTS")
        self.property_groups[body["name"]] = self._group_json(body["name"], body["label"],
                                                              body.get("displayOrder", -1))
        return 201, self.property_groups[body["name"]]

    @staticmethod
    def _group_json(name: str, label: str, display_order: int = -1) -> dict:
        return {"name": name, "label": label, "displayOrder": display_order, "archived": False}


# --- playing HubSpot's webhook sender ------------------------------------------------------------

def signed_webhook(secret: str, url: str, events: list[dict], *,
                   timestamp_ms: int | None = None) -> tuple[bytes, dict[str, str]]:
    """The exact body and headers HubSpot would POST to `url`: v1 and v3 signatures, as real deliveries carry."""
    body = json.dumps(events, separators=(",", ":")).encode()
    stamp = str(timestamp_ms if timestamp_ms is not None else int(time.time() * 1000))
    headers = {"Content-Type": "application/json", "User-Agent": WEBHOOK_USER_AGENT,
               "X-HubSpot-Signature-Version": "v1", "X-HubSpot-Signature": sign_v1(secret, body),
               "X-HubSpot-Signature-v3": sign_v3(secret, "POST", url, body, stamp),
               "X-HubSpot-Request-Timestamp": stamp, "X-HubSpot-Timeout-Millis": "10000"}
    return body, headers


def contact_event(event_type: str, object_id: str | int, *, event_id: int | None = None,
                  property_name: str | None = None, property_value: str | None = None,
                  occurred_at_ms: int | None = None, attempt: int = 0, **extra: Any) -> dict:
    """One event as HubSpot delivers it; `extra` adds or overrides camelCase keys (None removes one)."""
    event = {
        "eventId": next(_event_ids) if event_id is None else event_id,
        "subscriptionId": SUBSCRIPTION_IDS.get(event_type, 3329299),
        "portalId": int(DEFAULT_PORTAL_ID), "appId": FAKE_APP_ID,
        "occurredAt": int(time.time() * 1000) if occurred_at_ms is None else occurred_at_ms,
        "subscriptionType": event_type, "attemptNumber": attempt, "objectId": _json_id(object_id),
        "changeFlag": CHANGE_FLAGS.get(event_type), "changeSource": "CRM_UI", "sourceId": "userId:47812075",
        "propertyName": property_name, "propertyValue": property_value,
    }
    event.update(extra)
    return {key: value for key, value in event.items() if value is not None}
