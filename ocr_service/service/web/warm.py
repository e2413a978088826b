"""What both review modes warm once per server process, so a reviewer's first suggestions and
checks are quick: the administrative-unit suggestion keys and what the validators load on first use."""

from __future__ import annotations

import threading

from ocr_service.vietnamese import suggest as vsuggest
from ocr_service.vietnamese.vocab import get_vocabulary, parse_address, parse_address_2025

__all__ = ["warm_suggestions"]


def _warm() -> None:
    vsuggest.warm()
    # what the validators load on first use: the district and commune vocabularies, the address parsers
    for name in ("district", "commune"):
        get_vocabulary(name)
    parse_address("Xã Tân Lập, Huyện Đan Phượng, Thành phố Hà Nội")
    parse_address_2025("Phường Hồng Hà, Thành phố Hà Nội")


_warming = threading.Event()


def warm_suggestions() -> None:
    """Build the administrative-unit suggestion keys and load what the validators load on first use,
    in a background thread (5–25 s of one core), once per process: called when either review mode
    (group or sheet) is first opened, so the reviewer's first suggestions and checks are quick."""
    if not _warming.is_set():
        _warming.set()
        threading.Thread(target=_warm, name="review-warm", daemon=True).start()
