"""JSON text for COPY and for identities: orjson, with the standard library as the fallback
for what orjson refuses (integers beyond 64 bits, which JSON and jsonb allow)."""

from __future__ import annotations

import json
from typing import Any

import orjson


def dumps(value: Any, sort_keys: bool = False) -> bytes:
    try:
        return orjson.dumps(value, option=orjson.OPT_SORT_KEYS if sort_keys else 0)
    except TypeError:  # orjson.JSONEncodeError
        return json.dumps(value, sort_keys=sort_keys, ensure_ascii=False, separators=(",", ":")).encode()
