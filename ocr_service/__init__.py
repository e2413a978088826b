"""Digitizes Vietnamese paper forms: scan → register → OCR → validate → decide."""

__version__ = "0.1.0"
