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
    assert md.startswith("# Adviezen: Team \\<Noord\\> & co")
    assert "23 november 2026" in md and "Roddelmodel (9 stappen)" in md and "Bram" in md
    assert "> Hoe ga ik om met \\*werkdruk\\* in mijn team?" in md
    assert "> Hoe zeg ik nee\\\n> zonder schuldgevoel?" in md
    lines = md.splitlines()
    numbered = [l for l in lines if l[:3] in ("1. ", "2. ", "3. ", "4. ", "5. ")]
    assert [l.split("**")[1] for l in numbered] == ["Anna", "Carla", "onbekend", "Eva"]
    assert "Verwijderd advies" not in md
    assert "   - Oordeel: bruikbaar" in md and "Oordeel: navragen" in md and "Oordeel: niet voor mij" in md
    assert "Oordeel: nog niet beoordeeld" in md
    assert "   - Notitie: Maandag plannen.\\\n     Agenda meenemen." in md
    assert "Zoals gezegd: Eh ik zou eerst met je baas praten." in md
    assert md.count("Zoals gezegd") == 1  # only where the text was corrected
    assert "## Mijn notities\n\nIk begin met Anna's advies." in md
    assert "- **Eva:** Doorvragen is lastig." in md
    # User text cannot smuggle HTML, links or headings into the document.
    assert "<script>" not in md and "\\<script\\>" in md and "\\[klik\\]" in md
    assert "<b>" not in md
    # The page's words (docs/glossary.md): only the item typed in is marked, as added by hand.
    assert md.count("met de hand toegevoegd") == 1 and "later toegevoegd" not in md
    assert "Methode" in md and "Werkvorm" not in md


def test_html_escapes_user_text_and_has_a_print_stylesheet():
    page = export.render_html(DOC)
    parser = _Text()
    parser.feed(page)
    # One script only: the print button's own, which the page's CSP allows by its hash.
    assert parser.tags.count("script") == 1 and f"<script>{export.PRINT_SCRIPT}</script>" in page
    assert "<script>alert" not in page and "&lt;script&gt;" in page
    assert "Dirk &lt;b&gt;" in page
    text = "".join(parser.text)
    for needle in ("Team <Noord> & co", "23 november 2026", "Hoe zeg ik nee", "Praat eerst met je leidinggevende.",
                   "Maandag plannen.", "Eh ik zou eerst", "Doorvragen is lastig.", "Ik begin met Anna"):
        assert needle in text, needle
    assert "Verwijderd advies" not in text
    assert text.index("Praat eerst") < text.index("Zoek een coach") < text.index("Neem vakantie")
    assert "@page" in page and "size: A4" in page and "@media print" in page
    assert 'lang="nl"' in page
    assert ">Afdrukken of opslaan als PDF</button>" in page
    assert "".join(parser.text).count("met de hand toegevoegd") == 1


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
    assert "Er zijn geen adviezen vastgelegd." in md and "Niemand heeft gedeeld wat hij of zij meeneemt." in md
    assert "Mijn notities" not in md
    assert "Er zijn geen adviezen vastgelegd." in export.render_html(doc)


def test_a_question_typed_only_later_is_the_question_not_a_reformulation():
    """An inbrenger appointed without a case types the question in the explanation step: it has no original."""
    doc = {**DOC, "question_original": None, "question_reformulated": "Hoe vraag ik om hulp?"}
    md = export.render_markdown(doc)
    assert "Hoe vraag ik om hulp?" in md and "Vraag na herformulering" not in md and "Oorspronkelijke vraag" not in md
    assert "\n\n\n" not in md
    page = export.render_html(doc)
    assert "Hoe vraag ik om hulp?" in page and "Vraag na herformulering" not in page
    # With an original, the new wording keeps its label.
    assert "Vraag na herformulering" in export.render_markdown(DOC)


def test_dataclass_input_and_filename():
    doc = export.AdviceDocument(
        group="Team Zuid/Oost", method="Basismodel", date=dt.date(2026, 1, 2),
        items=[export.ExportItem(text="Probeer het.", speaker="Ann")],
    )
    assert "1. **Ann**: Probeer het." in export.render_markdown(doc)
    assert export.filename(doc, "md") == "adviezen-team-zuid-oost-2026-01-02.md"


def test_facilitator_template_folder_wins(tmp_path):
    (tmp_path / "advice.md.j2").write_text("Eigen opmaak voor {{ doc.group|md }}\n", encoding="utf-8")
    assert export.render_markdown(DOC, templates_dir=tmp_path) == "Eigen opmaak voor Team \\<Noord\\> & co\n"
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
                                 "items": store.list_items(conn, "r", include_deleted=True, inbrenger_id="b")})
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


# ------------------------------------------------------------------ typed text stays literal (issue 10, part 5)
markdown_it = pytest.importorskip("markdown_it")

# What people type that looks like Markdown: blocks, inline constructs, HTML, GFM extensions.
TYPED = [
    "~~~", "```", "```python\nprint(1)\n```", "~~~\ncode", "===", "---", "***", "___", "* * *", "- - -",
    "# kop", "## kop ##", "#kop", "Team #", "###### zes", "- lijst", "+ lijst", "* lijst", "- [ ] taak",
    "1. een", "1) een", "10. tien", "2026. Het jaar", "> citaat", ">> dubbel", "`code`", "`` x ` y ``",
    "<b>vet</b>", "<div>\nblok\n</div>", "<!-- verborgen -->", "<script>alert(1)</script>", "<http://voorbeeld.nl>",
    "[klik](http://evil)", "![plaatje](x.png)", "[ref]: http://x.nl", "[ref]", "*nadruk*", "_nadruk_", "**vet**",
    "__vet__", "~~doorgehaald~~", "a\\", "\\", "a\\\nb", "regel met twee spaties  \nerna", "&amp; &copy; &#35; &#x41;",
    "    ingesprongen code", "\tmet tab", "| a | b |\n|---|---|\n| 1 | 2 |", "a | b", "regel\n\nna een lege regel",
    "regel\n\n    ingesprongen na lege regel", "tekst\n===", "tekst\n---", "tekst\n~~~", "eerste\n- tweede\n1. derde",
    "Hoe?\n> echt?", "x\n<div>", "\\*geen nadruk\\*", "1.", "#", ">", "-", "=", "+", "*", "_", "`", "<", "[", "!",
    "Notitie: zie **hier** en _daar_", "Anna's & Bram's <advies>", "50% * 2 = 100 # klopt",
]


def _fields(value):
    """A document with ``value`` in one typed field at a time (and plain words everywhere else)."""
    def doc(**changes):
        items = [
            {"text": f"Advies {n}.", "speaker": f"Spreker {n}", "mark": "useful", "note": f"Notitie {n}.",
             "original": f"Zoals gezegd {n}.", "source": "speech"}
            for n in range(1, 12)
        ]
        base = {
            "group": "Groep Noord", "method": "Basismodel", "date": dt.date(2026, 11, 23), "language": "nl",
            "inbrenger": "Bram", "question_original": "Hoe zeg ik nee?", "question_reformulated": "Wat houdt me tegen?",
            "items": items, "overall_note": "Ik begin morgen.", "takeaways": [{"name": "Eva", "text": "Stilte mag."}],
        }
        for key, v in changes.items():
            if key.startswith("item_"):
                n, field_ = key.split("_", 2)[1:]
                items[int(n)][field_] = v
            elif key.startswith("takeaway_"):
                base["takeaways"][0][key.split("_", 1)[1]] = v
            else:
                base[key] = v
        return base

    names = ["group", "method", "inbrenger", "item_0_speaker", "takeaway_name"]
    texts = ["question_original", "question_reformulated", "item_0_text", "item_0_note", "item_0_original",
             "item_10_text", "item_10_note", "overall_note", "takeaway_text"]
    return [(f, doc(**{f: value}), True) for f in names] + [(f, doc(**{f: value}), False) for f in texts]


PARSER = markdown_it.MarkdownIt("commonmark").enable(["table", "strikethrough"])


def _structure(md: str) -> list[tuple]:
    """The document's blocks and inline constructs, without the words."""
    shape = []
    for token in PARSER.parse(md):
        if token.type == "inline":
            shape += [(c.type, c.tag, c.nesting) for c in token.children or [] if c.type not in ("text", "softbreak", "hardbreak")]
        else:
            shape.append((token.type, token.tag, token.nesting, token.level, token.markup))
    return shape


def _words(md: str) -> str:
    text = _Text()
    text.feed(PARSER.render(md))
    return " ".join("".join(text.text).split())


PLAIN = _structure(export.render_markdown(_fields("gewone woorden")[0][1]))


@pytest.mark.parametrize("typed", TYPED)
def test_typed_text_never_changes_the_document_structure_and_reads_as_typed(typed):
    for field_, doc, one_line in _fields(typed):
        md = export.render_markdown(doc)
        assert _structure(md) == PLAIN, (field_, typed, md)
        expected = " ".join(typed.replace("\x00", "\ufffd").split())
        assert expected in _words(md), (field_, typed)


@pytest.mark.parametrize("ending", ["~~~", "```", "~~~~~~", "    ~~~", "```\n", "<pre>", "<!--"])
def test_an_overall_note_ending_in_a_fence_leaves_takeaways_and_footer_outside_code(ending):
    md = export.render_markdown(dict(DOC, overall_note=f"Ik begin met Anna.\n{ending}"))
    tokens = markdown_it.MarkdownIt("commonmark").parse(md)
    assert not [t for t in tokens if t.type in ("fence", "code_block", "html_block")]
    headings = [tokens[i + 1].content for i, t in enumerate(tokens) if t.type == "heading_open"]
    assert headings[-2:] == ["Mijn notities", "Wat de groep meeneemt"]
    assert "Vertrouwelijk: alleen voor de inbrenger." in _words(md)


@pytest.mark.parametrize("underline", ["===", "---", "=", "- - -", "***", "___"])
def test_an_item_whose_second_line_underlines_makes_no_heading_or_rule(underline):
    items = [{"text": f"Zoek een maatje.\n{underline}", "speaker": "Anna"}, {"text": "Neem vakantie.", "speaker": "Eva"}]
    md = export.render_markdown(dict(DOC, items=items))
    tokens = markdown_it.MarkdownIt("commonmark").parse(md)
    assert [t.tag for t in tokens if t.type == "heading_open"] == ["h1", "h2", "h2", "h2", "h2"]
    assert [t.type for t in tokens].count("hr") == 1  # only the footer's rule
    numbered = [t for t in tokens if t.type == "ordered_list_open"]
    assert len(numbered) == 1 and sum(t.type == "list_item_open" and t.markup == "." for t in tokens) == 2


def test_ten_or_more_items_keep_their_verdict_and_note_inside_the_item():
    items = [{"text": f"Advies {n}.", "speaker": "Anna", "note": "Regel een\nregel twee"} for n in range(12)]
    md = export.render_markdown(dict(DOC, items=items))
    tokens = markdown_it.MarkdownIt("commonmark").parse(md)
    numbered = [t for t in tokens if t.type == "list_item_open" and t.markup == "."]
    nested = [t for t in tokens if t.type == "bullet_list_open" and t.level > 1]
    assert len(numbered) == 12 and len(nested) == 12  # each item's verdict and note under it, not a list of their own


def test_what_the_inbrenger_did_with_an_advice_is_in_their_download():
    """companion/followup.py: the status told at the next meeting, beside the verdict; none without one."""
    doc = {**DOC, "items": [dict(DOC["items"][0], followup="helped"), dict(DOC["items"][1], followup="perhaps"),
                            dict(DOC["items"][4], followup=None)]}
    markdown = export.render_markdown(doc)
    first, rest = markdown.split("Zoek een coach.")
    assert "- Wat ik ermee deed: geholpen" in first and "Wat ik ermee deed" not in rest  # an unknown status is left out
    assert "What I did with it: not yet" in export.render_markdown({**doc, "language": "en", "items": [
        dict(DOC["items"][0], followup="not_yet")]})
    page = export.render_html(doc)
    assert page.count("Wat ik ermee deed: geholpen") == 1 and "Wat ik ermee deed" not in export.render_html(DOC)
