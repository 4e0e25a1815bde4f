# covers: CR-3, SEC-6, SEC-10
"""Bad input files: checked by content, never by name; each refused with its own code and nothing
left behind (no batch, no staged rows)."""
from __future__ import annotations

import io
import struct
import zipfile
import zlib

import pytest

from crm.imports import list_template_default_ensure
from crm.import_files import InspectedFile, data_rows_exceed, escape_cell, file_inspect
from crm.models import ImportBatch, ImportRow
from crm.tests.imports_support import DEFAULT_HEADER, csv_bytes, person, upload, with_extra_parts, xlsx_bytes, zip_bytes
from gis_core.choices import RoleCode
from gis_core.errors import ValidationFailed


@pytest.fixture
def client(bank, make_user, login):
    return login(make_user(bank["a"], RoleCode.ACCOUNT_MANAGER))


@pytest.fixture
def template(bank):
    return list_template_default_ensure(institution=bank["a"])


def refused(client, template, content, filename="名单.xlsx") -> str:
    response = upload(client, template=template.pk, content=content, filename=filename)
    assert response.status_code == 400, response.content
    assert not ImportBatch.objects.exists() and not ImportRow.objects.exists()
    return response.json()["error"]["code"]


def png_bytes() -> bytes:
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(b"\x00\xff\x00\x00")) + chunk(b"IEND", b"")


def test_png_renamed_xlsx_is_refused(client, template):
    assert refused(client, template, png_bytes(), "客户名单.xlsx") == "file_format_unsupported"


def test_legacy_xls_and_random_zip_are_refused(client, template):
    assert refused(client, template, b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 600, "名单.xls") == "file_format_unsupported"
    assert refused(client, template, zip_bytes({"readme.txt": b"hello"}), "名单.xlsx") == "file_format_unsupported"
    assert refused(client, template, b"PK\x03\x04 truncated", "名单.xlsx") == "file_format_unsupported"


def test_real_xlsx_named_csv_is_read_as_xlsx(client, template):
    response = upload(client, template=template.pk, content=xlsx_bytes(DEFAULT_HEADER, [person(1)]), filename="名单.csv")
    assert response.status_code == 201
    assert response.json()["valid_rows"] == 1


def test_zip_bomb_is_refused_before_decompressing(client, template):
    bomb = with_extra_parts(xlsx_bytes(DEFAULT_HEADER, [person(1)]), {"xl/media/zeros.bin": b"\x00" * (20 * 1024 * 1024)})
    assert len(bomb) < 100 * 1024  # ratio far above 100
    assert refused(client, template, bomb) == "file_zip_bomb"


def test_zip_bomb_by_total_size(monkeypatch):
    import crm.import_files as files

    monkeypatch.setattr(files, "MAX_UNCOMPRESSED_BYTES", 1024 * 1024)
    big = with_extra_parts(xlsx_bytes(DEFAULT_HEADER, []), {"xl/media/noise.bin": bytes(range(256)) * 8192})  # 2 MB, ratio low
    with pytest.raises(ValidationFailed) as caught:
        file_inspect(io.BytesIO(big))
    assert caught.value.code == "file_zip_bomb"


def test_macro_enabled_workbooks_are_refused(client, template):
    plain = xlsx_bytes(DEFAULT_HEADER, [person(1)])
    with_vba = with_extra_parts(plain, {"xl/vbaProject.bin": b"\xd0\xcf\x11\xe0 macro"})
    assert refused(client, template, with_vba, "名单.xlsx") == "file_macro_enabled"
    types = zipfile.ZipFile(io.BytesIO(plain)).read("[Content_Types].xml").replace(
        b"application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml",
        b"application/vnd.ms-excel.sheet.macroEnabled.main+xml",
    )
    assert b"macroEnabled" in types
    assert refused(client, template, with_extra_parts(plain, {}, content_types=types)) == "file_macro_enabled"


def test_empty_files_are_refused(client, template):
    assert refused(client, template, b"", "名单.csv") == "file_empty"
    assert refused(client, template, "\ufeff \r\n".encode("utf-8"), "名单.csv") == "file_empty"
    assert refused(client, template, xlsx_bytes(DEFAULT_HEADER, [])) == "file_empty"
    assert refused(client, template, csv_bytes(DEFAULT_HEADER, []), "名单.csv") == "file_empty"


def test_binary_garbage_and_wrong_encoding_are_refused(client, template):
    assert refused(client, template, bytes(range(256)) * 10, "名单.csv") == "file_format_unsupported"
    # not UTF-8 and not GB18030 either (a lone lead byte at the end)
    assert refused(client, template, "姓名,地址\n张三,长沙".encode("utf-8") + b"\x81", "名单.csv") == "file_format_unsupported"


@pytest.mark.parametrize("kind", ["xlsx", "csv"])
def test_rows_over_the_limit_are_refused(client, template, settings, kind):
    settings.CRM_IMPORT_MAX_ROWS = 3
    build = xlsx_bytes if kind == "xlsx" else csv_bytes
    filename = f"名单.{kind}"
    assert refused(client, template, build(DEFAULT_HEADER, [person(n) for n in range(1, 5)]), filename) == "file_too_many_rows"
    response = upload(client, template=template.pk, content=build(DEFAULT_HEADER, [person(n) for n in range(1, 4)]), filename=filename)
    assert response.status_code == 201 and response.json()["total_rows"] == 3


def test_a_dimension_claiming_few_rows_gains_nothing(client, template, settings):
    """The sheet's <dimension> is only a shortcut: a file lying about it is still counted row by row."""
    settings.CRM_IMPORT_MAX_ROWS = 3
    honest = xlsx_bytes(DEFAULT_HEADER, [person(n) for n in range(1, 6)])
    parts = {i.filename: zipfile.ZipFile(io.BytesIO(honest)).read(i.filename) for i in zipfile.ZipFile(io.BytesIO(honest)).infolist()}
    assert b'<dimension ref="A1:G6" />' in parts["xl/worksheets/sheet1.xml"]
    parts["xl/worksheets/sheet1.xml"] = parts["xl/worksheets/sheet1.xml"].replace(b'<dimension ref="A1:G6" />', b'<dimension ref="A1:G2" />')
    lying = zip_bytes(parts)
    assert data_rows_exceed(io.BytesIO(lying), InspectedFile("xlsx"), limit=3) is False  # the shortcut believes it
    assert refused(client, template, lying) == "file_too_many_rows"  # the streaming parse does not
    assert data_rows_exceed(io.BytesIO(honest), InspectedFile("xlsx"), limit=3) is True
    assert data_rows_exceed(io.BytesIO(honest), InspectedFile("xlsx"), limit=5) is False


def test_file_over_the_size_limit_is_refused(client, template, settings):
    settings.CRM_IMPORT_MAX_FILE_BYTES = 1000
    assert refused(client, template, csv_bytes(DEFAULT_HEADER, [person(n) for n in range(1, 40)]), "名单.csv") == "file_too_large"


def test_escape_cell():
    assert [escape_cell(v) for v in ("=1+2", "+1", "-1", "@A1", "\t=x", "正常", 5, None)] == [
        "'=1+2", "'+1", "'-1", "'@A1", "'\t=x", "正常", 5, None,
    ]


def test_xlsx_reader_reads_what_excel_writes(tmp_path):
    """Shared strings, numbers, booleans, dates by number format (incl. a Chinese date format),
    formulas as text, gaps between columns and rows."""
    import datetime as dt

    import openpyxl

    from crm.import_files import iter_rows

    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet["A1"], sheet["B1"], sheet["D1"] = "姓名", "日期", "备注"
    sheet["A2"], sheet["B2"], sheet["C2"], sheet["D2"] = "张三", dt.date(2024, 2, 29), True, "=SUM(1,2)"
    sheet["B2"].number_format = 'yyyy"年"m"月"d"日"'
    sheet["A4"], sheet["B4"], sheet["C4"] = 13800138000, 12.5, dt.datetime(2023, 1, 2, 3, 4, 5)
    buffer = io.BytesIO()
    workbook.save(buffer)
    rows = list(iter_rows(buffer, InspectedFile("xlsx")))
    assert rows == [
        (1, ("姓名", "日期", None, "备注")),
        (2, ("张三", dt.datetime(2024, 2, 29), True, "=SUM(1,2)")),
        (4, (13800138000, 12.5, dt.datetime(2023, 1, 2, 3, 4, 5))),
    ]


def test_xlsx_with_a_doctype_is_refused():
    plain = xlsx_bytes(DEFAULT_HEADER, [person(1)])
    source = zipfile.ZipFile(io.BytesIO(plain))
    sheet = source.read("xl/worksheets/sheet1.xml")
    body = sheet.split(b"?>", 1)[1] if sheet.startswith(b"<?xml") else sheet
    evil = b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;">]>' + body
    bad = with_extra_parts(plain, {"xl/worksheets/sheet1.xml": evil})
    from crm.import_files import iter_rows

    with pytest.raises(ValidationFailed) as caught:
        list(iter_rows(io.BytesIO(bad), InspectedFile("xlsx")))
    assert caught.value.code == "file_format_unsupported"
