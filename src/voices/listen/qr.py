"""QR codes for each service's feedback link, as SVG (for print) or PNG (for anything else).

The QR matrix comes from the ``qrcode`` package (ISO/IEC 18004, error correction level M, so
a poster still scans when a little of it is worn or covered); the SVG and PNG are written
here from that matrix, so no imaging library is needed.

References
----------
ISO/IEC 18004:2015. *QR Code bar code symbology specification* (quiet zone of 4 modules).
W3C. *Portable Network Graphics (PNG) Specification* (2nd ed., 2003): chunks, CRC-32,
    zlib-compressed scanlines with filter type 0, 1-bit greyscale.
"""

from __future__ import annotations

import struct
import zlib
from xml.sax.saxutils import escape

import qrcode
import qrcode.constants


def qr_matrix(text: str, *, border: int = 4) -> list[list[bool]]:
    """Rows of modules (True = dark), including a quiet zone of ``border`` modules."""
    code = qrcode.QRCode(border=border, error_correction=qrcode.constants.ERROR_CORRECT_M)
    code.add_data(text)
    code.make(fit=True)
    return [list(map(bool, row)) for row in code.get_matrix()]


def qr_svg(text: str, *, title: str | None = None, module_mm: float = 1.0) -> str:
    """An SVG QR code for ``text``, one path of dark squares on a white background."""
    matrix = qr_matrix(text)
    n = len(matrix)
    parts = []
    for y, row in enumerate(matrix):
        x = 0
        while x < n:
            if row[x]:
                start = x
                while x < n and row[x]:
                    x += 1
                parts.append(f"M{start},{y}h{x - start}v1h-{x - start}z")
            else:
                x += 1
    label = escape(title or f"QR code for {text}")
    size = n * module_mm
    return (f'<svg xmlns="http://www.w3.org/2000/svg" width="{size:g}mm" height="{size:g}mm" '
            f'viewBox="0 0 {n} {n}" role="img" aria-label="{label}" shape-rendering="crispEdges">'
            f"<title>{label}</title>"
            f'<rect width="{n}" height="{n}" fill="#ffffff"/>'
            f'<path fill="#000000" d="{"".join(parts)}"/></svg>')


def _chunk(kind: bytes, data: bytes) -> bytes:
    return (struct.pack(">I", len(data)) + kind + data
            + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF))


def qr_png(text: str, *, scale: int = 10) -> bytes:
    """A black-and-white PNG QR code for ``text``, each module ``scale`` pixels square."""
    if not 1 <= scale <= 40:
        raise ValueError("scale must be from 1 to 40")
    matrix = qr_matrix(text)
    width = len(matrix) * scale
    raw = bytearray()
    for row in matrix:
        bits = []
        for dark in row:
            bits.extend([0 if dark else 1] * scale)       # 1-bit greyscale: 1 is white
        bits.extend([1] * (-len(bits) % 8))
        line = bytes(int("".join(map(str, bits[i:i + 8])), 2) for i in range(0, len(bits), 8))
        for _ in range(scale):
            raw += b"\x00" + line                          # filter type 0 (none)
    header = struct.pack(">IIBBBBB", width, width, 1, 0, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", header)
            + _chunk(b"IDAT", zlib.compress(bytes(raw), 9)) + _chunk(b"IEND", b""))
