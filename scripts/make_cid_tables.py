#!/usr/bin/env python3
"""Writes pipelines/src/parse/cid_tables/<Ordering>.bin: CID -> Unicode for Adobe's CJK character
collections (Japan1, Korea1, GB1, CNS1), 3 bytes little-endian per CID (0 = no character).

The tables are inverted from Adobe's Unicode CMaps (UniJIS-UTF32-H, ...; BSD-3-Clause, Adobe), as
installed by Debian's poppler-data in /usr/share/poppler/cMap. They let ragd read CJK text drawn
with fonts that have no ToUnicode map (non-embedded Ryumin/KozMin/HYSMyeongJo and the like, and
embedded CID-keyed CFF subsets): the codes of an Identity-H/V font are the collection's CIDs.
When several characters map to one CID, the unified ideograph (or the lowest code point) wins over
compatibility ideographs, radicals, vertical presentation forms and private use; the horizontal
CMap wins over the vertical one.
"""
import re
import sys
from pathlib import Path

CMAPS = Path(sys.argv[1] if len(sys.argv) > 1 else "/usr/share/poppler/cMap")
OUT = Path(__file__).resolve().parent.parent / "pipelines/src/parse/cid_tables"
SOURCES = {
    "Japan1": "Adobe-Japan1/UniJIS-UTF32",
    "Korea1": "Adobe-Korea1/UniKS-UTF32",
    "GB1": "Adobe-GB1/UniGB-UTF32",
    "CNS1": "Adobe-CNS1/UniCNS-UTF32",
}


def rank(u):
    secondary = (
        0xF900 <= u <= 0xFAFF  # compatibility ideographs
        or 0x2E80 <= u <= 0x2FDF  # radicals
        or 0xE000 <= u <= 0xF8FF  # private use
        or 0xFE10 <= u <= 0xFE4F  # vertical forms
        or 0x2F800 <= u <= 0x2FA1F  # compatibility supplement
    )
    return (secondary, u)


def read(path):
    text = path.read_text(encoding="latin-1")
    cids = {}
    for section in re.findall(r"begincidrange(.*?)endcidrange", text, re.S):
        for low, high, cid in re.findall(r"<([0-9a-fA-F]+)>\s*<([0-9a-fA-F]+)>\s*(\d+)", section):
            low, high, cid = int(low, 16), int(high, 16), int(cid)
            for u in range(low, high + 1):
                cids.setdefault(cid + u - low, []).append(u)
    for section in re.findall(r"begincidchar(.*?)endcidchar", text, re.S):
        for u, cid in re.findall(r"<([0-9a-fA-F]+)>\s*(\d+)", section):
            cids.setdefault(int(cid), []).append(int(u, 16))
    return {cid: min(us, key=rank) for cid, us in cids.items()}


def main():
    OUT.mkdir(parents=True, exist_ok=True)
    for ordering, stem in SOURCES.items():
        table = read(CMAPS / f"{stem}-H")
        for cid, u in read(CMAPS / f"{stem}-V").items():
            table.setdefault(cid, u)
        data = bytearray()
        for cid in range(max(table) + 1):
            data += table.get(cid, 0).to_bytes(3, "little")
        (OUT / f"{ordering}.bin").write_bytes(bytes(data))
        print(f"{ordering}: {len(table)} of {max(table) + 1} CIDs mapped")


if __name__ == "__main__":
    main()
