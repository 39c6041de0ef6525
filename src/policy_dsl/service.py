"""The scoring service: the packs over HTTP (Starlette, served by uvicorn; `policyc serve`).

    GET  /healthz                               {"status": "ok", "packs": N}
    GET  /packs                                 the index's entries, one per pack
    GET  /packs/{region}/{standard}             the pack described (`describe --format json`)
    POST /packs/{region}/{standard}/score       records in, the CLI's result lines out
    POST /packs/{region}/{standard}/explain     the same, with every item's reason lines
    GET  /openapi.json                          the API, with the result line's JSON Schema

A score request's body is a JSON array of records, or `{"records": [...], "cohorts":
<snapshot>}`; with `Content-Type: application/x-ndjson` JSON Lines, with `text/csv` CSV.
Records go through the runtime's readers (numbers as exact decimals), and the response is
exactly what `policyc score` writes for the same input: JSON Lines (`application/x-ndjson`),
or one JSON array of the same objects with `Accept: application/json`. A record that cannot
be scored keeps its line with its error (200). Every pack is loaded when the service is
made, so a pack that cannot be loaded stops the start. Bodies and times are bounded (413,
408); scoring runs in worker threads, so the event loop keeps answering.

This module imports the runtime only (and Starlette): the compiler is not needed to serve.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from . import __version__
from .runtime import (
    CohortSnapshot,
    InputRecord,
    InputUnreadable,
    Pack,
    PackNotFound,
    SnapshotInvalid,
    decode,
    iter_outcomes,
    pack_sha256,
    read_records,
    read_snapshot,
    result_line,
)
from .runtime.describe import describe_json, jsonable
from .runtime.inputs import read_json_request
from .runtime.packs import (
    Catalogue,
    ManifestEntry,
    PackRefused,
    find_pack,
    installed_catalogues,
    open_catalogue,
    verify_pack,
)
from .runtime.schema import result_line_schema

NDJSON = "application/x-ndjson"


@dataclass(frozen=True, slots=True)
class Limits:
    """Bounds on one request: its body's size, and the time to read and score it."""

    max_body_bytes: int = 10 * 1024 * 1024
    time_limit: float = 30.0  # seconds
    workers: int = 4  # scoring threads


class TimeLimitExceeded(Exception):
    """Scoring went past the request's deadline; the worker stops at the next record."""


class ServiceError(Exception):
    """A request the service answers with a JSON error and an HTTP status."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def error_response(status: int, message: str) -> JSONResponse:
    return JSONResponse({"error": message, "status": status}, status_code=status)


@dataclass(frozen=True, slots=True)
class Packs:
    """Every pack of the manifest, verified and loaded once at start; looked up by
    `region/standard`. A build after the start changes nothing served."""

    entries: tuple[ManifestEntry, ...]
    loaded: dict[str, Pack]

    @classmethod
    def load(cls, packs_dir: Path | None) -> Packs:
        """Verify and load every pack of `packs_dir` (a directory or a bundle; None: the
        installed bundles). A pack that is refused or cannot be loaded raises PackNotFound
        (PackRefused) naming it, and stops the start."""
        catalogues = ([open_catalogue(packs_dir)] if packs_dir is not None
                      else installed_catalogues())
        entries: list[ManifestEntry] = []
        loaded: dict[str, Pack] = {}
        for catalogue in catalogues:
            for entry in catalogue.entries:
                if entry.name in loaded:
                    continue  # installed twice: load_pack says which when it matters
                loaded[entry.name] = _verified(catalogue, entry)
                entries.append(entry)
        if not loaded:
            raise PackNotFound("no packs to serve: give --packs (a directory or a bundle), or "
                               "install a bundle")
        return cls(tuple(entries), loaded)

    def get(self, region: str, standard: str, year: str | None) -> Pack:
        """The pack `region/standard` (a full name, or without its version and a year)."""
        try:
            chosen = None if year is None else int(year)
        except ValueError:
            raise ServiceError(400, f"year must be a whole number, not {year!r}") from None
        try:
            entry = find_pack(self.entries, f"{region}/{standard}", chosen)
        except PackNotFound as error:
            raise ServiceError(404, str(error).replace("give --year", "give ?year=")) from None
        return self.loaded[entry.name]


def _verified(catalogue: Catalogue, entry: ManifestEntry) -> Pack:
    """One pack, verified; any other failure to load it (a module that does not import) is
    reported as PackRefused naming the pack."""
    try:
        return verify_pack(catalogue, entry)
    except PackNotFound:
        raise
    except Exception as error:
        raise PackRefused(f"cannot be loaded from {catalogue.where}: "
                          f"{type(error).__name__}: {error}", entry.name) from None


def create_app(packs_dir: Path | None = Path("generated"),
               limits: Limits | None = None) -> Starlette:
    """The service over the packs in `packs_dir` (a directory or a bundle; None: the
    installed bundles); every pack is verified and loaded here (PackNotFound, or the
    loader's PackRefused, propagates: the caller stops the start)."""
    limits = limits or Limits()
    packs = Packs.load(packs_dir)
    executor: ThreadPoolExecutor | None = None

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        nonlocal executor
        executor = ThreadPoolExecutor(max_workers=limits.workers,
                                      thread_name_prefix="policyc-score")
        try:
            yield
        finally:
            executor.shutdown(wait=False, cancel_futures=True)

    async def healthz(request: Request) -> Response:
        return JSONResponse({"status": "ok", "packs": len(packs.loaded)})

    async def list_packs(request: Request) -> Response:
        return JSONResponse({"packs": [jsonable(entry) for entry in packs.entries]})

    async def describe(request: Request) -> Response:
        pack = packs.get(request.path_params["region"], request.path_params["standard"],
                         request.query_params.get("year"))
        return JSONResponse(describe_json(pack))

    async def score(request: Request) -> Response:
        return await scored(request, explain=False)

    async def explain(request: Request) -> Response:
        return await scored(request, explain=True)

    async def scored(request: Request, explain: bool) -> Response:
        deadline = time.monotonic() + limits.time_limit
        pack = packs.get(request.path_params["region"], request.path_params["standard"],
                         request.query_params.get("year"))
        check_declared_size(request, limits.max_body_bytes)
        try:
            body = await asyncio.wait_for(read_body(request, limits.max_body_bytes),
                                          timeout=limits.time_limit)
        except TimeoutError:
            raise ServiceError(408, f"the request body took longer than the time limit of "
                                    f"{limits.time_limit:g} s to arrive") from None
        records, snapshot = read_request(body, request.headers.get("content-type", ""), pack)
        assert executor is not None  # the lifespan made it
        loop = asyncio.get_running_loop()
        work = loop.run_in_executor(executor, result_lines, pack, records, explain, snapshot,
                                    deadline)
        try:
            lines, errors = await asyncio.wait_for(work, timeout=deadline - time.monotonic())
        except (TimeoutError, TimeLimitExceeded):
            raise ServiceError(408, f"scoring {len(records)} record(s) took longer than the "
                                    f"time limit of {limits.time_limit:g} s; send smaller "
                                    "batches, or raise the limit (policyc serve "
                                    "--time-limit)") from None
        headers = {"X-Pack": pack.INFO.name, "X-Pack-SHA256": pack_sha256(pack),
                   "X-Records": str(len(lines)),
                   "X-Record-Errors": str(errors)}
        if _wants_json_array(request.headers.get("accept", "")):
            text = "[" + ",\n".join(lines) + "]\n" if lines else "[]\n"
            return Response(text, media_type="application/json", headers=headers)
        return Response("".join(line + "\n" for line in lines), media_type=NDJSON,
                        headers=headers)

    async def openapi(request: Request) -> Response:
        return JSONResponse(openapi_document(packs))

    async def http_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, HTTPException)
        where = f"{request.method} {request.url.path}"
        if exc.status_code == 404:
            return error_response(404, f"no endpoint {where}; the endpoints are listed in "
                                       "/openapi.json")
        if exc.status_code == 405:
            return error_response(405, f"{where}: method not allowed here")
        return error_response(exc.status_code, f"{where}: {exc.detail}")

    async def service_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, ServiceError)
        return error_response(exc.status, exc.message)

    async def internal_error(request: Request, exc: Exception) -> Response:
        return error_response(500, f"internal error ({type(exc).__name__}); this is a fault "
                                   "in policy_dsl, not in the request: please report it")

    pack_path = "/packs/{region}/{standard}"
    routes = [
        Route("/healthz", healthz, methods=["GET"]),
        Route("/packs", list_packs, methods=["GET"]),
        Route(pack_path, describe, methods=["GET"]),
        Route(pack_path + "/score", score, methods=["POST"]),
        Route(pack_path + "/explain", explain, methods=["POST"]),
        Route("/openapi.json", openapi, methods=["GET"]),
    ]
    return Starlette(routes=routes, lifespan=lifespan, exception_handlers={
        HTTPException: http_error, ServiceError: service_error, Exception: internal_error})


def check_declared_size(request: Request, limit: int) -> None:
    """A body declared longer than `limit` bytes is refused (413) before it is read."""
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise ServiceError(413, f"the request body is {declared} bytes, over the limit of "
                                f"{limit} bytes; send smaller batches (policyc serve "
                                "--max-body-bytes)")


async def read_body(request: Request, limit: int) -> bytes:
    """The body, refused (413) as soon as it is longer than `limit` bytes."""
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise ServiceError(413, f"the request body is over the limit of {limit} bytes; "
                                    "send smaller batches (policyc serve --max-body-bytes)")
        chunks.append(chunk)
    return b"".join(chunks)


def read_request(body: bytes, content_type: str,
                 pack: Pack) -> tuple[list[InputRecord], CohortSnapshot | None]:
    """The records of a request (and its cohort snapshot, checked against the pack), read
    by the runtime's readers as a file of the same format would be; 400 when the body as a
    whole cannot be read."""
    media = content_type.split(";")[0].strip().lower()
    try:
        text = decode(body, "the request body")
        if media == "text/csv":
            return read_records(text, "csv", "the request body"), None
        if media in {NDJSON, "application/jsonl", "application/x-jsonlines"}:
            return read_records(text, "jsonl", "the request body"), None
        records, cohorts = read_json_request(text, "the request body")
    except InputUnreadable as error:
        raise ServiceError(400, str(error)) from None
    except RecursionError:
        raise ServiceError(400, "the request body is nested too deeply") from None
    if cohorts is None:
        return records, None
    try:
        snapshot = read_snapshot(cohorts, "in the request")
        snapshot.check_pack(pack)
    except SnapshotInvalid as error:
        raise ServiceError(400, str(error)) from None
    return records, snapshot


def result_lines(pack: Pack, records: Sequence[InputRecord], explain: bool,
                 snapshot: CohortSnapshot | None, deadline: float) -> tuple[list[str], int]:
    """The CLI's result lines (without their newlines) and how many have an error; stops
    with TimeLimitExceeded once past `deadline`. Runs in a worker thread."""
    lines: list[str] = []
    errors = 0
    for outcome in _bounded(iter_outcomes(pack, records, explain, cohorts=snapshot), deadline):
        lines.append(result_line(outcome, explain)[:-1])  # the CLI's line, without its break
        errors += outcome.error is not None
    return lines, errors


def _bounded(outcomes: Iterator[Any], deadline: float) -> Iterator[Any]:
    for outcome in outcomes:
        if time.monotonic() > deadline:
            raise TimeLimitExceeded
        yield outcome


def _wants_json_array(accept: str) -> bool:
    """`Accept: application/json` (and not JSON Lines) asks for one JSON array."""
    media = {part.split(";")[0].strip().lower() for part in accept.split(",")}
    return "application/json" in media and NDJSON not in media


def openapi_document(packs: Packs) -> dict[str, Any]:
    """The OpenAPI 3.1 document; result lines follow the runtime's JSON Schema."""
    error = {"description": "An error", "content": {"application/json": {
        "schema": {"$ref": "#/components/schemas/Error"}}}}
    pack_parameters = [
        {"name": "region", "in": "path", "required": True, "schema": {"type": "string"},
         "example": "suzhou"},
        {"name": "standard", "in": "path", "required": True, "schema": {"type": "string"},
         "description": "The standard with its version (inpatient-2023), or without it "
                        "and a year", "example": "inpatient-2023"},
        {"name": "year", "in": "query", "required": False, "schema": {"type": "integer"},
         "description": "The assessment year: picks the version in force."},
    ]
    lines = {"description": "One result line per input record, in input order (records "
                            "that cannot be scored keep their line, with `error`).",
             "content": {
                 NDJSON: {"schema": {"$ref": "#/components/schemas/ResultLine"}},
                 "application/json": {"schema": {
                     "type": "array", "items": {"$ref": "#/components/schemas/ResultLine"}}}}}
    body = {"required": True, "content": {
        "application/json": {"schema": {"anyOf": [
            {"type": "array", "items": {"type": "object"}},
            {"type": "object", "required": ["records"], "additionalProperties": False,
             "properties": {"records": {"type": "array", "items": {"type": "object"}},
                            "cohorts": {"type": "object", "description":
                                        "A cohort snapshot (`policyc cohorts`)."}}}]}},
        NDJSON: {"schema": {"type": "string"}},
        "text/csv": {"schema": {"type": "string"}}}}

    def scoring(summary: str) -> dict[str, Any]:
        return {"summary": summary, "parameters": pack_parameters, "requestBody": body,
                "responses": {"200": lines, "400": error, "404": error, "408": error,
                              "413": error}}

    return {
        "openapi": "3.1.0",
        "info": {"title": "policy_dsl scoring service", "version": __version__,
                 "description": f"Scores institutions with the {len(packs.loaded)} rule "
                                "packs loaded at start."},
        "paths": {
            "/healthz": {"get": {"summary": "Liveness", "responses": {"200": {
                "description": "The service answers", "content": {"application/json": {
                    "schema": {"type": "object"}}}}}}},
            "/packs": {"get": {"summary": "The packs (the index's entries)", "responses": {
                "200": {"description": "The packs", "content": {"application/json": {
                    "schema": {"type": "object"}}}}}}},
            "/packs/{region}/{standard}": {"get": {
                "summary": "A pack described: facts, items", "parameters": pack_parameters,
                "responses": {"200": {"description": "As `policyc describe --format json`",
                                      "content": {"application/json": {
                                          "schema": {"type": "object"}}}},
                              "404": error}}},
            "/packs/{region}/{standard}/score": {"post": scoring("Score records")},
            "/packs/{region}/{standard}/explain": {"post": scoring(
                "Score records, with every item's reason lines")},
            "/openapi.json": {"get": {"summary": "This document", "responses": {
                "200": {"description": "OpenAPI 3.1"}}}},
        },
        "components": {"schemas": {
            "ResultLine": result_line_schema(),
            "Error": {"type": "object", "required": ["error", "status"],
                      "properties": {"error": {"type": "string"},
                                     "status": {"type": "integer"}}},
        }},
    }
