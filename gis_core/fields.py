"""Model fields shared by the apps."""
from __future__ import annotations

from typing import Any

from django.db import models

from gis_core import crypto


class EncryptedTextField(models.TextField):
    """A text field stored SM4-encrypted (gis_core.crypto) and read back in clear in Python.

    Cannot be filtered on: keep a `<field>_hash` beside it (crypto.keyed_hash) for exact lookups.
    Show it only through gis_core.masking unless the viewer is entitled to the full value.
    """

    def from_db_value(self, value: Any, expression: Any, connection: Any) -> str:
        return crypto.decrypt(value) if value else ""

    def get_prep_value(self, value: Any) -> str:
        value = super().get_prep_value(value)
        return crypto.encrypt(value) if value else ""
