"""Mark readers: checkbox groups and signature presence, by the share of ink in a box.

No engine is involved: after form dropout, the ink share of a box is the evidence.
"""

from __future__ import annotations

from ocr_service.engines.base import Reading

ENGINE = "marks"
CHECKED_INK = 0.04  # share of dark pixels inside a checkbox that counts as a mark
SIGNED_INK = 0.006  # share of dark pixels in a signature area that counts as a signature


def _certainty(value: float, threshold: float) -> float:
    """0.5 at the threshold, approaching 1 as the value moves away from it either way."""
    ratio = value / threshold if threshold else 0.0
    distance = abs(ratio - 1.0) / (1.0 + ratio)
    return min(1.0, 0.5 + distance)


def read_choice(options: tuple[tuple[str, float], ...]) -> Reading:
    """The checked option of a checkbox group; '' when none is checked; several → lowest confidence."""
    checked = [(v, s) for v, s in options if s >= CHECKED_INK]
    if len(checked) > 1:
        best = max(checked, key=lambda vs: vs[1])
        return Reading(best[0], 0.0, ENGINE, candidates=tuple((v, s) for v, s in checked))
    if checked:
        value, share = checked[0]
        runner = max((s for v, s in options if v != value), default=0.0)
        return Reading(value, min(_certainty(share, CHECKED_INK), _certainty(runner, CHECKED_INK)), ENGINE)
    strongest = max((s for _, s in options), default=0.0)
    return Reading("", _certainty(strongest, CHECKED_INK), ENGINE)


def read_signature(ink_ratio: float) -> Reading:
    """'1' when the signature area holds a signature, '' when it is empty."""
    signed = ink_ratio >= SIGNED_INK
    return Reading("1" if signed else "", _certainty(ink_ratio, SIGNED_INK), ENGINE)
