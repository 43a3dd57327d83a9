"""The AI system register: one system card per use case, combining what the platform knows (facts from every
capability through ``Capability.register``, usage, evaluations, audit) with what people enter (YAML or the web
form, with change history), exported as a public HTML page, in the Dutch algorithm register standard and as EU
AI Act Annex VIII data. See docs/governance-register.md."""

from rathaus.governance.register import access, annex_viii, dutch_standard, figures, store
from rathaus.governance.register.cards import Card, build_cards, get_card, known_ids
from rathaus.governance.register.entry import InvalidEntry, RegisterEntry, parse_entry, parse_yaml
from rathaus.governance.register.publish import load_samples, organisation, render_html

__all__ = ["Card", "InvalidEntry", "RegisterEntry", "access", "annex_viii", "build_cards", "dutch_standard",
           "figures", "get_card", "known_ids", "load_samples", "organisation", "parse_entry", "parse_yaml",
           "render_html", "store"]
