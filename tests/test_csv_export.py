"""bot.csv_export: HubSpot's export labels, dates as exported, every kind of bad input, the activity feed."""
import csv
import io
import random
from datetime import datetime, timezone
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from bot.csv_export import (CHUNK_CHARS, Block, CONTACT_LABELS, ActivityFeed, ActivityFile, ContactExport, ContactRow,
                            CsvFile, ExportError, NotSorted, SkipLog, Skipped, contact_order, parse_export_time,
                            property_for_header, time_checker)
from bot.models import Activity, parse_hubspot_time
from bot.rules import load_config
from bot.scoring import company_properties_to_read, contact_properties_to_read

REPO = Path(__file__).resolve().parent.parent
NEW_YORK = ZoneInfo("America/New_York")
UTC = timezone.utc


def write(path: Path, text: str, encoding: str = "utf-8") -> Path:
    path.write_bytes(text.encode(encoding) if isinstance(text, str) else text)
    return path


def rows_of(path: Path, **options) -> list:
    export = ContactExport(path, **options)
    try:
        return list(export)
    finally:
        export.close()


# --- labels ----------------------------------------------------------------------------------------

LABEL_CASES = [
    ("Record ID", "hs_object_id"),
    ("Contact ID", "hs_object_id"),
    ("First Name", "firstname"),
    ("  job   title ", "jobtitle"),                       # case and spacing do not matter
    ("Number of Employees", "numemployees"),
    ("Company size", "company_size"),
    ("Lifecycle Stage", "lifecyclestage"),
    ("Lead Status", "hs_lead_status"),
    ("Recent Conversion", "recent_conversion_event_name"),
    ("Recent Conversion Date", "recent_conversion_date"),
    ("Number of Pageviews", "hs_analytics_num_page_views"),
    ("Time of Last Session", "hs_analytics_last_visit_timestamp"),
    ("Last marketing email open date", "hs_email_last_open_date"),
    ("LAST MARKETING EMAIL CLICK DATE", "hs_email_last_click_date"),
    ("Date of last meeting booked in meetings tool", "engagements_last_meeting_booked"),
    ("Associated Company", "company.name"),
    ("jobtitle", "jobtitle"),                             # internal names are read as they are
    ("handoff_score", "handoff_score"),
    ("company.numberofemployees", "company.numberofemployees"),
    ("Sales Outcome", None),                              # a custom label nobody mapped
    ("Job-Title", None),
    ("", None),
]


@pytest.mark.parametrize("header, expected", LABEL_CASES)
def test_export_labels_map_to_internal_names(header, expected):
    assert property_for_header(header) == expected


def test_every_contact_property_the_scorer_reads_has_an_export_label():
    rules = load_config(REPO / "config").scoring
    assert set(contact_properties_to_read(rules)) <= set(CONTACT_LABELS.values())
    assert "company.name" in CONTACT_LABELS.values() and "name" in company_properties_to_read(rules)


# --- dates -----------------------------------------------------------------------------------------

TIME_CASES = [
    ("2026-11-20 14:03", UTC, datetime(2026, 11, 20, 14, 3, tzinfo=UTC)),
    ("2026-11-20 14:03", NEW_YORK, datetime(2026, 11, 20, 19, 3, tzinfo=UTC)),
    (" 2026-11-20 14:03 ", UTC, datetime(2026, 11, 20, 14, 3, tzinfo=UTC)),
    ("2026-11-20", UTC, datetime(2026, 11, 20, tzinfo=UTC)),
    ("2026-11-20T14:03:05.250Z", NEW_YORK, datetime(2026, 11, 20, 14, 3, 5, 250000, tzinfo=UTC)),
    ("2026-11-20T14:03:00+01:00", UTC, datetime(2026, 11, 20, 13, 3, tzinfo=UTC)),
    ("1779285780000", UTC, datetime(2026, 5, 20, 14, 3, tzinfo=UTC)),
]


@pytest.mark.parametrize("text, zone, expected", TIME_CASES)
def test_dates_are_read_as_exported(text, zone, expected):
    assert parse_export_time(text, zone) == expected


@pytest.mark.parametrize("text, zone, expected", TIME_CASES)
def test_a_checked_date_reads_the_same_to_the_scorer(text, zone, expected):
    assert parse_hubspot_time(time_checker(zone)(text)) == expected


@pytest.mark.parametrize("text", ["20/11/2026", "11/20/2026 2:03 PM", "yesterday", "2026-13-01", "",
                                  "99999999999999999999", "2026-11-20 25:00"])
def test_a_bad_date_is_refused_naming_the_value(text):
    with pytest.raises(ValueError, match="cannot read .* as a date"):
        parse_export_time(text)
    with pytest.raises(ValueError, match="as a date"):
        time_checker(UTC)(text)


def test_a_valid_date_stays_as_exported_in_utc():
    assert time_checker(UTC)("2026-11-20 14:03") == "2026-11-20 14:03"
    assert time_checker(NEW_YORK)("2026-11-20 14:03") == "2026-11-20T14:03:00-05:00"


# --- reading an export -----------------------------------------------------------------------------

EXPORT = (
    "Record ID,First Name,Job Title,Number of Employees,Lifecycle Stage,Lead Status,Recent Conversion,"
    "Recent Conversion Date,Associated Company,company.industry,Sales Outcome,Favourite Colour,jobtitle\n"
    "101,Ana,VP Sales,100-500,Sales Qualified Lead,Unqualified,Demo request,2026-11-20 14:03,Acme,"
    "Computer Software,SQL,blue,ignored twice\n"
    "102,,,,,,,,,,,,\n"
)


def test_an_export_reads_as_contacts_with_values_as_the_api_gives_them(tmp_path):
    export = ContactExport(write(tmp_path / "contacts.csv", EXPORT), outcome="sales outcome")
    first, second = list(export)
    export.close()
    assert first == ContactRow(2, first.contact, "SQL")
    assert dict(first.contact.properties) == {
        "firstname": "Ana", "jobtitle": "VP Sales", "numemployees": "100-500",
        "lifecyclestage": "salesqualifiedlead", "hs_lead_status": "UNQUALIFIED",
        "recent_conversion_event_name": "Demo request", "recent_conversion_date": "2026-11-20 14:03"}
    assert dict(first.contact.company.properties) == {"name": "Acme", "industry": "COMPUTER_SOFTWARE"}
    assert (second.contact.id, dict(second.contact.properties), second.contact.company, second.outcome) == \
        ("102", {}, None, None)
    assert export.ignored == ["Sales Outcome", "Favourite Colour", "jobtitle"]
    assert {"jobtitle", "company.industry", "company.name"} <= export.properties


def test_a_byte_order_mark_and_trailing_empty_fields_are_fine(tmp_path):
    path = write(tmp_path / "c.csv", "\ufeffRecord ID,Job Title\n7,CEO,,\n\n8,CTO\n")
    assert [(row.row, row.contact.id) for row in rows_of(path)] == [(2, "7"), (4, "8")]


# --- bad input -------------------------------------------------------------------------------------

BAD_ROWS = [
    # (data rows after a "Record ID,Job Title,Recent Conversion Date" header, the skip, rows still read)
    ("1,VP,20/11/2026\n2,CEO,2026-11-20 14:03\n",
     Skipped(2, "Recent Conversion Date", "cannot read '20/11/2026' as a date (expected a date like "
                                          "2026-11-20 14:03 or ISO-8601)"), ["2"]),
    ("1,VP,2026-11-20,extra\n2,CEO,\n",
     Skipped(2, None, "4 fields where the header has 3: a stray ',' or quote?"), ["2"]),
    ("1,VP\n2,CEO,\n", Skipped(2, None, "2 fields where the header has 3: a stray ',' or quote?"), ["2"]),
    (" ,VP,\n2,CEO,\n", Skipped(2, "Record ID", "no contact id"), ["2"]),
]


@pytest.mark.parametrize("rows, skipped, read", BAD_ROWS)
def test_a_bad_row_is_skipped_naming_row_and_column_and_the_rest_read(tmp_path, rows, skipped, read):
    path = write(tmp_path / "c.csv", "Record ID,Job Title,Recent Conversion Date\n" + rows)
    found = rows_of(path)
    assert [item for item in found if isinstance(item, Skipped)] == [skipped]
    assert [item.contact.id for item in found if isinstance(item, ContactRow)] == read


def test_a_row_that_is_not_utf8_is_skipped_and_the_rest_read(tmp_path):
    path = write(tmp_path / "c.csv", b"Record ID,Last Name\n1,M\xfcller\n2,Smith\n")
    found = rows_of(path)
    assert found[0] == Skipped(2, None, "not UTF-8 text: export the file as CSV UTF-8")
    assert found[1].contact.properties == {"lastname": "Smith"}


def test_a_row_that_is_not_utf8_far_into_a_large_file_is_named_by_its_row(tmp_path):
    # Lines reach the csv reader a chunk at a time: a bad line past the first chunks is still named exactly.
    rows = [f"{n},Title number {n:06d} in a long enough line to fill the chunks\n".encode() for n in range(1, 4001)]
    assert sum(map(len, rows)) > 3 * CHUNK_CHARS
    rows[2999] = b"3000,M\xfcller\n"
    found = rows_of(write(tmp_path / "c.csv", b"Record ID,Job Title\n" + b"".join(rows)))
    assert [item for item in found if isinstance(item, Skipped)] == \
        [Skipped(3001, None, "not UTF-8 text: export the file as CSV UTF-8")]
    assert len(found) == 4000 and found[-1].contact.id == "4000" and found[-1].row == 4001


def test_a_skipped_row_message_names_row_and_column():
    assert str(Skipped(12, "Recent Conversion Date", "bad")) == "row 12, column 'Recent Conversion Date': bad"
    assert str(Skipped(3, None, "bad")) == "row 3: bad"


@pytest.mark.parametrize("delimiter, named", [(";", "';'"), ("\t", "tab"), ("|", "'|'")])
def test_an_export_with_another_delimiter_is_detected_and_read(tmp_path, delimiter, named):
    rows = ["Record ID", "Job Title", "Industry"], ["1", "VP, Sales", "Software"], ["2", "CEO", "SaaS"]
    path = write(tmp_path / "contacts.csv", "".join(delimiter.join(row) + "\n" for row in rows))
    export = ContactExport(path)
    found = list(export)
    export.close()
    assert export.file.notes == [f"contacts.csv looks like {named}-separated: read it that way"]
    assert found[0].contact.properties == {"jobtitle": "VP, Sales", "industry": "Software"}


def test_a_delimiter_given_wrongly_is_refused_with_what_the_file_looks_like(tmp_path):
    path = write(tmp_path / "contacts.csv", "Record ID,Job Title\n1,VP\n2,CEO\n")
    with pytest.raises(ExportError, match="looks like ','-separated: run again without --delimiter"):
        ContactExport(path, delimiter=";")


FATAL = [
    ("First Name,Job Title\nAna,VP\n", {}, r"row 1: missing required column\(s\): Record ID \(the header has "
                                           r"'First Name', 'Job Title'\)"),
    ("Record ID,Job Title\n1,VP\n", {"outcome": "Outcome"}, r"missing required column\(s\): 'Outcome' "
                                                            r"\(named by --outcome\)"),
    ("", {}, "the file is empty"),
    (b"PK\x03\x04\x14\x00binary", {}, "Excel workbook, not CSV"),
]


@pytest.mark.parametrize("content, options, message", FATAL)
def test_a_file_that_cannot_be_read_is_refused_naming_it(tmp_path, content, options, message):
    path = write(tmp_path / "contacts.csv", content)
    with pytest.raises(ExportError, match=message) as raised:
        ContactExport(path, **options)
    assert str(raised.value).startswith(str(path))


@pytest.mark.parametrize("name", ["missing.csv", "."])
def test_a_missing_or_unreadable_path_is_refused(tmp_path, name):
    with pytest.raises(ExportError, match="cannot read the file"):
        ContactExport(tmp_path / name)


# --- the activity file -----------------------------------------------------------------------------

ACTIVITY_HEADER = "contact_id,kind,occurred_at,label,count\n"


def test_activity_rows_become_activities(tmp_path):
    path = write(tmp_path / "a.csv", ACTIVITY_HEADER + "5,page_view,2026-11-20T14:03:00Z,/pricing,3\n"
                                                      "5,form_submission,2026-11-21 09:00,Demo request,\n")
    activities = ActivityFile(path)
    assert [(row.contact_id, row.activity) for row in activities] == [
        ("5", Activity("page_view", datetime(2026, 11, 20, 14, 3, tzinfo=UTC), "/pricing", 3)),
        ("5", Activity("form_submission", datetime(2026, 11, 21, 9, 0, tzinfo=UTC), "Demo request", 1))]
    activities.close()


BAD_ACTIVITIES = [
    ("5,pageview,2026-11-20,/x,1", "kind", "unknown kind 'pageview': use one of form_submission, page_view, "
                                           "email_open, email_click, meeting_booked, chat"),
    ("5,page_view,last week,/x,1", "occurred_at", "cannot read 'last week' as a date (expected a date like "
                                                  "2026-11-20 14:03 or ISO-8601)"),
    ("5,page_view,2026-11-20,/x,0", "count", "expected a whole number of at least 1 (got '0')"),
    ("5,page_view,2026-11-20,/x,two", "count", "expected a whole number of at least 1 (got 'two')"),
    (",page_view,2026-11-20,/x,1", "contact_id", "no contact id"),
]


@pytest.mark.parametrize("row, column, problem", BAD_ACTIVITIES)
def test_a_bad_activity_row_is_skipped_naming_its_column(tmp_path, row, column, problem):
    path = write(tmp_path / "a.csv", ACTIVITY_HEADER + row + "\n6,chat,2026-11-20,,\n")
    activities = ActivityFile(path)
    first, second = list(activities)
    activities.close()
    assert first == Skipped(2, column, problem)
    assert second.contact_id == "6"


def test_an_activity_file_without_its_required_columns_is_refused(tmp_path):
    path = write(tmp_path / "a.csv", "contact_id,label\n5,x\n")
    with pytest.raises(ExportError, match=r"missing required column\(s\): kind, occurred_at"):
        ActivityFile(path)


# --- the feed --------------------------------------------------------------------------------------

ORDER_CASES = [("9", "10", True), ("10", "10", False), ("10", "9", False), ("123", "abc", True),
               ("abc", "abd", True), ("99999999999999999999", "a", True)]


@pytest.mark.parametrize("first, second, before", ORDER_CASES)
def test_numeric_contact_ids_sort_by_value(first, second, before):
    assert (contact_order(first) < contact_order(second)) == before


def test_ids_equal_in_value_but_written_differently_stay_apart():
    assert contact_order("00123") != contact_order("123")


def activity_file(tmp_path: Path, ids: list[str]) -> Path:
    rows = "".join(f"{cid},chat,2026-11-{10 + i:02d}T10:00:00Z,n{i},1\n" for i, cid in enumerate(ids))
    return write(tmp_path / "a.csv", ACTIVITY_HEADER + rows)


def labels(activities: list[Activity]) -> list[str]:
    return [activity.label for activity in activities]


def test_a_sorted_file_is_streamed_in_step_with_sorted_contacts(tmp_path):
    feed = ActivityFeed(activity_file(tmp_path, ["1", "3", "3", "7", "12", "40"]))
    asked = [labels(feed.for_contact(cid)) for cid in ["3", "5", "12", "12", "13"]]
    feed.finish()
    assert asked == [["n1", "n2"], [], ["n4"], [], []]      # a repeated id gets nothing the second time
    assert feed.held == "streamed (both files sorted by contact id)"
    assert (feed.rows, feed.matched, feed.unmatched) == (6, 3, 3)   # 1, 7 and 40 belong to nobody asked


def test_each_contact_gets_exactly_its_own_activities_when_streamed(tmp_path):
    feed = ActivityFeed(activity_file(tmp_path, ["1", "3", "3", "7", "12", "40"]))
    found = [labels(feed.for_contact(cid)) for cid in ["1", "3", "7", "12", "40"]]
    feed.finish()
    assert found == [["n0"], ["n1", "n2"], ["n3"], ["n4"], ["n5"]]
    assert (feed.matched, feed.unmatched) == (6, 0)


def test_contacts_out_of_order_stop_the_stream(tmp_path):
    feed = ActivityFeed(activity_file(tmp_path, ["1", "3", "7"]))
    feed.for_contact("3")
    with pytest.raises(NotSorted, match="the contacts file is not sorted by contact id"):
        feed.for_contact("1")
    feed.close()


def test_activities_out_of_order_stop_the_stream(tmp_path):
    feed = ActivityFeed(activity_file(tmp_path, ["1", "7", "3"]))
    with pytest.raises(NotSorted, match="the activity file is not sorted by contact id"):
        feed.for_contact("7")
    feed.close()


def test_held_in_memory_any_order_is_matched(tmp_path):
    feed = ActivityFeed(activity_file(tmp_path, ["7", "1", "3", "7"]), hold_in_memory="unsorted")
    found = [labels(feed.for_contact(cid)) for cid in ["3", "7", "2", "7"]]
    feed.finish()
    assert found == [["n2"], ["n0", "n3"], [], []]
    assert feed.held == "held in memory (unsorted)"
    assert (feed.rows, feed.matched, feed.unmatched) == (4, 3, 1)


def test_a_naive_activity_time_is_read_in_the_given_zone(tmp_path):
    path = write(tmp_path / "a.csv", ACTIVITY_HEADER + "5,chat,2026-11-20 09:00,,\n")
    feed = ActivityFeed(path, zone=NEW_YORK)
    assert feed.for_contact("5")[0].occurred_at == datetime(2026, 11, 20, 14, 0, tzinfo=UTC)
    feed.finish()


def test_the_feed_gives_the_activity_files_activities_field_by_field():
    path = REPO / "samples" / "activities.csv"
    rows = ActivityFile(path)
    expected: dict[str, list] = {}
    for row in rows:
        expected.setdefault(row.contact_id, []).append(row.activity)
    rows.close()
    feed = ActivityFeed(path)
    fields = ("kind", "occurred_at", "label", "count", "source")
    for contact_id in sorted(expected, key=contact_order):
        found = feed.for_contact(contact_id)
        assert [[getattr(a, name) for name in fields] for a in found] == \
            [[getattr(a, name) for name in fields] for a in expected[contact_id]]
    feed.finish()
    assert feed.matched == feed.rows == sum(map(len, expected.values())) > 30_000


def test_a_skipped_row_does_not_break_a_contacts_run_of_activities(tmp_path):
    path = write(tmp_path / "a.csv", ACTIVITY_HEADER + "5,chat,2026-11-20,a,\n5,chat,never,b,\n5,chat,2026-11-21,c,\n"
                                                      "6,chat,2026-11-22,d,\n")
    skips, activities = SkipLog(), ActivityFile(path)
    runs = [(contact_id, labels(found)) for contact_id, found in activities.runs(skips)]
    activities.close()
    assert runs == [("5", ["a", "c"]), ("6", ["d"])]
    assert (skips.count, skips.examples[0].row, activities.rows_read) == (1, 3, 4)


# --- rows: lines without a quote are split, the others read by the csv module: the same fields either way ---

TRICKY_BODIES = [
    "1,a,b\r\n2,c,d\r\n",                                     # CRLF
    "1,a,b\r2,c,d\r",                                         # lone CR
    "1, spaced ,b \n\n2,,\n",                                 # spaces kept, a blank line, empty fields
    '1,"Director, Sales",b\n2,c,d\n',                         # a quoted delimiter, then a plain line
    '1,"two\nlines",b\n2,c,d\n3,"x ""quoted"" y",z\n',       # a line break and doubled quotes in a field
    '1,5" screen,b\n2,c,d\n',                                 # a stray quote inside an unquoted field
    "1,a,b,\n2,c,d,,\n",                                      # trailing empty fields
    "1,a\n2,c,d,e\n",                                         # too few and too many fields
    "1,a\x00b,c\n2,c,d\n",                                    # NUL: csv refuses the line
    '1,"never closed,b\n2,c,d\n',                             # an open quote to the end of the file
]


@pytest.mark.parametrize("delimiter", [",", ";", "\t"])
@pytest.mark.parametrize("body", TRICKY_BODIES)
def test_rows_read_every_line_as_the_csv_module_does(tmp_path, body, delimiter):
    text = "id,x,y\n" + body
    path = tmp_path / "rows.csv"
    path.write_bytes(text.replace(",", delimiter).encode())
    _assert_rows_as_the_csv_module_reads(path, text.replace(",", delimiter), delimiter)


def _assert_rows_as_the_csv_module_reads(path: Path, text: str, delimiter: str) -> None:
    found = CsvFile(path, lambda header: [], delimiter).rows()
    assert [(item.row, _problem(item.problem)) if isinstance(item, Skipped) else item for item in found] == \
        [(row, _problem(fields)) if isinstance(fields, str) else (row, fields)
         for row, fields in _expected_rows(text, delimiter, 3)]


def _expected_rows(text: str, delimiter: str, width: int) -> list[tuple[int, object]]:
    """What rows() must give for a body: the csv module's reading, with CsvFile's rules for field counts."""
    expected, number = [], 1
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    next(reader)
    while True:
        number += 1
        try:
            fields = next(reader)
        except StopIteration:
            return expected
        except csv.Error:
            expected.append((number, "not readable as CSV"))
            continue
        if len(fields) == width or (len(fields) > width and not any(fields[width:])):
            expected.append((number, fields))
        elif fields:
            expected.append((number, "fields where the header has"))


def _random_line(rng: random.Random, delimiter: str, odd: float, endings: list[str]) -> str:
    """Plain rows, with `odd` of them quoted (with delimiters and line breaks inside), blank, with too many or
    too few fields, or a trailing empty field; the line endings drawn from `endings` (LF, CRLF, CR alone): so
    that runs of plain rows (read as blocks) meet every other kind of line, on both sides of the reader's chunk
    boundaries, and lines ending in a lone CR meet the blank or short lines that follow them."""
    fields = [f"v{rng.randrange(1000)}" for _ in range(3)]
    kind = rng.random() / odd
    if kind < 0.35:
        fields[rng.randrange(len(fields))] = f'"quoted {delimiter} with ""quotes""\r\nand a break"'
    elif kind < 0.5:
        fields = []
    elif kind < 0.6:
        fields.append("")          # a trailing empty field: still read
    elif kind < 1:
        fields = fields[:rng.choice([1, 2, 4])] + ["v"] * (kind > 0.9)
    return delimiter.join(fields) + rng.choice(endings)


@pytest.mark.parametrize("seed", range(9))
def test_rows_read_large_mixed_files_as_the_csv_module_does_across_chunks(tmp_path, seed):
    rng = random.Random(seed)
    delimiter = rng.choice([",", ";", "\t"])
    odd, endings = [0.02, 0.1, 0.4][seed % 3], [["\n"] * 8 + ["\r\n"] * 3 + ["\r"], ["\r", "\r\n"]][seed % 2]
    lines, size = ["id,x,y\n".replace(",", delimiter)], 0
    while size < 3 * CHUNK_CHARS:
        lines.append(_random_line(rng, delimiter, odd, endings))
        size += len(lines[-1])
    if seed % 4 == 0:
        lines[-1] = lines[-1].rstrip("\r\n")     # no line break after the last row
    text = "".join(lines)
    path = tmp_path / "rows.csv"
    path.write_bytes(text.encode())
    _assert_rows_as_the_csv_module_reads(path, text, delimiter)


@pytest.mark.parametrize("ending", ["\n", "\r\n", "\r"])
def test_a_large_plain_file_reads_as_the_csv_module_does_whatever_its_line_endings(tmp_path, ending):
    # Chunks end where a line does: a CR at a chunk's end may be half of a CRLF, and a CR alone ends a line.
    text = "id,x,y" + ending + "".join(f"{n},a{n % 97},b{ending}" for n in range(30_000))
    assert len(text) > 3 * CHUNK_CHARS
    path = tmp_path / "rows.csv"
    path.write_bytes(text.encode())
    _assert_rows_as_the_csv_module_reads(path, text, ",")


def test_plain_rows_come_as_blocks_and_odd_ones_alone(tmp_path):
    path = tmp_path / "rows.csv"
    eight = "".join(f"{n},a{n},b\n" for n in range(8))
    path.write_text(f'id,x,y\n{eight}3,"e,f",g\n\n4,h,i\n5,j\n6,k,l\n7,"m",n\n' + eight.replace("\n", "\r\n"))
    items = list(CsvFile(path, lambda header: []).blocks())
    assert [(item.first, item.size, item.column(1)) if isinstance(item, Block) else item for item in items] == [
        (2, 8, [f"a{n}" for n in range(8)]), (10, ["3", "e,f", "g"]),
        (12, ["4", "h", "i"]), Skipped(13, None, "2 fields where the header has 3: a stray ',' or quote?"),
        (14, ["6", "k", "l"]),          # fewer plain rows than a block is worth, one of the wrong width: each alone
        (15, ["7", "m", "n"]), (16, 8, [f"a{n}" for n in range(8)])]


def _first_chunk(ending: str) -> str:
    """Rows enough to fill the first chunk, which is read as lines (with the header): a chunk after it with no
    quote in it is split as one block."""
    return "".join(f"{n},a,b{ending}" for n in range(CHUNK_CHARS // 6))


@pytest.mark.parametrize("body, expected", [
    ("1,a,b\r\r\n2,c,d\n", [(2, ["1", "a", "b"]), (4, ["2", "c", "d"])]),    # a lone CR, then a blank line
    ("1,a\rb,c\n2,d,e\n", [(2, "fields where the header has"), (3, "fields where the header has"),
                           (4, ["2", "d", "e"])]),                           # 2 + 2 fields across a lone CR
    ("1,a,b\r\n2,c,d,\n,x,y,z\r\n", [(2, ["1", "a", "b"]), (3, ["2", "c", "d", ""]),
                                     (4, "fields where the header has")]),  # an LF alone among CRLFs
])
def test_a_lone_cr_or_lf_ends_a_line_in_a_block_too(tmp_path, body, expected):
    # Two lines joined at a lone CR (or, among CRLFs, at an LF between delimiters) can hold as many fields as
    # the header: the CR or LF must still end the first.
    text = "id,x,y\n" + _first_chunk("\r\n" if body.endswith("\r\n") else "\n") + body * 3
    path = write(tmp_path / "rows.csv", text)
    found = [(item.row, _problem(item.problem)) if isinstance(item, Skipped) else item
             for item in CsvFile(path, lambda header: []).rows()]
    assert found == [(row, _problem(fields)) if isinstance(fields, str) else (row, fields)
                     for row, fields in _expected_rows(text, ",", 3)]
    first = text.count("\n", 0, len(text) - 3 * len(body))
    assert found[-len(expected) * 3:][:len(expected)] == [(first + row - 1, fields) for row, fields in expected]


def test_a_blank_line_in_a_one_column_file_is_passed_over(tmp_path):
    # With one column a blank line has as many fields as the header (one, empty): it is still no row.
    path = write(tmp_path / "ids.csv", "id\n" + "1\n\n2\n" * (CHUNK_CHARS // 3))
    assert [row for row, _ in CsvFile(path, lambda header: []).rows()] == \
        [n for k in range(CHUNK_CHARS // 3) for n in (2 + 3 * k, 4 + 3 * k)]


def test_a_value_converted_to_nothing_is_kept_as_row_by_row(tmp_path):
    # An industry with no letter or digit converts to "": kept (as a row read alone keeps it), in a block too.
    rows = "".join(f"{n},{'&' if n == 3 else 'Computer Software'}\n" for n in range(1, 11))
    found = rows_of(write(tmp_path / "contacts.csv", "Record ID,company.industry\n" + rows))
    assert [row.contact.company.properties for row in found][2:4] == [{"industry": ""},
                                                                       {"industry": "COMPUTER_SOFTWARE"}]


def test_a_line_many_chunks_long_reads_whole(tmp_path):
    # Lines longer than several chunks are read on until they end (a lone CR here), each whole in its own row.
    long = "x" * (5 * CHUNK_CHARS + 3)
    path = write(tmp_path / "rows.csv", f"id,x,y\r1,{long},b\r\r2,c,{long}\r")
    assert list(CsvFile(path, lambda header: []).rows()) == [(2, ["1", long, "b"]), (4, ["2", "c", long])]


def _problem(words: str) -> str:
    return "not readable as CSV" if "not readable as CSV" in words else \
        "fields where the header has" if "fields where the header has" in words else words


def test_the_first_bad_date_in_file_order_is_named_whichever_columns_are_kept(tmp_path):
    path = write(tmp_path / "contacts.csv", "Record ID,Create Date,Last Modified Date,Job Title\n"
                                            "1,bad1,bad2,VP\n2,2026-11-20 14:03,2026-11-21 09:00,CEO\n")
    for wanted in (None, {"lastmodifieddate"}, {"jobtitle"}, {"createdate", "lastmodifieddate"}):
        first, second = ContactExport(path, wanted=wanted)
        assert isinstance(first, Skipped) and (first.row, first.column) == (2, "Create Date"), wanted
        assert "bad1" in first.problem and isinstance(second, ContactRow)
