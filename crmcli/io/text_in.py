"""Reading a file's bytes as text, for every reader (CSV, vCard, JSON): the encoding detected
from a sample of the start (byte-order marks, the zero bytes of UTF-16/UTF-32 without one, UTF-8,
else cp1252), the rest decoded as a stream."""

from __future__ import annotations

import codecs
import io
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import IO, Any, TypeVar

from crmcli.errors import UsageError, ValidationError

T = TypeVar("T")

#: how many bytes are read up front to detect the encoding, the delimiter and the format
SAMPLE_BYTES = 64 * 1024


class _Prefixed(io.RawIOBase):
    """A binary stream that first replays ``head`` (already read, for sniffing), then the rest."""

    def __init__(self, head: bytes, rest: IO[bytes]) -> None:
        self._head = memoryview(head)
        self._rest = rest

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        if self._head:
            n = min(len(buffer), len(self._head))
            buffer[:n] = self._head[:n]
            self._head = self._head[n:]
            return n
        data = self._rest.read(len(buffer))
        buffer[: len(data)] = data
        return len(data)


@dataclass
class TextSource:
    """A decoded input: the text stream, the encoding used and a decoded sample of its start."""

    stream: IO[str]
    encoding: str
    sample: str


def detect_encoding(head: bytes) -> str:
    """A BOM says UTF-8, UTF-16 or UTF-32; without one, the pattern of zero bytes says UTF-16
    or UTF-32 (and which byte order); else UTF-8 if the start decodes as UTF-8; else cp1252."""
    if head.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    if head.startswith((codecs.BOM_UTF32_LE, codecs.BOM_UTF32_BE)):
        return "utf-32"  # before UTF-16: the UTF-32-LE BOM starts with the UTF-16-LE one
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"
    wide = _wide_encoding(head)
    if wide:
        return wide
    try:
        codecs.getincrementaldecoder("utf-8")().decode(head, final=False)
    except UnicodeDecodeError:
        return "cp1252"
    return "utf-8"


def _wide_encoding(head: bytes) -> str | None:
    """UTF-16 or UTF-32 without a BOM, told by where the zero bytes fall: a contacts file is
    mostly ASCII, whose characters have zero high bytes (``A\0`` in UTF-16-LE, ``\0\0\0A`` in
    UTF-32-BE). Text in another encoding has almost no zero bytes at all."""
    sample = head[: 4096 - 4096 % 4]
    sample = sample[: len(sample) - len(sample) % 4]
    if len(sample) < 4 or b"\0" not in sample:
        return None
    quarter = len(sample) // 4
    zeros = [sample[k::4].count(0) for k in range(4)]

    def most(*positions: int) -> bool:
        return all(zeros[k] >= 0.9 * quarter for k in positions)

    def few(*positions: int) -> bool:
        return all(zeros[k] <= 0.1 * quarter for k in positions)

    if most(1, 2, 3) and few(0):
        return "utf-32-le"
    if most(0, 1, 2) and few(3):
        return "utf-32-be"
    if zeros[1] + zeros[3] >= 1.2 * quarter and few(0, 2):
        return "utf-16-le"
    if zeros[0] + zeros[2] >= 1.2 * quarter and few(1, 3):
        return "utf-16-be"
    return None


def open_text(binary: IO[bytes], encoding: str | None = None) -> TextSource:
    """Decode ``binary`` as a stream, detecting the encoding unless one is given."""
    head = binary.read(SAMPLE_BYTES)
    if encoding:
        try:
            codecs.lookup(encoding)
        except LookupError:
            raise UsageError(
                f"unknown encoding {encoding!r} (try utf-8, utf-16, cp1252, latin-1)"
            ) from None
    used = encoding or detect_encoding(head)
    if used.replace("_", "-").lower() in ("utf-8", "utf8"):
        used = "utf-8-sig"  # a BOM, if any, is not part of the first header
    decoder = codecs.getincrementaldecoder(used)(errors="replace")
    sample = decoder.decode(head, final=False)
    raw = io.BufferedReader(_Prefixed(head, binary), buffer_size=256 * 1024)
    stream = io.TextIOWrapper(raw, encoding=used, newline="")
    return TextSource(stream, used, sample)


def not_decodable(encoding: str, where: str = "") -> ValidationError:
    """The error for bytes that ``encoding`` cannot decode, with an encoding to try instead.

    The suggestion is never the one that just failed: cp1252 leaves five bytes undefined, so
    after it comes latin-1, which reads any byte. utf-8-sig is shown as the utf-8 people typed.
    """
    name = codecs.lookup(encoding).name
    shown = "utf-8" if name == "utf-8-sig" else encoding
    other = "latin-1" if name == "cp1252" else "cp1252"
    return ValidationError(
        f"the file is not valid {shown}{where}; give its encoding, e.g. --encoding {other}"
    )


def guard_decoding(records: Iterable[T], text: TextSource) -> Iterator[T]:
    """``records`` read from ``text``, a byte that does not decode being one error line (the
    vCard and JSON readers decode as they go, like the CSV one)."""
    try:
        yield from records
    except UnicodeDecodeError:
        raise not_decodable(text.encoding) from None
