"""Exits 0 when a PNG screenshot shows a page, not a blank one.

Usage: nonblank.py FILE.png MIN_SHARE

Counts the pixels that differ from the most common colour (the page's
background) and the distinct colours; a page with text, tables and charts
has thousands of both.  Prints the numbers.
"""
import sys
from collections import Counter

from PIL import Image

image = Image.open(sys.argv[1]).convert("RGB")
pixels = list(image.getdata())
counts = Counter(pixels)
background, most = counts.most_common(1)[0]
share = 1 - most / len(pixels)
print(f"{image.width}x{image.height}, {len(counts)} colours, {share:.3f} of the pixels not background")
sys.exit(0 if share >= float(sys.argv[2]) and len(counts) >= 16 else 1)
