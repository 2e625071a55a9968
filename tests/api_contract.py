"""Checks live HTTP responses against the served OpenAPI document (jsonschema, 2020-12).

A response whose status the document does not list for that operation, whose content type it
does not declare, whose body does not match the declared schema, or which lacks a required
header, fails the test: the API cannot drift from its document unnoticed.
"""

from __future__ import annotations

from typing import Any

from jsonschema import Draft202012Validator
from multidict import CIMultiDictProxy
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

DOCUMENT_URI = "urn:colorbot:openapi"


def _pointer(*parts: str) -> str:
    return "".join("/" + part.replace("~", "~0").replace("/", "~1") for part in parts)


class ApiContract:
    def __init__(self, document: dict[str, Any]) -> None:
        self.document = document
        resource = Resource.from_contents(document, default_specification=DRAFT202012)
        self.registry: Registry[Any] = Registry().with_resource(DOCUMENT_URI, resource)
        self.checked: set[tuple[str, str, int]] = set()

    def _validator(self, *parts: str) -> Draft202012Validator:
        schema = {"$ref": DOCUMENT_URI + "#" + _pointer(*parts)}
        return Draft202012Validator(schema, registry=self.registry)

    def _resolve(self, node: dict[str, Any]) -> dict[str, Any]:
        while "$ref" in node:
            target: Any = self.document
            for part in node["$ref"].removeprefix("#/").split("/"):
                target = target[part.replace("~1", "/").replace("~0", "~")]
            node = target
        return node

    def check(
        self,
        method: str,
        path: str,
        status: int,
        headers: CIMultiDictProxy[str],
        body: Any,
    ) -> None:
        """Fail (AssertionError / ValidationError) unless the response matches the document's
        `method` `path` (a path template, e.g. "/api/v1/jobs/{id}") response `status`."""
        operation = self.document["paths"][path][method.lower()]
        responses = operation["responses"]
        assert str(status) in responses, (
            f"{method} {path} answered {status}, which the OpenAPI document does not list "
            f"(it lists {sorted(responses)}); body: {body!r}"
        )
        response = self._resolve(responses[str(status)])
        for name, header in response.get("headers", {}).items():
            header = self._resolve(header)
            if header.get("required"):
                assert name in headers, f"{method} {path} {status}: required header {name} missing"
            if name in headers:
                Draft202012Validator(header["schema"]).validate(headers[name])
        media_type = headers.get("Content-Type", "").split(";")[0].strip()
        content = response.get("content", {})
        assert media_type in content, (
            f"{method} {path} {status}: content type {media_type!r} not in {sorted(content)}"
        )
        parts = ("paths", path, method.lower(), "responses", str(status), "content", media_type)
        self._validator(*parts, "schema").validate(body)
        self.checked.add((method.upper(), path, status))
