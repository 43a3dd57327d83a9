"""PII detection: rathaus vs Presidio (pattern recognizers on a blank German spaCy pipeline), same run.

    .venv/bin/python bench/pii.py [--data ../shared/data/germeval2014-ner] [--per-kind 250]

Splits (rathaus.safety.pii.germeval; one hash rule over all 4,750 sentences of ``NER-de-dev.tsv`` and
``NER-de-test-part-a.tsv``): TRAIN (buckets 35–99) trains the tagger, VALIDATION (20–34) picks features,
settings and thresholds (``python -m rathaus.safety.train_pii``), TEST (0–19) is only measured here —
nobody tuned on it. The other half of GermEval's official test release is kept aside by the maintainers.

1. Persons and places on the TEST part: span precision, recall, F1 (exact and partial), ms per sentence.
   ``rathaus_per_recall`` / ``rathaus_per_precision`` are the exact-span person figures.
2. Person names in the hand-checked, synthetic letters and e-mails of ``tests/safety/data/letters_names.jsonl``
   (salutations, signatures, headers, address blocks, and texts without names): ``letters_per_recall``,
   ``letters_per_precision`` (exact character spans). Not a held-out figure: the cue rules were corrected on
   this set (see docs/benchmarks.md).
3. Recall on generated, seeded values embedded in German sentences: valid IBANs, tax IDs, phone numbers,
   e-mail addresses and licence plates (--per-kind each), for both systems; plus false alarms of the
   pattern kinds on the GermEval test sentences (which contain almost no such values).

Presidio is set up as peers hook it in: ``presidio-analyzer`` with an NlpEngine around ``spacy.blank("de")``
(no statistical model) and its German and language-neutral pattern recognizers. Needs the ``test`` extra.
"""

from __future__ import annotations

import argparse
import random
import string
import sys
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import ROOT, SHARED_DATA, machine, require, table, write_result
from rathaus.safety.pii import detect
from rathaus.safety.pii.evaluate import Evaluation, evaluate_detector, evaluate_letters, rathaus_finder, read_letters
from rathaus.safety.pii.germeval import read_corpus
from rathaus.safety.pii.wordclass import default_classifier

PATTERN_KINDS = ("IBAN", "STEUER_ID", "TELEFON", "EMAIL", "KFZ")
PRESIDIO_TYPES = {  # Presidio entity -> our kind
    "PERSON": "PERSON", "LOCATION": "ORT", "IBAN_CODE": "IBAN", "DE_TAX_ID": "STEUER_ID", "PHONE_NUMBER": "TELEFON",
    "EMAIL_ADDRESS": "EMAIL", "DE_KFZ": "KFZ", "DE_PLZ": "PLZ_ORT", "DE_ID_CARD": "AUSWEIS",
    "DE_PASSPORT": "AUSWEIS", "DATE_TIME": "DATUM",
}


# --- Presidio as peers use it ------------------------------------------------------------------------
def presidio_analyzer():
    import spacy
    from presidio_analyzer import AnalyzerEngine, RecognizerRegistry
    from presidio_analyzer import predefined_recognizers as pr
    from presidio_analyzer.nlp_engine import NerModelConfiguration, SpacyNlpEngine

    class BlankGerman(SpacyNlpEngine):
        """spaCy's blank German pipeline: tokenizer only, no model download."""

        def __init__(self) -> None:
            super().__init__(models=[{"lang_code": "de", "model_name": "blank-de"}],
                             ner_model_configuration=NerModelConfiguration())

        def load(self) -> None:
            self.nlp = {"de": spacy.blank("de")}

    engine = BlankGerman()
    engine.load()
    registry = RecognizerRegistry(supported_languages=["de"])
    german = [pr.DeTaxIdRecognizer, pr.DeKfzRecognizer, pr.DeIdCardRecognizer, pr.DePassportRecognizer,
              pr.DePlzRecognizer]
    neutral = [pr.EmailRecognizer, pr.IbanRecognizer, pr.CreditCardRecognizer, pr.UrlRecognizer, pr.IpRecognizer,
               pr.DateRecognizer]
    for cls in german:
        registry.add_recognizer(cls())
    for cls in neutral:
        registry.add_recognizer(cls(supported_language="de"))
    registry.add_recognizer(pr.PhoneRecognizer(supported_language="de", supported_regions=("DE", "AT", "CH")))
    registry.add_recognizer(pr.SpacyRecognizer(supported_language="de"))
    return AnalyzerEngine(registry=registry, nlp_engine=engine, supported_languages=["de"])


def presidio_spans(analyzer, text: str) -> list[tuple[str, int, int]]:
    return [(PRESIDIO_TYPES.get(r.entity_type, r.entity_type), r.start, r.end)
            for r in analyzer.analyze(text=text, language="de")]


def rathaus_spans(text: str) -> list[tuple[str, int, int]]:
    return [(s.kind, s.start, s.end) for s in detect(text)]


# --- generated values --------------------------------------------------------------------------------
def _iban(rng: random.Random) -> str:
    from stdnum import iban

    bban = "".join(rng.choice(string.digits) for _ in range(18))
    compact = "DE" + iban.calc_check_digits("DE00" + bban) + bban
    return " ".join(compact[i:i + 4] for i in range(0, len(compact), 4)) if rng.random() < 0.6 else compact


def _tax_id(rng: random.Random) -> str:
    from stdnum.de import idnr
    from stdnum.iso7064 import mod_11_10

    while True:
        body = str(rng.randint(1, 9)) + "".join(rng.choice(string.digits) for _ in range(9))
        number = body + mod_11_10.calc_check_digit(body)
        if idnr.is_valid(number):
            return f"{number[:2]} {number[2:5]} {number[5:8]} {number[8:]}" if rng.random() < 0.4 else number


def _phone(rng: random.Random) -> str:
    import phonenumbers

    while True:
        if rng.random() < 0.45:
            area, rest = rng.choice(["151", "152", "160", "162", "170", "171", "172", "173", "175", "176", "177", "178",
                                     "179"]), "".join(rng.choice(string.digits) for _ in range(7))
        else:
            area = rng.choice(["30", "40", "69", "89", "211", "221", "341", "351", "511", "711", "721", "911", "941"])
            rest = str(rng.randint(2, 9)) + "".join(rng.choice(string.digits) for _ in range(9 - len(area)))
        number = phonenumbers.parse("0" + area + rest, "DE")
        if not phonenumbers.is_valid_number(number):
            continue
        style = rng.randrange(5)
        if style == 0:
            return f"0{area} {rest}"
        if style == 1:
            return f"+49 {area} {rest}"
        if style == 2:
            return f"0{area}/{rest[:3]}-{rest[3:]}"
        if style == 3:
            return f"+49 (0){area} {rest}"
        return f"0049 {area} {rest}"


def _email(rng: random.Random) -> str:
    first = rng.choice(["anna", "mehmet", "lukas", "fatma", "jan", "olga", "lea", "nikos", "sara", "tim"])
    last = rng.choice(["meier", "yilmaz", "nowak", "schmidt", "papadopoulos", "kowalski", "huber", "ali"])
    sep = rng.choice([".", "_", "-", ""])
    domain = rng.choice(["example.org", "muenchen.de", "web.de", "mail-provider.com", "posteo.de"])
    return f"{first}{sep}{last}{rng.randint(1, 99) if rng.random() < 0.3 else ''}@{domain}"


def _plate(rng: random.Random) -> str:
    from rathaus.safety.pii.lexicon import load_plate_prefixes

    district = rng.choice(sorted(load_plate_prefixes()))
    letters = "".join(rng.choice("ABCDEFGHJKLMNPRSTUVWXYZ") for _ in range(rng.randint(1, 2)))
    digits = str(rng.randint(1, 9999 if len(district) + len(letters) < 5 else 999))
    sep = "-" if rng.random() < 0.5 else " "
    return f"{district}{sep}{letters} {digits}" + ("E" if rng.random() < 0.1 else "")


GENERATORS: dict[str, Callable[[random.Random], str]] = {
    "IBAN": _iban, "STEUER_ID": _tax_id, "TELEFON": _phone, "EMAIL": _email, "KFZ": _plate}
TEMPLATES = {
    "IBAN": ["Bitte überweisen Sie den Betrag auf das Konto {v} bis Monatsende.", "Meine IBAN lautet {v}.",
             "Die Erstattung geht an {v}, Kontoinhaberin ist meine Mutter."],
    "STEUER_ID": ["Meine Steuer-ID ist {v}.", "Steuerliche Identifikationsnummer: {v}",
                  "Für den Antrag brauche ich die Nummer {v} aus dem Brief des Finanzamts."],
    "TELEFON": ["Sie erreichen mich unter {v}.", "Rückruf bitte an {v}, am besten vormittags.",
                "Tel.: {v}"],
    "EMAIL": ["Bitte antworten Sie an {v}.", "Meine neue Adresse ist {v}, die alte gilt nicht mehr.",
              "Kontakt: {v}"],
    "KFZ": ["Das Fahrzeug mit dem Kennzeichen {v} parkt seit Tagen vor dem Haus.",
            "Anwohnerparkausweis für {v} beantragt.", "Der Wagen {v} wurde abgeschleppt."],
}


def generated(per_kind: int, seed: int = 2014) -> list[tuple[str, str, int, int]]:
    rng = random.Random(seed)
    cases = []
    for kind, make in GENERATORS.items():
        for _ in range(per_kind):
            value = make(rng)
            template = rng.choice(TEMPLATES[kind])
            text = template.replace("{v}", value)
            start = text.index(value)
            cases.append((kind, text, start, start + len(value)))
    return cases


def pattern_recall(find: Callable[[str], list[tuple[str, int, int]]],
                   cases: list[tuple[str, str, int, int]]) -> tuple[dict[str, float], dict[str, float], float]:
    """Per kind: exact recall (same span), overlap recall (right kind overlaps the value); ms per text."""
    exact: dict[str, int] = {}
    overlap: dict[str, int] = {}
    total: dict[str, int] = {}
    started = time.perf_counter()
    for kind, text, start, end in cases:
        spans = find(text)
        total[kind] = total.get(kind, 0) + 1
        exact[kind] = exact.get(kind, 0) + any(k == kind and s == start and e == end for k, s, e in spans)
        overlap[kind] = overlap.get(kind, 0) + any(k == kind and s < end and start < e for k, s, e in spans)
    ms = 1000 * (time.perf_counter() - started) / len(cases)
    return ({k: exact[k] / total[k] for k in total}, {k: overlap[k] / total[k] for k in total}, ms)


def false_alarms(find: Callable[[str], list[tuple[str, int, int]]], texts: list[str]) -> int:
    return sum(sum(k in PATTERN_KINDS for k, _, _ in find(t)) for t in texts)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", type=Path, default=SHARED_DATA / "germeval2014-ner",
                    help="GermEval 2014 folder (all NER-de-*.tsv) or one file")
    ap.add_argument("--letters", type=Path, default=ROOT / "tests" / "safety" / "data" / "letters_names.jsonl")
    ap.add_argument("--per-kind", type=int, default=250)
    args = ap.parse_args()
    sentences = read_corpus(require(args.data, "GermEval 2014 NER (NER-de-dev.tsv, NER-de-test-part-a.tsv)"))
    test = [s for s in sentences if s.part == "test"]
    analyzer = presidio_analyzer()
    figures: dict[str, object] = {"sentences_test": len(test), **machine()}
    figures["sentences_train"] = sum(s.part == "train" for s in sentences)
    figures["sentences_validation"] = sum(s.part == "validation" for s in sentences)

    def presidio_names(text: str) -> list[tuple[str, int, int]]:
        return [({"PERSON": "PER", "ORT": "LOC"}[k], s, e) for k, s, e in presidio_spans(analyzer, text)
                if k in ("PERSON", "ORT")]

    rathaus_finder(" ".join(test[0].tokens))  # load the tagger and word classifier before timing
    presidio_names(" ".join(test[0].tokens))
    results: dict[str, Evaluation] = {}
    systems = (("rathaus", rathaus_finder), ("rathaus_high_recall", lambda t: rathaus_finder(t, high_recall=True)),
               ("presidio", presidio_names))
    for system, finder in systems:
        default_classifier()._cache.clear()  # every system starts cold: no word embedding cached
        results[system] = evaluate_detector(test, finder)
        figures[f"{system}_ms_per_sentence"] = results[system].ms_per_sentence
        for typ, s in results[system].scores.items():
            for metric, value in s.as_dict().items():
                figures[f"{system}_{typ.lower()}_{metric}"] = value
    rows = []
    for typ in ("PER", "LOC"):
        base = results["presidio"].scores[typ]
        for system, _ in systems:
            s = results[system].scores[typ]
            rows.append((typ, system, str(s.gold), str(s.predicted), f"{s.precision:.3f}", f"{s.recall:.3f}",
                         f"{s.f1:.3f}", f"{s.partial_precision:.3f}", f"{s.partial_recall:.3f}", f"{s.partial_f1:.3f}",
                         f"{s.f1 / base.f1:.1f}x" if base.f1 else ("–" if system == "presidio" else "∞")))
    print(f"GermEval 2014 held-out test part: {len(test)} sentences")
    print(table(rows, ("type", "system", "gold", "found", "P", "R", "F1", "partial P", "partial R", "partial F1",
                       "F1 vs presidio")))
    print("ms per sentence: " + ", ".join(f"{name} {results[name].ms_per_sentence:.1f}" for name, _ in systems) + "\n")

    letters = read_letters(require(args.letters, "letter set"))
    rows = []
    for system, finder in systems:
        ls = evaluate_letters(letters, finder)
        prefix = "letters" if system == "rathaus" else f"letters_{system}"
        figures[f"{prefix}_per_recall"], figures[f"{prefix}_per_precision"] = ls.recall, ls.precision
        figures[f"{prefix}_per_partial_recall"] = ls.partial_recall
        rows.append((system, str(ls.gold), str(ls.predicted), f"{ls.precision:.3f}", f"{ls.recall:.3f}",
                     f"{ls.partial_recall:.3f}"))
        if system == "rathaus" and (ls.missed or ls.false):
            print(f"letters, rathaus missed {list(ls.missed)}, wrongly found {list(ls.false)}")
    figures["letters_texts"], figures["letters_names"] = ls.texts, ls.gold
    print(f"person names in {ls.texts} synthetic letters and e-mails ({args.letters.name}), exact spans")
    print(table(rows, ("system", "gold", "found", "P", "R", "partial R")) + "\n")

    cases = generated(args.per_kind)
    ours = pattern_recall(rathaus_spans, cases)
    theirs = pattern_recall(lambda t: presidio_spans(analyzer, t), cases)
    rows = []
    for kind in PATTERN_KINDS:
        figures[f"rathaus_recall_{kind.lower()}"] = ours[0][kind]
        figures[f"rathaus_overlap_recall_{kind.lower()}"] = ours[1][kind]
        figures[f"presidio_recall_{kind.lower()}"] = theirs[0][kind]
        figures[f"presidio_overlap_recall_{kind.lower()}"] = theirs[1][kind]
        rows.append((kind, str(args.per_kind), f"{ours[0][kind]:.3f}", f"{ours[1][kind]:.3f}",
                     f"{theirs[0][kind]:.3f}", f"{theirs[1][kind]:.3f}"))
    figures["rathaus_pattern_recall_macro"] = sum(ours[0].values()) / len(ours[0])
    figures["presidio_pattern_recall_macro"] = sum(theirs[0].values()) / len(theirs[0])
    figures["rathaus_ms_per_text_patterns"], figures["presidio_ms_per_text_patterns"] = ours[2], theirs[2]
    texts = [" ".join(s.tokens) for s in test]
    figures["rathaus_false_alarms_test"] = false_alarms(rathaus_spans, texts)
    figures["presidio_false_alarms_test"] = false_alarms(lambda t: presidio_spans(analyzer, t), texts)
    figures["generated_per_kind"] = args.per_kind
    print(f"generated values (seed 2014), {args.per_kind} per kind, embedded in German sentences")
    print(table(rows, ("kind", "n", "rathaus exact", "overlap", "presidio exact", "overlap")))
    print(f"macro recall (exact): rathaus {figures['rathaus_pattern_recall_macro']:.3f}, "
          f"presidio {figures['presidio_pattern_recall_macro']:.3f}")
    print(f"false alarms of these kinds on the {len(texts)} GermEval test sentences: "
          f"rathaus {figures['rathaus_false_alarms_test']}, presidio {figures['presidio_false_alarms_test']}")
    print(f"ms per text: rathaus {ours[2]:.2f}, presidio {theirs[2]:.2f}")
    print(f"wrote {write_result('pii', figures)}")


if __name__ == "__main__":
    main()
