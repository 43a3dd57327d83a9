"""Application checks and guided applications (issue 16): completeness and correctness of an application packet
(form + attachments) against a type declared in YAML, and a dialogue that fills the form. The system points out
what is missing or wrong; a case worker decides (EU AI Act Annex III types are flagged)."""
