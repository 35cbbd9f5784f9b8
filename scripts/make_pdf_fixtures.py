"""Writes the CJK and right-to-left PDF fixtures (pipelines/tests/fixtures/*.pdf) that check
extraction keeps reading order.

Written the ways real producers write such files: fpdf2 embeds a subset of a TrueType font with a
ToUnicode map and, with text shaping on, draws right-to-left runs in visual order (as browsers and
office suites do); reportlab's CID fonts are not embedded and rely on Adobe's predefined CMaps
(UniGB-UCS2-H and friends), as many Chinese and Japanese office PDFs do. All text is made up here.

    apt-get install fonts-dejavu-core fonts-droid-fallback fonts-nanum
    python3 -m venv /tmp/pdf-fixture-venv
    /tmp/pdf-fixture-venv/bin/pip install fpdf2==2.8.9 uharfbuzz==0.57.0 reportlab==5.1.0
    /tmp/pdf-fixture-venv/bin/python scripts/make_pdf_fixtures.py [OUT_DIR]

OUT_DIR defaults to pipelines/tests/fixtures. `pipelines/tests/pdf_reading_order.rs` asserts on the text
written here: change both together.
"""
import datetime
import sys
from pathlib import Path

OUT = Path(sys.argv[1] if len(sys.argv) > 1 else "pipelines/tests/fixtures")
FIXED_TIME = datetime.datetime(2024, 3, 1, 9, 30, 0, tzinfo=datetime.timezone.utc)
DEJAVU = "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"
DROID = "/usr/share/fonts/truetype/droid/DroidSansFallbackFull.ttf"
NANUM = "/usr/share/fonts/truetype/nanum/NanumGothic.ttf"

CJK_LINES = [
    "知识库服务",
    "文档解析、清洗、分块和向量化。",
    "支持 PDF 与 Word 文件",
    "日本語のテキストも読めます。",
    "한국어 문장도 지원합니다.",
]

RTL_LINES = [
    "שלום עולם",
    "מסמך בעברית עם שתי שורות",
    "مرحبا بالعالم",
    "نص عربي قصير",
    "גרסה 2 של ragd",
]

CID_LINES = [
    ("STSong-Light", "简体中文文本"),
    ("HeiseiMin-W3", "日本語の文書"),
    ("HYSMyeongJo-Medium", "한국어 문서"),
]


def fpdf_document():
    from fpdf import FPDF

    pdf = FPDF()
    pdf.set_creation_date(FIXED_TIME)
    pdf.set_compression(True)
    return pdf


def cjk():
    pdf = fpdf_document()
    pdf.set_title("CJK sample")
    pdf.add_font("droid", fname=DROID)
    # Droid has no Latin letters and no Hangul: fpdf2 switches font mid-line for those, as
    # word processors do.
    pdf.add_font("dejavu", fname=DEJAVU)
    pdf.add_font("nanum", fname=NANUM)
    pdf.set_fallback_fonts(["dejavu", "nanum"])
    pdf.add_page()
    pdf.set_font("droid", size=14)
    for line in CJK_LINES:
        pdf.cell(text=line, new_x="LMARGIN", new_y="NEXT")
    pdf.output(str(OUT / "cjk.pdf"))


def rtl():
    pdf = fpdf_document()
    pdf.set_title("RTL sample")
    pdf.add_font("dejavu", fname=DEJAVU)
    pdf.add_page()
    pdf.set_font("dejavu", size=14)
    # Shaping draws each line in visual order: the glyphs of a right-to-left run go left to right
    # on the page in reverse, and Arabic letters take their joined forms.
    pdf.set_text_shaping(use_shaping_engine=True, direction="rtl")
    for line in RTL_LINES:
        pdf.cell(w=0, text=line, align="R", new_x="LMARGIN", new_y="NEXT")
    pdf.output(str(OUT / "rtl.pdf"))


def cjk_cid():
    from reportlab.lib.pagesizes import A4
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.cidfonts import UnicodeCIDFont
    from reportlab.pdfgen import canvas

    path = OUT / "cjk_cid.pdf"
    page = canvas.Canvas(str(path), pagesize=A4, invariant=1)
    page.setTitle("CID font sample")
    y = 780
    for font, text in CID_LINES:
        pdfmetrics.registerFont(UnicodeCIDFont(font))
        page.setFont(font, 16)
        page.drawString(72, y, text)
        y -= 30
    page.showPage()
    page.save()


def main():
    OUT.mkdir(parents=True, exist_ok=True)
    for make in (cjk, rtl, cjk_cid):
        make()
    for name in ("cjk.pdf", "rtl.pdf", "cjk_cid.pdf"):
        path = OUT / name
        print(f"{path.stat().st_size:>7}  {path}")


if __name__ == "__main__":
    main()
