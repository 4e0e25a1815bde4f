# covers: issue-2 item 9 (OpenAPI 3 schema and docs served without a CDN)
"""The OpenAPI schema validates and the docs pages load their assets locally."""
import pytest
import yaml
from django.core.management import call_command
from openapi_spec_validator import validate


def test_schema_is_valid_openapi(tmp_path):
    out = tmp_path / "schema.yaml"
    call_command("spectacular", "--file", str(out), "--validate", "--fail-on-warn")
    spec = yaml.safe_load(out.read_text())
    validate(spec)
    assert spec["openapi"].startswith("3.")
    assert "/api/institutions/" in spec["paths"]


@pytest.mark.django_db
def test_docs_page_has_no_cdn(client):
    response = client.get("/api/docs/")
    assert response.status_code == 200
    html = response.content.decode()
    assert "swagger-ui" in html
    for cdn in ("cdn.jsdelivr", "unpkg.com", "cdnjs"):
        assert cdn not in html
