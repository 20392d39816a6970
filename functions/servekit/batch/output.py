"""What a batch writes for its users: part files and the output index, in one prefix.

``s3://<bucket>/batches/<id>/output/`` holds ``part-NNNNNN.jsonl`` (one line per input row, in
input order: ``{"row", "label", "score", "probabilities"}``), ``index.json`` (the output index:
status, model, every part in order with its rows, every failed chunk with its reason) and, only
when every chunk succeeded, ``_SUCCESS``. Reading the parts in the index's order gives the
input's rows in order.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import orjson

from servekit.batch.shapes import ChunkStatus, part_key
from servekit.runtime.model import Prediction

__all__ = ["encode_part", "output_index"]

_NUMPY = orjson.OPT_SERIALIZE_NUMPY


def encode_part(first_row: int, labels: Sequence[str], prediction: Prediction) -> bytes:
    """JSON Lines for one chunk's predictions, rows numbered from ``first_row``.

    Serializing row by row costs ~3 us a row, a sizeable share of a ~20 us inference; the
    arrays are instead serialized once each (orjson writes numpy natively, float32 as float32)
    and the lines assembled from their pieces: ~1 us a row, the same bytes as dumping each row.
    """
    probabilities = prediction.probabilities
    count = len(probabilities)
    if count == 0:
        return b""
    indices = prediction.class_indices
    scores = probabilities[np.arange(count), indices]
    rows = orjson.dumps(probabilities, option=_NUMPY)[2:-2].split(b"],[")
    score_texts = orjson.dumps(scores, option=_NUMPY)[1:-1].split(b",")
    label_texts = [orjson.dumps(label) for label in labels]
    return b"".join(
        b'{"row":%d,"label":%b,"score":%b,"probabilities":[%b]}\n'
        % (row, label_texts[index], score, probs)
        for row, index, score, probs in zip(
            range(first_row, first_row + count), indices.tolist(), score_texts, rows, strict=True
        )
    )


def output_index(batch: dict[str, Any], chunks: Sequence[dict[str, Any]], status: str) -> bytes:
    batch_id = batch["batch_id"]
    done = [c for c in chunks if c["status"] == ChunkStatus.DONE]
    failed = [c for c in chunks if c["status"] == ChunkStatus.FAILED]
    document = {
        "batch_id": batch_id,
        "status": status,
        "model": batch["model"],
        "input": batch["input"],
        "rows": sum(c["rows"] for c in done),
        "parts": [
            {
                "key": part_key(batch_id, c["chunk"]).rsplit("/", 1)[1],
                "chunk": c["chunk"],
                "first_row": c["first_row"],
                "rows": c["rows"],
            }
            for c in done
        ],
        "failed_chunks": [
            {
                "chunk": c["chunk"],
                "first_row": c["first_row"],
                "rows": c["rows"],
                "error": c.get("error", ""),
            }
            for c in failed
        ],
    }
    return orjson.dumps(document, option=orjson.OPT_INDENT_2 | orjson.OPT_APPEND_NEWLINE)
