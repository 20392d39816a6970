"""The example pipelines' function steps (Pillow is imported only when an image arrives)."""

from __future__ import annotations

import base64
import binascii
import io
from typing import Any

import numpy as np

from servekit.pipelines.functions import BYTES, Feeds, StepInputError, pipeline_function

__all__ = ["digits_png"]

_MAX_IMAGE_BYTES = 4 * 1024 * 1024


@pipeline_function(
    inputs={"image": (BYTES, (None,))},
    outputs={"input": ("float32", (None, 64))},
    requires=("PIL",),
)
def digits_png(feeds: Feeds) -> dict[str, Any]:
    """PNG images (base64, any size) → the digits models' 8x8 pixels scaled 0..16, where
    ink is high as in scikit-learn's digits (a dark digit on a light ground is inverted)."""
    from PIL import Image, UnidentifiedImageError

    images = feeds["image"]
    rows = []
    for index, text in enumerate(images):
        try:
            raw = base64.b64decode(text, validate=True)
        except (binascii.Error, ValueError, TypeError):
            raise StepInputError(f"image {index} is not base64") from None
        if len(raw) > _MAX_IMAGE_BYTES:
            raise StepInputError(f"image {index} is over {_MAX_IMAGE_BYTES} bytes")
        try:
            with Image.open(io.BytesIO(raw)) as image:
                gray = image.convert("L").resize((8, 8), Image.Resampling.BOX)
        except (UnidentifiedImageError, OSError):
            raise StepInputError(f"image {index} is not a readable image") from None
        pixels = np.asarray(gray, dtype=np.float32).reshape(64)
        if pixels.mean() > 127.5:  # light ground: ink is dark, the models expect it high
            pixels = 255.0 - pixels
        rows.append(pixels * (16.0 / 255.0))
    return {"input": np.asarray(rows, dtype=np.float32).reshape(len(rows), 64)}
