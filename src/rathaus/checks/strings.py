"""UI texts of the application checks page /pruefung: German first, English second. Declared in
rathaus.checks.capability."""

ANNEX_III_DE = ("Hinweis: Hochrisiko-Bereich nach EU-KI-Verordnung Anhang III – das System weist nur hin, die "
                "Entscheidung trifft die Sachbearbeitung.")
ANNEX_III_EN = ("Note: high-risk area under Annex III of the EU AI Act – the system only points things out; the "
                "case worker decides.")

_DE = {
    "checks_title": "Antragsprüfung",
    "checks_intro": "Vollständigkeit und Richtigkeit eingereichter Anträge prüfen. Das System weist hin – "
                    "die Entscheidung trifft die Sachbearbeitung.",
    "checks_upload": "Antrag hochladen", "checks_type": "Antragsart", "checks_files": "Dateien",
    "checks_files_hint": "Formular (PDF) und Nachweise: PDF, JPEG, PNG, TIFF, HEIC; Formulardaten als JSON oder XML. "
                         "Höchstens {n} Dateien, je {mb} MB.",
    "checks_submitted_on": "Eingangsdatum", "checks_submit": "Hochladen und prüfen",
    "checks_list": "Anträge meiner Abteilung", "checks_empty": "Noch keine Anträge.",
    "checks_packet": "Antrag", "checks_status": "Stand", "checks_received_at": "Hochgeladen",
    "checks_status_received": "wird geprüft", "checks_status_checked": "geprüft",
    "checks_status_confirmed": "bestätigt", "checks_synthetic": "Beispiel (synthetische Daten)",
    "checks_annex_iii": ANNEX_III_DE, "checks_annex_badge": "Anhang III",
    "checks_checklist": "Prüfliste", "checks_result_suggestion": "Vorschlag des Systems",
    "checks_complete": "Alle Anforderungen scheinen erfüllt.",
    "checks_incomplete": "Es fehlt etwas oder ist fehlerhaft.",
    "checks_item_satisfied": "erfüllt", "checks_item_missing": "fehlt", "checks_item_invalid": "fehlerhaft",
    "checks_item_unsure": "unsicher",
    "checks_group_missing": "Fehlt", "checks_group_invalid": "Fehlerhaft", "checks_group_unsure": "Unsicher – bitte "
    "selbst prüfen", "checks_group_satisfied": "Erfüllt",
    "checks_evidence": "Beleg", "checks_document": "Dokument", "checks_page": "Seite", "checks_snippet": "Textstelle",
    "checks_crop_alt": "Ausschnitt aus {file}, Seite {page}", "checks_show_crop": "Ausschnitt zeigen",
    "checks_problems": "Dateien mit Problemen", "checks_documents": "Erkannte Dokumente",
    "checks_confidence": "Sicherheit", "checks_waiting": "Der Antrag wird geprüft … die Seite aktualisiert sich.",
    "checks_letter": "Schreiben an die Antragstellerin/den Antragsteller", "checks_letter_lang": "Sprache",
    "checks_letter_load": "Schreiben erstellen", "checks_copy": "Kopieren", "checks_download": "Herunterladen",
    "checks_copied": "In die Zwischenablage kopiert.",
    "checks_confirm": "Ergebnis bestätigen", "checks_note": "Vermerk der Sachbearbeitung",
    "checks_note_hint": "Pflichtangabe: Ihre Einschätzung. Mit der Bestätigung entscheiden Sie, nicht das System.",
    "checks_confirmed_by": "Bestätigt von", "checks_done_uploaded": "Hochgeladen – die Prüfung läuft.",
    "checks_done_confirmed": "Bestätigt.", "checks_working": "Wird ausgeführt …",
    "checks_not_found": "Antrag {id} nicht gefunden.", "checks_no_files": "Bitte wählen Sie mindestens eine Datei.",
    "checks_delete": "Antrag löschen", "checks_delete_confirm": "Diesen Antrag mit allen Dateien löschen?",
    "checks_deleted": "Gelöscht.", "checks_form": "Formularangaben", "checks_field": "Feld", "checks_value": "Wert",
    "checks_sources": "Grundlagen der Antragsart",
}
_EN = {
    "checks_title": "Application checks",
    "checks_intro": "Check submitted applications for completeness and correctness. The system points things out "
                    "– the case worker decides.",
    "checks_upload": "Upload an application", "checks_type": "Application type", "checks_files": "Files",
    "checks_files_hint": "Form (PDF) and supporting documents: PDF, JPEG, PNG, TIFF, HEIC; form data as JSON or "
                         "XML. At most {n} files, {mb} MB each.",
    "checks_submitted_on": "Date received", "checks_submit": "Upload and check",
    "checks_list": "Applications of my department", "checks_empty": "No applications yet.",
    "checks_packet": "Application", "checks_status": "Status", "checks_received_at": "Uploaded",
    "checks_status_received": "being checked", "checks_status_checked": "checked",
    "checks_status_confirmed": "confirmed", "checks_synthetic": "Sample (synthetic data)",
    "checks_annex_iii": ANNEX_III_EN, "checks_annex_badge": "Annex III",
    "checks_checklist": "Checklist", "checks_result_suggestion": "The system's suggestion",
    "checks_complete": "All requirements appear to be met.",
    "checks_incomplete": "Something is missing or wrong.",
    "checks_item_satisfied": "met", "checks_item_missing": "missing", "checks_item_invalid": "wrong",
    "checks_item_unsure": "unsure",
    "checks_group_missing": "Missing", "checks_group_invalid": "Wrong", "checks_group_unsure": "Unsure – please "
    "check yourself", "checks_group_satisfied": "Met",
    "checks_evidence": "Evidence", "checks_document": "Document", "checks_page": "Page", "checks_snippet": "Text",
    "checks_crop_alt": "Detail of {file}, page {page}", "checks_show_crop": "Show detail",
    "checks_problems": "Files with problems", "checks_documents": "Recognised documents",
    "checks_confidence": "Confidence", "checks_waiting": "The application is being checked … the page will update.",
    "checks_letter": "Letter to the applicant", "checks_letter_lang": "Language",
    "checks_letter_load": "Write the letter", "checks_copy": "Copy", "checks_download": "Download",
    "checks_copied": "Copied to the clipboard.",
    "checks_confirm": "Confirm the result", "checks_note": "Case worker's note",
    "checks_note_hint": "Required: your assessment. By confirming you decide, not the system.",
    "checks_confirmed_by": "Confirmed by", "checks_done_uploaded": "Uploaded – the check is running.",
    "checks_done_confirmed": "Confirmed.", "checks_working": "Working …",
    "checks_not_found": "Application {id} not found.", "checks_no_files": "Please choose at least one file.",
    "checks_delete": "Delete application", "checks_delete_confirm": "Delete this application with all its files?",
    "checks_deleted": "Deleted.", "checks_form": "Form data", "checks_field": "Field", "checks_value": "Value",
    "checks_sources": "Basis of the application type",
}

STRINGS = {"de": _DE, "en": _EN}
