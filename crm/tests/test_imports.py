# covers: CR-3, SEC-5, SEC-6, SEC-10
"""List imports end to end through the API: preview with per-cell errors, the three commit modes,
idempotent commit, error rows as XLSX (formula injection escaped), GBK CSV, geocoding and placement."""
from __future__ import annotations

import io
import zipfile

import openpyxl
import pytest

from crm.choices import GeocodeStatus, ImportStatus
from crm.imports import list_template_create, list_template_default_ensure
from crm.models import Customer, ImportBatch, ImportRow, Segment, SegmentMember, Tag
from crm.tests.imports_support import (
    DEFAULT_HEADER,
    bad_checksum,
    csv_bytes,
    person,
    phone,
    resident_id,
    upload,
    xlsx_bytes,
)
from gis_core.choices import RoleCode
from gis_core.crypto import keyed_hash
from gis_core.models import AuditEntry


@pytest.fixture
def importer(bank, make_user):
    return make_user(bank["a"], RoleCode.BRANCH_MANAGER, employee_no="A0001")


@pytest.fixture
def template(bank):
    return list_template_default_ensure(institution=bank["a"])


@pytest.fixture
def client(login, importer):
    return login(importer)


def preview(client, template, rows, **kwargs):
    response = upload(client, template=template.pk, content=xlsx_bytes(DEFAULT_HEADER, rows), **kwargs)
    assert response.status_code == 201, response.content
    return response.json()


def commit(client, batch_id, mode, **extra):
    return client.post(f"/api/crm/imports/{batch_id}/commit/", {"mode": mode, **extra}, format="json")


def row_errors(client, batch_id) -> dict[int, dict]:
    body = client.get(f"/api/crm/imports/{batch_id}/rows/?errors_only=1&page_size=500").json()
    return {row["row_number"]: row["errors"] for row in body["results"]}


# --- preview ----------------------------------------------------------------------------------------
def test_preview_marks_every_invalid_cell(client, template, bank, make_user):
    existing_id = resident_id(900)
    Customer.objects.create(
        kind="individual", status="formal", name="老客户", id_type="resident_id", id_number=existing_id,
        id_number_hash=keyed_hash(existing_id), institution=bank["a"],
    )
    make_user(bank["b"], RoleCode.ACCOUNT_MANAGER, employee_no="B0009")  # exists, but outside branch A
    rows = [
        person(1),                                            # row 2: valid
        person(2, 证件号码=bad_checksum(resident_id(2))),        # row 3: checksum
        person(3, 手机号="1381234"),                            # row 4: phone format
        person(4, 姓名=""),                                     # row 5: required
        person(5, 证件号码=resident_id(1)),                      # row 6: same ID as row 2
        person(6, 手机号=phone(1)),                              # row 7: same phone as row 2
        person(7, 证件号码=existing_id),                          # row 8: existing customer
        person(8, 客户经理工号="B0009"),                          # row 9: manager outside the subtree
        person(9, 客户经理工号="A0001"),                          # row 10: valid, managed
        person(10, 证件类型="驾照"),                              # row 11: not a choice
    ]
    body = preview(client, template, rows)
    assert body["status"] == ImportStatus.PREVIEWED
    assert (body["total_rows"], body["valid_rows"], body["invalid_rows"]) == (10, 2, 8)
    first = body["rows"]["results"][0]
    assert first["row_number"] == 2 and first["valid"] is True
    assert first["cells"]["id_number"] == "430***********" + resident_id(1)[-4:]  # masked in the preview
    assert first["cells"]["phone"] == "138****" + phone(1)[-4:]

    errors = row_errors(client, body["id"])
    assert set(errors) == {3, 4, 5, 6, 7, 8, 9, 11}
    assert errors[3] == {"id_number": ["身份证号校验位错误"]}
    assert "手机号格式不正确" in errors[4]["phone"][0]
    assert errors[5] == {"name": ["此项为必填"]}
    assert errors[6] == {"id_number": ["与第2行的证件号码重复"]}
    assert errors[7] == {"phone": ["与第2行的手机号重复"]}
    assert errors[8] == {"id_number": ["该证件号码的客户已存在"]}
    assert "工号不存在" in errors[9]["manager_employee_no"][0]
    assert "应为以下选项之一" in errors[11]["id_type"][0]
    # staged cells holding ID numbers and phones are encrypted at rest (SEC-5)
    staged = ImportRow.objects.get(batch_id=body["id"], row_number=2)
    assert staged.data["cells"]["id_number"].startswith("sm4gcm:")
    assert resident_id(1) not in str(staged.data)


def test_preview_validates_dates_numbers_and_ranges(client, importer):
    template = list_template_create(
        actor=importer, name="农户名单",
        columns=[
            {"key": "name", "label": "户主", "type": "text", "required": True, "maps_to": "name"},
            {"key": "since", "label": "开户日期", "type": "date"},
            {"key": "land", "label": "承包土地（亩）", "type": "decimal", "min": 0, "max": 500},
            {"key": "members", "label": "家庭人口", "type": "integer"},
            {"key": "code", "label": "村组编号", "type": "text", "regex": r"G\d{3}"},
        ],
    )
    rows = [
        ["张三", "2024-02-29", "12.5", "4", "G001"],
        ["李四", "2023-02-30", "-1", "3.5", "X1"],
        ["王五", "2024年3月1日", "501", "abc", "G002"],
    ]
    response = upload(client, template=template.pk, content=xlsx_bytes(["户主", "开户日期", "承包土地（亩）", "家庭人口", "村组编号"], rows))
    assert response.status_code == 201, response.content
    errors = row_errors(client, response.json()["id"])
    assert set(errors) == {3, 4}
    assert set(errors[3]) == {"since", "land", "members", "code"}
    assert "日期无效" in errors[3]["since"][0]
    assert errors[3]["land"] == ["不能小于0"]
    assert errors[3]["members"] == ["应为整数"]
    assert errors[3]["code"] == ["格式不符合要求"]
    assert errors[4] == {"land": ["不能大于500"], "members": ["应为整数"]}


def test_gbk_csv_is_read_right(client, template):
    rows = [person(1, 姓名="欧阳娜娜", 地址="长沙市芙蓉区五里牌街道")]
    for encoding in ("gbk", "gb18030", "utf-8", "utf-8-sig"):
        content = csv_bytes(DEFAULT_HEADER, rows, encoding=encoding)
        response = upload(client, template=template.pk, content=content, filename="名单.csv", name=encoding)
        assert response.status_code == 201, (encoding, response.content)
        cells = response.json()["rows"]["results"][0]["cells"]
        assert (cells["name"], cells["address"]) == ("欧阳娜娜", "长沙市芙蓉区五里牌街道"), encoding


def test_missing_required_column_is_refused_and_nothing_staged(client, template):
    content = xlsx_bytes(["姓名", "手机号"], [["张三", phone(1)]])
    response = upload(client, template=template.pk, content=content)
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "file_columns_missing"
    assert set(response.json()["error"]["details"]["missing"]) == {"证件号码", "地址"}
    assert not ImportBatch.objects.exists() and not ImportRow.objects.exists()


# --- commit ------------------------------------------------------------------------------------------
def test_all_or_nothing_refuses_one_bad_row_and_commits_nothing(client, template):
    rows = [person(n) for n in range(1, 6)] + [person(6, 手机号="12345")]
    body = preview(client, template, rows)
    response = commit(client, body["id"], "all_or_nothing")
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "batch_has_invalid_rows"
    assert Customer.objects.count() == 0
    assert ImportBatch.objects.get(pk=body["id"]).status == ImportStatus.PREVIEWED


def test_all_or_nothing_commits_every_row(client, template, importer, django_capture_on_commit_callbacks):
    body = preview(client, template, [person(1, 客户经理工号="A0001"), person(2)])
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        response = commit(client, body["id"], "all_or_nothing")
    assert response.status_code == 202, response.content
    assert response.json()["committed_rows"] == 2 and len(callbacks) == 1
    customer = Customer.objects.get(id_number_hash=keyed_hash(resident_id(1)))
    assert customer.id_number == resident_id(1) and customer.phone == phone(1)  # decrypts back
    assert (customer.birth_date.isoformat(), customer.gender) == ("1985-03-17", "M")  # 17th digit 1: male
    assert customer.manager == importer and customer.institution == importer.institution
    assert customer.geocode_status == GeocodeStatus.PENDING and customer.import_batch_id == body["id"]
    assert customer.status == "potential" and customer.kind == "individual"
    staged = ImportRow.objects.get(batch_id=body["id"], row_number=2)
    assert staged.customer_id == customer.pk
    entry = AuditEntry.objects.get(action="crm.import.committed")
    assert entry.data["committed"] == 2 and entry.actor == importer


def test_valid_rows_commits_only_the_valid(client, template):
    body = preview(client, template, [person(1), person(2, 证件号码="123"), person(3)])
    response = commit(client, body["id"], "valid_rows")
    assert response.status_code == 202
    assert response.json()["committed_rows"] == 2
    assert set(Customer.objects.values_list("name", flat=True)) == {"客户1", "客户3"}


def test_accepted_rows_commits_exactly_the_accepted(client, template):
    body = preview(client, template, [person(1), person(2), person(3, 手机号="x"), person(4)])
    refused = commit(client, body["id"], "accepted_rows", accepted_rows=[2, 4])
    assert refused.status_code == 400 and refused.json()["error"]["code"] == "accepted_rows_invalid"
    assert refused.json()["error"]["details"]["rows"] == [4]
    assert Customer.objects.count() == 0
    unknown = commit(client, body["id"], "accepted_rows", accepted_rows=[2, 99])
    assert unknown.json()["error"]["code"] == "accepted_rows_unknown"
    response = commit(client, body["id"], "accepted_rows", accepted_rows=[2, 5])
    assert response.status_code == 202, response.content
    assert set(Customer.objects.values_list("name", flat=True)) == {"客户1", "客户4"}


def test_commit_twice_answers_409(client, template):
    body = preview(client, template, [person(1)])
    assert commit(client, body["id"], "valid_rows").status_code == 202
    again = commit(client, body["id"], "valid_rows")
    assert again.status_code == 409
    assert again.json()["error"]["code"] == "batch_already_committed"
    assert Customer.objects.count() == 1


def test_customer_added_after_preview_blocks_the_commit(client, template, bank):
    body = preview(client, template, [person(1), person(2)])
    Customer.objects.create(
        kind="individual", status="formal", name="抢先录入", id_type="resident_id", id_number=resident_id(2),
        id_number_hash=keyed_hash(resident_id(2)), institution=bank["a"],
    )
    response = commit(client, body["id"], "valid_rows")
    assert response.status_code == 409 and response.json()["error"]["details"]["rows"] == [3]
    assert Customer.objects.count() == 1


def test_tags_and_coordinates_in_gcj02(client, importer):
    Tag.objects.create(code="farmer", name="种植大户")
    template = list_template_create(
        actor=importer, name="带坐标名单",
        columns=[
            {"key": "name", "label": "名称", "type": "text", "required": True, "maps_to": "name"},
            {"key": "tags", "label": "标签", "type": "multi_choice", "maps_to": "tags"},
            {"key": "lng", "label": "经度", "type": "lng", "maps_to": "lng"},
            {"key": "lat", "label": "纬度", "type": "lat", "maps_to": "lat"},
        ],
    )
    rows = [["甲", "种植大户", 112.9935, 28.1925], ["乙", "不存在的标签", "", ""], ["丙", "", 28.19, 112.99], ["丁", "", 112.99, ""]]
    response = upload(client, template=template.pk, content=xlsx_bytes(["名称", "标签", "经度", "纬度"], rows), crs="gcj02")
    assert response.status_code == 201, response.content
    errors = row_errors(client, response.json()["id"])
    assert errors[3] == {"tags": ["标签不存在：不存在的标签"]}
    assert errors[4] == {"lat": ["纬度应在-90到90之间，经纬度可能填反了"]}
    assert errors[5] == {"lat": ["经度和纬度须同时填写"]}
    assert commit(client, response.json()["id"], "valid_rows").status_code == 202
    customer = Customer.objects.get(name="甲")
    assert customer.geocode_status == GeocodeStatus.PROVIDED and customer.input_crs == "gcj02"
    # GCJ-02 → WGS-84 moves Changsha points by roughly 0.005° west and 0.003° north… south
    assert 0.003 < 112.9935 - customer.location.x < 0.007 and 0.001 < 28.1925 - customer.location.y + 0.005
    assert list(customer.customer_tags.values_list("tag__code", flat=True)) == ["farmer"]


# --- error rows ---------------------------------------------------------------------------------------
def test_errors_xlsx_escapes_formula_injection(client, template, importer):
    rows = [
        person(1, 姓名="=HYPERLINK(\"http://evil.example\",\"点我\")", 手机号="bad"),
        person(2, 备注="@SUM(1+1)", 证件号码=bad_checksum(resident_id(2))),
        person(3),
    ]
    body = preview(client, template, rows)
    response = client.get(f"/api/crm/imports/{body['id']}/errors.xlsx")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/vnd.openxmlformats")
    content = response.content
    with zipfile.ZipFile(io.BytesIO(content)) as archive:
        sheet_xml = archive.read("xl/worksheets/sheet1.xml").decode()
    assert "<f>" not in sheet_xml  # no formula anywhere
    sheet = openpyxl.load_workbook(io.BytesIO(content)).active
    values = [[cell.value for cell in row] for row in sheet.iter_rows()]
    assert values[0] == DEFAULT_HEADER + ["原行号", "错误说明"]
    assert len(values) == 3  # header + the two invalid rows
    assert values[1][0] == "'=HYPERLINK(\"http://evil.example\",\"点我\")"
    assert values[1][3] == "bad" and values[1][7] == 2 and "手机号" in values[1][8]
    assert values[2][2] == bad_checksum(resident_id(2))  # in clear: it is the operator's own file
    assert values[2][6] == "'@SUM(1+1)"
    assert AuditEntry.objects.filter(action="crm.import.errors_exported", actor=importer).count() == 1
    # the formula-like name is stored as plain text and shown as such in the preview
    assert client.get(f"/api/crm/imports/{body['id']}/rows/").json()["results"][0]["cells"]["name"].startswith("=HYPERLINK")


# --- template download ----------------------------------------------------------------------------
def test_template_xlsx_has_header_hidden_rules_and_drop_downs(client, template):
    response = client.get(f"/api/crm/list-templates/{template.pk}/xlsx/")
    assert response.status_code == 200
    workbook = openpyxl.load_workbook(io.BytesIO(response.content))
    sheet, rules = workbook.worksheets
    assert [c.value for c in sheet[1]] == DEFAULT_HEADER
    assert rules.sheet_state == "hidden"
    assert [c.value for c in rules[1]][:2] == ["列名", "字段键"]
    assert rules.cell(row=4, column=2).value == "id_number" and rules.cell(row=4, column=4).value == "是"
    validations = sheet.data_validations.dataValidation
    assert len(validations) == 1 and str(validations[0].sqref).startswith("B2")
    # the downloaded template uploads as is (filled in)
    sheet.append(person(1))
    buffer = io.BytesIO()
    workbook.save(buffer)
    assert upload(client, template=template.pk, content=buffer.getvalue()).status_code == 201


# --- background geocoding and placement ---------------------------------------------------------
@pytest.mark.django_db(transaction=True)  # roles seeded by migrations come back
def test_geocoding_job_locates_and_places_customers(bank, make_user, login):
    from gis_core.geocoding import gazetteer_invalidate
    from gis_core.tests.place_factories import make_places
    from grids.tests.factories import GridFactory, square

    places = make_places()
    gazetteer_invalidate()
    grid = GridFactory(institution=bank["a"], level="district", geom=square(112.95, 28.15, 0.08))
    importer = make_user(bank["a"], RoleCode.BRANCH_MANAGER)
    client = login(importer)
    template = list_template_default_ensure(institution=bank["a"])
    rows = [
        person(1, 地址="湖南省长沙市芙蓉区文艺路街道识字岭社区识字岭菜市场旁"),
        person(2, 地址="长沙芙蓉区识字岭社区3栋2单元"),
        person(3, 地址="火星基地一号"),
    ]
    body = preview(client, template, rows)
    assert commit(client, body["id"], "valid_rows").status_code == 202  # on_commit runs the eager task
    batch = ImportBatch.objects.get(pk=body["id"])
    assert batch.status == ImportStatus.DONE and batch.progress == 100 and batch.geocoded_rows == 3
    located = Customer.objects.filter(import_batch=batch, location__isnull=False)
    assert located.count() == 2
    for customer in located:
        assert customer.location.within(places["community"].geom.buffer(0.002))
        assert customer.grid_district_id == grid.pk
        assert customer.geocode_source and customer.geocode_level
    failed = Customer.objects.get(import_batch=batch, name="客户3")
    assert failed.geocode_status == GeocodeStatus.FAILED and failed.grid_district_id is None
    assert client.get(f"/api/crm/imports/{batch.pk}/").json()["status"] == ImportStatus.DONE
    # running the job again changes nothing
    from crm.tasks import import_batch_geocode_task

    assert import_batch_geocode_task(batch.pk)["status"] == ImportStatus.DONE


def test_geocoding_marks_coarse_matches_low_confidence(client, template, monkeypatch, django_capture_on_commit_callbacks):
    from gis_core.geocoding.base import GeocodeResult

    def fake_geocode_many(addresses, **kwargs):
        answers = {
            "精确": GeocodeResult(lng=112.98, lat=28.19, level="poi", confidence=0.9),
            "街道": GeocodeResult(lng=112.98, lat=28.19, level="street", confidence=0.9),
            "含糊": GeocodeResult(lng=112.98, lat=28.19, level="community", confidence=0.4),
        }
        return [answers.get(a) or GeocodeResult.unmatched(raw_address=a) for a in addresses]

    monkeypatch.setattr("gis_core.geocoding.geocode_many", fake_geocode_many)
    rows = [person(1, 地址="精确"), person(2, 地址="街道"), person(3, 地址="含糊"), person(4, 地址="无解")]
    body = preview(client, template, rows)
    with django_capture_on_commit_callbacks(execute=True):
        assert commit(client, body["id"], "valid_rows").status_code == 202
    statuses = dict(Customer.objects.values_list("address", "geocode_status"))
    assert statuses == {"精确": "matched", "街道": "low_confidence", "含糊": "low_confidence", "无解": "failed"}
    assert ImportBatch.objects.get(pk=body["id"]).status == ImportStatus.DONE


# --- batches search, discard, segment -------------------------------------------------------------
def test_batch_search_by_name_template_operator_and_time(client, template, importer):
    first = preview(client, template, [person(1)], name="五月名单")
    preview(client, template, [person(2)], name="六月名单")
    def ids(query):
        return [b["id"] for b in client.get(f"/api/crm/imports/?{query}").json()["results"]]
    assert ids("name=五月") == [first["id"]]
    assert len(ids(f"template={template.pk}")) == 2
    assert len(ids(f"operator={importer.username}")) == 2 and ids("operator=nobody") == []
    assert len(ids("since=2000-01-01")) == 2 and ids("until=2000-01-01") == []


def test_save_as_segment_and_discard(client, template, importer):
    body = preview(client, template, [person(1), person(2)])
    too_early = client.post(f"/api/crm/imports/{body['id']}/save-as-segment/", {}, format="json")
    assert too_early.status_code == 409
    commit(client, body["id"], "valid_rows")
    response = client.post(f"/api/crm/imports/{body['id']}/save-as-segment/", {"name": "五月导入客户"}, format="json")
    assert response.status_code == 201
    segment = Segment.objects.get(pk=response.json()["id"])
    assert (segment.visibility, segment.status, segment.owner) == ("private", "draft", importer)
    assert segment.definition == {"v": 1, "import_batch": body["id"]} and segment.member_count == 2
    assert segment.source_batch_id == body["id"]
    assert SegmentMember.objects.filter(segment=segment).count() == 2

    other = preview(client, template, [person(3)])
    assert client.post(f"/api/crm/imports/{other['id']}/discard/").status_code == 200
    assert not ImportRow.objects.filter(batch_id=other["id"]).exists()
    assert commit(client, other["id"], "valid_rows").status_code == 409
