"""The call-summary JSON schema, and a validator for the small subset of JSON Schema it uses.

Why our own validator: ``jsonschema`` is not a dependency, and the summary
needs only ``type`` (object, array, string), ``properties``, ``required``,
``additionalProperties: false``, ``items``, ``enum``, ``maxItems`` and
``maxLength``. The same schema goes to the backend as the generation
constraint (a llama.cpp grammar in-process, ``response_format`` over HTTP),
so the model can hardly produce anything else -- but a server may ignore the
constraint, a grammar may not enforce lengths, and an answer cut off at
``max_tokens`` is not JSON at all, so every answer is parsed, normalised
(``normalise``: strings stripped and cut to ``maxLength`` at a word, lists cut
to ``maxItems``, enum values matched without case) and validated here.

Thread rules: pure functions; any thread.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

__all__ = [
    "NO_DISPOSITION",
    "SENTIMENTS",
    "SUMMARY_KEYS",
    "normalise",
    "parse_json_object",
    "summary_schema",
    "validate",
]

SENTIMENTS = ("positive", "neutral", "negative", "mixed")
NO_DISPOSITION = "none"
"""The only disposition when the pack lists no codes."""

SUMMARY_KEYS = (
    "reason_for_contact",
    "key_facts",
    "identifiers",
    "actions_taken",
    "resolution",
    "follow_ups",
    "sentiment_start",
    "sentiment_end",
    "disposition",
)


def _text(max_length: int) -> dict[str, Any]:
    return {"type": "string", "maxLength": max_length}


def _list(max_items: int, max_length: int) -> dict[str, Any]:
    return {"type": "array", "items": _text(max_length), "maxItems": max_items}


def summary_schema(disposition_codes: Sequence[str] = ()) -> dict[str, Any]:
    """The summary's schema; ``disposition`` is one of the pack's codes (or "none")."""
    codes = list(dict.fromkeys(disposition_codes)) or [NO_DISPOSITION]
    return {
        "type": "object",
        "properties": {
            "reason_for_contact": _text(200),
            "key_facts": _list(6, 160),
            "identifiers": _list(8, 60),
            "actions_taken": _list(6, 160),
            "resolution": _text(200),
            "follow_ups": _list(4, 160),
            "sentiment_start": {"type": "string", "enum": list(SENTIMENTS)},
            "sentiment_end": {"type": "string", "enum": list(SENTIMENTS)},
            "disposition": {"type": "string", "enum": codes},
        },
        "required": list(SUMMARY_KEYS),
        "additionalProperties": False,
    }


def parse_json_object(text: str) -> dict[str, Any] | None:
    """The JSON object in ``text`` (text around it, e.g. a code fence, is ignored), or None."""
    start, end = text.find("{"), text.rfind("}")
    if start < 0 or end <= start:
        return None
    try:
        value = json.loads(text[start : end + 1])
    except ValueError:
        return None
    return value if isinstance(value, dict) else None


def normalise(value: Any, schema: dict[str, Any]) -> Any:
    """Tidy ``value`` towards ``schema`` without inventing content (see the module doc).

    A lone string where a list is expected becomes a one-item list; anything
    of the wrong type is left for ``validate`` to reject.
    """
    kind = schema.get("type")
    if kind == "object" and isinstance(value, dict):
        props: dict[str, Any] = schema.get("properties", {})
        return {k: normalise(v, props[k]) if k in props else v for k, v in value.items()}
    if kind == "array":
        if isinstance(value, str):
            value = [value] if value.strip() else []
        if isinstance(value, list):
            items = [normalise(v, schema.get("items", {})) for v in value]
            items = [v for v in items if v != ""]
            return items[: schema.get("maxItems", len(items))]
        return value
    if kind == "string" and isinstance(value, str):
        text = " ".join(value.split())
        enum = schema.get("enum")
        if enum is not None:
            return next((e for e in enum if e.lower() == text.lower()), text)
        return _cut(text, schema.get("maxLength"))
    return value


def _cut(text: str, limit: int | None) -> str:
    if limit is None or len(text) <= limit:
        return text
    head = text[: limit - 1]
    space = head.rfind(" ")
    return (head[:space] if space > limit // 2 else head).rstrip(" ,;:") + "…"


def validate(value: Any, schema: dict[str, Any], path: str = "$") -> list[str]:
    """Every way ``value`` breaks ``schema`` (the subset above), as ``path: problem``; [] if valid."""
    errors: list[str] = []
    kind = schema.get("type")
    if kind == "object":
        if not isinstance(value, dict):
            return [f"{path}: expected an object, got {_name(value)}"]
        props: dict[str, Any] = schema.get("properties", {})
        errors += [f"{path}: missing {k!r}" for k in schema.get("required", ()) if k not in value]
        if schema.get("additionalProperties", True) is False:
            errors += [f"{path}: unexpected key {k!r}" for k in value if k not in props]
        for key, sub in props.items():
            if key in value:
                errors += validate(value[key], sub, f"{path}.{key}")
    elif kind == "array":
        if not isinstance(value, list):
            return [f"{path}: expected an array, got {_name(value)}"]
        if len(value) > schema.get("maxItems", len(value)):
            errors.append(f"{path}: more than {schema['maxItems']} items")
        for i, item in enumerate(value):
            errors += validate(item, schema.get("items", {}), f"{path}[{i}]")
    elif kind == "string":
        if not isinstance(value, str):
            return [f"{path}: expected a string, got {_name(value)}"]
        if len(value) > schema.get("maxLength", len(value)):
            errors.append(f"{path}: longer than {schema['maxLength']} characters")
    if "enum" in schema and value not in schema["enum"]:
        errors.append(f"{path}: {value!r} is not one of {schema['enum']}")
    return errors


def _name(value: Any) -> str:
    return "null" if value is None else type(value).__name__
