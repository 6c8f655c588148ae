"""The record of hours: minutes present from the attendance intervals, roles, the CSV files and the page
that prints to one A4 page (issue 17, part 5)."""

from __future__ import annotations

import csv
import io
import re
from pathlib import Path

import pytest

from companion import db, hours
from group_rows import (MIN, T0, add_case_room, add_group, add_meeting, add_member, attend,
                        meeting_member)

PEOPLE = {"fleur": "Fleur", "anne": "Anne", "bas": "Bas", "carla": "Carla", "daan": "Daan", "eva": "Eva"}


@pytest.fixture
def conn(database):
    c = db.connect(database)  # on SQLite and on PostgreSQL
    yield c
    c.close()


def _meeting_one(conn) -> None:
    """Meeting 1 of a group with a facilitator and five members: 13:00 to 16:00, two cases."""
    add_group(conn, "g1", "Intervisie Noord")
    for mid, name in PEOPLE.items():
        add_member(conn, "g1", mid, name, "begeleider" if mid == "fleur" else "deelnemer")
    start, end = T0, T0 + 180 * MIN
    add_meeting(conn, "g1", "m1", 1, start, end)
    add_case_room(conn, "m1", "r1", 1, PEOPLE, inbrenger="anne", ended_at=T0 + 90 * MIN)
    add_case_room(conn, "m1", "r2", 2, PEOPLE, inbrenger="bas", ended_at=end)
    roles = {"fleur": "begeleider", "anne": "inbrenger", "bas": "inbrenger"}
    for mid in PEOPLE:
        meeting_member(conn, "m1", mid, roles.get(mid, "deelnemer"))
    # Everyone came in before the start and left after the end: counted from start to end.
    for mid in ("fleur", "anne", "bas", "eva"):
        attend(conn, "m1", mid, start - 3 * MIN, end + 2 * MIN)
    attend(conn, "m1", "carla", start + 10 * MIN, end + 1 * MIN)  # ten minutes late
    # Daan's connection dropped for ten minutes; the server crashed before his last page left.
    attend(conn, "m1", "daan", start - MIN, start + 60 * MIN)
    attend(conn, "m1", "daan", start + 70 * MIN, None)


def test_minutes_present_are_the_intervals_clipped_to_the_meeting(conn):
    _meeting_one(conn)
    record = {r.member_id: r for r in hours.group_attendance(conn, "g1")}
    assert set(record) == set(PEOPLE)
    assert record["anne"].minutes == 180
    assert record["carla"].minutes == 170  # joined ten minutes late: ten minutes less
    assert record["daan"].minutes == 170  # away for ten minutes; the open interval counts up to the end
    assert record["anne"].meeting_minutes == 180
    assert {m: r.role for m, r in record.items()} == {
        "fleur": "begeleider", "anne": "inbrenger", "bas": "inbrenger", "carla": "deelnemer", "daan": "deelnemer",
        "eva": "deelnemer"}
    assert record["carla"].number == 1 and record["carla"].group == "Intervisie Noord"


def test_overlapping_pages_count_once_and_a_meeting_still_open_is_not_in_the_record(conn):
    _meeting_one(conn)
    # A second device of Eva's: the same minutes, not more.
    attend(conn, "m1", "eva", T0 + 20 * MIN, T0 + 40 * MIN)
    add_meeting(conn, "g1", "m2", 2, T0 + 30 * 86400, None)  # running now
    meeting_member(conn, "m2", "eva", "deelnemer")
    attend(conn, "m2", "eva", T0 + 30 * 86400, None)
    eva = hours.member_record(conn, "eva")
    assert [(r.meeting_id, r.minutes) for r in eva] == [("m1", 180)]


def test_seconds_present_edges():
    assert hours.seconds_present([], 0, 100) == 0
    assert hours.seconds_present([(50, 40)], 0, 100) == 0  # left before joining: nothing
    assert hours.seconds_present([(-10, 5), (3, 20), (90, None)], 0, 100) == 30
    assert hours.seconds_present([(200, 300)], 0, 100) == 0  # after the end
    assert hours.minutes(89.0) == 1 and hours.minutes(90.0) == 2 and hours.minutes(29.9) == 0


def test_the_member_csv_and_the_attendance_csv(conn):
    _meeting_one(conn)
    title = lambda method_id, language: {"roddelmodel": "Roddelmodel"}[method_id]  # noqa: E731
    text = hours.member_csv(hours.member_record(conn, "carla", title), "nl")
    assert text.startswith("\ufeff")
    rows = list(csv.reader(io.StringIO(text[1:]), delimiter=";"))
    assert rows[0] == ["Datum", "Begin", "Einde", "Minuten aanwezig", "Methode", "Rol", "Groep", "Bijeenkomst"]
    assert rows[1][3:] == ["170", "Roddelmodel", "deelnemer", "Intervisie Noord", "1"]
    assert re.fullmatch(r"\d{4}-\d\d-\d\d", rows[1][0]) and re.fullmatch(r"\d\d:\d\d", rows[1][1])
    english = list(csv.reader(io.StringIO(hours.member_csv(hours.member_record(conn, "anne", title), "en")[1:])))
    assert english[0][3] == "Minutes present" and english[1][5] == "case owner"
    group = list(csv.reader(io.StringIO(hours.attendance_csv(hours.group_attendance(conn, "g1", title))[1:]),
                            delimiter=";"))
    assert len(group) == 1 + len(PEOPLE)
    assert [(r[6], r[7], r[8]) for r in group[1:]] == [
        ("Anne", "inbrenger", "180"), ("Bas", "inbrenger", "180"), ("Carla", "deelnemer", "170"),
        ("Daan", "deelnemer", "170"), ("Eva", "deelnemer", "180"), ("Fleur", "begeleider", "180")]


def test_a_name_is_never_a_spreadsheet_formula(conn):
    add_group(conn, "g1")
    add_member(conn, "g1", "x", "=HYPERLINK(\"http://x\")")
    add_meeting(conn, "g1", "m1", 1, T0, T0 + 60 * MIN)
    meeting_member(conn, "m1", "x", "deelnemer")
    text = hours.attendance_csv(hours.group_attendance(conn, "g1"))
    assert "'=HYPERLINK" in text and ";=HYPERLINK" not in text


def test_the_printable_page_names_group_and_facilitator_and_holds_no_case_content(conn):
    _meeting_one(conn)
    conn.execute("UPDATE rooms SET question_original = 'Hoe zeg ik nee tegen mijn leidinggevende?' WHERE id = 'r1'")
    rows = hours.member_record(conn, "anne")
    page = hours.render_html(rows, "Anne", "Intervisie Noord", hours.facilitator_names(conn, "g1"))
    assert "Intervisie Noord" in page and "Fleur" in page and "Anne" in page
    assert "3 uur en 0 minuten" in page and "inbrenger" in page
    assert "leidinggevende" not in page
    assert "<script>" + hours.PRINT_SCRIPT + "</script>" in page
    escaped = hours.render_html(rows, "<b>Anne</b>", "G", ["F"])
    assert "<b>Anne</b>" not in escaped and "&lt;b&gt;Anne&lt;/b&gt;" in escaped


CHROMIUM = "/usr/bin/chromium"


@pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="Debian chromium not installed")
async def test_two_years_of_monthly_meetings_print_to_one_a4_page(tmp_path):
    playwright = pytest.importorskip("playwright.async_api")
    rows = [
        hours.HoursRow(meeting_id=f"m{n}", group_id="g", group="Intervisie Noord", number=n,
                       date=f"{2025 + (n - 1) // 12}-{(n - 1) % 12 + 1:02d}-14", start="13:00", end="16:05",
                       minutes=175 + n % 3, method_id="roddelmodel", method="Roddelmodel (9 stappen), met follow-up",
                       role=("inbrenger", "deelnemer", "begeleider")[n % 3], member_id="x", name="Anne",
                       meeting_minutes=185, started_at=0, ended_at=0)
        for n in range(1, 25)
    ]
    page_html = hours.render_html(rows, "Annemarie van den Bosch-Ouwehand", "Intervisie Noord, zorgteam Oost",
                                  ["Fleur de Vries", "Gijs Bakker"])
    async with playwright.async_playwright() as p:
        browser = await p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        try:
            page = await browser.new_page()
            await page.set_content(page_html)
            pdf_path = tmp_path / "uren.pdf"
            await page.pdf(path=str(pdf_path), prefer_css_page_size=True)
            shown = await page.evaluate("document.querySelectorAll('tbody tr').length")
        finally:
            await browser.close()
    data = pdf_path.read_bytes()
    assert data.startswith(b"%PDF")
    assert b"/MediaBox [0 0 595" in data or b"/MediaBox [0 0 594" in data  # A4
    assert len(re.findall(rb"/Type\s*/Page(?!s)", data)) == 1
    assert shown == 24


# ------------------------------------------------------------------ over HTTP
BOTH_DATABASES = True


async def test_member_and_facilitator_download_the_record_over_http(harness):
    from companion import facilitators, tokens
    from companion.web import ENGINE

    conn = harness.server.app[ENGINE].conn
    _meeting_one(conn)
    fid = facilitators.authenticate(conn, harness.facilitator_token)["id"]
    conn.execute("INSERT INTO group_facilitators (group_id, facilitator_id) VALUES ('g1', ?)", (fid,))
    carla = tokens.new_token()
    conn.execute("UPDATE members SET token_hash = ? WHERE id = 'carla'", (tokens.token_hash(carla),))
    async with harness.http.get(harness.url(f"/g/g1/m/{carla}/hours.csv")) as r:
        assert r.status == 200 and r.headers["Content-Type"].startswith("text/csv")
        assert r.headers["Content-Disposition"] == 'attachment; filename="uren-carla.csv"'
        rows = list(csv.reader(io.StringIO((await r.text())[1:]), delimiter=";"))
    assert [row[3:6] for row in rows[1:]] == [["170", "Roddelmodel (9 stappen)", "deelnemer"]]
    async with harness.http.get(harness.url("/api/groups/g1/me/hours.html?lang=en"),
                                headers={"Authorization": f"Bearer {carla}"}) as r:
        page = await r.text()
        assert r.status == 200 and r.headers["Content-Disposition"].startswith("inline")
    assert "Record of peer consultation hours" in page and "Carla" in page and "Fleur" in page and ">170<" in page
    # The facilitator's attendance list: everyone; a member's link does not open it.
    async with harness.http.get(harness.url("/api/groups/g1/attendance.csv"), headers=harness.facilitator_headers) as r:
        assert r.status == 200
        listing = list(csv.reader(io.StringIO((await r.text())[1:]), delimiter=";"))
    assert sorted((row[6], row[8]) for row in listing[1:]) == [
        ("Anne", "180"), ("Bas", "180"), ("Carla", "170"), ("Daan", "170"), ("Eva", "180"), ("Fleur", "180")]
    async with harness.http.get(harness.url("/api/groups/g1/attendance.csv"), headers={"Authorization": f"Bearer {carla}"}) as r:
        assert r.status == 401
    other = facilitators.add(conn, "Gijs")[1]
    async with harness.http.get(harness.url("/api/groups/g1/attendance.csv"), headers={"Authorization": f"Bearer {other}"}) as r:
        assert r.status == 404
    async with harness.http.get(harness.url("/api/groups/g1/members/daan/hours.csv"), headers=harness.facilitator_headers) as r:
        assert r.status == 200 and ";170;" in await r.text()
