"""Image crops of evidence: the page of a stored file rendered as the reading saw it (PDF pages at
:data:`RENDER_DPI`, images after their EXIF orientation – rathaus.checks.ocr gives boxes in these pixels), cut to
the evidence's box with a margin, as PNG."""

from __future__ import annotations

import io

from PIL import Image, ImageOps

from rathaus.core.errors import BadRequest, NotFound

RENDER_DPI = 300  # = rathaus.checks.ocr.RENDER_DPI: PDF pages are read at this resolution; boxes are in its pixels
MARGIN = 24
MAX_SIDE = 1400
Image.MAX_IMAGE_PIXELS = 120_000_000


def page_image(data: bytes, content_type: str, page: int) -> Image.Image:
    """Page ``page`` (1-based) of a stored file as an RGB image."""
    if page < 1:
        raise NotFound(f"Seite {page} gibt es nicht / no page {page}")
    if content_type == "application/pdf":
        import pypdfium2 as pdfium

        try:
            pdf = pdfium.PdfDocument(data)
        except pdfium.PdfiumError as exc:
            raise BadRequest(f"PDF nicht lesbar / PDF cannot be read: {exc}") from None
        try:
            if page > len(pdf):
                raise NotFound(f"Seite {page} gibt es nicht (PDF hat {len(pdf)}) / no page {page}")
            return pdf[page - 1].render(scale=RENDER_DPI / 72).to_pil().convert("RGB")
        finally:
            pdf.close()
    if content_type == "image/heic":
        try:
            from pillow_heif import register_heif_opener
        except ImportError:
            raise BadRequest("HEIC-Bilder kann dieser Server nicht anzeigen / HEIC cannot be shown here") from None
        register_heif_opener()
    try:
        image = Image.open(io.BytesIO(data))
        if page > getattr(image, "n_frames", 1):
            raise NotFound(f"Seite {page} gibt es nicht / no page {page}")
        image.seek(page - 1)
        return ImageOps.exif_transpose(image.convert("RGB"))
    except (OSError, SyntaxError) as exc:
        raise BadRequest(f"Bild nicht lesbar / image cannot be read: {exc}") from None


def crop_png(image: Image.Image, bbox: tuple[int, int, int, int] | None, rotation: int = 0) -> bytes:
    """``image`` turned by ``rotation`` degrees clockwise (as the reading turned it upright), cut to ``bbox``
    plus a margin (the whole page without a box), no side above :data:`MAX_SIDE`, as PNG."""
    if rotation % 360:
        image = image.rotate(-rotation, expand=True, fillcolor="white")
    if bbox is not None:
        x0, y0, x1, y1 = bbox
        box = (max(0, min(x0, x1) - MARGIN), max(0, min(y0, y1) - MARGIN),
               min(image.width, max(x0, x1) + MARGIN), min(image.height, max(y0, y1) + MARGIN))
        if box[2] > box[0] and box[3] > box[1]:
            image = image.crop(box)
    image.thumbnail((MAX_SIDE, MAX_SIDE))
    out = io.BytesIO()
    image.save(out, format="PNG", optimize=True)
    return out.getvalue()
