"""Library data (issue 7): catalogue import from CSV and MARC21, pseudonymised loans and searches, retention,
opt-out and scrubbing of personal data — against the real embedded PostgreSQL. MARC files are built here with
pymarc; the CSV samples ship in ``rathaus/library/samples``."""

from __future__ import annotations

import datetime as dt
import stat
from collections.abc import Callable
from pathlib import Path

import pytest
import sqlalchemy as sa
from pymarc import Field, Indicators, Leader, Record, Subfield

from rathaus.core.errors import ConfigError, NotFound
from rathaus.core.settings import Settings
from rathaus.library.access import EDITOR_ROLE, VIEWER_ROLE, require_import, require_read, require_reader_data
from rathaus.library.catalogue import SAMPLE_DIR, LibraryFileError, parse_catalogue
from rathaus.library.privacy import key_bytes, key_file, opt_in, opt_out, purge_expired, reader_key, scrub_query
from rathaus.library.store import (
    get_import,
    get_item,
    import_catalogue,
    import_loans,
    import_searches,
    list_items,
    load_loans,
    load_searches,
    reader_items,
)
from rathaus.runtime import Runtime

KEY = "ein-langer-testschluessel-0123456789"
OTHER_KEY = "ein-anderer-testschluessel-9876543210"
TODAY = dt.date(2026, 11, 1)  # the sample loans are from January to October 2026
TABLES = ("library_items", "library_loans", "library_searches", "library_optouts", "library_imports")
CATALOGUE = (SAMPLE_DIR / "katalog.csv").read_bytes()
LOANS = (SAMPLE_DIR / "ausleihen.csv").read_bytes()
SEARCHES = (SAMPLE_DIR / "suchen.csv").read_bytes()


def sql(rt: Runtime, query: str, **params: object) -> list[tuple]:
    with rt.db.session() as session:
        return [tuple(r) for r in session.execute(sa.text(query), params).all()]


def count(rt: Runtime, table: str) -> int:
    return sql(rt, f"SELECT count(*) FROM {table}")[0][0]


def everything_as_text(rt: Runtime) -> str:
    """Every row of every library table (imports with their problems and summary) as one JSON text."""
    return "\n".join(str(row[0]) for table in TABLES for row in sql(rt, f"SELECT row_to_json(t)::text FROM {table} t"))


@pytest.fixture
def rt(runtime: Runtime) -> Runtime:
    import_catalogue(runtime.db, CATALOGUE, "katalog.csv", "test")
    return runtime


# --- catalogue ---------------------------------------------------------------------------------------------------

def test_csv_catalogue_stores_the_fields_and_reimport_updates_without_deleting(runtime: Runtime) -> None:
    report = import_catalogue(runtime.db, CATALOGUE, "katalog.csv", "anna")
    assert (report.kind, report.rows_read, report.stored, report.rejected, report.problems_total) == (
        "catalogue-csv", 40, 40, 0, 0)
    item = get_item(runtime.db, "100007")
    assert item == {"id": "100007", "title": "Der Grüffelo", "authors": ["Donaldson, Julia", "Scheffler, Axel"],
                    "media_type": "buch", "isbn": "9783407792297", "language": "ger",
                    "subjects": ["Bilderbuch", "Tiere", "Wald"],
                    "description": "Eine kleine Maus erfindet ein Ungeheuer, um die Tiere des Waldes zu überlisten.",
                    "age_group": "kinder", "year": 1999}
    assert get_item(runtime.db, "100006")["description"] is None  # no description in the file
    assert get_item(runtime.db, "100036")["media_type"] == "film"  # "Blu-ray"
    assert get_item(runtime.db, "100005")["media_type"] == "hoerbuch"
    assert {i["id"] for i in list_items(runtime.db, media_type="film", language="eng")} == {"100036"}
    assert len(list_items(runtime.db, age_group="kinder", subject="Tiere")) == 3
    assert [i["id"] for i in list_items(runtime.db, q="kästner")] == ["100001", "100002"]
    with pytest.raises(NotFound):
        get_item(runtime.db, "nope")

    again = import_catalogue(runtime.db, CATALOGUE, "katalog.csv", "anna")
    assert (again.stored, again.updated, again.unchanged) == (0, 0, 40)
    header, *lines = CATALOGUE.decode().splitlines()
    changed = [header, lines[0].replace("Emil und die Detektive", "Emil und die Detektive (Neuausgabe)")]
    third = import_catalogue(runtime.db, "\n".join(changed).encode(), "teil.csv", "anna")
    assert (third.stored, third.updated, third.unchanged) == (0, 1, 0)
    assert get_item(runtime.db, "100001")["title"] == "Emil und die Detektive (Neuausgabe)"
    assert count(runtime, "library_items") == 40  # a partial file deletes nothing
    row = get_import(runtime.db, third.import_id)
    assert (row["kind"], row["updated"], row["created_by"]) == ("catalogue-csv", 1, "anna")


def test_latin1_semicolon_csv_with_english_headers_and_problems_per_line(runtime: Runtime) -> None:
    text = ("ID;Title;Author;Media type;Language;Subjects;Description;Age group;Year\n"
            "A1;Größenwahn in Üblingen;Müller, Jörg | Weiß, Änne;DVD;Deutsch;Komödie | Dorf;;ab 16;2019\n"
            ";Ohne Kennung;;Buch;de;;;;\n"
            "A2;Kontaktbuch;;Buch;de;;Fragen an info@buecherei-beispiel.de oder 089 12345678;Erwachsene;um 2020\n"
            "A3;Seltsames Medium;;Lochkarte;xx-yy;;;ab 3 Jahren;kein Jahr\n")
    report = import_catalogue(runtime.db, text.encode("latin-1"), "export.csv", "test")
    assert (report.encoding, report.delimiter, report.stored, report.rejected) == ("cp1252", ";", 3, 1)
    a1 = get_item(runtime.db, "A1")
    assert (a1["title"], a1["authors"], a1["media_type"], a1["language"], a1["subjects"], a1["age_group"],
            a1["year"]) == ("Größenwahn in Üblingen", ["Müller, Jörg", "Weiß, Änne"], "film", "ger",
                            ["Komödie", "Dorf"], "jugend", 2019)
    a2 = get_item(runtime.db, "A2")
    assert a2["description"] == "Fragen an [EMAIL] oder [TELEFON]" and a2["year"] == 2020
    problems = {(p.line, p.field): p.reason for p in report.problems}
    assert "Pflichtfeld" in problems[(3, "id")]
    assert "EMAIL" in problems[(4, "description")] and "TELEFON" in problems[(4, "description")]
    assert (5, "media_type") in problems and (5, "language") in problems and (5, "year") in problems
    assert get_item(runtime.db, "A3")["media_type"] == "sonstiges"
    stored = everything_as_text(runtime)
    assert "info@buecherei-beispiel.de" not in stored and "12345678" not in stored  # nor in the problems


def marc_record(item_id: str | None, title: str, *, leader_type: str = "a", fields: list[Field] = ()) -> Record:
    record = Record(force_utf8=True)
    record.leader = Leader(f"00000n{leader_type}m a2200000 c 4500")
    if item_id is not None:
        record.add_field(Field(tag="001", data=item_id))
    record.add_field(Field(tag="008", data="200101s2019    gw            000 0 ger d"))
    record.add_field(Field(tag="245", indicators=Indicators("1", "0"),
                           subfields=[Subfield("a", title + " :"), Subfield("b", "Roman /"),
                                      Subfield("c", "Erich Kästner")]))
    for f in fields:
        record.add_field(f)
    return record


def sf(tag: str, *pairs: tuple[str, str]) -> Field:
    return Field(tag=tag, indicators=Indicators(" ", " "), subfields=[Subfield(c, v) for c, v in pairs])


def test_marc_import_reads_the_fields_and_reports_a_malformed_record_by_number(runtime: Runtime) -> None:
    first = marc_record("M-1", "Emil und die Detektive", fields=[
        sf("020", ("a", "978-3-7915-3011-6 (Gb.)")), sf("041", ("a", "ger")), sf("100", ("a", "Kästner, Erich")),
        sf("700", ("a", "Trier, Walter")), sf("650", ("a", "Detektiv")), sf("689", ("a", "Berlin")),
        sf("520", ("a", "Emil jagt in Berlin einen Dieb.")), sf("521", ("a", "Ab 8 Jahren"))]).as_marc()
    broken = bytearray(marc_record("M-2", "Kaputt").as_marc())
    broken[24:30] = b"XXXXXX"  # the directory: not digits any more, the length is right
    third = marc_record("M-3", "Das fliegende Klassenzimmer", leader_type="i", fields=[
        sf("336", ("a", "gesprochenes Wort")), sf("100", ("a", "Kästner, Erich"))]).as_marc()
    no_id = marc_record(None, "Ohne Kennung").as_marc()
    data = first + bytes(broken) + third + no_id
    report = import_catalogue(runtime.db, data, "katalog.mrc", "test")
    assert (report.kind, report.rows_read, report.stored, report.rejected) == ("catalogue-marc", 4, 2, 2)
    records = {p.record: p for p in report.problems}
    assert set(records) == {2, 4}
    assert "fehlerhaft / malformed record" in records[2].reason and records[4].field == "001"
    assert get_import(runtime.db, report.import_id)["problems"][0]["record"] == 2
    m1 = get_item(runtime.db, "M-1")
    assert m1 == {"id": "M-1", "title": "Emil und die Detektive : Roman",
                  "authors": ["Kästner, Erich", "Trier, Walter"], "media_type": "buch", "isbn": "9783791530116",
                  "language": "ger",
                  "subjects": ["Detektiv", "Berlin"], "description": "Emil jagt in Berlin einen Dieb.",
                  "age_group": "kinder", "year": 2019}
    m3 = get_item(runtime.db, "M-3")
    assert (m3["media_type"], m3["language"], m3["authors"]) == ("hoerbuch", "ger", ["Kästner, Erich"])
    assert count(runtime, "library_items") == 2


def test_a_truncated_marc_file_keeps_the_records_before_the_break() -> None:
    whole = marc_record("M-1", "Momo").as_marc()
    cut = marc_record("M-2", "Die unendliche Geschichte").as_marc()[:40]
    parsed = parse_catalogue(whole + cut, "abgebrochen.mrc")
    assert [i.id for i in parsed.items] == ["M-1"] and parsed.rejected == 1
    problem = parsed.problems.items[0]
    assert problem.record == 2 and "Rest der Datei" in problem.reason
    same_id = marc_record("M-1", "Momo (Neuauflage)").as_marc()
    twice = parse_catalogue(whole + same_id, "doppelt.mrc", "marc")
    assert [i.title for i in twice.items] == ["Momo (Neuauflage) : Roman"]
    assert twice.problems.items[0].as_dict()["record"] == 2


def test_an_unreadable_file_gives_one_clear_error_and_keeps_what_is_stored(rt: Runtime) -> None:
    import_loans(rt.db, LOANS, "ausleihen.csv", key=KEY, today=TODAY)
    before = {t: count(rt, t) for t in TABLES}
    for data, fmt, words in ((b"\x89PNG\r\n\x1a\n" + bytes(range(256)), "auto", "keine Textdatei"),
                             (b"Lorem ipsum dolor sit amet\nconsectetur adipiscing\n", "auto", "Spalten fehlen"),
                             (b"", "auto", "leer"),
                             (b"\x00\x01 garbage that is not MARC", "marc", "kein MARC21")):
        with pytest.raises(LibraryFileError) as info:
            import_catalogue(rt.db, data, "kaputt.dat", "test", fmt)
        assert words in info.value.detail and "\n" not in info.value.detail
        assert info.value.status == 422
    with pytest.raises(LibraryFileError):
        import_loans(rt.db, b"foo,bar\n1,2\n", "x.csv", key=KEY, today=TODAY)
    assert {t: count(rt, t) for t in TABLES} == before
    assert get_item(rt.db, "100001")["title"] == "Emil und die Detektive"


# --- pseudonymisation --------------------------------------------------------------------------------------------

def test_raw_reader_ids_are_stored_nowhere_and_pseudonyms_depend_on_the_key(rt: Runtime) -> None:
    report = import_loans(rt.db, LOANS, "ausleihen.csv", "anna", key=KEY, today=TODAY)
    assert (report.rows_read, report.stored, report.rejected, report.skipped) == (156, 156, 0, 0)
    bad = "leser,medium,datum\nL-0001,999999,2026-05-01\nL-0002,100001,gestern\n"
    import_loans(rt.db, bad.encode(), "fehler.csv", key=KEY, today=TODAY)  # problems name lines, not readers
    import_searches(rt.db, SEARCHES, "suchen.csv", key=KEY, today=TODAY)
    stored = everything_as_text(rt)
    raw_ids = {line.split(",")[0] for line in LOANS.decode().splitlines()[1:]}
    assert len(raw_ids) == 30
    for raw in raw_ids:
        assert raw not in stored and raw.lower() not in stored
        assert raw.replace("-", "") not in stored
    assert "max.beispiel@example.org" not in stored

    key1 = reader_key(KEY, "L-0001")
    assert key1 == reader_key(KEY, " l-0001 ") == reader_key(Settings(_env_file=None, library_reader_key=KEY),
                                                              "L-0001")
    assert len(key1) == 32 and key1 != reader_key(OTHER_KEY, "L-0001") and key1 != reader_key(KEY, "L-0002")
    assert key1 in {r[0] for r in load_loans(rt.db)}
    again = import_loans(rt.db, LOANS, "ausleihen.csv", key=OTHER_KEY, today=TODAY)
    assert again.stored == 156  # another key: other pseudonyms, nobody is recognised
    assert reader_key(OTHER_KEY, "L-0001") in {r[0] for r in load_loans(rt.db)}


def test_the_embedded_default_keeps_a_random_key_in_a_private_file(tmp_path: Path) -> None:
    settings = Settings(_env_file=None, data_dir=tmp_path)  # type: ignore[call-arg]
    first = key_bytes(settings)
    path = key_file(settings)
    assert path == tmp_path / "secrets" / "library-reader-key"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600 and len(first) >= 32
    assert key_bytes(settings) == first  # kept, not regenerated
    assert reader_key(settings, "L-0001") == reader_key(first, "L-0001")
    external = Settings(_env_file=None, data_dir=tmp_path, database_url="postgresql://u@db/x")  # type: ignore[call-arg]
    with pytest.raises(ConfigError):
        key_bytes(external)
    assert key_bytes(Settings(_env_file=None, database_url="postgresql://u@db/x",  # type: ignore[call-arg]
                              library_reader_key=KEY)) == KEY.encode()


def test_import_without_an_explicit_key_uses_the_runtime_settings(rt: Runtime) -> None:
    import_loans(rt.db, LOANS, "ausleihen.csv", today=TODAY)
    assert reader_key(rt.settings, "L-0003") in {r[0] for r in load_loans(rt.db)}


# --- loans -------------------------------------------------------------------------------------------------------

def test_duplicate_loans_are_idempotent_and_unknown_items_rejected_with_their_line(rt: Runtime) -> None:
    text = ("Leser-ID;Mediennummer;Datum\n"
            "L-0001;100001;01.03.2026\n"
            "L-0001;100001;2026-03-01\n"     # the same loan again (German and ISO date)
            "L-0001;999999;02.03.2026\n"     # not in the catalogue
            ";100002;02.03.2026\n"           # no reader
            "L-0002;100002;31.02.2026\n"     # no such day
            "L-0002;100003;03.03.2026 14:22\n")
    report = import_loans(rt.db, text.encode("cp1252"), "ausleihen.csv", key=KEY, today=TODAY)
    assert (report.rows_read, report.stored, report.unchanged, report.rejected) == (6, 2, 1, 3)
    problems = {(p.line, p.field) for p in report.problems}
    assert problems == {(4, "item"), (5, "reader"), (6, "date")}
    assert "999999" in next(p.reason for p in report.problems if p.line == 4)
    again = import_loans(rt.db, text.encode("cp1252"), "ausleihen.csv", key=KEY, today=TODAY)
    assert (again.stored, again.unchanged) == (0, 3)
    assert count(rt, "library_loans") == 2
    assert reader_items(rt.db, reader_key(KEY, "L-0002")) == ["100003"]


def test_retention_skips_old_loans_at_import_and_purges_them_later(rt: Runtime) -> None:
    text = ("reader,item,date\n"
            "L-0001,100001,2024-01-10\n"  # older than 730 days on TODAY
            "L-0001,100002,2025-06-01\n"
            "L-0002,100003,2026-10-01\n")
    report = import_loans(rt.db, text.encode(), "a.csv", key=KEY, today=TODAY)
    assert (report.stored, report.skipped, report.skipped_expired) == (2, 1, 1)
    assert get_import(rt.db, report.import_id)["summary"]["skipped_expired"] == 1
    short = import_searches(rt.db, b"reader,query,date\nL-0001,krimi,2025-06-01\nL-0001,bayern,2026-10-01\n",
                            "s.csv", key=KEY, retention_days=100, today=TODAY)
    assert (short.stored, short.skipped_expired) == (1, 1)
    with rt.db.session() as session:
        assert purge_expired(session, 300, today=TODAY) == 1  # the loan of 2025-06-01
    assert [r[1] for r in load_loans(rt.db)] == ["100003"]
    with rt.db.session() as session:
        assert purge_expired(session, 10, today=TODAY) == 2  # the loan and the search of 2026-10-01
    assert count(rt, "library_loans") == 0 and count(rt, "library_searches") == 0


def test_opt_out_deletes_a_readers_data_and_later_imports_skip_them(rt: Runtime) -> None:
    import_loans(rt.db, LOANS, "ausleihen.csv", key=KEY, today=TODAY)
    import_searches(rt.db, SEARCHES, "suchen.csv", key=KEY, today=TODAY)
    rk = reader_key(KEY, "L-0001")
    own = sum(1 for line in LOANS.decode().splitlines() if line.startswith("L-0001,"))
    assert len(reader_items(rt.db, rk)) > 0 and load_searches(rt.db, rk)
    with rt.db.session() as session:
        result = opt_out(session, KEY, "l-0001")
    assert result == {"reader_key": rk, "loans_deleted": own, "searches_deleted": 2, "already_opted_out": False}
    assert reader_items(rt.db, rk) == [] and load_searches(rt.db, rk) == []
    assert rk not in {r[0] for r in load_loans(rt.db)}

    report = import_loans(rt.db, LOANS, "ausleihen.csv", key=KEY, today=TODAY)
    assert (report.stored, report.skipped_opted_out, report.unchanged) == (0, own, 156 - own)
    assert "L-0001" not in everything_as_text(rt)
    searches = import_searches(rt.db, SEARCHES, "suchen.csv", key=KEY, today=TODAY)
    assert searches.skipped_opted_out == 2 and searches.stored == 0

    with rt.db.session() as session:
        assert opt_in(session, KEY, "L-0001") == {"reader_key": rk, "was_opted_out": True}
    assert import_loans(rt.db, LOANS, "ausleihen.csv", key=KEY, today=TODAY).stored == own


# --- searches ----------------------------------------------------------------------------------------------------

def test_search_queries_are_stored_without_personal_data(rt: Runtime) -> None:
    text = ("leser,suchbegriff,datum\n"
            "L-0001,dinosaurier anna.meier@example.org,2026-10-01\n"
            "L-0001,Krimis von Nele Neuhaus,2026-10-01\n"  # an author of the catalogue: kept
            "L-0002,Ausweis von Maria Schneider verlängern,2026-10-02\n"  # a name that is no author: replaced
            "L-0002,maria.schneider@example.org,2026-10-02\n"  # nothing but personal data: dropped
            "L-0003,Leseausweis L-0003 verlängern,2026-10-03\n"
            "L-0003,Ruf mich an 0171 2345678,2026-10-03\n"
            "L-0004,9783791530116,2026-10-04\n")  # an ISBN is no card number
    report = import_searches(rt.db, text.encode(), "suchen.csv", key=KEY, today=TODAY)
    assert (report.rows_read, report.stored, report.dropped, report.rejected) == (7, 6, 1, 0)
    assert report.masked == 4
    assert report.personal_data == {"EMAIL": 2, "PERSON": 1, "LESERAUSWEIS": 1, "TELEFON": 1}
    queries = {q for (q,) in sql(rt, "SELECT query FROM library_searches")}
    assert queries == {"dinosaurier [EMAIL]", "Krimis von Nele Neuhaus", "Ausweis von [PERSON] verlängern",
                       "Leseausweis [LESERAUSWEIS] verlängern", "Ruf mich an [TELEFON]", "9783791530116"}
    assert load_searches(rt.db, reader_key(KEY, "L-0001")) == [
        ("Krimis von Nele Neuhaus", dt.date(2026, 10, 1)), ("dinosaurier [EMAIL]", dt.date(2026, 10, 1))]
    stored = everything_as_text(rt)
    for value in ("anna.meier", "Maria Schneider", "maria.schneider", "2345678", "L-0003"):
        assert value not in stored
    assert scrub_query("a@b.de").text is None
    assert scrub_query("buch für l-0002 reservieren", reader_ids={"L-0002"}).text == \
        "buch für [LESERAUSWEIS] reservieren"


def test_a_loans_file_without_header_is_refused_without_quoting_its_first_line(rt: Runtime) -> None:
    with pytest.raises(LibraryFileError) as info:
        import_loans(rt.db, b"L-0001,100001,2026-03-01\nL-0002,100002,2026-03-02\n", "ohne-kopf.csv", key=KEY,
                     today=TODAY)
    assert "L-0001" not in info.value.detail and "reader" in info.value.detail


def test_the_maintenance_job_purges_expired_loans(make_settings: Callable[..., Settings]) -> None:
    from rathaus.core.auth import Principal
    from rathaus.maintenance import run_once

    rt = Runtime(make_settings(library_loan_retention_days=30, library_reader_key=KEY))
    try:
        import_catalogue(rt.db, CATALOGUE, "katalog.csv", "test")
        today = dt.date.today()
        text = f"reader,item,date\nL-0001,100001,{today - dt.timedelta(days=20)}\nL-0001,100002,{today}\n"
        assert import_loans(rt.db, text.encode(), "a.csv").stored == 2
        with rt.db.engine.begin() as conn:
            conn.execute(sa.text("UPDATE library_loans SET loaned_on = loaned_on - 15"))
        done = run_once(rt, Principal(id="system", kind="local", department="lokal", roles=frozenset({"admin"})))
        assert done["library_purged"] == 1 and count(rt, "library_loans") == 1
    finally:
        rt.close()


# --- roles -------------------------------------------------------------------------------------------------------

def test_roles() -> None:
    from rathaus.core.auth import Principal
    from rathaus.core.errors import Forbidden

    def who(*roles: str) -> Principal:
        return Principal(id="x", kind="user", department="bibliothek", roles=frozenset(roles))

    require_import(who(EDITOR_ROLE))
    require_read(who(VIEWER_ROLE))
    require_read(who("auditor"))
    require_reader_data(who("admin"))
    for check, principal in ((require_import, who(VIEWER_ROLE)), (require_reader_data, who(VIEWER_ROLE)),
                             (require_read, who("traffic-viewer"))):
        with pytest.raises(Forbidden):
            check(principal)
