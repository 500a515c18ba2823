"""DB_HOST host lists: parsing and messages (no database needed)."""

from __future__ import annotations

import pytest

import db


@pytest.mark.parametrize(
    ("text", "port", "expected"),
    [
        ("db1", 3306, (("db1", 3306),)),
        ("db1,db2:3307,db3", 3306, (("db1", 3306), ("db2", 3307), ("db3", 3306))),
        (" db1 , db2 ", 3310, (("db1", 3310), ("db2", 3310))),
        ("127.0.0.1:23310,127.0.0.1:23320", 3306, (("127.0.0.1", 23310), ("127.0.0.1", 23320))),
        ("[::1]:3307,[fe80::1]", 3306, (("::1", 3307), ("fe80::1", 3306))),
        ("db1:3306,db1:3307", 3306, (("db1", 3306), ("db1", 3307))),
    ],
)
def test_host_lists_parse_in_order_with_default_port(text, port, expected):
    assert db.parse_hosts(text, port) == expected


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("", "DB_HOST is empty"),
        (" , ", "DB_HOST is empty"),
        ("db1,,db2", "DB_HOST must be"),
        ("db1:abc", "DB_HOST must be"),
        ("db1:0", "port must be 1-65535"),
        ("db1:70000", "port must be 1-65535"),
        ("db1 db2", "DB_HOST must be"),
        ("::1", "DB_HOST must be"),
        ("db1,db1:3306", "lists db1:3306 twice"),
    ],
)
def test_malformed_host_lists_fail_in_one_line_naming_db_host(text, fragment):
    with pytest.raises(ValueError, match=fragment) as info:
        db.parse_hosts(text, 3306)
    assert "\n" not in str(info.value)


def test_settings_reject_a_bad_host_list_and_describe_every_host():
    with pytest.raises(ValueError, match="DB_HOST"):
        db.DbSettings.from_env({"DB_HOST": "db1,,db2"})
    settings = db.DbSettings.from_env({"DB_HOST": "db1,db2:3307", "DB_PASSWORD": "s3cret"})
    assert settings.hosts == (("db1", 3306), ("db2", 3307))
    assert settings.describe() == "root@db1:3306,db2:3307/llamadas"
    assert "s3cret" not in repr(settings) + settings.describe()


def test_nothing_answering_names_every_host_tried():
    settings = db.DbSettings(host="127.0.0.1:1,127.0.0.1:2", connect_timeout=2)
    with pytest.raises(db.DatabaseUnavailableError) as info:
        db.connect(settings)
    message = str(info.value)
    assert "127.0.0.1:1 error 2003" in message and "127.0.0.1:2 error 2003" in message
