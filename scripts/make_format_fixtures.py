"""Writes the small document fixtures the pipelines parser tests read (pipelines/tests/fixtures/).

Office files are written with the formats' own libraries, so they look like what people upload
(default templates, styles, layouts and notes masters included); EPUB, e-mail, CSV and the text
formats with the standard library only. All content is made up here.

    python3 -m venv /tmp/fixture-venv
    /tmp/fixture-venv/bin/pip install python-docx==1.2.0 python-pptx==1.0.2 openpyxl==3.1.5 xlwt==1.3.0
    /tmp/fixture-venv/bin/python scripts/make_format_fixtures.py [OUT_DIR]

OUT_DIR defaults to pipelines/tests/fixtures. The tests assert on the text written here: change
both together.
"""
import datetime
import email.policy
import sys
import zipfile
from email.message import EmailMessage
from pathlib import Path

OUT = Path(sys.argv[1] if len(sys.argv) > 1 else "pipelines/tests/fixtures")
FIXED_TIME = datetime.datetime(2024, 3, 1, 9, 30, 0)


def docx():
    import docx as python_docx

    doc = python_docx.Document()
    doc.core_properties.title = "Field Guide to Ragd"
    doc.core_properties.author = "ragd tests"
    doc.core_properties.created = FIXED_TIME
    doc.core_properties.modified = FIXED_TIME
    doc.add_heading("Installing ragd", level=1)
    doc.add_paragraph("Ragd runs as one binary. Download it and start the server.")
    doc.add_heading("Requirements", level=2)
    doc.add_paragraph("A 64-bit Linux machine", style="List Bullet")
    doc.add_paragraph("Two gigabytes of memory", style="List Bullet")
    doc.add_heading("Steps", level=2)
    doc.add_paragraph("Unpack the archive", style="List Number")
    doc.add_paragraph("Run ragd serve", style="List Number")
    doc.add_paragraph("Open the console", style="List Number")
    doc.add_heading("Ports", level=2)
    table = doc.add_table(rows=3, cols=3)
    for row, values in zip(table.rows, [("Service", "Port", "Protocol"), ("API", "5001", "HTTP"), ("Metrics", "9100", "HTTP|text")]):
        for cell, value in zip(row.cells, values):
            cell.text = value
    doc.add_paragraph("Ports can be changed in ragd.toml.")
    doc.save(OUT / "sample.docx")


def xlsx():
    import openpyxl

    workbook = openpyxl.Workbook()
    inventory = workbook.active
    inventory.title = "Inventory"
    inventory.append([])  # the header is not on the first row
    inventory.append(["Item", "Quantity", "Price", "Restocked", "Active"])
    inventory.append(["Apples", 120, 0.5, datetime.date(2024, 3, 1), True])
    inventory.append(["Pears", 35, 0.75, datetime.datetime(2024, 2, 15, 14, 30), False])
    inventory.append([None, None, None, None, None])
    inventory.append(["Plums | red", 7, "=B3*C3", None, None])
    notes = workbook.create_sheet("Notes & Plans")
    notes["A1"] = "Topic"
    notes["B1"] = "Detail"
    notes["A2"] = "Supplier"
    notes["B2"] = "Orchard Co.\nsecond line"
    workbook.create_sheet("Empty")
    workbook.properties.title = "Stock workbook"
    workbook.properties.created = FIXED_TIME
    workbook.properties.modified = FIXED_TIME
    workbook.save(OUT / "sample.xlsx")


def xls():
    import xlwt

    workbook = xlwt.Workbook(encoding="utf-8")
    budget = workbook.add_sheet("Budget")
    for col, value in enumerate(["Category", "Amount", "Due"]):
        budget.write(0, col, value)
    date_style = xlwt.easyxf(num_format_str="YYYY-MM-DD")
    budget.write(1, 0, "Rent")
    budget.write(1, 1, 1200)
    budget.write(1, 2, datetime.date(2024, 4, 1), date_style)
    budget.write(2, 0, "Food")
    budget.write(2, 1, 310.25)
    people = workbook.add_sheet("People")
    people.write(0, 0, "Name")
    people.write(0, 1, "City")
    people.write(1, 0, "王小明")
    people.write(1, 1, "北京")
    workbook.save(str(OUT / "sample.xls"))


def pptx():
    import pptx as python_pptx
    from pptx.util import Inches

    deck = python_pptx.Presentation()
    deck.core_properties.title = "Quarterly Review"
    deck.core_properties.created = FIXED_TIME
    deck.core_properties.modified = FIXED_TIME

    title_slide = deck.slides.add_slide(deck.slide_layouts[0])
    title_slide.shapes.title.text = "Quarterly Review"
    title_slide.placeholders[1].text = "Second quarter, 2024"

    bullets = deck.slides.add_slide(deck.slide_layouts[1])
    bullets.shapes.title.text = "Highlights"
    body = bullets.placeholders[1].text_frame
    body.text = "Revenue grew 12%"
    body.add_paragraph().text = "Two new regions"
    bullets.notes_slide.notes_text_frame.text = "Mention the Lisbon office."

    table_slide = deck.slides.add_slide(deck.slide_layouts[5])
    table_slide.shapes.title.text = "Numbers"
    shape = table_slide.shapes.add_table(3, 2, Inches(1), Inches(2), Inches(6), Inches(2))
    for row, values in enumerate([("Region", "Sales"), ("North", "410"), ("South", "385")]):
        for col, value in enumerate(values):
            shape.table.cell(row, col).text = value
    caption = table_slide.shapes.add_textbox(Inches(1), Inches(5), Inches(6), Inches(1))
    caption.text_frame.text = "Figures in thousands"
    table_slide.notes_slide.notes_text_frame.text = "South caught up in June."
    deck.save(OUT / "sample.pptx")


def epub():
    container = (
        '<?xml version="1.0"?>\n<container version="1.0" xmlns="urn:oasis:names:tc:opendocument:xmlns:container">'
        '<rootfiles><rootfile full-path="OEBPS/content.opf" media-type="application/oebps-package+xml"/>'
        "</rootfiles></container>"
    )
    chapters = {
        "ch1": ("text/chapter1.xhtml", "The Harbour", "<p>The boats came in at dawn.</p><ul><li>nets</li><li>ropes</li></ul>"),
        "ch2": ("text/chapter2.xhtml", "The Market", "<p>Fish were sold by noon.</p>"),
        "ch3": ("text/chapter3.xhtml", "The Storm", "<p>By evening the wind rose.</p>"),
    }
    # The manifest lists the chapters out of reading order; the spine decides.
    manifest = "".join(
        f'<item id="{id}" href="{href}" media-type="application/xhtml+xml"/>'
        for id, (href, _, _) in sorted(chapters.items(), reverse=True)
    )
    opf = (
        '<?xml version="1.0" encoding="UTF-8"?>\n<package xmlns="http://www.idpf.org/2007/opf" version="3.0" unique-identifier="id">'
        '<metadata xmlns:dc="http://purl.org/dc/elements/1.1/"><dc:identifier id="id">urn:uuid:ragd-fixture</dc:identifier>'
        "<dc:title>A Day at the Harbour</dc:title><dc:language>en</dc:language></metadata>"
        f'<manifest><item id="nav" href="nav.xhtml" media-type="application/xhtml+xml" properties="nav"/>{manifest}</manifest>'
        '<spine><itemref idref="nav" linear="no"/><itemref idref="ch1"/><itemref idref="ch2"/><itemref idref="ch3"/></spine></package>'
    )
    nav = (
        '<?xml version="1.0" encoding="UTF-8"?>\n<html xmlns="http://www.w3.org/1999/xhtml" xmlns:epub="http://www.idpf.org/2007/ops">'
        '<head><title>Contents</title></head><body><nav epub:type="toc"><ol><li><a href="text/chapter1.xhtml">The Harbour</a></li>'
        "</ol></nav></body></html>"
    )
    with zipfile.ZipFile(OUT / "sample.epub", "w") as archive:
        # The mimetype entry comes first and uncompressed, as the EPUB container format requires.
        archive.writestr(zipfile.ZipInfo("mimetype", FIXED_TIME.timetuple()[:6]), "application/epub+zip")
        for name, content in [("META-INF/container.xml", container), ("OEBPS/content.opf", opf), ("OEBPS/nav.xhtml", nav)] + [
            (
                f"OEBPS/{href}",
                '<?xml version="1.0" encoding="UTF-8"?>\n<html xmlns="http://www.w3.org/1999/xhtml">'
                f"<head><title>{title}</title></head><body><h1>{title}</h1>{body}</body></html>",
            )
            for href, title, body in chapters.values()
        ]:
            info = zipfile.ZipInfo(name, FIXED_TIME.timetuple()[:6])
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, content)


def eml():
    message = EmailMessage(policy=email.policy.SMTP)
    message["From"] = "Ada Lovelace <ada@example.org>"
    message["To"] = "Charles Babbage <charles@example.org>, team@example.org"
    message["Subject"] = "Notes on the Analytical Engine — draft"
    message["Date"] = "Mon, 04 Mar 2024 10:15:00 +0000"
    message["Message-ID"] = "<fixture-1@example.org>"
    message.set_content("Dear Charles,\n\nThe notes are attached. Note G has the Bernoulli numbers.\n\nAda\n")
    message.add_alternative("<html><body><p>Dear Charles,</p><p>The <b>HTML</b> version.</p></body></html>", subtype="html")
    message.add_attachment(
        "Note G: a method for the Bernoulli numbers.\nStep 1: set up the cards.\n".encode("utf-8"),
        maintype="text",
        subtype="plain",
        filename="note-g.txt",
    )
    message.add_attachment(b"\x89PNG\r\n\x1a\n" + bytes(32), maintype="image", subtype="png", filename="diagram.png")
    (OUT / "sample.eml").write_bytes(message.as_bytes())


def text_formats():
    (OUT / "sample_semicolon_cp1252.csv").write_bytes(
        "Produit;Prix;Catégorie\r\nCafé;2,50;Boissons\r\nCrème brûlée;4,00;Desserts\r\n".encode("cp1252")
    )
    (OUT / "sample_gbk.csv").write_bytes("名称,数量,备注\n苹果,3,新鲜的红色苹果\n香蕉,5,来自南方的香蕉\n".encode("gbk"))
    (OUT / "sample_utf16.tsv").write_bytes("\ufeffName\tScore\r\nÅsa\t9\r\nJürgen\t7\r\n".encode("utf-16-le"))
    (OUT / "sample_pipe.csv").write_text('id|comment\n1|"quoted | pipe"\n2|plain\n', encoding="utf-8")
    (OUT / "sample.xml").write_text(
        '<?xml version="1.0" encoding="UTF-8"?>\n<!DOCTYPE catalog [<!ENTITY secret SYSTEM "file:///etc/hostname">]>\n'
        "<catalog>\n  <title>Seed catalogue</title>\n  <seed kind=\"bean\">\n    <name>Runner bean</name>\n"
        "    <note>Sow in <em>May</em> &amp; water well.&secret;</note>\n  </seed>\n  <seed>\n    <name>Pea</name>\n"
        "    <note><![CDATA[Sow < 5 cm deep]]></note>\n  </seed>\n</catalog>\n",
        encoding="utf-8",
    )
    (OUT / "sample.json").write_text(
        '{"title": "Service settings", "server": {"host": "0.0.0.0", "port": 5001, "tls": false},\n'
        ' "datasets": [{"name": "handbook", "top_k": 4}, {"name": "faq", "tags": ["support", "billing"]}]}\n',
        encoding="utf-8",
    )
    (OUT / "sample.jsonl").write_text(
        '{"question": "How do I reset my password?", "answer": "Use the login page."}\n'
        '{"question": "Can I export data?", "answer": "Yes, as CSV."}\n',
        encoding="utf-8",
    )
    (OUT / "sample.vtt").write_text(
        "WEBVTT\n\nNOTE recorded at the harbour\n\n1\n00:00:01.000 --> 00:00:03.500\n<v Harbour Master>The boats are late today.\n\n"
        "2\n00:00:03.500 --> 00:00:06.000 align:start\nThe wind is <i>strong</i> &amp; cold.\n\n"
        "00:00:06.000 --> 00:00:08.000\nThe wind is <i>strong</i> &amp; cold.\n",
        encoding="utf-8",
    )
    (OUT / "sample.properties").write_bytes(
        "# Application settings\napp.name=Ragd\napp.greeting=Grüß Gott\nserver.port=5001\n".encode("latin-1")
    )


def main():
    OUT.mkdir(parents=True, exist_ok=True)
    for make in (docx, xlsx, xls, pptx, epub, eml, text_formats):
        make()
    for path in sorted(OUT.glob("sample*")):
        print(f"{path.stat().st_size:>7}  {path}")


if __name__ == "__main__":
    main()
