"""Reading a CSV export as text records with their physical line numbers.

Handles what real exports contain: a UTF-8 BOM, UTF-16 (EMIS can save it), Windows line
ends, quoted fields with commas or line breaks, report metadata above the header (EMIS), and
refuses clearly what it cannot read: spreadsheets saved as .xlsx, non-UTF-8 text, NUL bytes,
runaway quoted fields.
"""

from __future__ import annotations

import codecs
import csv
import io
import re
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

from recall.importers.problems import ImportFileError

HEADER_SCAN_ROWS = 50

_NORMALISE = re.compile(r"[\s\-_]+")


def normalise_header(text: str) -> str:
    """Header matching ignores case, spaces, '-' and '_' (as GOV.UK Notify and Mavis do)."""
    return _NORMALISE.sub("", text.strip().lstrip("\ufeff")).lower()


def count_lines(path: Path) -> int:
    """Physical lines in the file (fast, binary), for a progress total."""
    n = 0
    last = b"\n"
    with path.open("rb") as fh:
        while chunk := fh.read(1 << 20):
            n += chunk.count(b"\n")
            last = chunk[-1:]
    return n + (0 if last == b"\n" else 1)


def find_bad_utf8(path: Path) -> tuple[int, str]:
    """The first physical line that is not UTF-8, and the offending byte (for the message)."""
    with path.open("rb") as fh:
        for number, raw in enumerate(fh, 1):
            try:
                raw.decode("utf-8")
            except UnicodeDecodeError as exc:
                return number, raw[exc.start : exc.start + 1].hex()
    return 0, ""


ZIP_ADVICE = "open it and save or export it as CSV UTF-8 first"


def zip_kind(path: Path) -> str:
    """What a ZIP-based file is, from its members: Word, Excel, PowerPoint, OpenDocument."""
    import zipfile

    try:
        with zipfile.ZipFile(path) as z:
            names = z.namelist()
    except (zipfile.BadZipFile, OSError, ValueError):
        names = []
    firsts = {n.split("/", 1)[0] for n in names}
    if "word" in firsts:
        return "is a Word document (.docx)"
    if "xl" in firsts:
        return "is an Excel workbook (.xlsx)"
    if "ppt" in firsts:
        return "is a PowerPoint file (.pptx)"
    if "content.xml" in names:
        return "is an OpenDocument file (.ods/.odt)"
    return "is a ZIP file such as an Excel workbook (.xlsx)"


class CsvRecords:
    """Iterate a CSV file as (physical line number, cells); use as a context manager."""

    def __init__(
        self, path: Path, display_name: str | None = None, delimiter: str | None = None
    ) -> None:
        self.path = path
        self.name = display_name or path.name
        try:
            self._fh: BinaryIO = path.open("rb")
        except FileNotFoundError:
            raise ImportFileError(self.name, "file not found") from None
        except IsADirectoryError:
            raise ImportFileError(self.name, "is a folder, not a file") from None
        except OSError as exc:
            raise ImportFileError(self.name, f"cannot be opened ({exc.strerror})") from None
        sample: bytes = self._fh.peek(4096) if hasattr(self._fh, "peek") else b""
        head = sample[:4]
        if head.startswith(b"PK\x03\x04"):
            self.close()
            raise ImportFileError(self.name, f"{zip_kind(path)}, not CSV: {ZIP_ADVICE}")
        if head.startswith(b"\xd0\xcf\x11\xe0"):
            self.close()
            raise ImportFileError(
                self.name, "is an old Excel workbook (.xls), not CSV: save it as CSV UTF-8 first"
            )
        self._utf16 = head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE))
        lines = io.TextIOWrapper(
            self._fh, encoding="utf-16" if self._utf16 else "utf-8-sig", newline=""
        )
        if delimiter is None:
            first = sample.split(b"\n", 1)[0]
            delimiter = "\t" if b"\t" in first and b"," not in first else ","
        self._encoding = "utf-16" if self._utf16 else "utf-8-sig"
        self._delimiter = delimiter
        # strict: a quote that is never closed is an error, not a field swallowing the file
        self._reader = csv.reader(lines, delimiter=delimiter, strict=True)
        self._last_line = 0

    def _not_utf8(self) -> ImportFileError:
        if self._utf16:
            return ImportFileError(self.name, "is not valid UTF-16 text")
        line, byte = find_bad_utf8(self.path)
        return ImportFileError(
            self.name,
            f"is not UTF-8 text (byte 0x{byte}); in Excel use Save As > "
            "'CSV UTF-8 (Comma delimited)', or export as UTF-8 from the clinical system",
            line or None,
        )

    def __enter__(self) -> CsvRecords:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self._fh.close()

    @property
    def reader(self) -> Iterator[list[str]]:
        """The csv reader itself, for hot loops; pair it with `error()` and `line_num`."""
        return self._reader

    @property
    def line_num(self) -> int:
        """Physical lines consumed so far (the last line of the latest record)."""
        return int(self._reader.line_num)

    def error(self, exc: Exception, line: int) -> ImportFileError:
        """The staff-facing error for a decoding or CSV problem met at `line`."""
        if isinstance(exc, UnicodeDecodeError):
            return self._not_utf8()
        if "NUL" in str(exc):
            return ImportFileError(self.name, "contains NUL bytes: is it really a CSV file?", line)
        text = str(exc)
        if "unexpected end of data" in text or "field larger" in text:
            opened = self._open_quote_line(line)
            if opened is not None:
                return ImportFileError(
                    self.name,
                    'a quote (") opened on this line is never closed: close it, or export again',
                    opened,
                )
        if "expected after" in text:
            return ImportFileError(
                self.name,
                'a quoted field has more text after its closing quote ("): a stray quote? '
                'write a quote inside a quoted field as ""',
                max(int(self._reader.line_num), line),
            )
        return ImportFileError(
            self.name,
            f'cannot be read as CSV here ({exc}); look for a quote (") that is never closed',
            line,
        )

    def _open_quote_line(self, start: int) -> int | None:
        """The physical line where a quoted field that runs to the end of the file opened.

        Replays the CSV grammar from `start` (the first line of the failing record); only
        called once an import has already failed, so speed does not matter.
        """
        try:
            with self.path.open(encoding=self._encoding, newline="") as fh:
                lines = list(fh)
        except (OSError, UnicodeDecodeError):
            return None
        delim, quoted, after_quote, at_start = self._delimiter, False, False, True
        opened = None
        for number, text in enumerate(lines[start - 1 :], start):
            for ch in text:
                if quoted:
                    if ch == '"':
                        quoted, after_quote = False, True
                    continue
                if ch == '"' and after_quote:
                    quoted, after_quote = True, False  # a doubled quote inside the field
                elif ch == '"' and at_start:
                    quoted, opened, at_start = True, number, False
                elif ch == delim or ch in "\r\n":
                    at_start, after_quote = True, False
                else:
                    at_start, after_quote = False, False
        return opened if quoted else None

    def __iter__(self) -> Iterator[tuple[int, list[str]]]:
        reader = self._reader
        while True:
            try:
                cells = next(reader)
            except StopIteration:
                return
            except (UnicodeDecodeError, csv.Error) as exc:
                raise self.error(exc, self._last_line + 1) from None
            start = self._last_line + 1
            self._last_line = reader.line_num
            yield start, cells

    def mark(self) -> None:
        """Resynchronise line counting after a caller read `reader` directly."""
        self._last_line = self._reader.line_num
