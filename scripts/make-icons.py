#!/usr/bin/env python3
"""Draws the app icon (a flame on a dark rounded square) as PNGs with the standard library only."""
import math, struct, zlib, os, sys

def png(path, size):
    rows = []
    for y in range(size):
        row = bytearray([0])
        for x in range(size):
            u, v = (x + 0.5) / size, (y + 0.5) / size
            # rounded square
            r = 0.22
            dx, dy = max(abs(u - 0.5) - (0.5 - r), 0), max(abs(v - 0.5) - (0.5 - r), 0)
            inside = math.hypot(dx, dy) <= r
            if not inside:
                row += bytes([0, 0, 0, 0]); continue
            col = (0x1f, 0x24, 0x30, 255)
            # flame: a teardrop pointing up
            fx, fy = (u - 0.5) / 0.26, (v - 0.62) / 0.26
            if fy > -2.0:
                w = 1.0 if fy >= 0 else max(0.0, 1 + fy / 2.0) ** 1.6
                if fx * fx / max(w * w, 1e-6) + max(fy, 0) ** 2 <= 1.0 and fy <= 1.0:
                    col = (0xff, 0x7a, 0x2f, 255)
                    if (fx / 0.55) ** 2 + ((fy - 0.35) / 0.6) ** 2 <= 1.0:
                        col = (0xff, 0xc8, 0x57, 255)
            row += bytes(col)
        rows.append(bytes(row))
    raw = zlib.compress(b"".join(rows), 9)
    def chunk(t, d):
        return struct.pack(">I", len(d)) + t + d + struct.pack(">I", zlib.crc32(t + d) & 0xffffffff)
    with open(path, "wb") as f:
        f.write(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", size, size, 8, 6, 0, 0, 0))
                + chunk(b"IDAT", raw) + chunk(b"IEND", b""))

out = sys.argv[1] if len(sys.argv) > 1 else "icons"
os.makedirs(out, exist_ok=True)
for name, size in [("32x32.png", 32), ("128x128.png", 128), ("128x128@2x.png", 256), ("icon.png", 512)]:
    png(os.path.join(out, name), size)
