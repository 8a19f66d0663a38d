"""CSV files for the backtest: a HubSpot contacts export (its real column labels) and an activity file.

Rows stream one at a time, so memory stays flat as a file grows. A row that cannot be read is yielded
as `Skipped` (row and column named) and the rest go on; only a file that cannot be read at all raises
ExportError. Rows are numbered as a spreadsheet shows them: the header is row 1.
"""
from __future__ import annotations

import csv
import io
import re
import sys
from bisect import bisect_left
from dataclasses import dataclass
from datetime import datetime, timezone, tzinfo
from itertools import chain, compress, repeat
from operator import attrgetter, contains, itemgetter, ne
from pathlib import Path
from typing import Callable, Collection, Iterable, Iterator, NamedTuple

from bot.models import COMPANY_PREFIX, Activity, ActivityColumns, Company, Contact, FileActivity, make_tuple
from bot.rules.conditions import ACTIVITY_KINDS

CONTACT_ID = "hs_object_id"
SNIFF_BYTES = 64 * 1024
CHUNK_CHARS = 64 * 1024     # lines are read this much at a time and handed to the csv reader one by one, in C
DELIMITERS = ",;\t|"
TIME_HINT = "expected a date like 2026-11-20 14:03 or ISO-8601"
# The labels HubSpot writes as column headers in a contacts export -> internal property names.
# Older portals and renamed properties give more than one label for the same property.
CONTACT_LABELS = {
    "Record ID": CONTACT_ID, "Contact ID": CONTACT_ID,
    "First Name": "firstname", "Last Name": "lastname", "Email": "email", "Email Address": "email",
    "Phone Number": "phone", "Job Title": "jobtitle", "Company Name": "company",
    "Number of Employees": "numemployees", "Company size": "company_size", "Industry": "industry",
    "Annual Revenue": "annualrevenue", "Country/Region": "country", "Country": "country",
    "State/Region": "state", "City": "city", "Contact owner": "hubspot_owner_id",
    "Lifecycle Stage": "lifecyclestage", "Lead Status": "hs_lead_status", "Create Date": "createdate",
    "Last Modified Date": "lastmodifieddate", "Original Source": "hs_analytics_source",
    "Original Traffic Source": "hs_analytics_source",
    "Original Traffic Source Drill-Down 1": "hs_analytics_source_data_1",
    "Original Source Drill-Down 1": "hs_analytics_source_data_1",
    "Recent Conversion": "recent_conversion_event_name", "Recent Conversion Date": "recent_conversion_date",
    "First Conversion": "first_conversion_event_name", "First Conversion Date": "first_conversion_date",
    "Number of Form Submissions": "num_conversion_events",
    "Number of Unique Forms Submitted": "num_unique_conversion_events",
    "Number of Pageviews": "hs_analytics_num_page_views", "Number of Sessions": "hs_analytics_num_visits",
    "Time of First Session": "hs_analytics_first_visit_timestamp",
    "Time of Last Session": "hs_analytics_last_visit_timestamp", "Time Last Seen": "hs_analytics_last_timestamp",
    "Last marketing email open date": "hs_email_last_open_date",
    "Last marketing email click date": "hs_email_last_click_date",
    "Last marketing email send date": "hs_email_last_send_date",
    "Last marketing email reply date": "hs_email_last_reply_date",
    "Date of last meeting booked in meetings tool": "engagements_last_meeting_booked",
    "Last Contacted": "notes_last_contacted", "Last Activity Date": "notes_last_updated",
    "Next Activity Date": "notes_next_activity_date", "Owner assigned date": "hubspot_owner_assigneddate",
    "Last Engagement Date": "hs_last_sales_activity_timestamp", "HubSpot Score": "hubspotscore",
    "Associated Company": COMPANY_PREFIX + "name", "Associated Company Name": COMPANY_PREFIX + "name",
    "Associated Company ID": "associatedcompanyid", "Primary Associated Company ID": "associatedcompanyid",
}
DATETIME_PROPERTIES = frozenset({
    "createdate", "lastmodifieddate", "recent_conversion_date", "first_conversion_date",
    "hs_analytics_first_visit_timestamp", "hs_analytics_last_visit_timestamp", "hs_analytics_last_timestamp",
    "hs_email_last_open_date", "hs_email_last_click_date", "hs_email_last_send_date", "hs_email_last_reply_date",
    "engagements_last_meeting_booked", "notes_last_contacted", "notes_last_updated", "notes_next_activity_date",
    "hubspot_owner_assigneddate", "hs_last_sales_activity_timestamp",
})
# Exports write an enumeration's option label ("Sales Qualified Lead"); rules and the API use its value.
OPTION_VALUES = {
    "lifecyclestage": {"subscriber": "subscriber", "lead": "lead", "marketing qualified lead":
                       "marketingqualifiedlead", "sales qualified lead": "salesqualifiedlead",
                       "opportunity": "opportunity", "customer": "customer", "evangelist": "evangelist",
                       "other": "other"},
    "hs_lead_status": {"new": "NEW", "open": "OPEN", "in progress": "IN_PROGRESS", "open deal": "OPEN_DEAL",
                       "unqualified": "UNQUALIFIED", "attempted to contact": "ATTEMPTED_TO_CONTACT",
                       "connected": "CONNECTED", "bad timing": "BAD_TIMING"},
}
# The activity file is Handoff's own format; a contact id column may also carry HubSpot's label.
ACTIVITY_COLUMNS = {"contact_id": "contact_id", "Record ID": "contact_id", "Contact ID": "contact_id",
                    "kind": "kind", "occurred_at": "occurred_at", "label": "label", "count": "count"}
ACTIVITY_REQUIRED = ("contact_id", "kind", "occurred_at")
_INTERNAL = re.compile(r"(company\.)?[a-z0-9_]+")
_DATED_NAME = re.compile(r"_date$|_timestamp$|^hs_v2_date_")
_NON_WORD = re.compile(r"[^A-Za-z0-9]+")


class ExportError(Exception):
    """The file cannot be read at all (missing, not CSV, no required column); the message names the file."""


@dataclass(frozen=True)
class Skipped:
    """A row left out, and why, in words a spreadsheet user can act on."""
    row: int
    column: str | None
    problem: str

    def __str__(self) -> str:
        where = f"row {self.row}" + (f", column '{self.column}'" if self.column else "")
        return f"{where}: {self.problem}"


# Rows are NamedTuples, not frozen dataclasses: one is made per CSV row, and a tuple is made 3x faster.
class ContactRow(NamedTuple):
    row: int
    contact: Contact
    outcome: str | None       # the --outcome column's value, None when blank or not asked for


class ActivityRow(NamedTuple):
    row: int
    contact_id: str
    activity: Activity


# --- headers and values ----------------------------------------------------------------------

def _plain(text: str) -> str:
    return " ".join(text.split()).casefold()


_BY_LABEL = {_plain(label): name for label, name in CONTACT_LABELS.items()}


def property_for_header(header: str) -> str | None:
    """The internal property a contacts-export column holds: by HubSpot's label, or already internal."""
    text = header.strip()
    if named := _BY_LABEL.get(_plain(text)):
        return named
    return text if _INTERNAL.fullmatch(text) else None


def is_datetime_property(name: str) -> bool:
    """Whether values of this property are datetimes (checked as such, and read in --timezone)."""
    bare = name[len(COMPANY_PREFIX):] if name.startswith(COMPANY_PREFIX) else name
    return bare in DATETIME_PROPERTIES or _DATED_NAME.search(bare) is not None


def parse_export_time(text: str, zone: tzinfo = timezone.utc) -> datetime:
    """ "2026-11-20 14:03" (in `zone`), ISO-8601 with or without an offset, or epoch ms; ValueError otherwise."""
    value = text.strip()
    try:
        if value.isascii() and value.isdigit():     # as the scorer reads digits: epoch milliseconds
            return datetime.fromtimestamp(int(value) / 1000, tz=timezone.utc)
        moment = datetime.fromisoformat(value)
    except (ValueError, OverflowError, OSError):
        raise ValueError(f"cannot read {value!r} as a date ({TIME_HINT})") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=zone)


def time_checker(zone: tzinfo) -> Callable[[str], str]:
    """A date as exported -> a string the scorer reads as the same moment; ValueError when it is no date.

    The scorer reads ISO-8601, "2026-11-20 14:03" and epoch ms itself (a date without an offset as
    UTC), so a valid value is kept as it is; only dates without an offset in another zone are rewritten.
    """
    def check(text: str) -> str:
        try:
            moment = datetime.fromisoformat(text)      # the common case, in C: a few hundred ns
        except ValueError:
            parse_export_time(text, zone)              # raises the ValueError that names the value
            text = text.strip()                        # spaces around it, or epoch ms (the scorer's too)
            if text.isdigit():
                return text
            moment = datetime.fromisoformat(text)
        if moment.tzinfo is not None or zone is timezone.utc:
            return text
        return moment.replace(tzinfo=zone).isoformat()
    return check


def _option_value(name: str) -> Callable[[str], str] | None:
    if name == COMPANY_PREFIX + "industry":
        # Company industries are list values: "Computer Software" is exported, COMPUTER_SOFTWARE is stored.
        return lambda text: _NON_WORD.sub("_", text.strip()).strip("_").upper()
    if options := OPTION_VALUES.get(name):
        return lambda text: options.get(_plain(text), text)
    return None


# --- the file ----------------------------------------------------------------------------------

class Block(NamedTuple):
    """Rows read together: consecutive rows numbered from `first`, each with exactly the header's fields, held
    as one list of their fields in file order with a marker after each row's last (see CsvFile.blocks)."""
    first: int
    size: int
    fields: list[str]
    width: int

    def column(self, index: int) -> list[str]:
        """The block's fields at this place, row by row: one slice, in C."""
        return self.fields[index::self.width + 1]

    def rows(self) -> Iterator[tuple[int, list[str]]]:
        """(row number, fields) for each row, as CsvFile.rows() gives them."""
        return zip(range(self.first, self.first + self.size),
                   map(list, zip(*map(self.column, range(self.width)))))


class CsvFile:
    """One CSV file opened for streaming: header checked, delimiter settled, a byte count for progress."""

    def __init__(self, path: str | Path, missing: Callable[[list[str]], list[str]], delimiter: str | None = None):
        """`missing(header)` names the required columns the header lacks; a non-empty answer is fatal."""
        self.path, self.notes = Path(path), []
        self._raw, self._text, self._bad_text = _open_binary(self.path), None, False
        self._plain_chunk: str | None = None    # the chunk in hand while it may be read as one block
        self._lines: list[str] = []     # else the chunk in hand, as lines
        self._at = 0                    # the next line to read in it
        self._carry = ""                # read, but past the chunk's last whole line
        self._odd: list[int] = []       # where its blank lines and those with a quote, a NUL or bad UTF-8 are
        self._alone_until = 0           # its lines before this one are read one by one (see blocks)
        try:
            self.delimiter, self.header = self._settle(missing, delimiter)
        except BaseException:
            self.close()
            raise

    def _settle(self, missing, delimiter: str | None):
        header = self._start(delimiter or ",")
        lacking = missing(header)
        if not lacking:
            return delimiter or ",", header
        sniffed = _sniff(self.path)
        if sniffed is None or sniffed == (delimiter or ","):
            raise ExportError(_missing_message(self.path, lacking, header))
        if delimiter is not None:
            raise ExportError(f"{self.path}: row 1: missing required column(s): {', '.join(lacking)}; the file "
                              f"looks like {_delimiter_name(sniffed)}-separated: run again without --delimiter")
        header = self._start(sniffed)
        if lacking := missing(header):
            raise ExportError(_missing_message(self.path, lacking, header))
        self.notes.append(f"{self.path.name} looks like {_delimiter_name(sniffed)}-separated: read it that way")
        return sniffed, header

    def _start(self, delimiter: str) -> list[str]:
        """Read from the top: the header row (stripped), read from the file's first lines."""
        if self._text is not None:
            self._text.detach()     # keep the raw file open: a dropped wrapper would close it
            self._raw.seek(0)
        # errors="replace": a row that is not UTF-8 is skipped and named, not fatal to the whole file.
        self._text = io.TextIOWrapper(self._raw, encoding="utf-8-sig", errors="replace", newline="")
        self._plain_chunk, self._lines, self._at, self._odd, self._alone_until, self._carry = None, [], 0, [], 0, ""
        return [name.strip() for name in _first_row(csv.reader(self._following(), delimiter=delimiter), self.path)]

    def _more(self) -> bool:
        """Whether there is more to read: the chunk in hand, else the next one, taken in hand."""
        if self._plain_chunk is not None or self._at < len(self._lines):
            return True
        text = self._whole_lines()
        self._at, self._alone_until = 0, 0
        if '"' in text or "\x00" in text or "\ufffd" in text:
            self._plain_chunk = None
            self._in_lines(text)
        else:       # (the common chunk: it is split as one block, or into lines only if that fails)
            self._plain_chunk, self._lines = text or None, []
        return bool(text)

    def _whole_lines(self) -> str:
        """The next CHUNK_CHARS or so of the file's text, up to the end of a line ("" at the end). A line
        longer than a chunk is read on in pieces, each searched alone and joined once: linear however long."""
        pieces = [self._carry]
        while more := self._text.read(CHUNK_CHARS):
            pieces.append(more)
            # A CR ends a line too, unless it is the text's last character: an LF may follow it.
            if "\n" in more or more.find("\r", 0, len(more) - 1) >= 0 or pieces[-2].endswith("\r"):
                break
        text = "".join(pieces)
        cut = max(text.rfind("\n"), text.rfind("\r", 0, len(text) - 1)) + 1 if more else len(text)
        self._carry = text[cut:]
        return text[:cut]

    def _in_lines(self, text: str) -> None:
        """The chunk in hand as lines, split where the csv module splits them (at LF, CRLF and CR alone), and
        where its odd lines are. str.splitlines also splits at other characters, so it splits only a text
        that has none of them (in C: an ASCII string says so at once, then five searches)."""
        if text.isascii() and not any(map(text.__contains__, _OTHER_LINE_BREAKS)):
            self._lines = text.splitlines(keepends=True)
        else:
            self._lines = io.StringIO(text, newline="").readlines()
        self._odd = _odd_lines(self._lines)

    def _lines_in_hand(self) -> None:
        if self._plain_chunk is not None:
            self._in_lines(self._plain_chunk)
            self._plain_chunk = None

    def _following(self) -> Iterator[str]:
        """The lines from the next one on, each taken as it is read (past the chunk in hand if need be): what
        the csv reader reads a record from, through the line breaks of a quoted field."""
        while self._more():
            self._lines_in_hand()
            line = self._lines[self._at]
            self._at += 1
            if "\ufffd" in line:
                self._bad_text = True
            yield line

    def blocks(self) -> Iterator[Block | tuple[int, list[str]] | Skipped]:
        """What rows() gives, with runs of plain rows (no quote, NUL or stray line break; the header's number
        of fields) as Blocks: a block is split in C, a few times faster than row by row, and its columns
        are read in C too (Block.column). Any other row comes alone, as rows() gives it."""
        number, width = 1, len(self.header)
        marker = self.delimiter + "\n" + self.delimiter
        while self._more():
            if self._plain_chunk is not None:
                read = _split_block(self._plain_chunk, marker, self.delimiter, width)
                if read is not None:
                    self._plain_chunk = None
                    yield Block(number + 1, read[1], read[0], width)
                    number += read[1]
                    continue
                self._lines_in_hand()       # a blank line or a row of the wrong width: see below
            lines, start, odd = self._lines, self._at, self._odd
            if start >= self._alone_until:
                place = bisect_left(odd, start)
                end = odd[place] if place < len(odd) else len(lines)
                if end - start >= _BLOCK_LINES:
                    read = _split_block("".join(lines[start:end]), marker, self.delimiter, width)
                    if read is not None and read[1] == end - start:
                        self._at = end
                        yield Block(number + 1, end - start, read[0], width)
                        number += end - start
                        continue
                    self._alone_until = end     # a row of the wrong width among them: each alone
                else:
                    self._alone_until = _before_next_run(odd, place, len(lines))
            # Lines read alone, one after another. A quoted record can read on through the lines after it (see
            # _following), into the next chunk even: self._at and self._lines say where reading is.
            while True:
                number += 1
                self._at += 1
                if (item := self._row(number, lines[self._at - 1])) is not None:
                    yield item
                if self._at >= self._alone_until or self._lines is not lines:
                    break

    def rows(self) -> Iterator[tuple[int, list[str]] | Skipped]:
        """(row number, fields) for every row after the header; blank lines are passed over.

        Each row starts on a new line. A line without a quote (nor a NUL, which csv refuses) is one row
        whose fields are what csv would read from it: it is split as it is, a few times faster than the csv
        module reads it (and without csv's limit of 131,072 characters a field). A line with a quote goes to
        the csv reader, which reads on through the next lines while a quoted field holds line breaks."""
        for item in self.blocks():
            if item.__class__ is Block:
                yield from item.rows()
            else:
                yield item

    def _row(self, number: int, line: str) -> tuple[int, list[str]] | Skipped | None:
        """One row from its first line (None for a blank line)."""
        self._bad_text = "\ufffd" in line
        if '"' in line or "\x00" in line:
            try:
                fields = next(csv.reader(chain((line,), self._following()), delimiter=self.delimiter), [])
            except csv.Error as error:
                self._bad_text = False
                return Skipped(number, None, f"not readable as CSV ({error})")
        else:
            text = line.rstrip("\r\n")
            fields = text.split(self.delimiter) if text else []
        width = len(self.header)
        if self._bad_text:
            self._bad_text = False
            return Skipped(number, None, "not UTF-8 text: export the file as CSV UTF-8")
        if len(fields) != width and (len(fields) < width or any(fields[width:])):
            return Skipped(number, None, f"{len(fields)} fields where the header has {width}: "
                                         f"a stray '{self.delimiter}' or quote?") if fields else None
        return number, fields

    def bytes_read(self) -> int:
        """How far into the file reading has got (in read-ahead chunks: enough for a progress bar)."""
        return self._raw.tell()

    def close(self) -> None:
        (self._text or self._raw).close()


def _odd_lines(lines: list[str]) -> list[int]:
    """Where the lines with a quote, a NUL or text that is not UTF-8 (decoded as U+FFFD) are, and the blank
    ones: they are read one by one. Found in C: the whole chunk is searched first, then its lines for a mark
    it holds."""
    text, odd = "".join(lines), set()
    for mark in ('"', "\x00", "\ufffd"):
        if mark in text:
            odd.update(compress(range(len(lines)), map(contains, lines, repeat(mark))))
    if lines and min(map(len, lines)) <= 2:      # a blank line is "\n", "\r\n" or "\r"
        odd.update(compress(range(len(lines)), map(_BLANK_LINES.__contains__, lines)))
    return sorted(odd)


# Fewer plain lines than this between odd ones are read one by one: a block's own cost (a join, a split, its
# checks, reading it a column at a time) outweighs what it saves on a few lines. Measured on ContactExport with a
# quoted line every 1 to 16 lines: blocks of 1-3 lines took up to 2.5x as long as reading them alone, and the two
# break even at about 8.
_BLOCK_LINES = 8


def _before_next_run(odd: list[int], place: int, count: int) -> int:
    """Where the lines to read alone from odd[place] on end: after the first odd line that _BLOCK_LINES plain
    lines or more follow (`count`: the lines in the chunk). In a file where most lines are odd (every field
    quoted, say) this looks over a chunk's odd lines once, not once a line."""
    last = len(odd) - 1
    while place < last and odd[place + 1] - odd[place] <= _BLOCK_LINES:
        place += 1
    return odd[place] + 1 if place <= last else count


_OTHER_LINE_BREAKS = ("\x0b", "\x0c", "\x1c", "\x1d", "\x1e")   # str.splitlines' in ASCII, besides LF and CR
_BLANK_LINES = frozenset({"\n", "\r\n", "\r"})


def _split_block(text: str, marker: str, delimiter: str, width: int) -> tuple[list[str], int] | None:
    """(the fields of text's lines in one list, a "\n" after each line's last field; how many lines), or None
    unless every line holds exactly `width` fields (a stray delimiter or a blank line shifts the "\n"s out of
    place). Lines end where csv ends them: at LF, CRLF and a CR alone."""
    if not text.endswith("\n"):
        text += "\n"           # the file's last line
    joined = None
    if "\r" in text and width > 1:     # (a blank line has one column's width: one column is read below)
        # Every line ends in CRLF (as HubSpot writes them) when no CR is left after one replace and there are
        # as many LFs as replacements (the text grew by len(marker) - 2 for each): a lone CR or LF would end a
        # line within what the split sees as one field.
        joined = text.replace("\r\n", marker)
        lines = (len(joined) - len(text)) // (len(marker) - 2)
        if "\r" in joined or text.count("\n") != lines:
            joined = None
    if joined is None:
        if "\r" in text:
            text = text.replace("\r\n", "\n").replace("\r", "\n")
        if width == 1 and ("\n\n" in text or text.startswith("\n")):
            return None         # a blank line: one empty field, as many as the header has, but passed over
        lines = text.count("\n")
        joined = text.replace("\n", marker)
    fields = joined.split(delimiter)
    fields.pop()                # what follows the last line's marker
    if len(fields) != (width + 1) * lines or fields[width::width + 1].count("\n") != lines:
        return None
    return fields, lines


def _open_binary(path: Path):
    try:
        raw = open(path, "rb")
    except OSError as error:
        raise ExportError(f"{path}: cannot read the file ({error.strerror or error})") from None
    start = raw.peek(4)[:4]
    if start == b"PK\x03\x04":
        raw.close()
        raise ExportError(f"{path}: this is an Excel workbook, not CSV: export the contacts as CSV")
    return raw


def _first_row(reader, path: Path) -> list[str]:
    try:
        return next(reader)
    except StopIteration:
        raise ExportError(f"{path}: the file is empty: expected a header row") from None
    except csv.Error as error:
        raise ExportError(f"{path}: row 1: not readable as CSV ({error})") from None


def _sniff(path: Path) -> str | None:
    """The delimiter csv.Sniffer sees in the start of the file, if it sees one."""
    with open(path, "rb") as raw:
        sample = raw.read(SNIFF_BYTES)
    if len(sample) == SNIFF_BYTES:          # whole lines only: a cut line would confuse the sniffer
        sample = sample[:sample.rfind(b"\n") + 1] or sample
    try:
        return csv.Sniffer().sniff(sample.decode("utf-8", errors="replace"), delimiters=DELIMITERS).delimiter
    except csv.Error:
        return None


def _delimiter_name(delimiter: str) -> str:
    return "tab" if delimiter == "\t" else repr(delimiter)


def _missing_message(path: Path, lacking: list[str], header: list[str]) -> str:
    message = f"{path}: row 1: missing required column(s): {', '.join(lacking)}"
    shown = ", ".join(repr(name) for name in header[:8]) + (", …" if len(header) > 8 else "")
    return f"{message} (the header has {shown})"


# --- contacts ------------------------------------------------------------------------------------

@dataclass(frozen=True)
class _Column:
    index: int
    header: str                              # as written in the file, for messages
    key: str                                 # the property's name on the contact (or on its company)
    on_company: bool
    convert: Callable[[str], str] | None     # dates and list values; raises ValueError on a bad value
    dated: bool                              # a date: `convert` checks it


def _full_name(column: _Column) -> str:
    """The property's name as rules write it: `company.x` for the company's."""
    return (COMPANY_PREFIX if column.on_company else "") + column.key


class ContactExport:
    """A HubSpot contacts export read row by row as Contacts (with their primary company, if exported)."""

    def __init__(self, path: str | Path, outcome: str | None = None, zone: tzinfo = timezone.utc,
                 delimiter: str | None = None, wanted: Collection[str] | None = None):
        """`wanted`: the properties to put on each Contact (`company.x` for the company's), None for every
        one exported. Dates in the other columns are still checked: a row with an unreadable one is skipped."""
        self.file = CsvFile(path, lambda header: _lacking_contact_columns(header, outcome), delimiter)
        columns, self.ignored = _plan_columns(self.file.header, zone)
        self.properties = {_full_name(c) for c in columns}
        self._id = next(c for c in columns if c.key == CONTACT_ID and not c.on_company)
        self._outcome = _column_index(self.file.header, outcome) if outcome else None
        self.outcome_header = None if self._outcome is None else self.file.header[self._outcome]
        kept = [c for c in columns if c is not self._id and (wanted is None or _full_name(c) in wanted)]
        # A contact's date read in UTC is kept as written once it is valid (that is how the scorer reads it):
        # such dates, and those of columns not kept, are checked together, in C; other dates are converted.
        as_written = [c for c in kept if c.dated and not c.on_company and zone is timezone.utc]
        self._plain = [(c.index, c.key) for c in kept if not c.on_company and (not c.convert or c in as_written)]
        self._company = [(c.index, c.key) for c in kept if c.on_company and not c.convert]
        self._converted = [(c.index, c.key, c.on_company, c.convert) for c in kept if c.convert and c not in as_written]
        self._keeps_company = any(c.on_company for c in kept)
        checked = as_written + [c for c in columns if c not in kept and c is not self._id and c.dated]
        self._checked = [(c.index, c.header, c.convert, c.key if c in as_written else None) for c in checked]
        self._dates = _fields_getter([c.index for c in checked])
        self._every_date = [(c.index, c.header, c.convert) for c in columns if c.dated]     # in file order

    def __iter__(self) -> Iterator[ContactRow | Skipped]:
        for item in self.file.blocks():
            if item.__class__ is Block:
                read = self._block_rows(item)
                if read is not None:
                    yield from read
                    continue
            for row in item.rows() if item.__class__ is Block else (item,):
                yield row if row.__class__ is Skipped else self._contact_row(*row)

    def _block_rows(self, block: Block) -> list[ContactRow] | None:
        """A block's contacts, read a column at a time: each row's properties come from one zip of the kept
        columns and its dates are checked a column at a time, in C. None when a row needs a closer look (no
        contact id; a date fromisoformat cannot read, or to convert; a value converted to "", which
        _own_columns would drop and _contact_row keeps): its rows are then read one by one, which
        keeps or names it as _contact_row does."""
        ids = list(map(str.strip, block.column(self._id.index)))
        if "" in ids:
            return None
        try:
            for index, _, _, _ in self._checked:
                list(map(datetime.fromisoformat, filter(None, block.column(index))))
            converted = [[convert(value) if value else value for value in block.column(index)]
                         for index, _, _, convert in self._converted]
        except ValueError:
            return None
        if any(map(_blanked, converted, (block.column(index) for index, _, _, _ in self._converted))):
            return None
        own = self._own_columns(block, converted, on_company=False)
        outcomes = [value.strip() or None for value in block.column(self._outcome)] if self._outcome is not None \
            else [None] * block.size
        numbers = range(block.first, block.first + block.size)
        if not self._keeps_company:     # (the common case) made without a Python call a row
            return list(map(make_tuple, repeat(ContactRow), zip(numbers, map(Contact, ids, own), outcomes)))
        company = self._own_columns(block, converted, on_company=True)
        return list(map(_contact_row, numbers, ids, own, company, outcomes))

    def _own_columns(self, block: Block, converted: list[list[str]], on_company: bool) -> Iterator[dict[str, str]]:
        """Each row's non-blank values of the contact's (or its company's) kept columns, as a dict."""
        plain = self._company if on_company else self._plain
        keys = [key for _, key in plain] + [key for _, key, company, _ in self._converted if company == on_company]
        columns = [block.column(index) for index, _ in plain] + \
            [values for values, (_, _, company, _) in zip(converted, self._converted) if company == on_company]
        if not keys:
            return repeat({}, block.size)
        rows = list(zip(*columns))
        return map(dict, map(compress, map(zip, repeat(keys), rows), rows))    # per row, all in C

    def _contact_row(self, number: int, fields: list[str]) -> ContactRow | Skipped:
        contact_id = fields[self._id.index].strip()
        if not contact_id:
            return Skipped(number, self._id.header, "no contact id")
        properties = {key: value for index, key in self._plain if (value := fields[index])}
        company = {key: value for index, key in self._company if (value := fields[index])}
        try:
            for index, key, on_company, convert in self._converted:
                if value := fields[index]:
                    (company if on_company else properties)[key] = convert(value)
            if self._dates is not None:
                self._check_dates(fields, properties)
        except ValueError:
            return Skipped(number, *self._first_bad_date(fields))
        outcome = None if self._outcome is None else fields[self._outcome].strip() or None
        return _contact_row(number, contact_id, properties, company, outcome)

    def _check_dates(self, fields: list[str], properties: dict[str, str]) -> None:
        """The dates checked together: fromisoformat reads them all (the common case), else each is read by
        its column's checker, which raises ValueError on a bad one and gives the scorer's reading of a good
        one (epoch ms, spaces around it) to keep."""
        try:
            list(map(datetime.fromisoformat, filter(None, self._dates(fields))))
            return
        except ValueError:
            pass
        for index, _, check, key in self._checked:
            if value := fields[index]:
                written = check(value)
                if key is not None:
                    properties[key] = written

    def _first_bad_date(self, fields: list[str]) -> tuple[str | None, str]:
        """(column, problem) of the row's first unreadable date, in file order, as a Skipped names it."""
        for index, header, check in self._every_date:
            if value := fields[index]:
                try:
                    check(value)
                except ValueError as error:
                    return header, str(error)
        return None, "a value cannot be read"

    def close(self) -> None:
        self.file.close()


def _contact_row(number: int, contact_id: str, properties: dict[str, str], company: dict[str, str],
                 outcome: str | None) -> ContactRow:
    firm = Company(properties.get("associatedcompanyid", ""), company) if company else None
    return make_tuple(ContactRow, (number, Contact(contact_id, properties, firm), outcome))


def _blanked(converted: list[str], written: list[str]) -> bool:
    """Whether a value converts to "" (an industry without a letter or digit): more blanks after than before."""
    return converted.count("") != written.count("")


def _fields_getter(indexes: list[int]) -> Callable[[list[str]], tuple[str, ...]] | None:
    """The fields at these places as a tuple (itemgetter gives a bare value for one place)."""
    if not indexes:
        return None
    if len(indexes) == 1:
        return lambda fields: (fields[indexes[0]],)
    return itemgetter(*indexes)


def _lacking_contact_columns(header: list[str], outcome: str | None) -> list[str]:
    lacking = [] if CONTACT_ID in map(property_for_header, header) else ["Record ID"]
    if outcome and _column_index(header, outcome) is None:
        lacking.append(f"{outcome!r} (named by --outcome)")
    return lacking


def _column_index(header: list[str], wanted: str) -> int | None:
    """Where a column is: by its header as written (any case), else by the property it holds."""
    plain = [_plain(name) for name in header]
    if _plain(wanted) in plain:
        return plain.index(_plain(wanted))
    name = property_for_header(wanted)
    return next((i for i, h in enumerate(header) if name and property_for_header(h) == name), None)


def _plan_columns(header: list[str], zone: tzinfo) -> tuple[list[_Column], list[str]]:
    """What each column holds: (columns read, headers ignored: unknown, or a second column for a property)."""
    columns, ignored, seen = [], [], set()
    for index, text in enumerate(header):
        name = property_for_header(text)
        if name is None or name in seen:
            ignored.append(text)
            continue
        seen.add(name)
        on_company = name.startswith(COMPANY_PREFIX)
        key = name[len(COMPANY_PREFIX):] if on_company else name
        dated = is_datetime_property(name)
        convert = time_checker(zone) if dated else _option_value(name)
        columns.append(_Column(index, text, key, on_company, convert, dated))
    return columns, ignored


# --- activities ----------------------------------------------------------------------------------

# Each kind's one string object: the scorer groups and looks up activities by kind, and the same object
# compares at once (a kind read from a row is a new string each time).
_KINDS = {kind: kind for kind in ACTIVITY_KINDS}
_COUNTS = {"": 1} | {str(count): count for count in range(1, 1000)}    # the counts written most: read at once
_ACTIVITY_BY_HEADER = {_plain(header): name for header, name in ACTIVITY_COLUMNS.items()}


class _BadValue(Exception):
    """An activity row's value that cannot be read: (column, problem) for its Skipped."""


class ActivityFile:
    """The activity file (contact_id, kind, occurred_at, label, count) read row by row."""

    def __init__(self, path: str | Path, zone: tzinfo = timezone.utc, delimiter: str | None = None):
        self.file = CsvFile(path, _lacking_activity_columns, delimiter)
        names = [_activity_column(text) for text in self.file.header]
        where = {name: names.index(name) for name in ACTIVITY_COLUMNS.values() if name in names}
        self._id, self._kind, self._when = where["contact_id"], where["kind"], where["occurred_at"]
        self._label, self._count = where.get("label"), where.get("count")
        self._zone = zone
        self.rows_read = 0      # rows given out by runs(), skipped ones included

    def __iter__(self) -> Iterator[ActivityRow | Skipped]:
        for item in self.file.rows():
            if isinstance(item, Skipped):
                yield item
                continue
            try:
                yield ActivityRow(item[0], *self._activity(item[1], Activity))
            except _BadValue as bad:
                yield Skipped(item[0], *bad.args)

    def runs(self, skips: SkipLog, share_labels: bool = False) -> Iterator[tuple[str, ActivityColumns]]:
        """(contact id, its activities) for each run of rows with the same contact id, in file order; rows
        that cannot be read go to `skips` and do not break a run. `share_labels`: one string object per
        distinct label, for runs held in memory. The backtest's path: a block of plain rows is read a column
        at a time (_columns); any other row, or a block with a value to look at closely, row by row."""
        current, found = None, ActivityColumns.of()
        for contact_id, activities in self._pieces(skips, share_labels):
            if contact_id != current:
                if found.kinds:
                    yield current, found
                current, found = contact_id, activities
            else:
                found.extend(activities)
        if found.kinds:
            yield current, found

    def _pieces(self, skips: SkipLog, share_labels: bool) -> Iterator[tuple[str, ActivityColumns]]:
        """(contact id, activities) in file order, a run of a block's rows or a single row at a time (runs()
        joins those of one contact)."""
        for item in self.file.blocks():
            read = self._columns(item, share_labels) if item.__class__ is Block else None
            if read is not None:
                self.rows_read += item.size
                ids, columns = read
                for contact_id, start, end in _runs_of(ids):
                    yield contact_id, columns.part(start, end)
                continue
            for row in item.rows() if item.__class__ is Block else (item,):
                self.rows_read += 1
                if row.__class__ is Skipped:
                    skips.add(row)
                    continue
                try:
                    contact_id, activity = self._activity(row[1], FileActivity)
                except _BadValue as bad:
                    skips.add(Skipped(row[0], *bad.args))
                    continue
                label = sys.intern(activity.label) if share_labels else activity.label
                yield contact_id, ActivityColumns([activity.kind], [activity.occurred_at], [label], [activity.count])

    def _columns(self, block: Block, share_labels: bool) -> tuple[list[str], ActivityColumns] | None:
        """The block's contact ids and activities, read a column at a time in C; None when a value needs a
        closer look (no id, an unknown or padded kind, a count other than 1-999 or blank, a date written as
        digits or that fromisoformat cannot read): its rows are then read one by one, which names the problem."""
        ids, kinds = list(map(str.strip, block.column(self._id))), list(map(_KINDS.get, block.column(self._kind)))
        counts = list(map(_COUNTS.get, block.column(self._count))) if self._count is not None else [1] * block.size
        texts = block.column(self._when)
        if "" in ids or None in kinds or None in counts or any(map(str.isdigit, texts)):
            return None
        try:
            moments = list(map(datetime.fromisoformat, texts))
        except ValueError:
            return None
        if None in map(_TZINFO, moments):
            moments = [moment if moment.tzinfo else moment.replace(tzinfo=self._zone) for moment in moments]
        labels = block.column(self._label) if self._label is not None else [""] * block.size
        if share_labels:
            labels = list(map(sys.intern, labels))
        return ids, ActivityColumns(kinds, moments, labels, counts)

    def _activity(self, fields: list[str], make: Callable[..., Activity]) -> tuple[str, Activity]:
        """(contact id, make(kind, occurred_at, label, count)) from a row's fields; _BadValue(column, problem)
        when a value is wrong."""
        contact_id, written = fields[self._id].strip(), fields[self._kind].strip()
        if not contact_id:
            raise _BadValue("contact_id", "no contact id")
        kind = _KINDS.get(written)
        if kind is None:
            raise _BadValue("kind", f"unknown kind {written!r}: use one of {', '.join(ACTIVITY_KINDS)}")
        text = fields[self._when]
        try:
            # fromisoformat, in C, reads the common case; digits are epoch ms, not an ISO basic date
            moment = datetime.fromisoformat(text) if not text.isdigit() else parse_export_time(text, self._zone)
        except ValueError:
            moment = self._moment(text)
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=self._zone)
        count = fields[self._count].strip() if self._count is not None else ""
        if count and not (count.isascii() and count.isdigit() and int(count) >= 1):
            raise _BadValue("count", f"expected a whole number of at least 1 (got {count!r})")
        label = fields[self._label] if self._label is not None else ""
        return contact_id, make(kind, moment, label, int(count) if count else 1)

    def _moment(self, text: str) -> datetime:
        """A date fromisoformat could not read, as parse_export_time reads it (_BadValue when it cannot)."""
        try:
            return parse_export_time(text, self._zone)
        except ValueError as error:
            raise _BadValue("occurred_at", str(error)) from None

    def close(self) -> None:
        self.file.close()


_TZINFO = attrgetter("tzinfo")


def _runs_of(ids: list[str]) -> Iterator[tuple[str, int, int]]:
    """(id, start, end) for each run of equal ids: where one differs from the one before, found in C."""
    starts = [0, *compress(range(1, len(ids)), map(ne, ids[1:], ids)), len(ids)]
    return zip(map(ids.__getitem__, starts[:-1]), starts, starts[1:])


def _activity_column(header: str) -> str | None:
    return _ACTIVITY_BY_HEADER.get(_plain(header))


def _lacking_activity_columns(header: list[str]) -> list[str]:
    names = set(map(_activity_column, header))
    return [name for name in ACTIVITY_REQUIRED if name not in names]


# --- what was skipped, and each contact's activities ------------------------------------------

class SkipLog:
    """How many rows were skipped, with the first few kept to show (memory stays flat)."""

    def __init__(self, keep: int = 10):
        self.count, self.examples, self._keep = 0, [], keep

    def add(self, skipped: Skipped) -> None:
        self.count += 1
        if len(self.examples) < self._keep:
            self.examples.append(skipped)


def contact_order(contact_id: str) -> tuple[int, int, str]:
    """Sort key for contact ids: numeric ids by value (HubSpot's are numbers), any others after them by text."""
    if contact_id.isascii() and contact_id.isdigit():
        return 0, int(contact_id), contact_id
    return 1, 0, contact_id


class NotSorted(Exception):
    """Streaming found a file out of contact-id order: the activities must be held in memory instead."""


class ActivityFeed:
    """Each contact's activities from the activity file, asked for in the contacts file's order.

    Streamed (memory stays flat) when both files are sorted by contact id: otherwise NotSorted is
    raised as soon as that shows, and a feed made with `hold_in_memory` reads the file into memory.
    """

    def __init__(self, path: str | Path, zone: tzinfo = timezone.utc, delimiter: str | None = None,
                 hold_in_memory: str | None = None):
        """`hold_in_memory`: why the file is read into memory (None: stream it)."""
        self.path, self.skips = Path(path), SkipLog()
        self.matched = self.unmatched = 0
        self._file = ActivityFile(path, zone, delimiter)
        self.notes = list(self._file.file.notes)
        self._runs = self._file.runs(self.skips, share_labels=bool(hold_in_memory))
        self._pending: tuple[tuple, ActivityColumns, str] | None = None   # the next run: (its order, activities, id)
        self._last_key = None
        self._memory: dict[str, ActivityColumns] | None = None
        if hold_in_memory:
            self.held = f"held in memory ({hold_in_memory})"
            self._load()
        else:
            self.held = "streamed (both files sorted by contact id)"
            self._advance()

    @property
    def rows(self) -> int:
        """Rows of the activity file read so far (skipped ones included)."""
        return self._file.rows_read

    def for_contact(self, contact_id: str) -> ActivityColumns:
        """The next contact's activities; a contact id's activities are handed out once."""
        pending = self._pending
        if self._memory is not None:
            found = self._memory.pop(contact_id, None) or ActivityColumns.of()
        elif pending is not None and pending[2] == contact_id:
            # The next run is this contact's (the common case): its key is above every key handed out so far
            # (_take leaves only greater ones pending), so the order holds without working keys out.
            self._last_key, found = pending[0], pending[1]
            self._advance()
        else:
            key = contact_order(contact_id)
            if self._last_key is not None and key < self._last_key:
                raise NotSorted("the contacts file is not sorted by contact id")
            self._last_key, found = key, self._take(key)
        self.matched += len(found.kinds)     # (len(found) would be a Python call)
        return found

    def _take(self, key: tuple) -> ActivityColumns:
        found = ActivityColumns.of()
        while self._pending is not None and self._pending[0] <= key:
            pending_key, activities, _ = self._pending
            if pending_key == key:
                found.extend(activities)
            else:
                self.unmatched += len(activities)
            self._advance()
        return found

    def _advance(self) -> None:
        run = next(self._runs, None)
        if run is None:
            self._pending = None
            return
        key = contact_order(run[0])
        if self._pending is not None and key < self._pending[0]:
            raise NotSorted("the activity file is not sorted by contact id")
        self._pending = (key, run[1], run[0])

    def _load(self) -> None:
        self._memory = {}
        for contact_id, activities in self._runs:
            held = self._memory.get(contact_id)
            if held is None:
                self._memory[contact_id] = activities
            else:
                held.extend(activities)

    def finish(self) -> None:
        """Count the activities no contact asked for (reading the rest of a streamed file), then close it."""
        if self._memory is None:
            while self._pending is not None:
                self.unmatched += len(self._pending[1])
                self._advance()
        else:
            self.unmatched = sum(map(len, self._memory.values()))
        self.close()

    def close(self) -> None:
        self._file.close()
