"""Priced schedule parsing, device fingerprint and author metadata (no database)."""
from __future__ import annotations

import zipfile
from decimal import Decimal

import pytest

from bidding.package.metadata import author_metadata, collect_device
from bidding.package.priced_schedule import ScheduleError, load_schedule, to_decimal


def _csv(tmp_path, text: str, encoding: str = "utf-8"):
    path = tmp_path / "s.csv"
    path.write_bytes(text.encode(encoding))
    return path


def test_csv_schedule_with_chinese_headers_and_total(tmp_path):
    got = load_schedule(_csv(tmp_path, "项目编码,项目名称,单位,工程量,综合单价,合价\n"
                                       "010101,土方开挖,m3,1200,35.50,\"42,600.00\"\n\n"
                                       "010102,回填,m3,10.5,2,21\n"))
    assert got["total"] == "42621.00" and got["rows"][0]["amount"] == "42600.00"
    assert got["rows"][1] == {"row": 4, "code": "010102", "item": "回填", "unit": "m3", "quantity": "10.5",
                              "unit_price": "2.00", "amount": "21.00"}


def test_gb18030_csv_is_accepted(tmp_path):
    got = load_schedule(_csv(tmp_path, "名称,金额\n钢筋,100.5\n", "gb18030"))
    assert got["total"] == "100.50"


def test_every_bad_row_is_reported_with_its_number(tmp_path):
    with pytest.raises(ScheduleError) as err:
        load_schedule(_csv(tmp_path, "item,quantity,unit_price,amount\n"
                                     "a,1,1,abc\n,1,1,1\nc,1,1,1.234\nd,1,1,-5\ne,2,3,7\nf,1,1,1e5\ng,1,1,\n"))
    errors = err.value.errors
    assert "row 2: amount 'abc' is not a decimal number" in errors
    assert "row 3: item is empty" in errors
    assert any(e.startswith("row 4: amount") and "2 decimal places" in e for e in errors)
    assert any(e.startswith("row 5: amount") and "out of range" in e for e in errors)
    assert "row 6: quantity × unit_price = 6.00 but amount is 7.00" in errors
    assert any(e.startswith("row 7: amount") for e in errors)
    assert "row 8: amount is empty" in errors


@pytest.mark.parametrize("text, message", [("", "empty"), ("foo,bar\n1,2\n", "missing column"),
                                           ("item,amount\n", "no priced rows")])
def test_unusable_schedules(tmp_path, text, message):
    with pytest.raises(ScheduleError) as err:
        load_schedule(_csv(tmp_path, text))
    assert message in str(err.value)


def test_binary_garbage_is_a_schedule_error(tmp_path):
    path = tmp_path / "s.csv"
    path.write_bytes(bytes(range(128, 256)) * 3)
    with pytest.raises(ScheduleError):
        load_schedule(path)
    xlsx = tmp_path / "s.xlsx"
    xlsx.write_bytes(b"not a workbook")
    with pytest.raises(ScheduleError):
        load_schedule(xlsx)


def test_excel_schedule(tmp_path):
    from openpyxl import Workbook

    book = Workbook()
    sheet = book.active
    sheet.append(["名称", "数量", "单价", "金额"])
    sheet.append(["混凝土", 3, 0.1, 0.1 * 3])  # float noise must not become a 17-digit amount
    sheet.append(["钢筋", 2, 1500, 3000])
    sheet.append(["坏行", 1, 1, "十元"])
    path = tmp_path / "s.xlsx"
    book.save(path)
    with pytest.raises(ScheduleError) as err:
        load_schedule(path)
    assert err.value.errors == ["row 4: amount '十元' is not a decimal number"]
    sheet.delete_rows(4)
    book.save(path)
    assert load_schedule(path)["total"] == "3000.30"


def test_to_decimal_edges():
    assert to_decimal("￥1,234.50") == (Decimal("1234.50"), None)
    assert to_decimal(True)[1] and to_decimal("NaN")[1] and to_decimal(float("inf"))[1]
    assert to_decimal("1.23456", money=False) == (Decimal("1.23456"), None)


def test_device_fingerprint_from_a_fake_sysfs(tmp_path):
    (tmp_path / "sys/class/net/eth0").mkdir(parents=True)
    (tmp_path / "sys/class/net/eth0/address").write_text("3C:7C:3F:1E:22:10\n")
    (tmp_path / "sys/class/net/lo").mkdir()
    (tmp_path / "sys/class/net/lo/address").write_text("00:00:00:00:00:00\n")
    (tmp_path / "sys/block/sda/device").mkdir(parents=True)
    (tmp_path / "sys/block/sda/device/serial").write_text("  S3Z9NB0K123456X \n")
    (tmp_path / "sys/block/loop0").mkdir(parents=True)
    (tmp_path / "proc").mkdir()
    (tmp_path / "proc/cpuinfo").write_text("processor\t: 0\nSerial\t\t: 00000000abcdef01\n")
    (tmp_path / "etc").mkdir()
    (tmp_path / "etc/machine-id").write_text("5F3C0A1E\n")
    got = collect_device(root=tmp_path, dongle_serials=["gld-1", " "])
    assert got == {"mac": ["3c:7c:3f:1e:22:10"], "cpu_serial": ["00000000ABCDEF01"],
                   "disk_serial": ["S3Z9NB0K123456X"], "dongle_serial": ["GLD-1"], "machine_id": ["5f3c0a1e"]}
    assert collect_device(root=tmp_path / "nothing") == {}


def test_device_fingerprint_of_this_machine_never_fails():
    got = collect_device()
    assert isinstance(got, dict) and all(isinstance(v, list) for v in got.values())


CORE = ('<?xml version="1.0" encoding="UTF-8"?><cp:coreProperties xmlns:cp="http://schemas.openxmlformats.org/'
        'package/2006/metadata/core-properties" xmlns:dc="http://purl.org/dc/elements/1.1/" '
        'xmlns:dcterms="http://purl.org/dc/terms/"><dc:creator>张工</dc:creator>'
        '<cp:lastModifiedBy>李工</cp:lastModifiedBy><dcterms:created>2026-01-02T03:04:05Z</dcterms:created>'
        '</cp:coreProperties>')
APP = ('<?xml version="1.0"?><Properties xmlns="http://schemas.openxmlformats.org/officeDocument/2006/'
       'extended-properties"><Application>WPS Office</Application><Company>甬诚咨询</Company></Properties>')


def test_docx_author_metadata(tmp_path):
    path = tmp_path / "bid.docx"
    with zipfile.ZipFile(path, "w") as z:
        z.writestr("docProps/core.xml", CORE)
        z.writestr("docProps/app.xml", APP)
        z.writestr("word/document.xml", "<w/>")
    assert author_metadata(path) == {"creator": "张工", "last_modified_by": "李工",
                                     "created": "2026-01-02T03:04:05Z", "application": "WPS Office",
                                     "company": "甬诚咨询"}


def test_pdf_author_literal_hex_and_garbage(tmp_path):
    pdf = tmp_path / "a.pdf"
    pdf.write_bytes(b"%PDF-1.4\n1 0 obj << /Author (Zhang \\(Gong\\)\\051) /Producer <FEFF675C> >> endobj\n%%EOF")
    assert author_metadata(pdf) == {"author": "Zhang (Gong))", "producer": "杜"}
    for name, data in (("b.pdf", b"%PDF-1.4 /Author"), ("c.docx", b"PK\x03\x04broken"), ("d.txt", b"x")):
        (tmp_path / name).write_bytes(data)
        assert author_metadata(tmp_path / name) == {}
    assert author_metadata(tmp_path / "missing.pdf") == {}
