"""Helpers of the import tests: valid and invalid resident IDs, files built in memory (XLSX, CSV in
any encoding, ZIPs shaped like bombs or macro workbooks) and an upload call."""
from __future__ import annotations

import csv
import io
import zipfile

import openpyxl
from django.core.files.uploadedfile import SimpleUploadedFile

from gis_core.validators import resident_id_check_char

DEFAULT_HEADER = ["姓名", "证件类型", "证件号码", "手机号", "地址", "客户经理工号", "备注"]


def resident_id(n: int, *, district: str = "430102", birth: str = "19850317") -> str:
    """A valid resident ID, different for each n."""
    first17 = f"{district}{birth}{n % 1000:03d}"
    return first17 + resident_id_check_char(first17)


def bad_checksum(value: str) -> str:
    """The same ID with a wrong check character."""
    last = value[-1]
    return value[:-1] + ("0" if last != "0" else "1")


def phone(n: int) -> str:
    return f"138{n:08d}"


def person(n: int, **overrides) -> list:
    """A valid row of the default template."""
    row = {
        "姓名": f"客户{n}", "证件类型": "居民身份证", "证件号码": resident_id(n), "手机号": phone(n),
        "地址": f"长沙市芙蓉区文艺路街道识字岭社区{n}栋", "客户经理工号": "", "备注": "",
    }
    row.update(overrides)
    return [row[h] for h in DEFAULT_HEADER]


def xlsx_bytes(header: list, rows: list[list]) -> bytes:
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.append(header)
    for row in rows:
        sheet.append(row)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def csv_bytes(header: list, rows: list[list], *, encoding: str = "utf-8") -> bytes:
    text = io.StringIO()
    writer = csv.writer(text)
    writer.writerow(header)
    writer.writerows(rows)
    return text.getvalue().encode(encoding)


def zip_bytes(parts: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name, content in parts.items():
            archive.writestr(name, content)
    return buffer.getvalue()


def with_extra_parts(xlsx: bytes, extra: dict[str, bytes], *, content_types: bytes | None = None) -> bytes:
    """A copy of an XLSX with parts added (and optionally its [Content_Types].xml replaced)."""
    source = zipfile.ZipFile(io.BytesIO(xlsx))
    parts = {info.filename: source.read(info.filename) for info in source.infolist()}
    if content_types is not None:
        parts["[Content_Types].xml"] = content_types
    parts.update(extra)
    return zip_bytes(parts)


def upload(client, *, template: int, content: bytes, filename: str = "名单.xlsx", name: str = "测试批次", crs: str = "wgs84"):
    return client.post(
        "/api/crm/imports/",
        {"template": template, "name": name, "crs": crs, "file": SimpleUploadedFile(filename, content)},
        format="multipart",
    )
