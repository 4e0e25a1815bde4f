"""The files of list imports (CR-3, SEC-6): what an upload really is, reading it row by row, and
writing XLSX that cannot run anything.

Why this module exists
----------------------
An uploaded list is untrusted input. Its name and extension say nothing, so :func:`file_inspect`
decides by CONTENT alone: an XLSX is a ZIP holding ``[Content_Types].xml`` and ``xl/workbook.xml``;
macro-enabled workbooks (a ``vbaProject.bin`` part or the ``macroEnabled`` content type) are refused;
the ZIP's central directory is checked for bombs (more than 200 MB uncompressed, or more than 100
times its compressed size) BEFORE any part is decompressed; anything that is not such a ZIP must be
text in UTF-8 (with or without BOM) or GBK/GB18030 to be read as CSV. Legacy ``.xls``, PNGs renamed
``.xlsx``, binary garbage: refused with ``file_format_unsupported``.

Rows are read streaming (an expat-fed XLSX sheet reader and ``csv.reader`` over an incremental decoder), so a
million-row file is never held in memory at once; :func:`data_rows_exceed` counts rows the same way
and stops as soon as the limit is passed.

Spreadsheet programs execute cells starting with ``=``, ``+``, ``-`` or ``@`` (formula injection,
"CSV injection"). Imported cells are kept as plain text and never evaluated; every XLSX this platform
writes goes through :func:`escape_cell`, which prefixes such strings with an apostrophe and stores
them as text, never as formulas.
"""
from __future__ import annotations

import codecs
import csv
import datetime as dt
import io
import re
import zipfile
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import IO, Any

from django.utils.translation import gettext as _

from gis_core.errors import ValidationFailed

MAX_UNCOMPRESSED_BYTES = 200 * 1024 * 1024
MAX_COMPRESSION_RATIO = 100
# Below this many uncompressed bytes a file cannot hurt, whatever its ratio (tiny parts compress oddly).
RATIO_CHECK_FROM_BYTES = 1024 * 1024
CONTENT_TYPES_PART = "[Content_Types].xml"
WORKBOOK_PART = "xl/workbook.xml"
_OLE2_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"  # legacy .xls, or an encrypted .xlsx
_ZIP_MAGIC = b"PK\x03\x04"
_READ_CHUNK = 1024 * 1024
# Control characters that never occur in a text CSV (tab, LF, CR and form feed do).
_BINARY_CHARS = re.compile(r"[\x00-\x08\x0b\x0e-\x1f\x7f]")
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


@dataclass(frozen=True)
class InspectedFile:
    """What an upload turned out to be: ``kind`` "xlsx" or "csv", and a CSV's text encoding."""

    kind: str
    encoding: str = ""


def _refuse(code: str, message: str) -> ValidationFailed:
    return ValidationFailed(message, code=code)


def file_inspect(handle: IO[bytes]) -> InspectedFile:
    """Decide what the upload is by its bytes (never its name) or raise ValidationFailed with one of
    file_empty, file_zip_bomb, file_macro_enabled, file_format_unsupported."""
    handle.seek(0)
    head = handle.read(8)
    handle.seek(0)
    if not head:
        raise _refuse("file_empty", _("文件为空"))
    if head.startswith(_ZIP_MAGIC):
        return _inspect_zip(handle)
    if head.startswith(_OLE2_MAGIC):
        raise _refuse(
            "file_format_unsupported",
            _("不支持旧版 Excel（.xls）或加密的工作簿，请另存为 .xlsx 或 CSV（UTF-8）后再上传"),
        )
    encoding = _text_encoding(handle)
    if encoding is None:
        raise _refuse("file_format_unsupported", _("文件格式不受支持：请上传 Excel（.xlsx）或 CSV 文件"))
    return InspectedFile("csv", encoding)


def _inspect_zip(handle: IO[bytes]) -> InspectedFile:
    try:
        archive = zipfile.ZipFile(handle)
        infos = archive.infolist()
    except (zipfile.BadZipFile, OSError, ValueError, EOFError):
        raise _refuse("file_format_unsupported", _("文件已损坏或不是有效的 Excel（.xlsx）文件")) from None
    # Bomb check on the central directory only: nothing is decompressed before it passes.
    uncompressed = sum(info.file_size for info in infos)
    compressed = sum(info.compress_size for info in infos)
    if uncompressed > MAX_UNCOMPRESSED_BYTES or (
        uncompressed > RATIO_CHECK_FROM_BYTES and uncompressed > MAX_COMPRESSION_RATIO * max(compressed, 1)
    ):
        raise _refuse("file_zip_bomb", _("文件解压后异常巨大（疑似压缩炸弹），已拒绝"))
    names = {info.filename for info in infos}
    if CONTENT_TYPES_PART not in names or WORKBOOK_PART not in names:
        raise _refuse("file_format_unsupported", _("文件格式不受支持：请上传 Excel（.xlsx）或 CSV 文件"))
    if any(info.flag_bits & 0x1 for info in infos):
        raise _refuse("file_format_unsupported", _("不支持加密的工作簿，请取消密码后再上传"))
    if any(name.lower().rsplit("/", 1)[-1] == "vbaproject.bin" for name in names):
        raise _refuse("file_macro_enabled", _("不接受含宏的工作簿（.xlsm），请另存为普通 .xlsx 后再上传"))
    content_types = archive.read(CONTENT_TYPES_PART)
    if b"macroenabled" in content_types.lower():
        raise _refuse("file_macro_enabled", _("不接受含宏的工作簿（.xlsm），请另存为普通 .xlsx 后再上传"))
    return InspectedFile("xlsx")


def _text_encoding(handle: IO[bytes]) -> str | None:
    """"utf-8-sig" or "gb18030" when the whole stream decodes strictly as text, else None."""
    for encoding in ("utf-8-sig", "gb18030"):
        handle.seek(0)
        decoder = codecs.getincrementaldecoder(encoding)(errors="strict")
        meaningful = False
        try:
            while chunk := handle.read(_READ_CHUNK):
                text = decoder.decode(chunk)
                if _BINARY_CHARS.search(text):
                    handle.seek(0)
                    return None
                meaningful = meaningful or bool(text.strip())
            text = decoder.decode(b"", final=True)
            meaningful = meaningful or bool(text.strip())
        except UnicodeDecodeError:
            continue
        handle.seek(0)
        if not meaningful:
            raise _refuse("file_empty", _("文件为空"))
        return encoding
    handle.seek(0)
    return None


# --- reading --------------------------------------------------------------------------------------

def iter_rows(handle: IO[bytes], inspected: InspectedFile) -> Iterator[tuple[int, tuple[Any, ...]]]:
    """(row number in the file, cell values) for every row that is not blank, header included.

    XLSX values are what the cells hold (str, int, float, datetime, bool); formulas come back as
    their text (``=…``) and are never evaluated. CSV values are str.
    """
    handle.seek(0)
    if inspected.kind == "xlsx":
        yield from _iter_xlsx(handle)
    else:
        yield from _iter_csv(handle, inspected.encoding)


def _iter_xlsx(handle: IO[bytes]) -> Iterator[tuple[int, tuple[Any, ...]]]:
    for number, values in XlsxSheetReader(handle).rows():
        if any(v is not None and (not isinstance(v, str) or v.strip()) for v in values):
            yield number, values


# --- a streaming XLSX sheet reader ----------------------------------------------------------------
# openpyxl's read-only mode builds an object per cell (and per inline string); on a 100,000-row list
# that alone took most of the import's time. This reader feeds the decompressed sheet XML to expat
# in 1 MB chunks and keeps only the current row: several times faster, memory bounded by one row
# plus the shared-string table (itself bounded by the ZIP bomb check). Document type declarations are
# refused outright, so no entity expansion or external entity can ever happen.

_NS_SHEET_RELATIONSHIP = "officeDocument/2006/relationships/worksheet"
# Built-in number formats that show dates (ECMA-376 §18.8.30 plus the CJK locale ids 27–36, 50–58).
_DATE_FORMAT_IDS = frozenset([*range(14, 23), *range(27, 37), *range(45, 48), *range(50, 59)])
_QUOTED_OR_BRACKETED = re.compile(r'"[^"]*"|\[[^\]]*\]|\\.')
_DIMENSION_RE = re.compile(rb'<(?:\w+:)?dimension\s+ref="[A-Z]+\d+(?::[A-Z]+(\d+))?"')
_ROW_TAG_RE = re.compile(rb"<(?:\w+:)?row[\s>/]")
_EPOCH_1900 = dt.datetime(1899, 12, 30)
_EPOCH_1904 = dt.datetime(1904, 1, 1)


class _NoDoctype(Exception):
    pass


def _local(name: str) -> str:
    return name.rsplit(":", 1)[-1]


def _expat_parse(stream: IO[bytes], start, end, chars) -> Iterator[None]:
    """Feed ``stream`` to a namespace-unaware expat parser in chunks; yields after each chunk so the
    caller can drain what the handlers collected. Raises ValidationFailed on malformed XML or a DTD."""
    from xml.parsers import expat

    parser = expat.ParserCreate()
    parser.buffer_text = True
    parser.StartElementHandler = start
    parser.EndElementHandler = end
    parser.CharacterDataHandler = chars

    def refuse_doctype(*_args):
        raise _NoDoctype

    parser.StartDoctypeDeclHandler = refuse_doctype
    parser.EntityDeclHandler = refuse_doctype
    try:
        while chunk := stream.read(_READ_CHUNK):
            parser.Parse(chunk, False)
            yield
        parser.Parse(b"", True)
        yield
    except (expat.ExpatError, _NoDoctype, zipfile.BadZipFile, EOFError, OSError, ValueError):
        raise _refuse("file_format_unsupported", _("文件已损坏或不是有效的 Excel（.xlsx）文件")) from None


def _read_part(archive: zipfile.ZipFile, name: str, start, end, chars) -> None:
    with archive.open(name) as stream:
        for _ in _expat_parse(stream, start, end, chars):
            pass


def _is_date_format(code: str) -> bool:
    code = _QUOTED_OR_BRACKETED.sub("", code).lower()
    return code not in ("general", "") and any(ch in code for ch in "ymdhs")


def _column_index(ref: str) -> int:
    index = 0
    for ch in ref:
        if "A" <= ch <= "Z":
            index = index * 26 + (ord(ch) - 64)
        else:
            break
    return index - 1


class XlsxSheetReader:
    """Rows of the first worksheet of an XLSX (already checked by :func:`file_inspect`): shared and
    inline strings, numbers (int when integral in the file), booleans, dates (by the cell's number
    format, 1900 and 1904 systems), errors as their text, formulas as ``=`` + their text."""

    def __init__(self, handle: IO[bytes]) -> None:
        handle.seek(0)
        try:
            self.archive = zipfile.ZipFile(handle)
        except (zipfile.BadZipFile, OSError, ValueError, EOFError):
            raise _refuse("file_format_unsupported", _("文件已损坏或不是有效的 Excel（.xlsx）文件")) from None
        self.names = set(self.archive.namelist())
        self.sheet_part, self.date1904 = self._first_sheet()

    # --- workbook parts -----------------------------------------------------------------------
    def _first_sheet(self) -> tuple[str, bool]:
        state = {"rid": None, "date1904": False}
        targets: dict[str, str] = {}

        def wb_start(name, attrs):
            local = _local(name)
            if local == "sheet" and state["rid"] is None:
                state["rid"] = next((v for k, v in attrs.items() if _local(k) == "id"), None)
            elif local == "workbookPr":
                state["date1904"] = attrs.get("date1904") in ("1", "true")

        _read_part(self.archive, WORKBOOK_PART, wb_start, None, None)
        rels = "xl/_rels/workbook.xml.rels"
        if rels in self.names:
            def rel_start(name, attrs):
                if _local(name) == "Relationship" and attrs.get("Type", "").endswith(_NS_SHEET_RELATIONSHIP):
                    targets[attrs.get("Id", "")] = attrs.get("Target", "")

            _read_part(self.archive, rels, rel_start, None, None)
        target = targets.get(state["rid"] or "", "")
        if target.startswith("/"):
            part = target.lstrip("/")
        elif target:
            part = "xl/" + target
        else:
            part = "xl/worksheets/sheet1.xml"
        if part not in self.names:
            raise _refuse("file_format_unsupported", _("文件已损坏或不是有效的 Excel（.xlsx）文件"))
        return part, bool(state["date1904"])

    def _shared_strings(self) -> list[str]:
        part = "xl/sharedStrings.xml"
        strings: list[str] = []
        if part not in self.names:
            return strings
        state = {"parts": [], "in_t": False, "skip": 0}

        def start(name, _attrs):
            local = _local(name)
            if local == "t" and not state["skip"]:
                state["in_t"] = True
            elif local in ("rPh", "phoneticPr"):
                state["skip"] += 1

        def end(name):
            local = _local(name)
            if local == "t":
                state["in_t"] = False
            elif local in ("rPh", "phoneticPr"):
                state["skip"] -= 1
            elif local == "si":
                strings.append("".join(state["parts"]))
                state["parts"] = []

        def chars(data):
            if state["in_t"]:
                state["parts"].append(data)

        _read_part(self.archive, part, start, end, chars)
        return strings

    def _date_styles(self) -> set[int]:
        part = "xl/styles.xml"
        if part not in self.names:
            return set()
        custom: dict[int, str] = {}
        xf_formats: list[int] = []
        state = {"in_cell_xfs": False}

        def start(name, attrs):
            local = _local(name)
            if local == "numFmt":
                try:
                    custom[int(attrs.get("numFmtId", "-1"))] = attrs.get("formatCode", "")
                except ValueError:
                    pass
            elif local == "cellXfs":
                state["in_cell_xfs"] = True
            elif local == "xf" and state["in_cell_xfs"]:
                try:
                    xf_formats.append(int(attrs.get("numFmtId", "0")))
                except ValueError:
                    xf_formats.append(0)

        def end(name):
            if _local(name) == "cellXfs":
                state["in_cell_xfs"] = False

        _read_part(self.archive, part, start, end, None)
        dates = set()
        for index, format_id in enumerate(xf_formats):
            code = custom.get(format_id)
            if (code is not None and _is_date_format(code)) or (code is None and format_id in _DATE_FORMAT_IDS):
                dates.add(index)
        return dates

    def declared_rows(self) -> int | None:
        """An upper bound of the sheet's rows, cheaply: the last row of its <dimension> when that is
        near the top (Excel, WPS), else the number of <row> tags (streaming writers such as
        openpyxl's omit the dimension). None when neither can be read."""
        with self.archive.open(self.sheet_part) as stream:
            head = stream.read(64 * 1024)
            match = _DIMENSION_RE.search(head)
            if match is not None:
                return int(match.group(1)) if match.group(1) else 1
            count, tail, chunk = 0, b"", head
            while chunk:
                data = tail + chunk
                count += len(_ROW_TAG_RE.findall(data))
                # keep a short tail so a tag split between chunks is seen once, in the next round
                cut = max(data.rfind(b"<"), len(data) - 16)
                count -= len(_ROW_TAG_RE.findall(data[cut:]))
                tail = data[cut:]
                chunk = stream.read(_READ_CHUNK)
            return count + len(_ROW_TAG_RE.findall(tail))

    # --- the sheet ----------------------------------------------------------------------------
    def rows(self) -> Iterator[tuple[int, tuple[Any, ...]]]:
        shared = self._shared_strings()
        date_styles = self._date_styles()
        epoch = _EPOCH_1904 if self.date1904 else _EPOCH_1900
        done: list[tuple[int, tuple[Any, ...]]] = []
        cell: dict[str, Any] = {"col": 0, "type": "n", "style": 0}
        row: dict[str, Any] = {"number": 0, "cells": {}, "next_col": 0}
        text: list[str] = []
        flags = {"collect": False, "in_is": False, "formula": None, "in_f": False}

        def start(name, attrs):
            local = _local(name)
            if local == "c":
                ref = attrs.get("r")
                col = _column_index(ref) if ref else row["next_col"]
                row["next_col"] = col + 1
                cell["col"], cell["type"] = col, attrs.get("t", "n")
                style = attrs.get("s")
                cell["style"] = int(style) if style and style.isdigit() else 0
                flags["formula"] = None
                text.clear()
            elif local == "v":
                flags["collect"] = True
                text.clear()
            elif local == "is":
                flags["in_is"] = True
                text.clear()
            elif local == "t" and flags["in_is"]:
                flags["collect"] = True
            elif local == "f":
                flags["in_f"], flags["collect"] = True, True
                text.clear()
            elif local == "row":
                number = attrs.get("r")
                row["number"] = int(number) if number and number.isdigit() else row["number"] + 1
                row["cells"] = {}
                row["next_col"] = 0

        def end(name):
            local = _local(name)
            if local in ("v", "t"):
                flags["collect"] = False
            elif local == "f":
                flags["in_f"], flags["collect"] = False, False
                formula = "".join(text)
                flags["formula"] = "=" + formula if formula else None
                text.clear()
            elif local == "is":
                flags["in_is"] = False
            elif local == "c":
                raw = "".join(text)
                value = flags["formula"] if flags["formula"] is not None else self._value(cell, raw, shared, date_styles, epoch)
                if value is not None and value != "":
                    row["cells"][cell["col"]] = value
                text.clear()
            elif local == "row":
                cells = row["cells"]
                if cells:
                    width = max(cells) + 1
                    done.append((row["number"], tuple(cells.get(i) for i in range(width))))

        def chars(data):
            if flags["collect"]:
                text.append(data)

        with self.archive.open(self.sheet_part) as stream:
            for _ in _expat_parse(stream, start, end, chars):
                if done:
                    yield from done
                    done.clear()

    @staticmethod
    def _value(cell: dict[str, Any], raw: str, shared: list[str], date_styles: set[int], epoch: dt.datetime) -> Any:
        kind = cell["type"]
        if kind == "s":
            try:
                return shared[int(raw)]
            except (ValueError, IndexError):
                return None
        if kind in ("inlineStr", "str", "e"):
            return raw
        if kind == "b":
            return raw.strip() in ("1", "true")
        if kind == "d":
            try:
                return dt.datetime.fromisoformat(raw.strip())
            except ValueError:
                return raw
        raw = raw.strip()
        if not raw:
            return None
        try:
            number: Any = int(raw) if raw.lstrip("-").isdigit() else float(raw)
        except ValueError:
            return raw
        if cell["style"] in date_styles:
            try:
                serial = float(number)
                if epoch is _EPOCH_1900 and 0 < serial < 60:  # Excel's phantom 1900-02-29
                    serial += 1
                moment = epoch + dt.timedelta(days=serial)
                return moment.replace(microsecond=0)
            except (OverflowError, ValueError):
                return number
        return number



def _iter_csv(handle: IO[bytes], encoding: str) -> Iterator[tuple[int, tuple[Any, ...]]]:
    text = io.TextIOWrapper(handle, encoding=encoding, errors="strict", newline="")
    try:
        first = text.read(4096)
        dialect = _sniff_delimiter(first)
        text.seek(0)
        reader = csv.reader(text, delimiter=dialect)
        for values in reader:
            if any(v.strip() for v in values):
                yield reader.line_num, tuple(values)
    except csv.Error:
        raise _refuse("file_format_unsupported", _("CSV 文件格式有误，无法读取")) from None
    finally:
        text.detach()


def _sniff_delimiter(sample: str) -> str:
    """Comma unless the first line clearly uses tabs or semicolons."""
    first_line = sample.splitlines()[0] if sample else ""
    counts = {d: first_line.count(d) for d in (",", "\t", ";")}
    best = max(counts, key=lambda d: counts[d])
    return best if counts[best] > 0 else ","


def data_rows_exceed(handle: IO[bytes], inspected: InspectedFile, *, limit: int) -> bool:
    """True when the file has more than ``limit`` data rows (header excluded), counted streaming
    and stopping as soon as the limit is passed. For XLSX the sheet's own ``<dimension>`` answers
    first when it is small enough (the row-by-row parse enforces the limit again, so a lying
    dimension gains nothing)."""
    if inspected.kind == "xlsx":
        declared = XlsxSheetReader(handle).declared_rows()
        if declared is not None and declared <= limit + 1:
            return False
    count = -1  # the header
    for _number, _values in iter_rows(handle, inspected):
        count += 1
        if count > limit:
            return True
    return False


# --- writing --------------------------------------------------------------------------------------

def escape_cell(value: Any) -> Any:
    """A value safe to put in a spreadsheet cell: strings a spreadsheet would run as a formula get an
    apostrophe in front (OWASP "CSV injection"); other values pass unchanged."""
    if isinstance(value, str) and value.startswith(FORMULA_PREFIXES):
        return "'" + value
    return value


def text_cell(sheet, value: Any):
    """A write-only cell holding ``value`` escaped and typed as text when it is a string."""
    from openpyxl.cell import WriteOnlyCell

    escaped = escape_cell(value)
    cell = WriteOnlyCell(sheet, value=escaped)
    if isinstance(escaped, str):
        cell.data_type = "s"  # never "f": a string is never stored as a formula
    return cell


def write_rows_xlsx(*, title: str, header: Sequence[str], rows: Iterator[Sequence[Any]], widths: Sequence[int] = ()) -> bytes:
    """An XLSX of one sheet (header in bold, then rows), every string escaped (formula injection),
    written in openpyxl's streaming mode."""
    import openpyxl
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.styles import Font
    from openpyxl.utils import get_column_letter

    workbook = openpyxl.Workbook(write_only=True)
    sheet = workbook.create_sheet(title=title[:31])
    for index, width in enumerate(widths, start=1):
        sheet.column_dimensions[get_column_letter(index)].width = width
    heading = []
    for label in header:
        cell = WriteOnlyCell(sheet, value=escape_cell(label))
        cell.data_type = "s"
        cell.font = Font(bold=True)
        heading.append(cell)
    sheet.append(heading)
    for row in rows:
        sheet.append([text_cell(sheet, v) for v in row])
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def cell_text(value: Any) -> str:
    """The text of a cell as a person reads it: dates as YYYY-MM-DD, integral floats without ".0"."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "是" if value else "否"
    if isinstance(value, dt.datetime):
        return value.date().isoformat() if value.time() == dt.time() else value.isoformat(sep=" ")
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, float):
        if value.is_integer() and abs(value) < 1e15:
            return str(int(value))
        return format(Decimal(repr(value)), "f")
    if isinstance(value, int):
        return str(value)
    return str(value).replace("\u3000", " ").strip()
