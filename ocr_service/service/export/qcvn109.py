"""The part of the QCVN 109:2017/BTTTT citizen message this project writes: element names and
their order, as data (the XSD beside this file says the same for validators; docs/export.md has
the coverage table).

Established from the standard's published text and appendices (Phụ lục Đ, the example message):
the collection ``CongdanCollection`` (attributes ``GhiChu``, ``ThoiDiemDuLieu``, ``SoCongDan``) of
``CongDan`` elements in the namespace below, each with the personal ID ``SoDinhDanh``, the old ID
card ``SoCMND``, the name split into ``Ho``/``ChuDem``/``Ten``, ``GioiTinh``, ``DanToc``/``MaDanToc``,
``TonGiao``/``MaTonGiao``, the date of birth, four places carrying ``MaDonViHanhChinh``, ``ChiTiet``
and ``QuocGia``, and the father, mother and spouse (ID, nationality, name).
"""

from __future__ import annotations

from pathlib import Path

NAMESPACE = "http://www.mic.gov.vn/dancu/1.0"
XSD_PATH = Path(__file__).with_name("qcvn109.xsd")
ROOT, RECORD = "CongdanCollection", "CongDan"

# (element, children) in schema order; children None: a leaf holding text.
NAME = (("Ho", None), ("ChuDem", None), ("Ten", None))
PLACE = (("MaDonViHanhChinh", None), ("ChiTiet", None), ("QuocGia", None))
RELATIVE = (("SoDinhDanh", None), ("SoCMND", None), ("QuocTich", None), ("HoVaTen", NAME))
CITIZEN = (
    ("SoDinhDanh", None),
    ("SoCMND", None),
    ("HoVaTen", NAME),
    ("GioiTinh", None),
    ("DanToc", (("MaDanToc", None), ("TenGoi", None))),
    ("TonGiao", (("MaTonGiao", None),)),
    ("NgayThangNamSinh", (("NgayThangNam", None),)),
    ("NoiDangKyKhaiSinh", PLACE),
    ("QueQuan", PLACE),
    ("ThuongTru", PLACE),
    ("NoiOHienTai", PLACE),
    ("Cha", RELATIVE),
    ("Me", RELATIVE),
    ("VoChong", RELATIVE),
)
# The code list QCVN 109 prescribes for a leaf (a mapping naming another is refused for XML).
REQUIRED_CODE_LIST = {("DanToc", "MaDanToc"): "ethnicity-1019-2008", ("TonGiao", "MaTonGiao"): "religion-1019-2008"}
