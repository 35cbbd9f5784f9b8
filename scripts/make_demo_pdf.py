"""Writes datasets/demo/honeybees.pdf: a two-page text PDF for the demo corpus and tests.

Pure Python, no dependencies: `python3 scripts/make_demo_pdf.py`. Text is drawn with Tj and T*,
one line per Tj, in Helvetica.
"""
import sys

PAGES = [
    [
        "Honeybee colonies",
        "",
        "A honeybee colony of Apis mellifera is a superorganism of one queen,",
        "a few hundred drones and tens of thousands of female workers.",
        "Workers change jobs as they age: they clean cells, nurse larvae,",
        "build comb from wax, guard the entrance and finally forage outside.",
        "Bees seal gaps in the hive with propolis, a resin collected from tree buds.",
    ],
    [
        "The waggle dance",
        "",
        "A forager that has found a rich patch of flowers returns to the hive",
        "and performs the waggle dance on the vertical comb.",
        "The angle of the waggle run relative to vertical gives the direction",
        "of the food relative to the sun, and the length of the run tells the distance.",
        "Karl von Frisch decoded this language and shared the 1973 Nobel Prize.",
    ],
]


def escape(text):
    return text.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)")


def page_stream(lines):
    ops = ["BT", "/F1 12 Tf", "16 TL", "72 720 Td"]
    for line in lines:
        ops.append(f"({escape(line)}) Tj T*")
    ops.append("ET")
    return "\n".join(ops).encode("latin-1")


def build(pages):
    objects = []  # (number, bytes)
    font_id = 3
    page_ids = []
    next_id = 4
    body = []
    for lines in pages:
        content = page_stream(lines)
        content_id, page_id = next_id, next_id + 1
        next_id += 2
        body.append((content_id, b"<< /Length %d >>\nstream\n" % len(content) + content + b"\nendstream"))
        body.append((page_id, (
            f"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] "
            f"/Resources << /Font << /F1 {font_id} 0 R >> >> /Contents {content_id} 0 R >>"
        ).encode()))
        page_ids.append(page_id)
    kids = " ".join(f"{p} 0 R" for p in page_ids)
    objects.append((1, b"<< /Type /Catalog /Pages 2 0 R >>"))
    objects.append((2, f"<< /Type /Pages /Kids [{kids}] /Count {len(page_ids)} >>".encode()))
    objects.append((3, b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>"))
    objects.extend(body)
    objects.sort()
    out = bytearray(b"%PDF-1.4\n")
    offsets = {}
    for number, data in objects:
        offsets[number] = len(out)
        out += f"{number} 0 obj\n".encode() + data + b"\nendobj\n"
    xref = len(out)
    out += f"xref\n0 {len(objects) + 1}\n0000000000 65535 f \n".encode()
    for number in range(1, len(objects) + 1):
        out += f"{offsets[number]:010d} 00000 n \n".encode()
    out += f"trailer\n<< /Size {len(objects) + 1} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n".encode()
    return bytes(out)


if __name__ == "__main__":
    path = sys.argv[1] if len(sys.argv) > 1 else "datasets/demo/honeybees.pdf"
    with open(path, "wb") as f:
        f.write(build(PAGES))
