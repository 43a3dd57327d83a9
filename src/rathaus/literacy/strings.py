"""UI texts of AI literacy: German first, English second. Declared in rathaus.literacy.capability."""

STRINGS: dict[str, dict[str, str]] = {
    "de": {
        "lit_title": "KI-Kompetenz",
        "lit_intro": "Kurze Lernmodule zum sicheren Umgang mit KI (KI-Verordnung Art. 4). Jedes Modul endet mit "
                     "einigen Fragen; bestanden ab 80 % richtiger Antworten. Ihr Ergebnis sehen nur Sie; die Stadt "
                     "erhält nur Zahlen je Referat ab der Mindestgruppengröße.",
        "lit_module": "Modul", "lit_status": "Stand", "lit_passed": "bestanden", "lit_open": "offen",
        "lit_score": "Ergebnis", "lit_outdated": "Modul wurde geändert",
        "lit_quiz": "Fragen zum Modul", "lit_question": "Frage", "lit_check": "Antworten prüfen",
        "lit_working": "Antworten werden geprüft …", "lit_result_pass": "Bestanden: {c} von {n} richtig.",
        "lit_result_fail": "Noch nicht bestanden: {c} von {n} richtig (nötig: 80 %). Lesen Sie die Erklärungen "
                           "und versuchen Sie es noch einmal.",
        "lit_right": "Richtig.", "lit_wrong": "Nicht richtig. Richtig ist: ",
        "lit_unanswered": "Bitte beantworten Sie jede Frage.",
        "lit_back": "Alle Module", "lit_learn_more": "Mehr dazu im Lernmodul",
        "lit_guide_does": "Was es kann", "lit_guide_cannot": "Was es nicht kann",
        "lit_guide_check": "Was Sie prüfen", "lit_guide_summary": "Hinweise zu diesem Werkzeug",
        "lit_record": "KI-Kompetenz je Referat",
        "lit_record_text": "Abschlüsse der Lernmodule je Referat, nur ab der Mindestgruppengröße",
    },
    "en": {
        "lit_title": "AI literacy",
        "lit_intro": "Short modules on using AI safely (EU AI Act Art. 4). Each module ends with a few questions; "
                     "passed at 80 % correct answers. Only you see your result; the city only receives counts per "
                     "department from the minimum group size.",
        "lit_module": "Module", "lit_status": "Status", "lit_passed": "passed", "lit_open": "open",
        "lit_score": "Score", "lit_outdated": "module has changed",
        "lit_quiz": "Questions on this module", "lit_question": "Question", "lit_check": "Check answers",
        "lit_working": "Checking answers …", "lit_result_pass": "Passed: {c} of {n} correct.",
        "lit_result_fail": "Not passed yet: {c} of {n} correct (needed: 80 %). Read the explanations and try again.",
        "lit_right": "Correct.", "lit_wrong": "Not correct. The answer is: ",
        "lit_unanswered": "Please answer every question.",
        "lit_back": "All modules", "lit_learn_more": "More in the learning module",
        "lit_guide_does": "What it does", "lit_guide_cannot": "What it cannot do",
        "lit_guide_check": "What to check", "lit_guide_summary": "About this tool",
        "lit_record": "AI literacy per department",
        "lit_record_text": "Module completions per department, only from the minimum group size",
    },
}
