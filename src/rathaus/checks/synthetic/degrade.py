"""Scan and phone-photo degradations at three levels (none / moderate / strong): rotation by 90/180/270 degrees,
small skew, phone-photo perspective with a table around the page and uneven light, blur, lower resolution,
sensor noise and JPEG compression. Each call returns the parameters it used (recorded in the manifest)."""

from __future__ import annotations

import random
from typing import Any

import numpy as np
from PIL import Image, ImageFilter

LEVELS = ("none", "moderate", "strong")

# Per level: probability of a quarter turn and the turns allowed, skew range (degrees), probability and strength
# of a phone-photo perspective, blur radius range (px), resolution scale, noise sigma, JPEG quality.
SETTINGS: dict[str, dict[str, Any]] = {
    "none": {"turn_p": 0.0, "turns": (), "skew": 0.0, "photo_p": 0.0, "photo": 0.0, "blur": (0.0, 0.0),
             "scale": 1.0, "noise": 0.0, "quality": 90},
    "moderate": {"turn_p": 0.3, "turns": (90, 180), "skew": 2.5, "photo_p": 0.35, "photo": 0.035,
                 "blur": (0.4, 0.8), "scale": 0.8, "noise": 5.0, "quality": 55},
    "strong": {"turn_p": 0.5, "turns": (90, 180, 270), "skew": 6.0, "photo_p": 0.7, "photo": 0.07,
               "blur": (0.9, 1.5), "scale": 0.6, "noise": 12.0, "quality": 28},
}


def _perspective_coefficients(source: list[tuple[float, float]], target: list[tuple[float, float]]) -> list[float]:
    """Coefficients for Image.transform(PERSPECTIVE) mapping output points ``target`` to input points
    ``source``."""
    matrix = []
    vector = []
    for (x, y), (u, v) in zip(target, source, strict=True):
        matrix.append([x, y, 1, 0, 0, 0, -u * x, -u * y])
        matrix.append([0, 0, 0, x, y, 1, -v * x, -v * y])
        vector.extend([u, v])
    solution = np.linalg.solve(np.array(matrix, dtype=float), np.array(vector, dtype=float))
    return [float(value) for value in solution]


def phone_photo(image: Image.Image, strength: float, rng: random.Random) -> Image.Image:
    """The page lying on a table, photographed slightly from the side: a margin of table colour, each corner
    moved inwards by up to ``strength`` of the size, and light falling off towards one side."""
    width, height = image.size
    margin_x, margin_y = round(width * 0.06), round(height * 0.06)
    table = (rng.randrange(70, 150), rng.randrange(70, 150), rng.randrange(70, 150))
    canvas = Image.new("RGB", (width + 2 * margin_x, height + 2 * margin_y), table)
    canvas.paste(image, (margin_x, margin_y))
    cw, ch = canvas.size

    def jitter(x: float, y: float) -> tuple[float, float]:
        return (x + rng.uniform(-strength, strength) * width, y + rng.uniform(-strength, strength) * height)

    corners: list[tuple[float, float]] = [(margin_x, margin_y), (margin_x + width, margin_y),
                                          (margin_x + width, margin_y + height), (margin_x, margin_y + height)]
    moved = [jitter(x, y) for x, y in corners]
    coefficients = _perspective_coefficients(corners, moved)
    photo = canvas.transform((cw, ch), Image.Transform.PERSPECTIVE, coefficients, Image.Resampling.BILINEAR,
                             fillcolor=table)
    # uneven light: a linear fall-off of up to 25 % across the image
    angle = rng.uniform(0, 2 * np.pi)
    xs = np.linspace(-1, 1, cw)[None, :] * np.cos(angle) + np.linspace(-1, 1, ch)[:, None] * np.sin(angle)
    light = (1.0 - 0.125 * (xs + 1) * rng.uniform(0.4, 1.0)).astype(np.float32)
    pixels = np.asarray(photo, dtype=np.float32) * light[:, :, None]
    return Image.fromarray(pixels.astype(np.uint8))


def degrade(image: Image.Image, level: str, rng: random.Random) -> tuple[Image.Image, dict[str, Any]]:
    """The page image as a scanner or phone would deliver it at ``level``; and what was done."""
    if level not in SETTINGS:
        raise ValueError(f"unknown degradation level {level!r} (known: {', '.join(LEVELS)})")
    settings = SETTINGS[level]
    params: dict[str, Any] = {"level": level}
    out = image.convert("RGB")
    scale = settings["scale"]
    if scale != 1.0:  # the lower resolution first: the other steps then act on the pixels a camera delivers
        out = out.resize((round(out.width * scale), round(out.height * scale)), Image.Resampling.LANCZOS)
        params["scale"] = scale
    if settings["photo_p"] and rng.random() < settings["photo_p"]:
        out = phone_photo(out, settings["photo"], rng)
        params["photo"] = True
    if settings["skew"]:
        skew = round(rng.uniform(-settings["skew"], settings["skew"]), 2)
        corner = out.getpixel((0, 0))
        fill = corner if isinstance(corner, tuple) else (255, 255, 255)
        out = out.rotate(skew, resample=Image.Resampling.BILINEAR, expand=True, fillcolor=fill)
        params["skew"] = skew
    if settings["turns"] and rng.random() < settings["turn_p"]:
        turn = rng.choice(settings["turns"])
        out = out.rotate(turn, expand=True)  # counter-clockwise by ``turn`` degrees
        params["rotation"] = turn
    low, high = settings["blur"]
    if high:
        radius = round(rng.uniform(low, high), 2)
        out = out.filter(ImageFilter.GaussianBlur(radius * scale))
        params["blur"] = radius
    if settings["noise"]:
        generator = np.random.default_rng(rng.randrange(1 << 32))
        noise = generator.normal(0, settings["noise"], (out.height, out.width, 1)).astype(np.int16)
        pixels = np.asarray(out, dtype=np.int16) + noise
        out = Image.fromarray(np.clip(pixels, 0, 255).astype(np.uint8))
        params["noise"] = settings["noise"]
    params["jpeg_quality"] = settings["quality"]
    return out, params
