"""The advice document: Markdown and print-ready HTML from plain data and from a real store."""

from __future__ import annotations

import datetime as dt
import html.parser
import re
import shutil
import time
from pathlib import Path

import pytest

from companion import db
from companion.advice import export, store
from companion.advice.splitter import Utterance

DOC = {
    "group": "Team <Noord> & co",
    "method": {"nl": "Roddelmodel (9 stappen)", "en": "Gossip model (9 steps)"},
    "date": dt.date(2026, 11, 23),
    "language": "nl",
    "inbrenger": "Bram",
    "question_original": "Hoe ga ik om met *werkdruk* in mijn team?",
    "question_reformulated": "Hoe zeg ik nee\nzonder schuldgevoel?",
    "items": [
        {"text": "Praat eerst met je leidinggevende.", "speaker": "Anna", "mark": "useful",
         "note": "Maandag plannen.\nAgenda meenemen.", "original": "Eh ik zou eerst met je baas praten."},
        {"text": "Zoek een coach.", "speaker": "Carla", "mark": "ask", "note": "", "original": "Zoek een coach."},
        {"text": "<script>alert('x')</script> [klik](http://evil) # kop", "speaker": None, "mark": None, "source": "hand"},
        {"text": "Verwijderd advies", "speaker": "Dirk", "deleted": True},
        {"text": "Neem vakantie.", "speaker": "Eva", "mark": "not_for_me"},
    ],
    "overall_note": "Ik begin met Anna's advies.",
    "takeaways": [{"name": "Eva", "text": "Doorvragen is lastig."}, {"name": "Dirk <b>", "text": "Stilte mag."}],
}


class _Text(html.parser.HTMLParser):
    def __init__(self):
        super().__init__()
        self.tags: list[str] = []
        self.text: list[str] = []

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)

    def handle_data(self, data):
        self.text.append(data)


def test_markdown_holds_everything_in_order():
    md = export.render_markdown(DOC)
    assert md.startswith("# Adviezen: Team &lt;Noord&gt; &amp; co")
    assert "23 november 2026" in md and "Roddelmodel (9 stappen)" in md and "Bram" in md
    assert "> Hoe ga ik om met \\*werkdruk\\* in mijn team?" in md
    assert "> Hoe zeg ik nee\n> zonder schuldgevoel?" in md
    lines = md.splitlines()
    numbered = [l for l in lines if l[:3] in ("1. ", "2. ", "3. ", "4. ", "5. ")]
    assert [l.split("**")[1] for l in numbered] == ["Anna", "Carla", "onbekend", "Eva"]
    assert "Verwijderd advies" not in md
    assert "   - Oordeel: bruikbaar" in md and "Oordeel: navragen" in md and "Oordeel: niet voor mij" in md
    assert "Oordeel: nog niet beoordeeld" in md
    assert "   - Notitie: Maandag plannen.\n     Agenda meenemen." in md
    assert "Zoals gezegd: Eh ik zou eerst met je baas praten." in md
    assert md.count("Zoals gezegd") == 1  # only where the text was corrected
    assert "## Mijn notities\n\nIk begin met Anna's advies." in md
    assert "- **Eva:** Doorvragen is lastig." in md
    # User text cannot smuggle HTML, links or headings into the document.
    assert "<script>" not in md and "&lt;script&gt;" in md and "\\[klik\\]" in md
    assert "<b>" not in md


def test_html_escapes_user_text_and_has_a_print_stylesheet():
    page = export.render_html(DOC)
    parser = _Text()
    parser.feed(page)
    assert "script" not in parser.tags
    assert "<script>" not in page and "&lt;script&gt;" in page
    assert "Dirk &lt;b&gt;" in page
    text = "".join(parser.text)
    for needle in ("Team <Noord> & co", "23 november 2026", "Hoe zeg ik nee", "Praat eerst met je leidinggevende.",
                   "Maandag plannen.", "Eh ik zou eerst", "Doorvragen is lastig.", "Ik begin met Anna"):
        assert needle in text, needle
    assert "Verwijderd advies" not in text
    assert text.index("Praat eerst") < text.index("Zoek een coach") < text.index("Neem vakantie")
    assert "@page" in page and "size: A4" in page and "@media print" in page
    assert 'lang="nl"' in page


def test_english_labels_and_date():
    doc = dict(DOC, language="en")
    md = export.render_markdown(doc)
    assert md.startswith("# Advice: ") and "November 23, 2026" in md and "Gossip model (9 steps)" in md
    assert "Verdict: useful" in md and "ask about it" in md and "What the group takes away" in md
    assert "Oordeel" not in md
    assert 'lang="en"' in export.render_html(doc)


def test_empty_document_says_so():
    doc = {"group": "G", "method": "Basismodel", "date": "2026-11-23", "items": [], "takeaways": []}
    md = export.render_markdown(doc)
    assert "Er zijn geen adviezen vastgelegd." in md and "Niemand heeft een leerpunt gedeeld." in md
    assert "Mijn notities" not in md
    assert "Er zijn geen adviezen vastgelegd." in export.render_html(doc)


def test_dataclass_input_and_filename():
    doc = export.AdviceDocument(
        group="Team Zuid/Oost", method="Basismodel", date=dt.date(2026, 1, 2),
        items=[export.ExportItem(text="Probeer het.", speaker="Ann")],
    )
    assert "1. **Ann**: Probeer het." in export.render_markdown(doc)
    assert export.filename(doc, "md") == "adviezen-team-zuid-oost-2026-01-02.md"


def test_facilitator_template_folder_wins(tmp_path):
    (tmp_path / "advice.md.j2").write_text("Eigen opmaak voor {{ doc.group|md }}\n", encoding="utf-8")
    assert export.render_markdown(DOC, templates_dir=tmp_path) == "Eigen opmaak voor Team &lt;Noord&gt; &amp; co\n"
    assert "<!doctype html>" in export.render_html(DOC, templates_dir=tmp_path)  # falls back to ours


def test_export_from_a_real_store(tmp_path):
    conn = db.connect(tmp_path / "c.sqlite3")
    conn.execute(
        """INSERT INTO rooms (id, name, method_id, method_source, language, capacity, invite_hash, created_at)
           VALUES ('r', 'Team', 'basismodel', '', 'nl', 8, 'h', ?)""", (time.time(),)
    )
    for pid, name in (("a", "Anna"), ("b", "Bram")):
        conn.execute(
            "INSERT INTO participants (id, room_id, name, role, token_hash, joined_at) VALUES (?, 'r', ?, 'deelnemer', ?, ?)",
            (pid, name, f"t{pid}", time.time()),
        )
    store.ingest_utterances(conn, "r", [
        Utterance("1", "a", 0, 6, "Ik zou met je baas praten, en daarnaast zou je ook een coach zoeken."),
    ], "nl")
    first, second = store.list_items(conn, "r")
    store.edit_text(conn, "r", second["id"], "Zoek een coach via HR.", "f")
    store.set_mark(conn, "r", first["id"], "useful", "b")
    md = export.render_markdown({"group": "Team", "method": "Basismodel", "date": dt.date.today(),
                                 "items": store.list_items(conn, "r", include_deleted=True)})
    assert "1. **Anna**: Ik zou met je baas praten." in md and "bruikbaar" in md
    assert "2. **Anna**: Zoek een coach via HR." in md
    assert "Zoals gezegd: Daarnaast zou je ook een coach zoeken." in md
    conn.close()


CHROMIUM = "/usr/bin/chromium"


@pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="Debian chromium not installed")
async def test_chromium_prints_the_html_to_a_clean_a4_pdf(tmp_path):
    playwright = pytest.importorskip("playwright.async_api")
    long_doc = dict(DOC, items=DOC["items"] + [
        {"text": f"Advies nummer {n}: probeer iets kleins en kijk wat het doet met de groep.", "speaker": "Anna",
         "mark": "useful", "note": "Goed idee." if n % 3 == 0 else ""} for n in range(6, 26)
    ])
    page_html = export.render_html(long_doc)
    async with playwright.async_playwright() as p:
        browser = await p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        try:
            page = await browser.new_page()
            await page.set_content(page_html)
            pdf_path = tmp_path / "adviezen.pdf"
            await page.pdf(path=str(pdf_path), prefer_css_page_size=True)
            await page.emulate_media(media="print")
            await page.set_viewport_size({"width": 794, "height": 1123})  # A4 at 96 dpi
            await page.screenshot(path=str(tmp_path / "adviezen-print.png"), full_page=False)
            shown = await page.evaluate("document.querySelectorAll('ol.items > li').length")
        finally:
            await browser.close()
    data = pdf_path.read_bytes()
    assert data.startswith(b"%PDF")
    # A4 is 595 x 842 points; 24 items fill more than one page.
    assert b"/MediaBox [0 0 595" in data or b"/MediaBox [0 0 594" in data
    assert len(re.findall(rb"/Type\s*/Page(?!s)", data)) >= 2
    assert shown == 24
    out = Path("/tmp/companion-advice-print")
    out.mkdir(exist_ok=True)
    shutil.copy(pdf_path, out / "adviezen.pdf")
    shutil.copy(tmp_path / "adviezen-print.png", out / "adviezen-print.png")


def test_group_name_in_the_page_footer_cannot_leave_its_css_string():
    page = export.render_html(dict(DOC, group='Ploeg "x"; } </style><script>alert(1)</script> \\'))
    style = page.split("<style>", 1)[1].split("</style>", 1)[0]
    assert "<" not in style and '"x"' not in style and "\\\\" not in style
    assert "@bottom-right" in style and "counter(pages)" in style
    assert str(export.css_string("A & b")) == '"A \\000026  b"'
