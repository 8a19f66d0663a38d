"""FakeHubSpot answers in HubSpot's shapes and rules, over raw HTTP; the webhook helpers sign like HubSpot."""
import json
import threading

import hubspot.crm.companies as companies_package
import hubspot.crm.contacts as contacts_package
import hubspot.crm.owners as owners_package
import hubspot.crm.properties as properties_package
import pytest
import requests

from integrations.hubspot.events import parse_batch
from integrations.hubspot.signature import sign_v1, verify_v3
from tests.fakes.fake_hubspot import (
    DEFAULT_TOKEN, FakeHubSpot, contact_event, next_lifecycle_value, signed_webhook)

AUTH = {"Authorization": f"Bearer {DEFAULT_TOKEN}"}
READ = "/crm/v3/objects/contacts/batch/read"
UPDATE = "/crm/v3/objects/contacts/batch/update"


def post(fake_hubspot, path, body, headers=AUTH, **kwargs):
    return requests.post(fake_hubspot.base_url + path, json=body, headers=headers, timeout=5, **kwargs)


def get(fake_hubspot, path, headers=AUTH, **kwargs):
    return requests.get(fake_hubspot.base_url + path, headers=headers, timeout=5, **kwargs)


def read(fake_hubspot, *ids, properties=(), **query):
    return post(fake_hubspot, READ, {"inputs": [{"id": i} for i in ids], "properties": list(properties)}, params=query)


def update(fake_hubspot, updates):
    return post(fake_hubspot, UPDATE, {"inputs": [{"id": i, "properties": p} for i, p in updates.items()]})


# --- the SDK's strictest reading of our answers --------------------------------------------

class _Answer:
    def __init__(self, response):
        self.data, self.status, self._headers = response.text, response.status_code, response.headers

    def getheader(self, name, default=None):
        return self._headers.get(name, default)


def strict(package, model: str, response):
    """Deserialize as SDK 12 would with client-side validation on (it then raises on any missing field)."""
    config = package.Configuration()
    config.client_side_validation = True
    return package.ApiClient(configuration=config).deserialize(_Answer(response), model)


def test_answers_pass_the_sdks_strict_validation(fake_hubspot):
    fake_hubspot.add_contact("1", email="a@example.com")
    fake_hubspot.add_company("9", name="Acme")
    fake_hubspot.add_owner("41629779", "rep@example.com", "Dana", "Reyes")
    group = post(fake_hubspot, "/crm/v3/properties/contacts/groups", {"name": "handoff", "label": "Handoff"})
    prop = post(fake_hubspot, "/crm/v3/properties/contacts", {"name": "handoff_score", "label": "Score",
                                                              "type": "number", "fieldType": "number",
                                                              "groupName": "handoff"})
    checks = [
        (contacts_package, "BatchResponseSimplePublicObject", read(fake_hubspot, "1", properties=["email"])),
        (contacts_package, "BatchResponseSimplePublicObjectWithErrors", read(fake_hubspot, "1", "2")),
        (contacts_package, "BatchResponseSimplePublicObjectWithErrors",
         update(fake_hubspot, {"1": {"a": "1"}, "2": {}})),
        (companies_package, "BatchResponseSimplePublicObject",
         post(fake_hubspot, "/crm/v3/objects/companies/batch/read", {"inputs": [{"id": "9"}], "properties": ["name"]})),
        (owners_package, "PublicOwner", get(fake_hubspot, "/crm/v3/owners/41629779")),
        (properties_package, "PropertyGroup", group),
        (properties_package, "ModelProperty", prop),
        (properties_package, "CollectionResponsePropertyNoPaging", get(fake_hubspot, "/crm/v3/properties/contacts")),
        (properties_package, "CollectionResponsePropertyGroupNoPaging",
         get(fake_hubspot, "/crm/v3/properties/contacts/groups")),
        (contacts_package, "Error", read(fake_hubspot, *[str(i) for i in range(101)])),
    ]
    for package, model, response in checks:
        assert strict(package, model, response) is not None, model


def test_strict_validation_does_catch_a_short_answer(fake_hubspot):
    fake_hubspot.fail_next("batch/read", 200, body={"status": "COMPLETE", "results": []})
    with pytest.raises(ValueError, match="must not be `None`"):
        strict(contacts_package, "BatchResponseSimplePublicObject", read(fake_hubspot, "1"))


# --- auth, routing, bodies -----------------------------------------------------------------

@pytest.mark.parametrize("headers", [{}, {"Authorization": "Bearer "}, {"Authorization": DEFAULT_TOKEN},
                                     {"Authorization": f"Basic {DEFAULT_TOKEN}"}])
def test_bearer_token_is_required(fake_hubspot, headers):
    response = get(fake_hubspot, "/account-info/v3/details", headers=headers)
    assert response.status_code == 401
    assert response.json()["category"] == "INVALID_AUTHENTICATION"


def test_any_bearer_token_is_accepted_unless_one_is_set():
    with FakeHubSpot() as open_fake:
        assert get(open_fake, "/account-info/v3/details", headers={"Authorization": "Bearer x"}).status_code == 200
    with FakeHubSpot(token="pat-na1-right") as strict_fake:
        assert get(strict_fake, "/account-info/v3/details", headers={"Authorization": "Bearer x"}).status_code == 401
        assert get(strict_fake, "/account-info/v3/details",
                   headers={"Authorization": "Bearer pat-na1-right"}).status_code == 200


def test_unknown_path_and_wrong_method_answer_json(fake_hubspot):
    assert get(fake_hubspot, "/crm/v3/objects/deals").status_code == 404
    assert get(fake_hubspot, READ).status_code == 405
    assert get(fake_hubspot, "/crm/v3/objects/deals").json()["status"] == "error"


def test_body_that_is_not_a_json_object_is_a_400(fake_hubspot):
    response = requests.post(fake_hubspot.base_url + READ, data=b"[1,2", headers=AUTH, timeout=5)
    assert response.status_code == 400
    assert response.json()["category"] == "VALIDATION_ERROR"


def test_account_details_carry_the_portal_id(fake_hubspot):
    assert get(fake_hubspot, "/account-info/v3/details").json()["portalId"] == 62515


# --- objects -------------------------------------------------------------------------------

def test_batch_read_returns_requested_properties_with_values_only(fake_hubspot):
    fake_hubspot.add_contact("1", email="", jobtitle="VP Sales", lifecyclestage="lead")
    response = read(fake_hubspot, "1", properties=["email", "jobtitle", "missing_prop"])
    [result] = response.json()["results"]
    assert response.status_code == 200
    assert set(result) == {"id", "properties", "createdAt", "updatedAt", "archived"}
    assert set(result["properties"]) == {"jobtitle", "createdate", "lastmodifieddate", "hs_object_id"}
    assert result["archived"] is False


@pytest.mark.parametrize("count, history, status", [(100, False, 200), (101, False, 400), (50, True, 200),
                                                    (51, True, 400)])
def test_batch_read_input_limits(fake_hubspot, count, history, status):
    for i in range(count):
        fake_hubspot.add_contact(str(i))
    body = {"inputs": [{"id": str(i)} for i in range(count)], "properties": [],
            "propertiesWithHistory": ["lifecyclestage"] if history else []}
    response = post(fake_hubspot, READ, body)
    assert response.status_code == status
    if status == 400:
        assert response.json()["category"] == "VALIDATION_ERROR"


def test_missing_ids_answer_207_with_object_not_found(fake_hubspot):
    fake_hubspot.add_contact("1")
    response = read(fake_hubspot, "1", "2", "3")
    body = response.json()
    assert response.status_code == 207
    assert [r["id"] for r in body["results"]] == ["1"]
    assert body["numErrors"] == 1
    [error] = body["errors"]
    assert (error["status"], error["category"], error["context"]) == ("error", "OBJECT_NOT_FOUND",
                                                                     {"ids": ["2", "3"]})


def test_deleted_contact_is_only_read_with_archived_true(fake_hubspot):
    fake_hubspot.add_contact("1", email="a@example.com")
    fake_hubspot.delete_contact("1")
    assert read(fake_hubspot, "1", archived="false").status_code == 207
    [result] = read(fake_hubspot, "1", archived="true").json()["results"]
    assert result["archived"] is True


def test_companies_batch_read(fake_hubspot):
    fake_hubspot.add_company("9", name="Acme", domain="acme.example")
    body = post(fake_hubspot, "/crm/v3/objects/companies/batch/read", {"inputs": [{"id": "9"}, {"id": "8"}],
                                                                        "properties": ["name"]}).json()
    assert body["results"][0]["properties"]["name"] == "Acme"
    assert "domain" not in body["results"][0]["properties"]
    assert body["errors"][0]["message"].startswith("Could not get some COMPANY objects")


def test_merge_lists_absorbed_ids_and_fills_blanks_only(fake_hubspot):
    fake_hubspot.add_contact("10", email="keep@example.com", jobtitle="")
    fake_hubspot.add_contact("11", email="old@example.com", jobtitle="VP Sales")
    fake_hubspot.add_contact("12", phone="555")
    fake_hubspot.merge_contacts("11", "12")
    fake_hubspot.merge_contacts("10", "11")
    survivor = fake_hubspot.contacts["10"]
    assert (survivor["email"], survivor["jobtitle"], survivor["phone"]) == ("keep@example.com", "VP Sales", "555")
    assert survivor["hs_merged_object_ids"] == "11;12"
    assert survivor["hs_object_id"] == "10"
    assert fake_hubspot.merged_into == {"11": "10", "12": "10"}


@pytest.mark.parametrize("mode, status, answered_id", [("404", 207, None), ("redirect", 200, "10")])
def test_read_of_a_merged_id(fake_hubspot, mode, status, answered_id):
    fake_hubspot.add_contact("10")
    fake_hubspot.add_contact("11")
    fake_hubspot.merge_contacts("10", "11")
    fake_hubspot.merged_read_mode = mode
    response = read(fake_hubspot, "11")
    assert response.status_code == status
    assert [r["id"] for r in response.json()["results"]] == ([answered_id] if answered_id else [])


# --- writes --------------------------------------------------------------------------------

@pytest.mark.parametrize("current, wanted, result", [
    ("lead", "marketingqualifiedlead", "marketingqualifiedlead"),
    ("marketingqualifiedlead", "lead", None),
    ("customer", "subscriber", None),
    ("lead", "lead", "lead"),
    ("customer", "", ""),
    (None, "lead", "lead"),
    ("", "subscriber", "subscriber"),
    ("lead", "1234567", "1234567"),          # a custom stage: order unknown to the fake
    ("1234567", "lead", "lead"),
])
def test_next_lifecycle_value(current, wanted, result):
    assert next_lifecycle_value(current, wanted) == result


def test_lifecycle_stage_moves_forward_only_and_clears_with_empty_string(fake_hubspot):
    fake_hubspot.add_contact("1", lifecyclestage="salesqualifiedlead")
    assert update(fake_hubspot, {"1": {"lifecyclestage": "lead", "hs_lead_status": "NEW"}}).status_code == 200
    assert fake_hubspot.contacts["1"]["lifecyclestage"] == "salesqualifiedlead"
    update(fake_hubspot, {"1": {"lifecyclestage": ""}})
    update(fake_hubspot, {"1": {"lifecyclestage": "lead"}})
    assert fake_hubspot.contacts["1"]["lifecyclestage"] == "lead"
    assert fake_hubspot.updates == [("1", {"hs_lead_status": "NEW"}), ("1", {"lifecyclestage": ""}),
                                    ("1", {"lifecyclestage": "lead"})]


def test_update_with_missing_ids_answers_207_and_applies_the_rest(fake_hubspot):
    fake_hubspot.add_contact("1")
    response = update(fake_hubspot, {"1": {"handoff_score": "80"}, "2": {"handoff_score": "90"}})
    assert response.status_code == 207
    assert response.json()["errors"][0]["context"] == {"ids": ["2"]}
    assert response.json()["results"][0]["properties"]["handoff_score"] == "80"
    assert fake_hubspot.updates == [("1", {"handoff_score": "80"})]


def test_update_over_100_inputs_is_refused_whole(fake_hubspot):
    for i in range(101):
        fake_hubspot.add_contact(str(i))
    response = update(fake_hubspot, {str(i): {"x": "1"} for i in range(101)})
    assert response.status_code == 400
    assert fake_hubspot.updates == []


# --- owners and properties -----------------------------------------------------------------

def test_owner_by_id_and_404(fake_hubspot):
    fake_hubspot.add_owner("41629779", "rep@example.com", "Dana", "Reyes")
    owner = get(fake_hubspot, "/crm/v3/owners/41629779").json()
    assert (owner["email"], owner["firstName"], owner["type"], owner["archived"]) == \
        ("rep@example.com", "Dana", "PERSON", False)
    by_user = get(fake_hubspot, f"/crm/v3/owners/{owner['userId']}", params={"idProperty": "userId"})
    assert by_user.json()["id"] == "41629779"
    assert get(fake_hubspot, "/crm/v3/owners/1").status_code == 404


def test_property_and_group_creation_rules(fake_hubspot):
    prop = {"name": "handoff_score", "label": "Score", "type": "number", "fieldType": "number",
            "groupName": "handoff"}
    assert post(fake_hubspot, "/crm/v3/properties/contacts", prop).status_code == 400      # no such group yet
    group = {"name": "handoff", "label": "H"}
    assert post(fake_hubspot, "/crm/v3/properties/contacts/groups", group).status_code == 201
    assert post(fake_hubspot, "/crm/v3/properties/contacts/groups", group).status_code == 409
    assert post(fake_hubspot, "/crm/v3/properties/contacts", prop).status_code == 201
    duplicate = post(fake_hubspot, "/crm/v3/properties/contacts", prop)
    assert (duplicate.status_code, duplicate.json()["category"]) == (409, "OBJECT_ALREADY_EXISTS")
    assert post(fake_hubspot, "/crm/v3/properties/contacts", {**prop, "name": "x", "type": "text"}).status_code == 400
    assert post(fake_hubspot, "/crm/v3/properties/contacts", {**prop, "label": ""}).status_code == 400
    names = [p["name"] for p in get(fake_hubspot, "/crm/v3/properties/contacts").json()["results"]]
    assert "handoff_score" in names and "lifecyclestage" in names


# --- knobs: failures, rate limit, latency, call log -----------------------------------------

def test_fail_next_answers_the_given_status_then_recovers(fake_hubspot):
    fake_hubspot.add_contact("1")
    fake_hubspot.fail_next("batch/read", 503, times=2)
    statuses = [read(fake_hubspot, "1").status_code for _ in range(3)]
    assert statuses == [503, 503, 200]


def test_fail_next_429_carries_retry_after_and_hubspots_body(fake_hubspot):
    fake_hubspot.fail_next("batch/read", 429, retry_after="7")
    response = read(fake_hubspot, "1")
    assert (response.status_code, response.headers["Retry-After"]) == (429, "7")
    assert response.json()["policyName"] == "TEN_SECONDLY_ROLLING"
    assert response.json()["errorType"] == "RATE_LIMIT"


def test_fail_next_can_target_one_method_and_carry_a_body(fake_hubspot):
    fake_hubspot.fail_next("/crm/v3/properties/contacts", 409, method="POST", body={"message": "taken"})
    assert get(fake_hubspot, "/crm/v3/properties/contacts").status_code == 200
    response = post(fake_hubspot, "/crm/v3/properties/contacts/groups", {"name": "g", "label": "G"})
    assert (response.status_code, response.json()) == (409, {"message": "taken"})


def test_rolling_rate_limit_and_headers(fake_hubspot):
    fake_hubspot.rate_limit_per_10s = 3
    responses = [get(fake_hubspot, "/account-info/v3/details") for _ in range(4)]
    assert [r.status_code for r in responses] == [200, 200, 200, 429]
    assert [r.headers["X-HubSpot-RateLimit-Remaining"] for r in responses] == ["2", "1", "0", "0"]
    assert responses[0].headers["X-HubSpot-RateLimit-Max"] == "3"
    assert responses[0].headers["X-HubSpot-RateLimit-Interval-Milliseconds"] == "10000"
    assert responses[3].json()["policyName"] == "TEN_SECONDLY_ROLLING"
    assert "Retry-After" not in responses[3].headers


def test_latency_delays_every_answer(fake_hubspot):
    fake_hubspot.latency = 0.5
    with pytest.raises(requests.exceptions.ReadTimeout):
        requests.get(fake_hubspot.base_url + "/account-info/v3/details", headers=AUTH, timeout=0.05)


def test_calls_are_recorded_from_many_threads(fake_hubspot):
    fake_hubspot.add_contact("1")
    threads = [threading.Thread(target=read, args=(fake_hubspot, "1")) for _ in range(20)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    get(fake_hubspot, "/account-info/v3/details", params={"x": "1"})
    assert (fake_hubspot.count("batch/read"), len(fake_hubspot.calls)) == (20, 21)
    last = fake_hubspot.calls[-1]
    assert (last.method, last.path, last.query, last.json) == ("GET", "/account-info/v3/details", {"x": "1"}, None)
    assert fake_hubspot.calls[0].json == {"inputs": [{"id": "1"}], "properties": []}
    assert fake_hubspot.calls[0].headers["Authorization"] == f"Bearer {DEFAULT_TOKEN}"
    assert fake_hubspot.calls[0].at <= last.at


# --- playing HubSpot's webhook sender ------------------------------------------------------

def test_signed_webhook_verifies_and_parses():
    url = "https://handoff.example.com/hubspot/webhooks?src=hs%3Aapp"
    events = [contact_event("contact.creation", "501"),
              contact_event("contact.propertyChange", 501, property_name="recent_conversion_date",
                            property_value="1742077073905")]
    body, headers = signed_webhook("s3cret", url, events, timestamp_ms=1_742_077_080_000)
    assert json.loads(body) == events
    assert headers["X-HubSpot-Signature"] == sign_v1("s3cret", body)
    assert headers["X-HubSpot-Signature-Version"] == "v1"
    assert verify_v3(secret="s3cret", method="POST", uri=url, body=body,
                     timestamp=headers["X-HubSpot-Request-Timestamp"], signature=headers["X-HubSpot-Signature-v3"],
                     now_ms=1_742_077_080_000) is None
    parsed, problems = parse_batch(body)
    assert problems == []
    assert [(e.event_type, e.object_id, e.property_name) for e in parsed] == [
        ("contact.creation", "501", None), ("contact.propertyChange", "501", "recent_conversion_date")]


def test_contact_event_shape_and_overrides():
    first, second = contact_event("contact.creation", "7"), contact_event("contact.creation", "7")
    assert first["eventId"] != second["eventId"]
    assert {"eventId", "subscriptionId", "portalId", "appId", "occurredAt", "subscriptionType",
            "attemptNumber", "objectId", "changeSource"} <= set(first)
    assert (first["objectId"], first["portalId"], first["changeFlag"]) == (7, 62515, "CREATED")
    merge = contact_event("contact.merge", 10, event_id=44, attempt=2, occurred_at_ms=5, primaryObjectId=10,
                          mergedObjectIds=[11], sourceId=None)
    assert (merge["eventId"], merge["attemptNumber"], merge["occurredAt"]) == (44, 2, 5)
    assert (merge["primaryObjectId"], merge["mergedObjectIds"]) == (10, [11])
    assert "sourceId" not in merge and "propertyName" not in merge


# --- engagements, associations v4, web-analytics events ----------------------------------------

def test_association_batch_read_answers_207_for_contacts_without_any(fake_hubspot):
    fake_hubspot.add_engagement("calls", "501", "1", hs_timestamp="2026-11-18T15:10:00Z")
    answer = post(fake_hubspot, "/crm/v4/associations/contacts/calls/batch/read",
                  {"inputs": [{"id": "1"}, {"id": "2"}]})
    body = answer.json()
    assert answer.status_code == 207
    assert body["results"] == [{"from": {"id": "1"}, "to": [{"toObjectId": 501, "associationTypes": [
        {"category": "HUBSPOT_DEFINED", "typeId": 193, "label": None}]}]}]
    assert body["numErrors"] == 1 and body["errors"][0]["context"] == {"fromObjectId": ["2"]}
    assert {"status", "startedAt", "completedAt"} <= body.keys()


def test_engagement_batch_read_returns_hubspots_default_properties(fake_hubspot):
    fake_hubspot.add_engagement("meetings", "701", "1", hs_timestamp="2026-11-18T16:00:00Z",
                                hs_meeting_outcome="COMPLETED")
    body = post(fake_hubspot, "/crm/v3/objects/meetings/batch/read",
                {"inputs": [{"id": "701"}], "properties": ["hs_meeting_outcome"]}).json()
    [meeting] = body["results"]
    assert set(meeting["properties"]) == {"hs_meeting_outcome", "hs_createdate", "hs_lastmodifieddate",
                                          "hs_object_id"}
    assert {"id", "createdAt", "updatedAt", "archived"} <= meeting.keys()


def test_web_events_page_in_hubspots_shape_with_a_next_link(fake_hubspot):
    from datetime import datetime, timezone
    for second in range(3):
        fake_hubspot.add_web_event("1", "e_visited_page", datetime(2026, 11, 18, 9, 0, second, tzinfo=timezone.utc),
                                   hs_url="https://acme.example/")
    body = get(fake_hubspot, "/events/v3/events/", params={"objectType": "contact", "objectId": "1",
                                                           "limit": "2", "sort": "ASCENDING"}).json()
    assert [set(event) for event in body["results"]] == [
        {"objectType", "objectId", "eventType", "occurredAt", "id", "properties"}] * 2
    assert body["paging"]["next"]["after"] == "2" and "after=2" in body["paging"]["next"]["link"]
    assert get(fake_hubspot, "/events/v3/events", params={"objectId": "1"}).status_code == 400


def test_a_refused_scope_answers_403_missing_scopes_until_allowed(fake_hubspot):
    fake_hubspot.refuse_scope("/crm/v4/associations", "crm.objects.contacts.read")
    answer = post(fake_hubspot, "/crm/v4/associations/contacts/calls/batch/read", {"inputs": [{"id": "1"}]})
    assert answer.status_code == 403
    assert answer.json()["category"] == "MISSING_SCOPES"
    assert answer.json()["errors"][0]["context"] == {"requiredGranularScopes": ["crm.objects.contacts.read"]}
    fake_hubspot.refused_scopes.clear()
    assert post(fake_hubspot, "/crm/v4/associations/contacts/calls/batch/read",
                {"inputs": [{"id": "1"}]}).status_code == 207
