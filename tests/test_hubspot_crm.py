"""HubSpotCrm (the real hubspot-api-client) over real HTTP against FakeHubSpot on loopback."""
import socket
from datetime import datetime, timedelta, timezone

import pytest

from integrations.errors import IntegrationError
from integrations.hubspot.crm import REFUSED_TOKEN, HubSpotCrm, integration_error, parse_retry_after
from integrations.hubspot.properties import GROUP_NAME, HANDOFF_PROPERTIES
from tests.fakes.fake_hubspot import DEFAULT_TOKEN, FakeHubSpot

READ = "/crm/v3/objects/contacts/batch/read"
UPDATE = "/crm/v3/objects/contacts/batch/update"
COMPANIES = "/crm/v3/objects/companies/batch/read"


@pytest.fixture
def crm(fake_hubspot):
    return HubSpotCrm(DEFAULT_TOKEN, base_url=fake_hubspot.base_url, timeout=(2.0, 5.0))


def ids(n: int, start: int = 1) -> list[str]:
    return [str(i) for i in range(start, start + n)]


def inputs_sent(fake_hubspot: FakeHubSpot, path: str) -> list[list[str]]:
    return [[item["id"] for item in call.json["inputs"]] for call in fake_hubspot.calls if call.path == path]


def failure(crm_call) -> IntegrationError:
    with pytest.raises(IntegrationError) as caught:
        crm_call()
    return caught.value


# --- reads ---------------------------------------------------------------------------------

def test_read_batches_contacts_by_100_and_companies_in_one_call(fake_hubspot, crm):
    fake_hubspot.add_company("900", name="Acme", numberofemployees="250")
    fake_hubspot.add_company("901", name="Globex")
    for contact_id in ids(250):
        fake_hubspot.add_contact(contact_id, email=f"{contact_id}@example.com",
                                 associatedcompanyid="900" if int(contact_id) % 2 else "901")
    read = crm.read_contacts(ids(250), ["email"], ["name", "numberofemployees"])
    assert [len(batch) for batch in inputs_sent(fake_hubspot, READ)] == [100, 100, 50]
    assert inputs_sent(fake_hubspot, COMPANIES) == [["900", "901"]]
    assert (crm.calls, len(fake_hubspot.calls)) == (4, 4)
    assert read.missing == set()
    assert read.contacts["7"].company.properties["name"] == "Acme"
    assert read.contacts["8"].get("company.name") == "Globex"
    assert read.contacts["7"].get("email") == "7@example.com"


def test_read_always_asks_for_the_company_link_and_sends_archived_false(fake_hubspot, crm):
    fake_hubspot.add_contact("1", email="a@example.com")
    crm.read_contacts(["1"], ["email", "jobtitle"], [])
    [call] = fake_hubspot.calls
    assert call.query["archived"].lower() == "false"
    assert {"email", "jobtitle", "associatedcompanyid"} <= set(call.json["properties"])


def test_read_dedupes_requested_ids(fake_hubspot, crm):
    fake_hubspot.add_contact("1")
    fake_hubspot.add_contact("2")
    read = crm.read_contacts(["1", "2", "1", "2"], [], [])
    assert inputs_sent(fake_hubspot, READ) == [["1", "2"]]
    assert set(read.contacts) == {"1", "2"}


def test_read_companies_are_read_once_for_200_contacts_sharing_one(fake_hubspot, crm):
    fake_hubspot.add_company("900", name="Acme")
    for contact_id in ids(200):
        fake_hubspot.add_contact(contact_id, associatedcompanyid="900")
    read = crm.read_contacts(ids(200), [], ["name"])
    assert fake_hubspot.count(COMPANIES) == 1
    assert {contact.company.id for contact in read.contacts.values()} == {"900"}


def test_read_with_no_company_properties_makes_no_company_call(fake_hubspot, crm):
    fake_hubspot.add_company("900", name="Acme")
    fake_hubspot.add_contact("1", associatedcompanyid="900")
    read = crm.read_contacts(["1"], [], [])
    assert fake_hubspot.count(COMPANIES) == 0
    assert read.contacts["1"].company is None


def test_contact_whose_company_is_gone_has_no_company(fake_hubspot, crm):
    fake_hubspot.add_contact("1", associatedcompanyid="404404")
    read = crm.read_contacts(["1"], [], ["name"])
    assert read.contacts["1"].company is None
    assert read.missing == set()


def test_missing_ids_from_a_207_answer(fake_hubspot, crm):
    fake_hubspot.add_contact("1")
    fake_hubspot.add_contact("3")
    read = crm.read_contacts(["1", "2", "3", "4"], [], [])
    assert set(read.contacts) == {"1", "3"}
    assert read.missing == {"2", "4"}


def test_deleted_contact_reads_as_missing(fake_hubspot, crm):
    fake_hubspot.add_contact("1")
    fake_hubspot.delete_contact("1")
    assert crm.read_contacts(["1"], [], []).missing == {"1"}


def test_merged_id_reads_as_missing_when_hubspot_answers_404(fake_hubspot, crm):
    fake_hubspot.add_contact("10", email="keep@example.com")
    fake_hubspot.add_contact("11", email="gone@example.com", jobtitle="VP Sales")
    fake_hubspot.merge_contacts("10", "11")
    read = crm.read_contacts(["11"], ["email"], [])
    assert (read.contacts, read.missing) == ({}, {"11"})


def test_merged_id_maps_to_the_survivor_when_hubspot_redirects(fake_hubspot, crm):
    fake_hubspot.add_contact("10", email="keep@example.com")
    fake_hubspot.add_contact("11", email="gone@example.com", jobtitle="VP Sales")
    fake_hubspot.merge_contacts("10", "11")
    fake_hubspot.merged_read_mode = "redirect"
    read = crm.read_contacts(["11", "10"], ["email", "jobtitle"], [])
    assert read.missing == set()
    assert read.contacts["11"].id == "10"
    assert read.contacts["10"].id == "10"
    assert read.contacts["11"].get("jobtitle") == "VP Sales"
    assert read.contacts["11"].get("email") == "keep@example.com"


def test_read_of_nothing_makes_no_call(fake_hubspot, crm):
    assert crm.read_contacts([], ["email"], ["name"]).contacts == {}
    assert fake_hubspot.calls == []


def test_answer_without_results_is_not_read_as_every_contact_gone(fake_hubspot, crm):
    fake_hubspot.add_contact("1")
    fake_hubspot.fail_next(READ, 200, body={"status": "COMPLETE"})
    error = failure(lambda: crm.read_contacts(["1"], [], []))
    assert error.permanent and "answer not understood" in error.message


# --- writes --------------------------------------------------------------------------------

def test_update_batches_by_100_and_applies(fake_hubspot, crm):
    for contact_id in ids(250):
        fake_hubspot.add_contact(contact_id)
    refused = crm.update_contacts({contact_id: {"handoff_score": "120"} for contact_id in ids(250)})
    assert refused == set()
    assert [len(batch) for batch in inputs_sent(fake_hubspot, UPDATE)] == [100, 100, 50]
    assert len(fake_hubspot.updates) == 250
    assert fake_hubspot.contacts["250"]["handoff_score"] == "120"


def test_update_207_returns_missing_ids_and_applies_the_rest(fake_hubspot, crm):
    fake_hubspot.add_contact("1")
    fake_hubspot.add_contact("3")
    refused = crm.update_contacts({"1": {"hs_lead_status": "NEW"}, "2": {"hs_lead_status": "NEW"},
                                   "3": {"hs_lead_status": "OPEN"}})
    assert refused == {"2"}
    assert fake_hubspot.updates == [("1", {"hs_lead_status": "NEW"}), ("3", {"hs_lead_status": "OPEN"})]


def test_update_of_a_merged_away_id_is_refused_not_raised(fake_hubspot, crm):
    fake_hubspot.add_contact("10")
    fake_hubspot.add_contact("11")
    fake_hubspot.merge_contacts("10", "11")
    assert crm.update_contacts({"11": {"handoff_score": "5"}}) == {"11"}


def test_update_207_without_ids_in_errors_refuses_the_ids_not_returned(fake_hubspot, crm):
    fake_hubspot.add_contact("1")
    fake_hubspot.fail_next(UPDATE, 207, body={
        "status": "COMPLETE", "startedAt": "2026-01-01T00:00:00.000Z", "completedAt": "2026-01-01T00:00:00.100Z",
        "results": [{"id": "1", "properties": {}, "createdAt": "2026-01-01T00:00:00.000Z",
                     "updatedAt": "2026-01-01T00:00:00.000Z", "archived": False}],
        "numErrors": 1,
        "errors": [{"status": "error", "category": "VALIDATION_ERROR", "message": "Property values were not valid",
                    "context": {"objectWriteTraceId": ["549b1c2a9351"]}}]})
    assert crm.update_contacts({"1": {"x": "1"}, "2": {"x": "1"}}) == {"2"}


def test_update_of_nothing_makes_no_call(fake_hubspot, crm):
    assert crm.update_contacts({}) == set()
    assert fake_hubspot.calls == []


# --- owners, portal, properties ------------------------------------------------------------

def test_get_owner(fake_hubspot, crm):
    fake_hubspot.add_owner("41629779", "rep@example.com", "Dana", "Reyes")
    owner = crm.get_owner("41629779")
    assert (owner.id, owner.email, owner.first_name, owner.last_name) == \
        ("41629779", "rep@example.com", "Dana", "Reyes")
    assert fake_hubspot.calls[-1].path == "/crm/v3/owners/41629779"
    assert fake_hubspot.calls[-1].query["idProperty"] == "id"


def test_unknown_owner_is_none(crm):
    assert crm.get_owner("123") is None


def test_get_portal_id(fake_hubspot, crm):
    fake_hubspot.portal_id = "4431227"
    assert crm.get_portal_id() == "4431227"
    assert fake_hubspot.calls[-1].path == "/account-info/v3/details"


def test_portal_id_absent_from_the_answer_is_a_permanent_error(fake_hubspot, crm):
    fake_hubspot.fail_next("/account-info", 200, body={"timeZone": "US/Eastern"})
    assert failure(crm.get_portal_id).permanent


def test_ensure_properties_twice_creates_once(fake_hubspot, crm):
    names = [spec.name for spec in HANDOFF_PROPERTIES]
    assert crm.ensure_properties() == names
    assert crm.ensure_properties() == []
    assert GROUP_NAME in fake_hubspot.property_groups
    assert {fake_hubspot.properties[name]["groupName"] for name in names} == {GROUP_NAME}
    assert fake_hubspot.properties["handoff_high_intent"]["type"] == "bool"
    assert [o["value"] for o in fake_hubspot.properties["handoff_high_intent"]["options"]] == ["true", "false"]
    assert sum(call.method == "POST" for call in fake_hubspot.calls) == len(names) + 1


def test_ensure_properties_tolerates_a_concurrent_setup(fake_hubspot, crm):
    fake_hubspot.property_groups[GROUP_NAME] = {"name": GROUP_NAME, "label": "Handoff", "displayOrder": -1,
                                                "archived": False}
    fake_hubspot.fail_next("/crm/v3/properties/contacts", 409, method="POST")
    created = crm.ensure_properties()
    assert created == [spec.name for spec in HANDOFF_PROPERTIES][1:]


# --- failures ------------------------------------------------------------------------------

@pytest.mark.parametrize("retry_after, expected", [("7", 7.0), (None, None), ("0", 0.0)])
def test_429_is_transient_with_retry_after(fake_hubspot, crm, retry_after, expected):
    fake_hubspot.fail_next(READ, 429, retry_after=retry_after)
    error = failure(lambda: crm.read_contacts(["1"], [], []))
    assert (error.permanent, error.status, error.retry_after) == (False, 429, expected)
    assert "TEN_SECONDLY_ROLLING" in error.message
    assert fake_hubspot.count(READ) == 1          # urllib3 did not retry the POST behind our back


def test_rate_limit_of_the_fake_surfaces_as_429(fake_hubspot, crm):
    fake_hubspot.rate_limit_per_10s = 2
    fake_hubspot.add_contact("1")
    crm.read_contacts(["1"], [], [])
    crm.read_contacts(["1"], [], [])
    error = failure(lambda: crm.read_contacts(["1"], [], []))
    assert (error.status, error.retry_after, error.permanent) == (429, None, False)


@pytest.mark.parametrize("status", [500, 502, 503, 504, 423, 477])
def test_server_errors_are_transient_and_not_retried_by_urllib3(fake_hubspot, crm, status):
    fake_hubspot.fail_next("/crm/v3/owners/", status)
    error = failure(lambda: crm.get_owner("1"))
    assert (error.permanent, error.status) == (False, status)
    assert fake_hubspot.count("/crm/v3/owners/") == 1


@pytest.mark.parametrize("status", [401, 403])
def test_refused_token_is_permanent_and_names_the_setting(fake_hubspot, status):
    crm = HubSpotCrm("pat-na1-secret-token", base_url=fake_hubspot.base_url)
    fake_hubspot.fail_next(UPDATE, status, body={"status": "error", "message": "token pat-na1-secret-token is bad"})
    error = failure(lambda: crm.update_contacts({"1": {"x": "1"}}))
    assert (error.permanent, error.status, error.message) == (True, status, REFUSED_TOKEN)


def test_wrong_token_is_refused():
    with FakeHubSpot(token="pat-na1-right") as fake_hubspot:
        error = failure(HubSpotCrm("pat-na1-wrong", base_url=fake_hubspot.base_url).get_portal_id)
    assert (error.permanent, error.status) == (True, 401)
    assert "pat-na1-wrong" not in repr(error)


def test_other_4xx_is_permanent_with_hubspots_message_and_never_the_token(fake_hubspot):
    crm = HubSpotCrm("pat-na1-secret-token", base_url=fake_hubspot.base_url)
    fake_hubspot.fail_next(READ, 400, body={"status": "error", "category": "VALIDATION_ERROR",
                                            "message": "Bad input near pat-na1-secret-token"})
    error = failure(lambda: crm.read_contacts(["1"], [], []))
    assert (error.permanent, error.status) == (True, 400)
    assert "VALIDATION_ERROR: Bad input near" in error.message
    assert "pat-na1-secret-token" not in error.message


def test_slow_answer_beyond_the_read_timeout_is_transient(fake_hubspot):
    fake_hubspot.latency = 0.5
    crm = HubSpotCrm(DEFAULT_TOKEN, base_url=fake_hubspot.base_url, timeout=(1.0, 0.1))
    error = failure(lambda: crm.read_contacts(["1"], [], []))
    assert (error.permanent, error.status) == (False, None)
    assert "timed out" in error.message


def test_connection_refused_is_transient():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    crm = HubSpotCrm(DEFAULT_TOKEN, base_url=f"http://127.0.0.1:{port}", timeout=(1.0, 1.0))
    error = failure(lambda: crm.get_owner("1"))
    assert error.permanent is False
    assert "connection refused" in error.message


# --- before_call and the call count --------------------------------------------------------

def test_before_call_runs_before_every_request(fake_hubspot):
    seen = []
    crm = HubSpotCrm(DEFAULT_TOKEN, base_url=fake_hubspot.base_url,
                     before_call=lambda: seen.append(len(fake_hubspot.calls)))
    fake_hubspot.add_company("900", name="Acme")
    for contact_id in ids(150):
        fake_hubspot.add_contact(contact_id, associatedcompanyid="900")
    crm.read_contacts(ids(150), [], ["name"])
    crm.ensure_properties()
    assert seen == list(range(len(fake_hubspot.calls)))
    assert crm.calls == len(fake_hubspot.calls)


def test_before_call_can_stop_the_request(fake_hubspot):
    def refuse() -> None:
        raise IntegrationError("budget spent", retry_after=3.0)

    crm = HubSpotCrm(DEFAULT_TOKEN, base_url=fake_hubspot.base_url, before_call=refuse)
    assert failure(lambda: crm.get_owner("1")).message == "budget spent"
    assert (fake_hubspot.calls, crm.calls) == ([], 0)


# --- pure pieces ---------------------------------------------------------------------------

NOW = 1_767_225_600.0          # 2026-01-01T00:00:00Z


@pytest.mark.parametrize("value, seconds", [
    ("7", 7.0), (" 10 ", 10.0), ("1.5", 1.5), ("0", 0.0), (None, None), ("", None),
    ("soon", None), ("-3", None), ("inf", None), ("nan", None), ("1e9", None),
    ("Thu, 01 Jan 2026 00:00:30 GMT", 30.0), ("Wed, 31 Dec 2025 23:59:00 GMT", 0.0),
])
def test_parse_retry_after(value, seconds):
    assert parse_retry_after(value, NOW) == seconds


@pytest.mark.parametrize("raised, permanent", [
    (ValueError("Invalid value for `id`, must not be `None`"), True),
    (TypeError("unexpected keyword"), True),
    (RuntimeError("something else"), False),
])
def test_integration_error_for_non_http_failures(raised, permanent):
    error = integration_error(raised, "owner read", secret="tok", now=NOW)
    assert isinstance(error, IntegrationError)
    assert error.permanent is permanent
    assert "owner read" in error.message


# --- the contact's engagements and web-analytics events ---------------------------------------

ASSOCIATIONS = "/crm/v4/associations/contacts/"
EVENTS = "/events/v3/events"


def test_engagements_are_read_with_one_association_read_and_one_batch_read_per_kind(fake_hubspot, crm):
    fake_hubspot.add_contact("1")
    fake_hubspot.add_contact("2")
    fake_hubspot.add_engagement("calls", "501", "1", hs_timestamp="2026-11-18T15:10:00Z", hubspot_owner_id="201",
                                hs_call_direction="OUTBOUND", hs_call_body="private words")
    fake_hubspot.add_engagement("emails", "601", "1", hs_timestamp="2026-11-18T15:20:00Z", hubspot_owner_id="201",
                                hs_email_direction="EMAIL")
    fake_hubspot.add_engagement("meetings", "701", "2", hs_timestamp="2026-11-18T16:00:00Z", hubspot_owner_id="202",
                                hs_meeting_outcome="SCHEDULED")
    found = crm.read_engagements(["1", "2", "3"])
    assert {contact: [(e.kind, e.id) for e in engagements] for contact, engagements in found.items()} == {
        "1": [("calls", "501"), ("emails", "601")], "2": [("meetings", "701")], "3": []}
    assert found["1"][0].properties["hs_call_direction"] == "OUTBOUND"
    assert "hs_call_body" not in found["1"][0].properties      # only what counting a touch needs is read
    assert [call.path for call in fake_hubspot.calls] == [
        "/crm/v4/associations/contacts/calls/batch/read", "/crm/v3/objects/calls/batch/read",
        "/crm/v4/associations/contacts/emails/batch/read", "/crm/v3/objects/emails/batch/read",
        "/crm/v4/associations/contacts/meetings/batch/read", "/crm/v3/objects/meetings/batch/read"]


def test_association_paging_is_followed_per_contact(fake_hubspot, crm):
    fake_hubspot.add_contact("1")
    fake_hubspot.association_page_size = 2
    for n in range(5):
        fake_hubspot.add_engagement("calls", str(500 + n), "1", hs_timestamp="2026-11-18T15:10:00Z")
    found = crm.read_engagements(["1"])
    assert [e.id for e in found["1"]] == ["500", "501", "502", "503", "504"]
    pages = [call.json["inputs"] for call in fake_hubspot.calls if call.path.endswith("contacts/calls/batch/read")]
    assert pages == [[{"id": "1"}], [{"id": "1", "after": "2"}], [{"id": "1", "after": "4"}]]


@pytest.mark.parametrize("status, retry_after, transient", [(429, "3", True), (503, None, True), (403, None, False)])
def test_engagement_reads_fail_as_integration_errors(fake_hubspot, crm, status, retry_after, transient):
    fake_hubspot.add_contact("1")
    fake_hubspot.fail_next(ASSOCIATIONS, status, retry_after=retry_after)
    error = failure(lambda: crm.read_engagements(["1"]))
    assert (error.status, error.permanent) == (status, not transient)
    assert error.retry_after == (3.0 if retry_after else None)


def test_a_missing_scope_is_a_403_with_hubspots_category(fake_hubspot, crm):
    fake_hubspot.add_contact("1")
    fake_hubspot.refuse_scope("/events/", "behavioral_events.event_definitions.read_write")
    error = failure(lambda: crm.read_analytics_events("1", datetime(2026, 11, 1, tzinfo=timezone.utc), None))
    assert error.status == 403
    assert fake_hubspot.count(EVENTS) == 1


def test_web_events_are_read_oldest_first_after_a_time_with_paging(fake_hubspot, crm):
    start = datetime(2026, 11, 18, 9, 0, tzinfo=timezone.utc)
    for minute in range(5):
        fake_hubspot.add_web_event("1", "e_visited_page", start + timedelta(minutes=minute), event_id=f"ev{minute}",
                                   hs_url=f"https://acme.example/pricing?{minute}", hs_title="Pricing")
    fake_hubspot.add_web_event("1", "pe62515_demo_video_played", start + timedelta(minutes=9), event_id="video")
    fake_hubspot.add_web_event("2", "e_visited_page", start, event_id="other-contact")
    page = crm.read_analytics_events("1", start + timedelta(seconds=30), "e_visited_page")
    assert [event.id for event in page.events] == ["ev1", "ev2", "ev3", "ev4"]
    assert page.events[0].properties["hs_url"] == "https://acme.example/pricing?1"
    assert page.events[0].occurred_at == start + timedelta(minutes=1)
    assert page.next_after is None
    [call] = fake_hubspot.calls
    assert (call.query["objectType"], call.query["objectId"], call.query["sort"]) == ("contact", "1", "ASCENDING")
    fake_hubspot.add_web_event("1", "e_visited_page", start + timedelta(hours=1), event_id="late")
    first = crm.read_analytics_events("1", start - timedelta(days=1), None)
    assert len(first.events) == 7 and first.next_after is None
    for n in range(120):
        fake_hubspot.add_web_event("3", "e_visited_page", start + timedelta(seconds=n))
    full = crm.read_analytics_events("3", start - timedelta(days=1), None)
    rest = crm.read_analytics_events("3", start - timedelta(days=1), None, after=full.next_after)
    assert (len(full.events), full.next_after, len(rest.events), rest.next_after) == (100, "100", 20, None)
