"""UI texts of the portfolio page: German first, English second. Declared in rathaus.governance.capability."""

_DE = {
    "pf_title": "KI-Vorhaben", "pf_intro": "Referate reichen Ideen für KI-Anwendungsfälle ein; das IT-Referat "
    "bewertet sie nach veröffentlichten Kriterien und Gewichten. Jede Punktzahl lässt sich aus der Tabelle "
    "nachrechnen.",
    "pf_submit_h": "Idee einreichen", "pf_field_title": "Titel", "pf_field_problem": "Welches Problem löst sie?",
    "pf_field_hours": "Erwartete eingesparte Stunden pro Jahr", "pf_field_data": "Benötigte Daten",
    "pf_field_affected": "Betroffene Personen", "pf_field_urgency": "Dringlichkeit",
    "pf_field_contact_name": "Ansprechperson", "pf_field_contact_email": "E-Mail für die Bewertung (freiwillig)",
    "pf_department_note": "Eingereicht für Ihr Referat: {d}", "pf_send": "Einreichen",
    "pf_urgency_low": "niedrig", "pf_urgency_medium": "mittel", "pf_urgency_high": "hoch",
    "pf_list_h": "Priorisierte Liste", "pf_rank": "Rang", "pf_department": "Referat", "pf_status": "Status",
    "pf_score": "Punktzahl", "pf_weights": "Gewichte", "pf_formula": "Formel",
    "pf_crit_benefit": "Nutzen", "pf_crit_feasibility": "Machbarkeit", "pf_crit_risk": "Risiko",
    "pf_crit_climate": "Klima", "pf_crit_data_availability": "Daten",
    "pf_prohibited": "verboten – nicht priorisiert", "pf_not_assessed": "noch nicht bewertet",
    "pf_status_idea": "Idee", "pf_status_assessed": "bewertet", "pf_status_pilot": "Pilot",
    "pf_status_production": "Produktiv", "pf_status_retired": "eingestellt", "pf_register": "Register",
    "pf_mine_h": "Ideen Ihres Referats", "pf_mine_empty": "Ihr Referat hat noch keine Idee eingereicht.",
    "pf_assessment": "Bewertung", "pf_source": "Quelle", "pf_sent": "per E-Mail gesendet an",
    "pf_working": "Wird gespeichert …", "pf_done": "Idee gespeichert.", "pf_hours_unknown": "nicht angegeben",
}
_EN = {
    "pf_title": "AI use cases", "pf_intro": "Departments submit ideas for AI use cases; the IT department assesses "
    "them on published criteria and weights. Every score can be recomputed from the table.",
    "pf_submit_h": "Submit an idea", "pf_field_title": "Title", "pf_field_problem": "Which problem does it solve?",
    "pf_field_hours": "Expected hours saved per year", "pf_field_data": "Data needed",
    "pf_field_affected": "Affected people", "pf_field_urgency": "Urgency",
    "pf_field_contact_name": "Contact person", "pf_field_contact_email": "E-mail for the assessment (optional)",
    "pf_department_note": "Submitted for your department: {d}", "pf_send": "Submit",
    "pf_urgency_low": "low", "pf_urgency_medium": "medium", "pf_urgency_high": "high",
    "pf_list_h": "Prioritised list", "pf_rank": "Rank", "pf_department": "Department", "pf_status": "Status",
    "pf_score": "Score", "pf_weights": "Weights", "pf_formula": "Formula",
    "pf_crit_benefit": "Benefit", "pf_crit_feasibility": "Feasibility", "pf_crit_risk": "Risk",
    "pf_crit_climate": "Climate", "pf_crit_data_availability": "Data",
    "pf_prohibited": "prohibited – never prioritised", "pf_not_assessed": "not assessed yet",
    "pf_status_idea": "idea", "pf_status_assessed": "assessed", "pf_status_pilot": "pilot",
    "pf_status_production": "production", "pf_status_retired": "retired", "pf_register": "Register",
    "pf_mine_h": "Your department's ideas", "pf_mine_empty": "Your department has not submitted an idea yet.",
    "pf_assessment": "Assessment", "pf_source": "Source", "pf_sent": "sent by e-mail to",
    "pf_working": "Saving …", "pf_done": "Idea stored.", "pf_hours_unknown": "not stated",
}
STRINGS = {"de": _DE, "en": _EN}
