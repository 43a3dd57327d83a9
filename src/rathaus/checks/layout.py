"""The rows of a page rebuilt from its word boxes, for reading labelled values ("Familienname: Muster").

Tesseract's own text may put a column of labels before the column of their values; rows rebuilt from the
upright word boxes keep a label and its value together. A match in a row's text maps back to its words, so a
found value carries the box of exactly its words (in the original image) and their mean confidence.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field

from PIL import Image
from rapidfuzz import fuzz

from rathaus.checks.model import Evidence, PageText, Value

Word = tuple[str, tuple[int, int, int, int], float]
#: how similar the first words of a row must be to a printed label (letters and digits only, case folded) for
#: :meth:`PageView.label_rows`: "Vornameln)" for "Vorname(n)" is 0.94, "Anschritt" for "Anschrift" 0.89
LABEL_SIMILARITY = 0.8


@dataclass
class ReadPage:
    """A page as read: its text (words boxed in the original image), and – for scans and rendered PDF pages –
    the upright, deskewed image with the same words boxed on it (for signature ink and the MRZ finder)."""

    text: PageText
    image: Image.Image | None = None
    image_words: list[Word] | None = None  # None: the boxes of text.words are upright already

    @property
    def upright_words(self) -> list[Word]:
        return self.image_words if self.image_words is not None else self.text.words


@dataclass
class Row:
    text: str
    spans: list[tuple[int, int, int]] = field(default_factory=list)  # (start, end, word index) in text


@dataclass
class Found:
    """A value found on a page: the text matched, where (row, span) and how sure OCR was of those words."""

    text: str
    page: ReadPage
    row: Row
    start: int
    end: int

    @property
    def words(self) -> list[int]:
        return [index for start, end, index in self.row.spans if start < self.end and end > self.start]

    @property
    def confidence(self) -> float:
        if self.page.text.source != "ocr":
            return 1.0
        confs = [self.page.text.words[i][2] for i in self.words]
        return round(sum(confs) / len(confs), 3) if confs else self.page.text.confidence

    @property
    def bbox(self) -> tuple[int, int, int, int] | None:
        boxes = [self.page.text.words[i][1] for i in self.words]
        if not boxes:
            return None
        return (min(b[0] for b in boxes), min(b[1] for b in boxes), max(b[2] for b in boxes), max(b[3] for b in boxes))

    def value(self, value: str | None = None, *, weight: float = 1.0, confidence: float | None = None) -> Value:
        """A :class:`Value` (the normalised ``value``, else the text found) with evidence; the confidence is the
        words' OCR confidence times ``weight`` (how reliable the way it was found is), unless given."""
        conf = confidence if confidence is not None else self.confidence * weight
        evidence = Evidence(file=self.page.text.file, page=self.page.text.number, snippet=self.row.text[:200],
                            bbox=self.bbox)
        return Value(value if value is not None else self.text, round(max(0.0, min(1.0, conf)), 3), evidence)


def rows(page: ReadPage) -> list[Row]:
    """The page's words grouped into rows (vertical overlap), left to right; wide gaps become two spaces."""
    words = page.upright_words
    heights = sorted(max(1, box[3] - box[1]) for _, box, _ in words)
    typical = heights[len(heights) // 2] if heights else 1
    order = sorted(range(len(words)), key=lambda i: (words[i][1][1] + words[i][1][3]) / 2)
    groups: list[list[int]] = []
    centres: list[float] = []
    for i in order:
        _, (_, y0, _, y1), _ = words[i]
        centre = (y0 + y1) / 2
        if y1 - y0 <= 2.5 * typical and groups and abs(centre - centres[-1]) <= 0.45 * typical:
            groups[-1].append(i)
            centres[-1] += (centre - centres[-1]) / len(groups[-1])
        else:
            groups.append([i])
            centres.append(centre)
    out: list[Row] = []
    for group in groups:
        group.sort(key=lambda i: words[i][1][0])
        text = ""
        spans = []
        previous_end: int | None = None
        for i in group:
            word, (x0, y0, x1, y1), _ = words[i]
            if previous_end is not None:
                height = max(1, y1 - y0)
                text += "  " if x0 - previous_end > 1.5 * height else " "
            spans.append((len(text), len(text) + len(word), i))
            text += word
            previous_end = x1
        out.append(Row(text, spans))
    return out


class PageView:
    """A page with its rows, searched by regular expressions."""

    def __init__(self, page: ReadPage):
        self.page = page
        self.rows = rows(page) if page.upright_words else _text_rows(page)

    def search(self, pattern: str | re.Pattern[str], group: int | str = 0, *, start_row: int = 0
               ) -> tuple[Found, int] | None:
        regex = re.compile(pattern, re.IGNORECASE) if isinstance(pattern, str) else pattern
        for number, row in enumerate(self.rows[start_row:], start_row):
            match = regex.search(row.text)
            if match and match.group(group) is not None:
                return Found(match.group(group), self.page, row, match.start(group), match.end(group)), number
        return None

    def labelled(self, label: str, value: str = r".+", *, start_row: int = 0, next_rows: int = 1
                 ) -> tuple[Found, int] | None:
        """The value after a label at the start of a row ("Label: value", "Label / English value"), or, when the
        row holds only the label, on the next row (ID cards print the value under the label)."""
        head = re.compile(rf"^\W{{0,3}}(?:{label})\s*:?\s*", re.IGNORECASE)
        tail = re.compile(rf"^(?:{value})", re.IGNORECASE)
        for number in range(start_row, len(self.rows)):
            row = self.rows[number]
            match = head.search(row.text)
            if not match:
                continue
            rest = row.text[match.end():]
            found = tail.search(rest)
            if rest.strip() and found:
                begin = match.end() + found.start()
                return Found(found.group(0).strip(), self.page, row, begin, begin + len(found.group(0))), number
            if not rest.strip() or (len(rest) <= 40 and not any(c.isdigit() for c in rest)):
                # only the label here (perhaps with its English twin "/ Date of birth"): the value is below
                for below in range(number + 1, min(len(self.rows), number + 1 + next_rows)):
                    candidate = self.rows[below]
                    found = tail.search(candidate.text.strip())
                    if found:
                        begin = len(candidate.text) - len(candidate.text.lstrip())
                        return (Found(found.group(0).strip(), self.page, candidate, begin,
                                      begin + len(found.group(0))), below)
        return None

    def label_rows(self, labels: Mapping[str, str], *, similarity: float = LABEL_SIMILARITY,
                   skip_words: int = 2) -> dict[str, tuple[int, int]]:
        """The rows of a form-like document ("C.1.1  Name oder Firmenname  MUSTERMANN") that begin with one of
        ``labels`` (key → printed label), found by similarity: OCR garbles the small field code before a label
        ("C.1.1" read "Coiloal" or "Gil") and a letter or two of the label itself. Up to ``skip_words`` words
        before the label are passed over. Each row goes to the label it resembles most, each label to its most
        similar row. Returns key → (row number, end of the label in the row's text)."""
        wanted = {key: _fold(label) for key, label in labels.items()}
        best: dict[str, tuple[float, int, int]] = {}
        for number, row in enumerate(self.rows):
            words = list(re.finditer(r"\S+", row.text))
            row_best: tuple[float, str, int] | None = None
            for key, label in wanted.items():
                size = len(labels[key].split())
                for start in range(min(skip_words + 1, len(words))):
                    for count in {max(1, size - 1), size, size + 1}:
                        if start + count > len(words):
                            continue
                        text = row.text[words[start].start():words[start + count - 1].end()]
                        score = fuzz.ratio(_fold(text), label) / 100
                        if score >= similarity and (row_best is None or score > row_best[0]):
                            row_best = (score, key, words[start + count - 1].end())
            if row_best is not None:
                score, key, end = row_best
                if key not in best or score > best[key][0]:
                    best[key] = (score, number, end)
        return {key: (number, end) for key, (_, number, end) in best.items()}

    def after_label(self, where: tuple[int, int], value: str = r".+", *, above: bool = False,
                    others: Mapping[str, tuple[int, int]] | None = None) -> Found | None:
        """The value after a label found by :meth:`label_rows`: the rest of its row, or – when the row ends with
        the label – the next row, if that row is one cell and not itself one of the labels (``others``). With
        ``above``, also the row before (a photographed page whose rows tilt may put a value just above its
        label); use it only for values of a distinct shape (a date, a licence plate)."""
        number, end = where
        row = self.rows[number]
        tail = re.compile(rf"(?:{value})", re.IGNORECASE)
        rest = row.text[end:]
        if rest.strip():
            found = tail.match(rest.strip())
            if not found:
                return None
            begin = end + len(rest) - len(rest.lstrip()) + found.start()
            return Found(found.group(0).strip(), self.page, row, begin, begin + len(found.group(0)))
        taken = {row_number for row_number, _ in (others or {}).values()}
        for candidate_number in (number + 1, number - 1) if above else (number + 1,):
            if not 0 <= candidate_number < len(self.rows) or candidate_number in taken:
                continue
            candidate = self.rows[candidate_number]
            found = tail.match(candidate.text.strip())
            if found and "  " not in candidate.text.strip():  # a row of several cells is no value of this label
                begin = len(candidate.text) - len(candidate.text.lstrip()) + found.start()
                return Found(found.group(0).strip(), self.page, candidate, begin, begin + len(found.group(0)))
        return None


def _fold(text: str) -> str:
    return re.sub(r"[\W_]", "", text.casefold())


def _text_rows(page: ReadPage) -> list[Row]:
    return [Row(line.strip()) for line in page.text.text.splitlines() if line.strip()]
