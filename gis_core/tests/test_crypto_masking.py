# covers: SEC-5, SEC-8
"""SM4 field encryption, the keyed hash, masking and the audit log's secret stripping."""
import pytest
from django.db import connection

from gis_core import crypto
from gis_core.audit import audit_log
from gis_core.masking import mask_account, mask_id_number, mask_name, mask_phone
from gis_core.validators import resident_id_birth_and_gender, resident_id_check_char, resident_id_problem


def test_masks():
    assert mask_phone("13812341234") == "138****1234"
    assert mask_id_number("430102199001011234") == "430***********1234"
    assert mask_account("6222021234567890123") == "6222***********0123"
    assert mask_name("张三丰") == "张**"
    assert mask_phone("") == "" and mask_phone("123") == "1**"


def test_sm4_round_trip_random_nonce_and_tamper_detection():
    a, b = crypto.encrypt("430102199001011234"), crypto.encrypt("430102199001011234")
    assert a != b and a.startswith("sm4gcm:1:")
    assert crypto.decrypt(a) == "430102199001011234"
    tampered = a[:-4] + ("AAAA" if a[-4:] != "AAAA" else "BBBB")
    with pytest.raises(crypto.DecryptionError):
        crypto.decrypt(tampered)


def test_sm4_matches_the_standard_test_vector():
    """GB/T 32907-2016 appendix A: key = plaintext = 0123456789abcdeffedcba9876543210."""
    from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

    key = bytes.fromhex("0123456789abcdeffedcba9876543210")
    enc = Cipher(algorithms.SM4(key), modes.ECB()).encryptor()
    assert (enc.update(key) + enc.finalize()).hex() == "681edf34d206965e86b3e94f536e4246"


def test_keyed_hash_normalises_and_depends_on_key(settings):
    h = crypto.keyed_hash("43010219900101123x")
    assert h == crypto.keyed_hash(" 43010219900101123X ") and len(h) == 64
    settings.FIELD_HASH_KEY = "0" * 32
    crypto._key.cache_clear()
    assert crypto.keyed_hash("43010219900101123X") != h
    crypto._key.cache_clear()


@pytest.mark.django_db
def test_encrypted_field_stores_ciphertext(bank, make_user):
    user = make_user(bank["a"], phone="13900001111")
    with connection.cursor() as cursor:
        cursor.execute("SELECT phone FROM gis_core_user WHERE id=%s", [user.pk])
        stored = cursor.fetchone()[0]
    assert "13900001111" not in stored
    user.refresh_from_db()
    assert user.phone == "13900001111"


@pytest.mark.django_db
def test_audit_strips_secrets(bank, make_user):
    user = make_user(bank["a"])
    entry = audit_log(actor=user, action="gis_core.test.secret", data={"password": "Top#Secret1", "nested": {"token": "abc"}, "ok": 1})
    entry.refresh_from_db()
    assert entry.data == {"password": "***", "nested": {"token": "***"}, "ok": 1}
    assert entry.institution_id == bank["a"].pk


def test_resident_id_rules():
    first17 = "43010219900101123"
    valid = first17 + resident_id_check_char(first17)
    assert resident_id_problem(valid) is None
    wrong = first17 + ("0" if valid[-1] != "0" else "1")
    assert resident_id_problem(wrong) == "身份证号校验位错误"
    assert resident_id_problem("4301021990013112345") is not None
    assert resident_id_problem("430102199002301234") == "身份证号中的出生日期无效"
    birth, gender = resident_id_birth_and_gender(valid)
    assert birth.isoformat() == "1990-01-01" and gender == "M"  # 17th digit 3 is odd
