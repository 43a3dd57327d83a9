"""The facts behind one synthetic packet: an applicant, an address, a bank account, an employer, a flat – drawn
with faker (German locale; foreign locales for the residence-permit applicant) from one seed, so the form and
every document of the packet agree unless a defect is injected on purpose."""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import date, timedelta

from faker import Faker

# Real German bank codes (Bankleitzahlen) with their banks, so an IBAN's bank is known to a bank directory.
BANKS = (
    ("70150000", "Stadtsparkasse München", "SSKMDEMMXXX"),
    ("10010010", "Postbank Berlin", "PBNKDEFFXXX"),
    ("50010517", "ING-DiBa", "INGDDEFFXXX"),
    ("12030000", "Deutsche Kreditbank Berlin", "BYLADEM1001"),
    ("70020270", "UniCredit Bank – HypoVereinsbank", "HYVEDEMMXXX"),
    ("37040044", "Commerzbank Köln", "COBADEFFXXX"),
    ("43060967", "GLS Gemeinschaftsbank", "GENODEM1GLS"),
)

# Applicants from abroad for the residence permit: faker locale, ICAO code, nationality (German adjective),
# the issuing state's name as printed in the passport.
FOREIGN = (
    ("tr_TR", "TUR", "türkisch", "REPUBLIC OF TÜRKIYE"),
    ("en_IN", "IND", "indisch", "REPUBLIC OF INDIA"),
    ("pt_BR", "BRA", "brasilianisch", "REPÚBLICA FEDERATIVA DO BRASIL"),
    ("en_US", "USA", "amerikanisch", "UNITED STATES OF AMERICA"),
    ("es_MX", "MEX", "mexikanisch", "ESTADOS UNIDOS MEXICANOS"),
)

INSURERS = ("AOK Bayern", "Techniker Krankenkasse", "BARMER", "DAK-Gesundheit", "IKK classic", "KKH")
DEGREES = ("Bachelor of Science Informatik", "Bachelor of Nursing", "Master of Engineering Maschinenbau",
           "Diplom Elektrotechnik", "Bachelor of Science Pflege", "Master of Science Chemie")
ID_LETTERS = "CFGHJKLMNPRTVWXYZ0123456789"


def iban_de(bank_code: str, account: str) -> str:
    """A German IBAN with its ISO 7064 mod-97 check digits."""
    bban = bank_code + account.zfill(10)
    digits = "".join(str(int(c, 36)) for c in bban + "DE") + "00"
    return f"DE{98 - int(digits) % 97:02d}{bban}"


def valid_account_iban(rng: random.Random, bank_code: str) -> str:
    """An IBAN of that bank whose account number also passes the bank's own check-digit method (as schwifty,
    through rathaus.checks.validators.iban, verifies for German banks) – about one account number in ten does."""
    from rathaus.checks.validators.iban import validate_iban

    iban = ""
    for _ in range(1000):
        iban = iban_de(bank_code, str(rng.randrange(10**8, 10**10)))
        if validate_iban(iban).valid:
            return iban
    return iban


def format_iban(iban: str) -> str:
    return " ".join(iban[i:i + 4] for i in range(0, len(iban), 4))


@dataclass
class Facts:
    given_names: str
    surname: str
    sex: str  # "F" / "M" (ICAO)
    birth_date: date
    birth_place: str
    nationality: str  # ICAO 3-letter, "DEU" for Germans
    nationality_word: str  # "deutsch", "türkisch", …
    issuing_state_name: str
    street: str  # "Lindwurmstraße 12"
    postcode: str
    city: str
    email: str
    phone: str
    iban: str
    bank_name: str
    bic: str
    submitted_on: date
    id_number: str
    passport_number: str
    id_issue_date: date
    id_expiry_date: date
    employer: str
    employer_address: str
    employer_number: str  # Betriebsnummer
    job_title: str
    gross_income: float
    net_income: float
    weekly_hours: int
    employment_start: date
    pension_gross: float
    pension_net: float
    insurance_number: str  # Rentenversicherungsnummer
    landlord: str
    landlord_address: str
    rent_base: float
    rent_costs: float
    rent_heating: float
    living_space: int
    rooms: int
    move_in: date
    household_size: int
    licence_plate: str
    vehicle: str
    insurer: str
    degree: str
    university: str
    permit_number: str
    vehicle_holder: str = ""  # another person or a company registered as the vehicle's holder ("" = applicant)
    extra: dict[str, str] = field(default_factory=dict)

    @property
    def rent(self) -> float:
        """The monthly rent of the contract ("Gesamtmiete": base rent, service charges and heating)."""
        return round(self.rent_base + self.rent_costs + self.rent_heating, 2)

    @property
    def address(self) -> str:
        return f"{self.street}, {self.postcode} {self.city}"


def house_number(rng: random.Random) -> str:
    return f"{rng.randint(1, 140)}{rng.choice(('', '', '', '', 'a', 'b'))}"


def _money(rng: random.Random, low: float, high: float) -> float:
    return round(rng.uniform(low, high), 2)


def make_facts(rng: random.Random, fake: Faker, submitted_on: date, *, foreign: bool) -> Facts:
    """One applicant. ``foreign``: a national of a non-EU state (for the residence permit), with a passport."""
    sex = rng.choice("FM")
    if foreign:
        locale, nationality, word, state = rng.choice(FOREIGN)
        person = Faker(locale)
        person.seed_instance(rng.randrange(1 << 30))
        given = person.first_name_female() if sex == "F" else person.first_name_male()
        surname = person.last_name()
        birth_place = person.city()
    else:
        nationality, word, state = "DEU", "deutsch", "BUNDESREPUBLIK DEUTSCHLAND"
        given = fake.first_name_female() if sex == "F" else fake.first_name_male()
        surname = fake.last_name()
        birth_place = fake.city()
    birth_date = submitted_on - timedelta(days=rng.randint(20 * 365, 70 * 365))
    if foreign:
        birth_date = submitted_on - timedelta(days=rng.randint(22 * 365, 50 * 365))
    bank_code, bank_name, bic = rng.choice(BANKS)
    id_issue = submitted_on - timedelta(days=rng.randint(200, 3000))
    id_expiry = id_issue.replace(year=id_issue.year + 10) - timedelta(days=1)
    if id_expiry <= submitted_on + timedelta(days=60):
        id_expiry = submitted_on + timedelta(days=rng.randint(400, 2500))
    gross = _money(rng, 2200, 5200)
    net = round(gross * rng.uniform(0.62, 0.70), 2)
    pension_gross = _money(rng, 900, 1900)
    street = f"{fake.street_name()} {house_number(rng)}"
    employer = fake.company()
    passport_number = rng.choice("CFGHJK") + "".join(rng.choice(ID_LETTERS) for _ in range(8))
    if foreign:
        passport_number = rng.choice("ABCDEFGHJKLMNPRSTUVZ") + "".join(rng.choice("0123456789") for _ in range(7))
    return Facts(
        given_names=given, surname=surname, sex=sex, birth_date=birth_date, birth_place=birth_place,
        nationality=nationality, nationality_word=word, issuing_state_name=state,
        street=street, postcode=fake.postcode(), city=fake.city(),
        email=f"{_ascii(given)}.{_ascii(surname)}@example.org".lower(),
        phone=fake.phone_number(),
        iban=valid_account_iban(rng, bank_code), bank_name=bank_name, bic=bic,
        submitted_on=submitted_on,
        id_number=rng.choice("LMNPRT") + "".join(rng.choice(ID_LETTERS) for _ in range(8)),
        passport_number=passport_number,
        id_issue_date=id_issue, id_expiry_date=id_expiry,
        employer=employer, employer_address=f"{fake.street_name()} {house_number(rng)}, "
                                             f"{fake.postcode()} {fake.city()}",
        employer_number=str(rng.randrange(10**7, 10**8)),
        job_title=fake.job().split(" (")[0][:40],
        gross_income=gross, net_income=net, weekly_hours=rng.choice((20, 30, 35, 38, 39, 40)),
        employment_start=submitted_on + timedelta(days=rng.randint(20, 90)) if foreign
        else submitted_on - timedelta(days=rng.randint(400, 5000)),
        pension_gross=pension_gross, pension_net=round(pension_gross * 0.885, 2),
        insurance_number=f"{rng.randrange(10, 99)}{birth_date:%d%m%y}{surname[0].upper()}{rng.randrange(100, 999)}",
        landlord=fake.name(), landlord_address=f"{fake.street_name()} {house_number(rng)}, "
                                               f"{fake.postcode()} {fake.city()}",
        rent_base=float(rng.randrange(380, 1100)), rent_costs=float(rng.randrange(60, 260)),
        rent_heating=float(rng.randrange(40, 140)), living_space=rng.randrange(28, 95), rooms=rng.randint(1, 4),
        move_in=submitted_on - timedelta(days=rng.randint(60, 3000)),
        household_size=rng.randint(1, 4),
        insurer=rng.choice(INSURERS), degree=rng.choice(DEGREES), university=f"Universität {birth_place}",
        permit_number=rng.choice("LMNPRT") + "".join(rng.choice(ID_LETTERS) for _ in range(8)),
        vehicle_holder="" if rng.random() < 0.75 else rng.choice((f"{fake.first_name()} {fake.last_name()}",
                                                                   fake.company())),
        licence_plate=fake.license_plate(), vehicle=rng.choice(("VW Golf", "Opel Corsa", "BMW 118i", "Skoda Fabia",
                                                                "Ford Fiesta", "Renault Clio", "Toyota Yaris")),
    )


def _ascii(text: str) -> str:
    from rathaus.checks.synthetic.mrz import transliterate

    return transliterate(text).replace("<", "").lower() or "person"


def other_surname(fake: Faker, current: str) -> str:
    """A surname clearly different from ``current`` (another initial, not an umlaut spelling of it)."""
    for _ in range(50):
        candidate = fake.last_name()
        if candidate[0].lower() != current[0].lower() and abs(len(candidate) - len(current)) <= 4:
            return candidate
    return "Zimmermann" if current[0].lower() != "z" else "Bauer"


def german_date(value: date) -> str:
    return value.strftime("%d.%m.%Y")


def german_amount(value: float) -> str:
    text = f"{value:,.2f}"
    return text.replace(",", "X").replace(".", ",").replace("X", ".")
