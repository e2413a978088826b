"""The reports as tables (one column list per kind, shared by the page, the printed list and the CSV
file), CSV bytes, and the per-commune progress chart as server-rendered SVG (no script, no style
attribute: the pages' CSP allows neither inline)."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable

from markupsafe import Markup, escape

from ocr_service.service.export.formats.csv import escape as defuse  # the one formula guard

Column = tuple[str, Callable[[dict], object]]


def _yes(v: bool) -> str:
    return "có" if v else ""


def _pct(v) -> str:
    return "" if v is None else f"{v:g}%"


ISSUED_FROM = {"list": "danh sách phát", "batches": "số dự kiến của hộp",
               "mixed": "danh sách phát và số dự kiến của hộp", "": ""}
KIND_NAMES = {"blank": "bỏ trống", "unreadable": "không đọc được", "rejected": "bị từ chối", "sheet": "trên phiếu",
              "household": "trong hộ"}

PROGRESS: list[Column] = [
    ("Xã/phường", lambda r: r.get("commune", "")),
    ("Thôn/tổ", lambda r: (r.get("village") or "(chưa rõ thôn)") if r.get("level") == "village" else "(cả xã)"),
    ("Phát ra", lambda r: "" if r["issued"] is None else r["issued"]),
    ("Nguồn số phát", lambda r: ISSUED_FROM.get(r["issued_from"], r["issued_from"])),
    ("Đã nhận, đã quét", lambda r: r["returned"]),
    ("% nhận", lambda r: _pct(r["returned_pct"])),
    ("Đã đọc", lambda r: r["read"]),
    ("Chờ quét lại", lambda r: r["rescan"]),
    ("Chờ duyệt", lambda r: r["needs_review"]),
    ("Đã xong", lambda r: r["done"]),
    ("% xong", lambda r: _pct(r["done_pct"])),
    ("Đã xuất", lambda r: r["exported"]),
    ("Cần đi lại", lambda r: r["revisit"]),
    ("Không nhất quán", lambda r: r["inconsistent"]),
]
OFFICERS: list[Column] = [("Cán bộ thu thập", lambda r: r["officer"] or "(chưa rõ)")] + PROGRESS[2:]
REVISITS: list[Column] = [
    ("Xã/phường", lambda r: r["commune"]), ("Thôn/tổ", lambda r: r["village"]),
    ("Số sổ hộ khẩu", lambda r: r["household"]), ("Chủ hộ", lambda r: r["head_name"]),
    ("Địa chỉ", lambda r: r["address"]), ("Họ tên", lambda r: r["full_name"]), ("Ngày sinh", lambda r: r["dob"]),
    ("Ô cần bổ sung", lambda r: r["label"]), ("Loại", lambda r: KIND_NAMES.get(r["kind"], r["kind"])),
    ("Lý do", lambda r: r["reason"]), ("Phiếu", lambda r: r["sheet_id"]), ("Hộp", lambda r: r["batch"]),
]
INCONSISTENT: list[Column] = [
    ("Xã/phường", lambda r: r["commune"]), ("Thôn/tổ", lambda r: r["village"]),
    ("Số sổ hộ khẩu", lambda r: r["household"]), ("Chủ hộ", lambda r: r["head_name"]),
    ("Họ tên", lambda r: r["full_name"]), ("Ngày sinh", lambda r: r["dob"]),
    ("Kiểm tra", lambda r: KIND_NAMES.get(r["kind"], r["kind"])), ("Các ô", lambda r: "; ".join(r["fields"])),
    ("Lý do", lambda r: r["reason"]), ("Phiếu", lambda r: r["sheet_id"]), ("Hộp", lambda r: r["batch"]),
    ("Phiếu khác của hộ", lambda r: " ".join(map(str, r["others"]))),
]
DUPLICATES: list[Column] = [
    ("Lý do", lambda r: "; ".join(r["reasons"])),
    ("Phiếu A", lambda r: r["a"]["sheet_id"]), ("Hộp A", lambda r: r["a"]["batch"]),
    ("Họ tên A", lambda r: r["a"]["full_name"]), ("Ngày sinh A", lambda r: r["a"]["dob"]),
    ("Số định danh A", lambda r: r["a"]["id_number"]), ("Hộ A", lambda r: r["a"]["household"]),
    ("Phiếu B", lambda r: r["b"]["sheet_id"]), ("Hộp B", lambda r: r["b"]["batch"]),
    ("Họ tên B", lambda r: r["b"]["full_name"]), ("Ngày sinh B", lambda r: r["b"]["dob"]),
    ("Số định danh B", lambda r: r["b"]["id_number"]), ("Hộ B", lambda r: r["b"]["household"]),
    ("Cùng hộp", lambda r: _yes(r["same_batch"])), ("Cùng hộ", lambda r: _yes(r["same_household"])),
]
COLUMNS = {"revisits": REVISITS, "inconsistent": INCONSISTENT, "duplicates": DUPLICATES}
TITLES = {"progress": "Tiến độ thu phiếu", "revisits": "Danh sách cần đi xác minh lại",
          "inconsistent": "Phiếu có thông tin không nhất quán", "duplicates": "Phiếu có thể bị trùng"}


def table(columns: list[Column], rows: list[dict]) -> tuple[list[str], list[list[str]]]:
    """The headers and the cells (as text) of ``rows`` under ``columns``."""
    return [h for h, _ in columns], [["" if (v := get(r)) is None else str(v) for _, get in columns] for r in rows]


def csv_bytes(columns: list[Column], rows: list[dict]) -> bytes:
    """UTF-8 CSV with a BOM (Excel then reads the Vietnamese right), a header row, formula-like cells
    defused."""
    headers, cells = table(columns, rows)
    buf = io.StringIO()
    w = csv.writer(buf, quoting=csv.QUOTE_ALL, lineterminator="\r\n")  # IDs stay text
    w.writerow([defuse(h) for h in headers])
    w.writerows([[defuse(c) for c in row] for row in cells])
    return ("\ufeff" + buf.getvalue()).encode("utf-8")


def progress_csv(progress: dict) -> bytes:
    """The places table, a blank line, then the officers table."""
    places = csv_bytes(PROGRESS, progress["places"])
    officers = csv_bytes(OFFICERS, progress["officers"]).removeprefix("\ufeff".encode())
    return places + b"\r\n" + officers


def report_csv(kind: str, data) -> bytes:
    return progress_csv(data) if kind == "progress" else csv_bytes(COLUMNS[kind], data)


# -- the chart ---------------------------------------------------------------------------------------

BARS = (("issued", "#d5d9de", "Phát ra"), ("returned", "#90b4dc", "Đã nhận"), ("done", "#4c9a52", "Đã xong"),
        ("exported", "#1f5f2a", "Đã xuất"))


def progress_svg(places: list[dict], *, width: int = 760) -> Markup:
    """One row of overlaid bars per commune (issued, returned, done, exported, each from the left on
    one scale) with its figures, as an inline SVG element. Every text is escaped."""
    communes = [r for r in places if r.get("level") == "commune"]
    label_w, row_h, top = 190, 30, 30
    bar_w = width - label_w - 150
    scale = max([1] + [max(r["issued"] or 0, r["returned"]) for r in communes])
    height = top + row_h * max(1, len(communes)) + 10
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" role="img" width="{width}" height="{height}" '
             f'viewBox="0 0 {width} {height}" aria-label="Tiến độ theo xã">']
    x = label_w
    for key, colour, name in BARS:
        parts.append(f'<rect x="{x}" y="6" width="12" height="12" fill="{colour}"/>'
                     f'<text x="{x + 16}" y="16" font-size="12">{escape(name)}</text>')
        x += 110
    if not communes:
        parts.append(f'<text x="10" y="{top + 18}" font-size="13">Chưa có phiếu nào.</text>')
    for i, r in enumerate(communes):
        y = top + i * row_h
        parts.append(f'<text x="{label_w - 8}" y="{y + 17}" font-size="13" text-anchor="end">'
                     f'{escape(r["commune"] or "(chưa rõ xã)")}</text>')
        for j, (key, colour, name) in enumerate(BARS):
            v = r[key] or 0
            w = round(bar_w * v / scale, 1)
            inset = 2 * j  # later bars are thinner, so each stays visible over the one below
            parts.append(f'<rect x="{label_w}" y="{y + 2 + inset}" width="{w}" height="{row_h - 6 - 2 * inset}" '
                         f'fill="{colour}"><title>{escape(name)}: {v}</title></rect>')
        issued = "?" if r["issued"] is None else r["issued"]
        parts.append(f'<text x="{label_w + bar_w + 8}" y="{y + 17}" font-size="12">'
                     f'{r["returned"]}/{issued} nhận · {r["done"]} xong</text>')
    parts.append("</svg>")
    return Markup("".join(parts))
