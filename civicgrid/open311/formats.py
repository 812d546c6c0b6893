"""Rendering GeoReport v2 answers and errors as XML or JSON.

XML is built with ElementTree, which escapes text, so nothing a client posted can open or
close an element; characters XML 1.0 cannot carry at all (most control characters) are
dropped. In JSON, lists are top-level arrays, as the specification has them.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from xml.etree import ElementTree

from django.http import HttpResponse
from django.utils import timezone

XML = "xml"
JSON = "json"
FORMATS = (XML, JSON)
CONTENT_TYPES = {XML: "text/xml; charset=utf-8", JSON: "application/json; charset=utf-8"}
# The element each list's items get in XML.
ITEM_TAGS = {
    "services": "service",
    "service_requests": "request",
    "errors": "error",
    "attributes": "attribute",
    "values": "value",
    "endpoints": "endpoint",
    "formats": "format",
}
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


class Open311Error(Exception):
    """An answer in the standard error body: `errors` is [(code, description), ...]."""

    def __init__(self, status: int, errors: list[tuple[str | int, str]]):
        super().__init__(errors[0][1] if errors else str(status))
        self.status = status
        self.errors = errors
        self.headers: dict[str, str] = {}


def text(value) -> str:
    """A value as GeoReport writes it: ISO-8601 times with their zone, true/false, '' for
    nothing."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dt.datetime):
        return timezone.localtime(value).isoformat(timespec="seconds")
    return str(value)


def _jsonable(value):
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if isinstance(value, dt.datetime):
        return text(value)
    return value


def _element(parent: ElementTree.Element, tag: str, value) -> None:
    node = ElementTree.SubElement(parent, tag)
    _fill(node, tag, value)


def _fill(node: ElementTree.Element, tag: str, value) -> None:
    if isinstance(value, dict):
        for key, item in value.items():
            _element(node, key, item)
    elif isinstance(value, list | tuple):
        child = ITEM_TAGS.get(tag, "item")
        for item in value:
            _element(node, child, item)
    else:
        node.text = _NOT_XML.sub("", text(value))


def to_xml(root: str, value) -> bytes:
    node = ElementTree.Element(root)
    _fill(node, root, value)
    return b'<?xml version="1.0" encoding="utf-8"?>\n' + ElementTree.tostring(
        node, encoding="utf-8", xml_declaration=False
    )


def respond(fmt: str, root: str, value, *, status: int = 200, headers=None) -> HttpResponse:
    """`value` (a dict or a list) as `fmt`; `root` names the XML document element."""
    if fmt == JSON:
        body = json.dumps(_jsonable(value), ensure_ascii=False).encode()
    else:
        body = to_xml(root, value)
    response = HttpResponse(body, status=status, content_type=CONTENT_TYPES[fmt])
    for name, header in (headers or {}).items():
        response[name] = header
    return response


def error_response(fmt: str, error: Open311Error) -> HttpResponse:
    rows = [{"code": code, "description": description} for code, description in error.errors]
    return respond(fmt, "errors", rows, status=error.status, headers=error.headers)
