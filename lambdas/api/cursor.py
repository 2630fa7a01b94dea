"""The `/v1/assets` keyset cursor: base64url (unpadded) of ``{"s": sort, "o": order, "v": value, "id": asset}``.

``v`` is the sort value of the last item of the page (``null`` when that item has none: nulls sort last in
either order) and ``id`` its asset id, the tie-breaker; the next page starts strictly after that pair, so
paging never repeats or skips an item of a stable snapshot. ``s``/``o`` pin the cursor to the sort it was
issued for: reusing it with another sort is a 400, not a silently wrong page.
"""

from __future__ import annotations

import base64
import binascii
import json
import math
from dataclasses import dataclass

from lambdas.api.errors import bad_parameter

SortValue = float | str | None


@dataclass(frozen=True)
class Cursor:
    sort: str
    order: str
    value: SortValue
    asset_id: str


def encode_cursor(cursor: Cursor) -> str:
    doc = {"s": cursor.sort, "o": cursor.order, "v": cursor.value, "id": cursor.asset_id}
    raw = json.dumps(doc, separators=(",", ":"), allow_nan=False).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(text: str, *, sort: str, order: str, numeric: bool) -> Cursor:
    """The cursor in `text`, checked against the request's sort; a 400 naming `cursor` otherwise."""
    try:
        raw = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
        doc = json.loads(raw)
    except (binascii.Error, ValueError, RecursionError):
        raise bad_parameter("cursor", "not a cursor returned by this API (undecodable)") from None
    if not isinstance(doc, dict) or set(doc) != {"s", "o", "v", "id"}:
        raise bad_parameter("cursor", "not a cursor returned by this API (wrong shape)")
    if doc["s"] != sort or doc["o"] != order:
        raise bad_parameter(
            "cursor", f"issued for sort={doc['s']!s:.20} order={doc['o']!s:.20}, not sort={sort} order={order}"
        )
    value, asset_id = doc["v"], doc["id"]
    if not isinstance(asset_id, str) or not asset_id or len(asset_id) > 128:
        raise bad_parameter("cursor", "not a cursor returned by this API (bad asset id)")
    if numeric:
        ok = value is None or (isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value))
        value = float(value) if ok and value is not None else value
    else:
        ok = isinstance(value, str) and len(value) <= 128
    if not ok:
        raise bad_parameter("cursor", "not a cursor returned by this API (bad sort value)")
    return Cursor(sort, order, value, asset_id)
