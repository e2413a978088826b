"""A pull-style, streaming reader of a multipart/form-data body, for uploads of many large files.

The body is read chunk by chunk (as the network delivers it) and fed to python-multipart's push
parser; each part's data comes out as an iterator of chunks, so a file goes straight into the blob
store without ever being held whole in memory or spooled to a temporary file first. A part its
consumer stops reading (a refused file) is skipped to its end. A body that ends before its closing
boundary, or whose sender went away, raises :class:`BodyCutOff` from the part being read and from
every later read.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass
from typing import Iterator

from python_multipart.exceptions import MultipartParseError
from python_multipart.multipart import MultipartParser, parse_options_header

from ocr_service.errors import InvalidRequestError

MAX_HEADERS = 16  # per part
MAX_HEADER_BYTES = 8192  # one header line


class BodyCutOff(Exception):
    """The request body ended early or could not be read (the client went away, a malformed body)."""


@dataclass
class Part:
    field_name: str | None
    filename: bytes | None  # raw bytes of the filename parameter; None: not a file
    content_type: str | None
    _reader: "MultipartReader"
    _index: int

    def chunks(self) -> Iterator[bytes]:
        """This part's data, chunk by chunk; BodyCutOff if the body ends first."""
        yield from self._reader._data(self._index)


def boundary_of(content_type: str | None) -> bytes:
    ctype, options = parse_options_header(content_type or "")
    if ctype != b"multipart/form-data":
        raise InvalidRequestError("expected a multipart/form-data body (files as parts with a filename)")
    boundary = options.get(b"boundary")
    if not boundary:
        raise InvalidRequestError("multipart/form-data body without a boundary")
    return boundary


class MultipartReader:
    def __init__(self, body: Iterator[bytes], boundary: bytes):
        self._body = body
        self._events: deque = deque()
        self._headers: list[tuple[bytes, bytes]] = []
        self._field = bytearray()
        self._value = bytearray()
        self._finished = False
        self._broken: str | None = None
        self._parts = 0
        try:
            self._parser = MultipartParser(boundary, callbacks={
                "on_part_begin": self._on_part_begin,
                "on_header_field": lambda d, a, b: self._field.extend(d[a:b]),
                "on_header_value": lambda d, a, b: self._value.extend(d[a:b]),
                "on_header_end": self._on_header_end,
                "on_headers_finished": self._on_headers_finished,
                "on_part_data": lambda d, a, b: self._events.append(("data", bytes(d[a:b]))),
                "on_part_end": lambda: self._events.append(("end", None)),
                "on_end": self._on_end,
            }, max_header_count=MAX_HEADERS, max_header_size=MAX_HEADER_BYTES)
        except ValueError as exc:  # FormParserError: a boundary that is too long
            raise InvalidRequestError(f"bad multipart boundary: {exc}") from None

    # parser callbacks
    def _on_part_begin(self) -> None:
        self._headers = []

    def _on_header_end(self) -> None:
        self._headers.append((bytes(self._field).lower(), bytes(self._value)))
        self._field.clear()
        self._value.clear()

    def _on_headers_finished(self) -> None:
        self._events.append(("part", self._headers))

    def _on_end(self) -> None:
        self._finished = True

    # reading
    def _next_event(self):
        """The next parser event; None at the closing boundary; BodyCutOff if the body ends early."""
        while not self._events:
            if self._broken:
                raise BodyCutOff(self._broken)
            if self._finished:
                return None
            try:
                chunk = next(self._body)
            except StopIteration:
                self._broken = "the request body ended before the closing multipart boundary"
                continue
            except Exception as exc:  # noqa: BLE001 - the transport's error (a client disconnect)
                self._broken = f"the request body could not be read to its end ({type(exc).__name__})"
                continue
            if chunk:
                try:
                    self._parser.write(chunk)
                except MultipartParseError as exc:
                    self._broken = f"malformed multipart body: {exc}"
        return self._events.popleft()

    def parts(self) -> Iterator[Part]:
        """The parts in order. Read each part's ``chunks()`` (or not) before asking for the next."""
        while True:
            event = self._next_event()
            if event is None:
                return
            kind, value = event
            if kind != "part":
                continue  # data or end of a part nobody read (or read only partly)
            self._parts += 1
            headers = dict(value)
            disposition, options = parse_options_header(headers.get(b"content-disposition", b"").decode("latin-1"))
            name = options.get(b"name")
            content_type = headers.get(b"content-type")
            yield Part(name.decode("utf-8", "replace") if name is not None else None, options.get(b"filename"),
                       content_type.decode("latin-1") if content_type else None, self, self._parts)

    def _data(self, index: int) -> Iterator[bytes]:
        if index != self._parts:
            raise RuntimeError("a part's data can only be read before the next part is asked for")
        while True:
            event = self._next_event()
            if event is None:
                raise BodyCutOff("the multipart body ended inside a part")
            kind, value = event
            if kind == "data":
                if value:
                    yield value
            elif kind == "end":
                return
            else:  # a new part began without this one ending: cannot happen with a sane parser
                raise BodyCutOff("malformed multipart body")
