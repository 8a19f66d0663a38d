"""HubSpot CRM adapter: batch reads and writes through hubspot-api-client; every failure is an IntegrationError."""
from __future__ import annotations

import json
import logging
import re
import threading
import time
from dataclasses import dataclass
from datetime import datetime
from email.utils import parsedate_to_datetime
from typing import Any, Callable, Iterator, Mapping, Sequence, TypeVar

import urllib3
from hubspot import HubSpot
from hubspot.crm.contacts import BatchInputSimplePublicObjectBatchInput, SimplePublicObjectBatchInput
from hubspot.crm.contacts import BatchReadInputSimplePublicObjectId, SimplePublicObjectId
from hubspot.crm.objects.notes import (AssociationSpec, Filter, FilterGroup, PublicAssociationsForObject,
                                       PublicObjectId, PublicObjectSearchRequest, SimplePublicObjectInputForCreate)
from hubspot.crm.associations.v4 import BatchInputPublicFetchAssociationsBatchRequest, PublicFetchAssociationsBatchRequest
from hubspot.crm.properties import OptionInput, PropertyCreate, PropertyGroupCreate
from urllib3.util.retry import Retry

from bot.models import Company, Contact
from integrations.errors import IntegrationError
from integrations.hubspot.activity import (
    ENGAGEMENT_PROPERTIES, ENGAGEMENT_TYPES, EVENTS_PAGE_LIMIT, AnalyticsEvent, AnalyticsPage, Engagement,
    associated_ids, next_association_pages)
from integrations.hubspot.properties import (
    GROUP_LABEL, GROUP_NAME, HANDOFF_PROPERTIES, OBJECT_TYPE, PropertySpec)

NOTE_TO_CONTACT = 202   # HubSpot-defined association type id: note -> contact

log = logging.getLogger(__name__)

DEFAULT_BASE_URL = "https://api.hubapi.com"
BATCH_LIMIT = 100                        # HubSpot's cap on inputs per CRM batch request
COMPANY_ID_PROPERTY = "associatedcompanyid"
MERGED_IDS_PROPERTY = "hs_merged_object_ids"
REFUSED_TOKEN = "HubSpot refused the token: check HUBSPOT_ACCESS_TOKEN and the app's scopes"
# 423 Locked and 477 Migration in Progress ask to come back later, like 429 and 5xx; 0 is an SSL failure.
TRANSIENT_STATUSES = frozenset({0, 408, 423, 429, 477})
# Our worker reschedules failed work in the database; urllib3 must neither retry nor sleep in-thread.
NO_RETRY = Retry(total=0, redirect=0, raise_on_status=False, raise_on_redirect=False)
_SECONDS = re.compile(r"[0-9]{1,9}(\.[0-9]+)?", re.ASCII)

T = TypeVar("T")


@dataclass(frozen=True)
class Owner:
    id: str
    email: str | None
    first_name: str | None
    last_name: str | None


@dataclass(frozen=True)
class ContactRead:
    contacts: dict[str, Contact]   # keyed by the REQUESTED id; Contact.id is HubSpot's (differs after a merge)
    missing: set[str]              # requested ids HubSpot does not have (deleted, archived, merged away)


class HubSpotCrm:
    """The CRM calls Handoff makes, batched at 100, with `before_call` run before every HTTP request."""

    def __init__(self, access_token: str, base_url: str = DEFAULT_BASE_URL,
                 timeout: tuple[float, float] = (3.05, 10.0),
                 before_call: Callable[[], None] | None = None):
        # host= redirects every generated API (the fake server in tests); retry= replaces urllib3's 3 retries.
        client = HubSpot(access_token=access_token, host=base_url.rstrip("/"), retry=NO_RETRY)
        self._contacts = client.crm.contacts.batch_api
        self._companies = client.crm.companies.batch_api
        self._owners = client.crm.owners.owners_api
        self._properties = client.crm.properties.core_api
        self._groups = client.crm.properties.groups_api
        self._notes = client.crm.objects.notes.basic_api
        self._note_search = client.crm.objects.notes.search_api
        self._associations = client.crm.associations.v4.batch_api
        self._engagements = {kind: getattr(client.crm.objects, kind).batch_api for kind in ENGAGEMENT_TYPES}
        self._events = client.events.events_api
        self._token = access_token
        self._timeout = timeout
        self._before_call = before_call
        self._lock = threading.Lock()
        self.calls = 0

    # --- reads -------------------------------------------------------------------------------

    def read_contacts(self, ids: Sequence[str], properties: Sequence[str],
                      company_properties: Sequence[str]) -> ContactRead:
        """Contacts with their primary company: one batch read per 100 contacts, one per 100 companies."""
        wanted = list(dict.fromkeys(str(contact_id) for contact_id in ids))
        names = sorted({*properties, COMPANY_ID_PROPERTY, MERGED_IDS_PROPERTY})
        records = [record for chunk in chunks(wanted)
                   for record in self._read_batch(self._contacts, "contacts batch read", chunk, names)]
        found = match_requested(wanted, records)
        companies = self._read_companies(company_ids(found.values()), company_properties)
        contacts = {asked: to_contact(record, companies) for asked, record in found.items()}
        return ContactRead(contacts=contacts, missing=set(wanted) - contacts.keys())

    def _read_companies(self, ids: list[str], properties: Sequence[str]) -> dict[str, Company]:
        # No company property asked for: the scoring rules do not look at companies, save the call.
        if not ids or not properties:
            return {}
        records = [record for chunk in chunks(ids)
                   for record in self._read_batch(self._companies, "companies batch read", chunk, properties)]
        return {record_id: Company(id=record_id, properties=props) for record_id, props in records}

    def _read_batch(self, api: Any, action: str, ids: list[str],
                    properties: Sequence[str]) -> list[tuple[str, dict[str, str]]]:
        body = BatchReadInputSimplePublicObjectId(
            inputs=[SimplePublicObjectId(id=record_id) for record_id in ids],
            properties=list(properties), properties_with_history=[])
        answer = self._call(action, api.read, body, archived=False)
        # An answer without results must not read as "every contact is gone".
        if getattr(answer, "results", None) is None:
            raise IntegrationError(f"HubSpot {action}: answer not understood (no results)", permanent=True)
        # A 207 answer lists the ids it could not find in errors[]; the caller diffs instead of parsing them.
        return records_of(answer)

    def read_engagements(self, contact_ids: Sequence[str]) -> dict[str, list[Engagement]]:
        """The calls, emails and meetings on each contact: associations v4 batch reads, then batch reads of
        the objects themselves (2 calls per kind and 100 contacts, more only when a contact has 500+)."""
        wanted = list(dict.fromkeys(str(contact_id) for contact_id in contact_ids))
        found: dict[str, list[Engagement]] = {contact_id: [] for contact_id in wanted}
        for kind in ENGAGEMENT_TYPES:
            linked = {contact_id: ids for chunk in chunks(wanted)
                      for contact_id, ids in self._read_associations(kind, chunk).items()}
            every_id = sorted({engagement_id for ids in linked.values() for engagement_id in ids})
            records = dict(record for chunk in chunks(every_id)
                           for record in self._read_batch(self._engagements[kind], f"{kind} batch read", chunk,
                                                          ENGAGEMENT_PROPERTIES))
            for contact_id, ids in linked.items():
                found[contact_id] += [Engagement(engagement_id, kind, records[engagement_id])
                                      for engagement_id in ids if engagement_id in records]
        return found

    def _read_associations(self, kind: str, contact_ids: list[str]) -> dict[str, list[str]]:
        """contact id -> ids of its `kind` records, following each contact's paging.next.after."""
        linked: dict[str, list[str]] = {}
        pages = [PublicFetchAssociationsBatchRequest(id=contact_id) for contact_id in contact_ids]
        while pages:
            answer = self._call(f"contact-{kind} associations read", self._associations.get_page, "contacts", kind,
                                BatchInputPublicFetchAssociationsBatchRequest(inputs=pages))
            for contact_id, ids in associated_ids(answer).items():
                linked.setdefault(contact_id, []).extend(ids)
            pages = [PublicFetchAssociationsBatchRequest(id=contact_id, after=after)
                     for contact_id, after in next_association_pages(answer)]
        return linked

    def read_analytics_events(self, contact_id: str, occurred_after: datetime, event_type: str | None,
                              after: str | None = None) -> AnalyticsPage:
        """One page of the contact's web-analytics events, oldest first (GET /events/v3/events)."""
        answer = self._call("web analytics events read", self._events.get_page, object_type="contact",
                            object_id=contact_id, occurred_after=occurred_after, event_type=event_type,
                            sort=["ASCENDING"], limit=EVENTS_PAGE_LIMIT, after=after)
        events = [AnalyticsEvent(id=str(event.id), event_type=str(event.event_type), occurred_at=event.occurred_at,
                                 properties={name: str(value) for name, value in (event.properties or {}).items()
                                             if value is not None})
                  for event in answer.results or []]
        paging = getattr(getattr(answer, "paging", None), "next", None)
        return AnalyticsPage(events=events, next_after=getattr(paging, "after", None))

    def get_owner(self, owner_id: str) -> Owner | None:
        """The owner (rep) with this owner id, or None when HubSpot has no such active owner."""
        try:
            answer = self._call("owner read", self._owners.get_by_id, str(owner_id),
                                id_property="id", archived=False)
        except IntegrationError as error:
            if error.status == 404:
                return None
            raise
        return Owner(id=str(answer.id), email=answer.email, first_name=answer.first_name,
                     last_name=answer.last_name)

    def get_portal_id(self) -> str:
        """The portal (hub) id of the account the token belongs to."""
        # The SDK has no account-info API; call_api keeps our host, timeout and retry policy
        # (client.api_request would use `requests` with no timeout).
        answer = self._call("account details read", self._owners.api_client.call_api,
                            "/account-info/v3/details", "GET", header_params={"Accept": "application/json"},
                            auth_settings=["oauth2"], response_types_map={200: "object"},
                            _return_http_data_only=True)
        portal_id = answer.get("portalId") if isinstance(answer, dict) else None
        if isinstance(portal_id, bool) or not isinstance(portal_id, (int, str)) or not str(portal_id).isdigit():
            raise IntegrationError("HubSpot account details read: the answer has no portalId", permanent=True)
        return str(portal_id)

    # --- writes ------------------------------------------------------------------------------

    def update_contacts(self, updates: Mapping[str, Mapping[str, str]]) -> set[str]:
        """Write properties in batches of 100; returns the ids HubSpot refused (not found, invalid)."""
        items = [(str(contact_id), dict(props)) for contact_id, props in updates.items()]
        refused: set[str] = set()
        for chunk in chunks(items):
            refused |= self._update_batch(chunk)
        return refused

    def _update_batch(self, chunk: list[tuple[str, dict[str, str]]]) -> set[str]:
        body = BatchInputSimplePublicObjectBatchInput(
            inputs=[SimplePublicObjectBatchInput(id=contact_id, properties=props) for contact_id, props in chunk])
        answer = self._call("contacts batch update", self._contacts.update, body)
        refused = refused_ids([contact_id for contact_id, _ in chunk], answer)
        if refused:
            log.info("hubspot contacts batch update: %d of %d refused (%s)", len(refused), len(chunk),
                     ", ".join(sorted(error_categories(answer))) or "no reason given")
        return refused

    def create_note(self, contact_id: str, body: str, timestamp: str) -> str:
        """A note on the contact's timeline (the SDR's touch or decision); returns the note's id."""
        note = SimplePublicObjectInputForCreate(
            properties={"hs_note_body": body[:65_536], "hs_timestamp": timestamp},
            associations=[PublicAssociationsForObject(
                to=PublicObjectId(id=str(contact_id)),
                types=[AssociationSpec(association_category="HUBSPOT_DEFINED",
                                       association_type_id=NOTE_TO_CONTACT)])])
        answer = self._call("note create", self._notes.create, note)
        return str(answer.id)

    def find_note(self, contact_id: str, marker: str) -> str | None:
        """The id of a note on the contact whose body contains `marker`, if any (newest 100 notes searched)."""
        query = PublicObjectSearchRequest(
            filter_groups=[FilterGroup(filters=[Filter(property_name="associations.contact", operator="EQ",
                                                       value=str(contact_id))])],
            properties=["hs_note_body"], limit=100, after=None, sorts=[], query=None)
        answer = self._call("note search", self._note_search.do_search, query)
        return next((str(note.id) for note in answer.results or []
                     if marker in ((note.properties or {}).get("hs_note_body") or "")), None)

    def ensure_properties(self) -> list[str]:
        """Create the `handoff` group and every missing `handoff_*` contact property; returns those created."""
        self._ensure_group()
        answer = self._call("properties read", self._properties.get_all, OBJECT_TYPE)
        existing = {prop.name for prop in (answer.results or [])}
        return [spec.name for spec in HANDOFF_PROPERTIES
                if spec.name not in existing and self._create_unless_exists(
                    "property create", self._properties.create, OBJECT_TYPE, property_create(spec))]

    def _ensure_group(self) -> None:
        answer = self._call("property groups read", self._groups.get_all, OBJECT_TYPE)
        if not any(group.name == GROUP_NAME for group in (answer.results or [])):
            group = PropertyGroupCreate(name=GROUP_NAME, label=GROUP_LABEL, display_order=-1)
            self._create_unless_exists("property group create", self._groups.create, OBJECT_TYPE, group)

    def _create_unless_exists(self, action: str, request: Callable[..., Any], *args: Any) -> bool:
        """True when created; False when it already existed (another setup run got there first: 409)."""
        try:
            self._call(action, request, *args)
        except IntegrationError as error:
            if error.status == 409:
                return False
            raise
        return True

    # --- the one door to HTTP ----------------------------------------------------------------

    def _call(self, action: str, request: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        if self._before_call:
            self._before_call()
        with self._lock:
            self.calls += 1
        try:
            return request(*args, _request_timeout=self._timeout, **kwargs)
        except Exception as error:  # the SDK raises per-package ApiExceptions, urllib3 errors, ValueError
            # `from None`: the SDK's exception text carries response bodies (contact data) into tracebacks.
            raise integration_error(error, action, secret=self._token, now=time.time()) from None


# --- pure helpers ------------------------------------------------------------------------------

def chunks(items: Sequence[T], size: int = BATCH_LIMIT) -> Iterator[list[T]]:
    """Consecutive slices of at most `size` items."""
    for start in range(0, len(items), size):
        yield list(items[start:start + size])


def records_of(answer: Any) -> list[tuple[str, dict[str, str]]]:
    """(id, properties) of each object in a batch answer; null property values dropped."""
    records = []
    for result in getattr(answer, "results", None) or []:
        props = {name: str(value) for name, value in (result.properties or {}).items() if value is not None}
        records.append((str(result.id), props))
    return records


def match_requested(wanted: Sequence[str],
                    records: Sequence[tuple[str, dict[str, str]]]) -> dict[str, tuple[str, dict[str, str]]]:
    """Each requested id that a record answers for: its own id, or an id merged into it."""
    by_alias: dict[str, tuple[str, dict[str, str]]] = {}
    for record_id, props in records:
        for alias in [record_id, *merged_ids(props)]:
            by_alias.setdefault(alias, (record_id, props))
    return {asked: by_alias[asked] for asked in wanted if asked in by_alias}


def merged_ids(props: Mapping[str, str]) -> list[str]:
    """The ids absorbed into this record (`hs_merged_object_ids` is ";"-separated)."""
    return [part.strip() for part in props.get(MERGED_IDS_PROPERTY, "").split(";") if part.strip()]


def company_ids(records: Any) -> list[str]:
    """Distinct primary company ids of the records, in a stable order."""
    return sorted({props[COMPANY_ID_PROPERTY].strip() for _, props in records
                   if props.get(COMPANY_ID_PROPERTY, "").strip()})


def to_contact(record: tuple[str, dict[str, str]], companies: Mapping[str, Company]) -> Contact:
    record_id, props = record
    return Contact(id=record_id, properties=props,
                   company=companies.get(props.get(COMPANY_ID_PROPERTY, "").strip()))


def refused_ids(requested: Sequence[str], answer: Any) -> set[str]:
    """Ids of a batch write that HubSpot did not apply: those its errors name, else those it did not return."""
    errors = getattr(answer, "errors", None) or []
    if not errors:
        return set()
    named = {str(value) for error in errors for value in _context_ids(error)}
    if named:
        return named & set(requested)
    return set(requested) - {record_id for record_id, _ in records_of(answer)}


def _context_ids(error: Any) -> list[Any]:
    context = getattr(error, "context", None) or {}
    ids = context.get("ids") if isinstance(context, dict) else None
    return ids if isinstance(ids, list) else []


def error_categories(answer: Any) -> set[str]:
    return {str(getattr(error, "category", None) or "?") for error in (getattr(answer, "errors", None) or [])}


def property_create(spec: PropertySpec) -> PropertyCreate:
    """The properties-API body for one of Handoff's property definitions."""
    options = [OptionInput(label=label, value=value, display_order=order, hidden=False)
               for order, (label, value) in enumerate(spec.options)]
    return PropertyCreate(name=spec.name, label=spec.label, type=spec.type, field_type=spec.field_type,
                          group_name=GROUP_NAME, description=spec.description, options=options or None)


def integration_error(error: Exception, action: str, *, secret: str, now: float) -> IntegrationError:
    """The IntegrationError for whatever the SDK raised; never carries the token."""
    status = getattr(error, "status", None)
    if isinstance(error, urllib3.exceptions.HTTPError):
        return IntegrationError(f"HubSpot {action}: no answer ({network_reason(error)})")
    if isinstance(status, int) and hasattr(error, "body"):      # ApiException, from any SDK package
        return status_error(status, error, action, secret, now)
    if isinstance(error, (ValueError, TypeError)):
        return IntegrationError(f"HubSpot {action}: answer not understood ({type(error).__name__})",
                                permanent=True)
    return IntegrationError(f"HubSpot {action} failed ({type(error).__name__})")


def network_reason(error: urllib3.exceptions.HTTPError) -> str:
    cause = getattr(error, "reason", None) or error           # MaxRetryError wraps the real failure
    # NewConnectionError subclasses ConnectTimeoutError in urllib3 2.x, so it is asked first.
    if isinstance(cause, urllib3.exceptions.NewConnectionError):
        return "connection refused or unreachable"
    if isinstance(cause, urllib3.exceptions.TimeoutError):
        return "timed out"
    if isinstance(cause, urllib3.exceptions.ProtocolError):
        return "connection dropped"
    return type(cause).__name__


def status_error(status: int, error: Any, action: str, secret: str, now: float) -> IntegrationError:
    """An error for an HTTP status HubSpot answered with."""
    if status in (401, 403):
        return IntegrationError(REFUSED_TOKEN, permanent=True, status=status)
    body = error_body(getattr(error, "body", None))
    detail = str(body.get("message") or getattr(error, "reason", "") or "").replace(secret, "[token]")[:300]
    if status == 429:
        policy = body.get("policyName") or "rate limit"
        retry_after = parse_retry_after(header(error, "Retry-After"), now)
        return IntegrationError(f"HubSpot {action}: rate limited ({policy})", retry_after=retry_after,
                                status=status)
    transient = status >= 500 or status in TRANSIENT_STATUSES
    category = f"{body['category']}: " if body.get("category") else ""
    return IntegrationError(f"HubSpot {action}: HTTP {status} {category}{detail}".rstrip(),
                            permanent=not transient, status=status)


def error_body(raw: Any) -> dict:
    """HubSpot's JSON error body as a dict ({} when it is not one)."""
    if isinstance(raw, bytes):
        raw = raw.decode("utf-8", "replace")
    try:
        parsed = json.loads(raw) if isinstance(raw, str) else None
    except ValueError:
        return {}
    return parsed if isinstance(parsed, dict) else {}


def header(error: Any, name: str) -> str | None:
    headers = getattr(error, "headers", None)
    return headers.get(name) if headers is not None else None


def parse_retry_after(value: str | None, now: float) -> float | None:
    """Seconds to wait from a Retry-After header (delta-seconds or an HTTP date); None if absent or unreadable."""
    if not value:
        return None
    text = value.strip()
    if _SECONDS.fullmatch(text):
        return float(text)
    try:
        return max(0.0, parsedate_to_datetime(text).timestamp() - now)
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
