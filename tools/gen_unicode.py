#!/usr/bin/env python3
"""
tools/gen_unicode.py — generate src/tok/unicode_data.c, the Unicode tables the
tokenizer's pre-tokenizers read (src/tok/unicode.c is the only reader).

Input: the Unicode Character Database as Debian ships it (package
`unicode-data`): UnicodeData.txt for the general category of every code point
and PropList.txt for the White_Space property. llama.cpp's own tables are
Unicode 15.1; when the input is older, the 15.1 additions (listed below) are
filled in so our categories match its. Output: C, on stdout or into the
path given with -o. The output depends only on those two files, so running the
script twice gives the same bytes.

What is generated:
  - hrt_ucd_start[] / hrt_ucd_cat[]: the code space 0..0x10FFFF cut into
    ranges of equal category flags (start of each range, flags of the range).
    Flags are one bit per major category (see HRT_UCD_* in src/tok/unicode.h);
    code points absent from UnicodeData.txt (Cn) get HRT_UCD_UNDEF.
  - hrt_ucd_ascii[]: the same flags for 0..127, for a fast path.
  - hrt_ucd_space[]: the White_Space code points.

The major-category mapping (Lx -> letter, Nx -> number, Mx -> mark,
Px -> punctuation, Sx -> symbol, Zx -> separator, Cc/Cf/Co/Cs -> control,
Cn -> undefined) is the one llama.cpp's tokenizer uses, which is what makes
our pre-tokenizers split text where its do.

Usage: python3 tools/gen_unicode.py [--ucd /usr/share/unicode] [-o FILE]
"""

import argparse
import os
import re
import sys

MAX_CP = 0x110000

UNDEF, NUMBER, LETTER, SEPARATOR, MARK, PUNCT, SYMBOL, CONTROL = (
    0x01, 0x02, 0x04, 0x08, 0x10, 0x20, 0x40, 0x80)

MAJOR = {
    "C": CONTROL, "L": LETTER, "M": MARK, "N": NUMBER,
    "P": PUNCT, "S": SYMBOL, "Z": SEPARATOR,
}


def category_flags(cat):
    if cat == "Cn":
        return UNDEF
    if cat[0] not in MAJOR:
        raise SystemExit("unknown general category %r" % cat)
    return MAJOR[cat[0]]


def read_unicode_data(path):
    """flags per code point, and the simple lowercase mappings"""
    flags = [UNDEF] * MAX_CP
    lower = {}
    first = None
    with open(path, encoding="utf-8") as f:
        for line in f:
            p = line.rstrip("\n").split(";")
            if len(p) < 15:
                continue
            cp = int(p[0], 16)
            name, cat = p[1], p[2]
            if name.endswith(", First>"):
                first = cp
                continue
            if name.endswith(", Last>"):
                if first is None:
                    raise SystemExit("range end without start at %04X" % cp)
                for c in range(first, cp + 1):
                    flags[c] = category_flags(cat)
                first = None
                continue
            flags[cp] = category_flags(cat)
            if p[13]:
                lower[cp] = int(p[13], 16)
    return flags, lower


# llama.cpp's tables are Unicode 15.1; Debian 12 ships 15.0. 15.1 added 627
# code points and changed no existing category (Unicode 15.1.0, DerivedAge.txt
# "Age=V15_1"). Applied only where the input file leaves them unassigned, so
# a newer UnicodeData.txt makes this a no-op.
UNICODE_15_1_ADDITIONS = [
    (0x2FFC, 0x2FFF, "So"),   # IDEOGRAPHIC DESCRIPTION CHARACTERs
    (0x31EF, 0x31EF, "So"),   # CJK STROKE HXG
    (0x2EBF0, 0x2EE5D, "Lo"), # CJK Unified Ideographs Extension I
]


def read_white_space(path):
    out = []
    rx = re.compile(r"^([0-9A-F]+)(?:\.\.([0-9A-F]+))?\s*;\s*White_Space\b")
    with open(path, encoding="utf-8") as f:
        for line in f:
            m = rx.match(line)
            if not m:
                continue
            lo = int(m.group(1), 16)
            hi = int(m.group(2), 16) if m.group(2) else lo
            out.extend(range(lo, hi + 1))
    return sorted(out)


def unicode_version(ucd):
    try:
        with open(os.path.join(ucd, "ReadMe.txt"), encoding="utf-8") as f:
            m = re.search(r"for Version (\d+\.\d+\.\d+)", f.read())
            if m:
                return m.group(1)
    except OSError:
        pass
    return "unknown"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--ucd", default="/usr/share/unicode")
    ap.add_argument("-o", "--output")
    a = ap.parse_args()

    flags, lower = read_unicode_data(os.path.join(a.ucd, "UnicodeData.txt"))
    overlaid = 0
    for lo, hi, cat in UNICODE_15_1_ADDITIONS:
        for cp in range(lo, hi + 1):
            if flags[cp] == UNDEF:
                flags[cp] = category_flags(cat)
                overlaid += 1
    space = read_white_space(os.path.join(a.ucd, "PropList.txt"))
    version = unicode_version(a.ucd)

    # The pre-tokenizers lowercase only the letter after an apostrophe, to
    # match 's 't 're 've 'm 'll 'd without regard to case. unicode.c does
    # that with an ASCII-only fold; check here that no other code point has a
    # simple lowercase mapping onto one of those letters, so the fold is exact.
    for cp, lc in lower.items():
        if lc < 128 and chr(lc) in "stredvml" and not (0x41 <= cp <= 0x5A):
            raise SystemExit("U+%04X lowercases to %r: ASCII fold in "
                             "unicode.c is no longer exact" % (cp, chr(lc)))

    starts = [0]
    for cp in range(1, MAX_CP):
        if flags[cp] != flags[cp - 1]:
            starts.append(cp)

    o = []
    o.append("/*")
    o.append(" * tok/unicode_data — GENERATED by tools/gen_unicode.py; do not edit.")
    o.append(" * Source: Unicode Character Database %s (UnicodeData.txt," % version)
    o.append(" * PropList.txt) as packaged by Debian (unicode-data)%s" %
             ("," if overlaid else "."))
    if overlaid:
        o.append(" * plus the %d code points Unicode 15.1 added." % overlaid)
    o.append(" * Category flags per code-point range and the White_Space set, read by")
    o.append(" * tok/unicode.c. See tools/gen_unicode.py for what each table holds.")
    o.append(" */")
    o.append('#include "tok/unicode.h"')
    o.append("")
    o.append("const unsigned hrt_ucd_n_ranges = %d;" % len(starts))
    o.append("")
    o.append("/* first code point of each range, ascending */")
    o.append("const uint32_t hrt_ucd_start[%d] = {" % len(starts))
    for i in range(0, len(starts), 8):
        o.append("\t" + " ".join("0x%05X," % s for s in starts[i:i + 8]))
    o.append("};")
    o.append("")
    o.append("/* HRT_UCD_* flags of each range */")
    o.append("const uint8_t hrt_ucd_cat[%d] = {" % len(starts))
    for i in range(0, len(starts), 12):
        o.append("\t" + " ".join("0x%02X," % flags[s] for s in starts[i:i + 12]))
    o.append("};")
    o.append("")
    o.append("/* HRT_UCD_* flags of 0..127 */")
    o.append("const uint8_t hrt_ucd_ascii[128] = {")
    for i in range(0, 128, 12):
        o.append("\t" + " ".join("0x%02X," % flags[c] for c in range(i, min(i + 12, 128))))
    o.append("};")
    o.append("")
    o.append("/* White_Space code points, ascending */")
    o.append("const unsigned hrt_ucd_n_space = %d;" % len(space))
    o.append("const uint32_t hrt_ucd_space[%d] = {" % len(space))
    for i in range(0, len(space), 8):
        o.append("\t" + " ".join("0x%04X," % c for c in space[i:i + 8]))
    o.append("};")
    text = "\n".join(o) + "\n"

    if a.output:
        with open(a.output, "w", encoding="utf-8") as f:
            f.write(text)
    else:
        sys.stdout.write(text)


if __name__ == "__main__":
    main()
