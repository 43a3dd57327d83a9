"""Name and place lists: built once from the Faker package's locale data (MIT licence), shipped as JSON.

Why Faker: it is on the package registry, MIT-licensed, and carries first and last names of ~80
locales (German, Turkish, Arabic, Polish, Croatian, Greek, Russian, …) plus German, Austrian and Swiss
towns and German country names. gender-guesser's larger list (nam_dict.txt) was not used: its data is
under the GNU FDL and its code under the GPLv3, which an Apache-2.0 package cannot ship as a derived list.

The lists only feed features of the tagger and the cue rules; membership alone never makes a name.
"""

from __future__ import annotations

import functools
import gzip
import importlib
import json
import pkgutil
import unicodedata
from dataclasses import dataclass
from pathlib import Path


def words(text: str) -> frozenset[str]:
    """A set of words written as one space-separated string (keeps long word lists readable)."""
    return frozenset(text.split())


MODELS = Path(__file__).resolve().parent.parent / "models"
LEXICON_FILE = MODELS / "pii-lexicon.json.gz"  # gzip (0.5 MB instead of 1.7 MB); `zcat` shows the JSON
PARTICLES = words("von vom van der den de di da del della dos du zu zur ten ter al el bin ibn abu ben le la")
_SCRIPTS = ("LATIN", "CYRILLIC", "GREEK", "ARABIC")


_UMLAUT_E = str.maketrans({"ä": "ae", "ö": "oe", "ü": "ue", "ß": "ss"})


@functools.lru_cache(maxsize=65536)
def variants(word: str) -> tuple[str, ...]:
    """Casefolded spellings to look up: as written, umlauts as ae/oe/ue, and without accents (Schröder, Bermúdez)."""
    folded = word.casefold()
    if folded.isascii():
        return (folded,)
    plain = "".join(c for c in unicodedata.normalize("NFKD", folded) if not unicodedata.combining(c))
    return (folded, folded.translate(_UMLAUT_E), plain)


@dataclass(frozen=True)
class Lexicon:
    first: frozenset[str]  # casefolded, ASCII-folded variants included
    last: frozenset[str]
    places: frozenset[str]

    def is_first(self, word: str) -> bool:
        return any(v in self.first for v in variants(word))

    def is_last(self, word: str) -> bool:
        return any(v in self.last for v in variants(word))

    def is_place(self, word: str) -> bool:
        return any(v in self.places for v in variants(word))


@functools.cache
def read_lexicon_data(path: Path = LEXICON_FILE) -> dict:
    return json.loads(gzip.decompress(path.read_bytes()).decode("utf-8"))


def write_lexicon_data(data: dict, path: Path) -> None:
    """Deterministic gzip (no time stamp in the header): same lists, same bytes."""
    raw = (json.dumps(data, ensure_ascii=False) + "\n").encode("utf-8")
    path.write_bytes(gzip.compress(raw, compresslevel=9, mtime=0))


@functools.cache
def load_lexicon(path: Path = LEXICON_FILE) -> Lexicon:
    return lexicon_from(read_lexicon_data(path))


@functools.cache
def load_plate_prefixes(path: Path = LEXICON_FILE) -> frozenset[str]:
    """German licence-plate district codes (Unterscheidungszeichen)."""
    return frozenset(read_lexicon_data(path)["plate_prefixes"])


def lexicon_from(data: dict) -> Lexicon:
    return Lexicon(*(frozenset(w.casefold() for w in data[key]) for key in ("first", "last", "places")))


def _usable(word: str) -> bool:
    if len(word) < 2 or not word[0].isupper() or not all(c.isalpha() or c in "-'’" for c in word):
        return False
    return all(any(s in unicodedata.name(c, "") for s in _SCRIPTS) for c in word if c.isalpha())


def _words(values: object) -> set[str]:
    found: set[str] = set()
    if isinstance(values, dict):  # some locales weight names: {name: weight}
        values = list(values)
    if not isinstance(values, list | tuple):
        return found
    for value in values:
        if isinstance(value, str):
            found.update(w for w in value.split() if _usable(w))
    return found


def _census(name: str) -> set[str]:
    """US Census 1990 name lists as shipped by the ``names`` package (MIT; the census data is public domain)."""
    import names

    text = (Path(names.__file__).parent / name).read_text(encoding="ascii")
    return {line.split()[0].capitalize() for line in text.splitlines() if line.strip()}


def build_lexicon() -> dict[str, object]:
    """Collect the lists from the installed Faker package (training time only; needs ``faker``)."""
    import faker
    import faker.providers.address as address_providers
    import faker.providers.person as person_providers

    first: set[str] = set()
    last: set[str] = set()
    places: set[str] = set()
    for module in pkgutil.iter_modules(person_providers.__path__):
        provider = importlib.import_module(f"faker.providers.person.{module.name}").Provider
        for attr in ("first_names", "first_names_male", "first_names_female", "first_names_nonbinary"):
            first |= _words(provider.__dict__.get(attr) if attr in provider.__dict__ else getattr(provider, attr, ()))
        for attr in ("last_names", "last_names_male", "last_names_female"):
            last |= _words(provider.__dict__.get(attr) if attr in provider.__dict__ else getattr(provider, attr, ()))
    for module in pkgutil.iter_modules(address_providers.__path__):
        provider = importlib.import_module(f"faker.providers.address.{module.name}").Provider
        if module.name.startswith("de_"):
            places |= _words(getattr(provider, "countries", ()))
            places |= _words(getattr(provider, "states", ()))
        places |= {c for c in getattr(provider, "cities", ()) if isinstance(c, str) and _usable(c.split()[0])}
    first |= _census("dist.male.first") | _census("dist.female.first")
    last |= _census("dist.all.last")
    places = {p for p in places if len(p.split()) == 1}
    last -= {"Doe"}
    from faker.providers.automotive.de_DE import Provider as PlateProvider

    plate_prefixes = sorted(set(PlateProvider.license_plate_prefix))
    return {
        "source": f"Faker {faker.VERSION} (MIT licence, https://github.com/joke2k/faker): person and address "
        f"providers of all locales and German licence-plate district codes, Latin, Cyrillic, Greek and Arabic "
        f"script only; names 0.3.0 (MIT, "
        f"https://github.com/treyhunner/names): US Census 1990 first and last names (public domain)",
        "licence": "MIT (Faker, names); US Census data public domain; selection: rathaus contributors, Apache-2.0",
        "first": sorted(first),
        "last": sorted(last),
        "places": sorted(places),
        "plate_prefixes": plate_prefixes,
    }
