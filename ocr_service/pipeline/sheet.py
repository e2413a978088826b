"""What the pipeline says about one page: :class:`SheetResult`, plain data that crosses into the service."""

from __future__ import annotations

from dataclasses import dataclass, field

from ocr_service.pipeline.decide import AUTO_ACCEPTED, FieldResult

OK = "ok"  # registered and read
RESCAN = "rescan"  # could not be registered: wrong form, blank, too distorted (``reason`` says why)
ERROR = "error"  # the file or page could not be read
PAGE_STATUSES = (OK, RESCAN, ERROR)


@dataclass(frozen=True)
class SheetResult:
    """The outcome for one page: ``status`` is 'ok' (fields read), 'rescan' (the page could not be
    registered; ``reason`` says why) or 'error' (the file or page could not be read)."""

    file: str
    page: int
    template: str
    status: str
    reason: str = ""
    residual_px: float | None = None
    fields: tuple[FieldResult, ...] = ()
    sha256: str = ""
    rotation: int = 0  # the clockwise quarter turn applied to make the page upright
    skew_deg: float = 0.0  # the counter-clockwise small-angle correction applied after it
    serial: str | None = None
    seconds: float = 0.0
    homography: tuple[float, ...] | None = None  # registration: page (upright, deskewed) → template, 9 numbers
    perspective: bool = False  # a photo's page quadrilateral was flattened before turning
    orientation_method: str = ""  # what chose the quarter turn: text, osd, template, none
    orientation_confidence: float | None = None
    registration: str = ""  # how the page was registered: marks, features, or labels (the fallback)
    placed_by_label: tuple[str, ...] = ()  # fields placed from their own printed labels
    groups: dict = field(default_factory=dict)  # repeated groups' entries (Template.group_entries)

    def to_json(self) -> dict:
        """The page line of ``extract --json`` (the documented contract)."""
        d = {"file": self.file, "page": self.page, "template": self.template, "status": self.status,
             "residual_px": None if self.residual_px is None else round(self.residual_px, 2),
             "fields": [f.to_json() for f in self.fields]}
        if self.reason:
            d["reason"] = self.reason
        if self.sha256:
            d["sha256"] = self.sha256
        if self.status != ERROR:
            d["rotation"] = self.rotation
            d["skew_deg"] = round(self.skew_deg, 2)
            d["perspective"] = self.perspective
        if self.serial:
            d["serial"] = self.serial
        if self.placed_by_label:
            d["registration"] = self.registration
            d["placed_by_label"] = list(self.placed_by_label)
        if self.groups:
            d["groups"] = self.groups
        return d

    def to_record(self) -> dict:
        """Everything the service stores about the page: the JSON line plus, per field, its kind and
        evidence (features, raw reading, engine, candidates, warnings), and the page's timing."""
        d = self.to_json()
        d["seconds"] = round(self.seconds, 4)
        if self.orientation_method:
            d["orientation"] = {"method": self.orientation_method,
                                "confidence": round(self.orientation_confidence or 0.0, 3)}
        d["fields"] = [f.to_record() for f in self.fields]
        if self.homography is not None:  # so the page can be shown registered again without registering it
            d["transform"] = {"rotation": self.rotation, "skew_deg": self.skew_deg,
                                 "perspective": self.perspective, "homography": list(self.homography)}
        return d

    @property
    def needs_review(self) -> int:
        return sum(1 for f in self.fields if f.status != AUTO_ACCEPTED)
