"""The operations console (``GET /ops/``) and its JSON API (``/ops/api/...``).

Mounted by `server.app` (``http.app`` in ``langgraph.json``), next to LangGraph's own API.
Every ``/ops/api`` route authenticates the bearer token first (`server.ops_access`: 401 for
none or a bad one), then checks the route's least role (403) and, for one thread or dead
letter, that the caller may see it (404 otherwise, like an id that does not exist) and act on
it (403). Handlers do their database work in a worker thread (`run_in_threadpool`).

The page and its two static files are open: they hold no data, and a browser cannot send a
bearer header when it navigates. The page asks for the token and sends it with each call.
Approvals are not decided here: the page resumes the run through LangGraph's own API
(``POST /threads/{id}/runs`` with ``command.resume``) with the same token, so the server's
auth handler (`server.run_policy`) decides exactly as for any other client.

Routes (`OPS_API`, the table the security tests walk):

========  ======================================  ========  ==================================
method    path                                    least     and
========  ======================================  ========  ==================================
GET       /ops/api/me                             any       who the token is
GET       /ops/api/runs                           any       users: own threads only
GET       /ops/api/runs/{thread_id}               any       visible (404)
GET       /ops/api/runs/{thread_id}/timeline      any       visible (404)
POST      /ops/api/runs/{thread_id}/retry         any       owner or admin (403); model: admin
POST      /ops/api/runs/{thread_id}/fork          admin     checkpoint_id, values (a state write)
GET       /ops/api/dead-letters                   any       users: own entries only
GET       /ops/api/dead-letters/{letter_id}       any       visible (404)
POST      /ops/api/dead-letters/{letter_id}/retry any       owner or admin (403); model: admin
POST      /ops/api/dead-letters/{letter_id}/...   admin     discard, with a reason (400)
GET       /ops/api/budgets                        any       users: the scopes that apply to them
GET       /ops/api/breakers                       reviewer
POST      /ops/api/breakers/{key}/reset           admin
========  ======================================  ========  ==================================
"""

from __future__ import annotations

import json
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, Response
from starlette.routing import BaseRoute, Route

from ops.retry import RetryError
from server import ops_sources
from server.ops_access import (
    Access,
    OpsError,
    authenticate,
    owner_scope,
    require,
    require_action,
    require_visible,
)
from server.tokens import Principal

__all__ = ["CONSOLE_DIR", "OPS_API", "OPS_PAGES", "OpsRoute", "ops_routes"]

CONSOLE_DIR = Path(__file__).resolve().parent / "ops_console"
MAX_LIMIT = 500
logger = logging.getLogger(__name__)

Handler = Callable[[Request, Principal], Awaitable[Any]]


@dataclass(frozen=True)
class OpsRoute:
    """One API route: method, path, the least role, and its handler."""

    method: str
    path: str
    access: Access
    handler: Handler


def _error(status: int, detail: str) -> JSONResponse:
    headers = {"www-authenticate": "Bearer"} if status == 401 else None
    return JSONResponse({"detail": detail}, status_code=status, headers=headers)


def _endpoint(route: OpsRoute) -> Callable[[Request], Awaitable[Response]]:
    """The Starlette endpoint: authenticate, check the role, run the handler, answer JSON."""

    async def endpoint(request: Request) -> Response:
        try:
            principal = authenticate(request)
            require(principal, route.access)
            result = await route.handler(request, principal)
        except OpsError as exc:
            return _error(exc.status_code, exc.detail)
        except RetryError as exc:  # not failed or stuck: waiting, finished, dead-lettered
            return _error(409, str(exc))
        except LookupError as exc:
            return _error(404, str(exc) or "not found")
        except ValueError as exc:
            return _error(400, str(exc))
        return JSONResponse(ops_sources.jsonable(result), headers={"cache-control": "no-store"})

    endpoint.__name__ = route.handler.__name__
    endpoint.__doc__ = route.handler.__doc__
    return endpoint


async def _body(request: Request) -> dict[str, Any]:
    """The request's JSON object body ({} when empty).

    Raises:
        OpsError: 400 for a body that is not a JSON object.
    """
    raw = await request.body()
    if not raw.strip():
        return {}
    try:
        body = json.loads(raw)
    except json.JSONDecodeError as exc:
        raise OpsError(400, f"the body is not JSON: {exc}") from None
    if not isinstance(body, dict):
        raise OpsError(400, "the body must be a JSON object")
    return body


def _limit(request: Request, default: int = 100) -> int:
    text = request.query_params.get("limit", str(default))
    try:
        value = int(text)
    except ValueError:
        raise OpsError(400, f"limit must be a whole number, not {text!r}") from None
    if not 1 <= value <= MAX_LIMIT:
        raise OpsError(400, f"limit must be between 1 and {MAX_LIMIT}")
    return value


def _model(principal: Principal, body: dict[str, Any]) -> str | None:
    """The model a retry asks for: admins only (a model is the operator's choice and cost)."""
    model = body.get("model")
    if model in (None, ""):
        return None
    if not isinstance(model, str):
        raise OpsError(400, "model must be a model spec such as 'openai:gpt-4o-mini'")
    if principal.role != "admin":
        raise OpsError(403, "only an admin may retry with another model")
    return model


async def me(request: Request, principal: Principal) -> dict[str, Any]:
    """Who the token is: user id and role.

    ---
    summary: The caller of the operations API
    tags: [ops]
    """
    return {"user_id": principal.user_id, "role": principal.role}


async def list_runs(request: Request, principal: Principal) -> dict[str, Any]:
    """Runs across threads by status (a user sees their own threads).

    ---
    summary: List runs by status, graph, owner and time
    tags: [ops]
    """
    query = request.query_params
    owner = owner_scope(principal) or query.get("user") or None
    return await run_in_threadpool(
        ops_sources.runs,
        owner=owner,
        status=query.get("status") or None,
        graph=query.get("graph") or None,
        since=query.get("since") or None,
        limit=_limit(request),
    )


async def _visible_run(principal: Principal, thread_id: str) -> dict[str, Any]:
    detail = await run_in_threadpool(ops_sources.run_detail, thread_id)
    require_visible(principal, detail.get("owner") if detail else None, f"thread {thread_id}")
    if detail is None:  # unreachable for users (404 above); reviewers and admins get it here
        raise OpsError(404, f"thread {thread_id} not found")
    return detail


async def show_run(request: Request, principal: Principal) -> dict[str, Any]:
    """One run's detail, its pending approval request in full.

    ---
    summary: One run's detail
    tags: [ops]
    """
    return await _visible_run(principal, request.path_params["thread_id"])


async def run_timeline(request: Request, principal: Principal) -> dict[str, Any]:
    """A run's step-by-step timeline.

    ---
    summary: One run's timeline
    tags: [ops]
    """
    thread_id = request.path_params["thread_id"]
    await _visible_run(principal, thread_id)
    steps = await run_in_threadpool(ops_sources.run_timeline, thread_id)
    return {"thread_id": thread_id, "timeline": steps}


async def retry_run(request: Request, principal: Principal) -> dict[str, Any]:
    """Retry a failed run from its last good checkpoint (owner or admin).

    ---
    summary: Retry a failed run
    tags: [ops]
    """
    thread_id = request.path_params["thread_id"]
    body = await _body(request)
    detail = await run_in_threadpool(ops_sources.run_detail, thread_id)
    require_action(principal, detail.get("owner") if detail else None, f"thread {thread_id}")
    if detail is None:
        raise OpsError(404, f"thread {thread_id} not found")
    model = _model(principal, body)
    result = await run_in_threadpool(
        ops_sources.retry_run, thread_id, model=model, actor=principal.user_id
    )
    logger.info("ops: %s retried thread %s", principal.user_id, thread_id)
    return {"thread_id": thread_id, "result": result}


async def fork_run(request: Request, principal: Principal) -> dict[str, Any]:
    """Copy a thread as of one checkpoint into a new thread, optionally edited (admin).

    ---
    summary: Fork a thread from a checkpoint (time travel)
    tags: [ops]
    """
    thread_id = request.path_params["thread_id"]
    body = await _body(request)
    checkpoint_id, values = body.get("checkpoint_id"), body.get("values") or {}
    if not isinstance(checkpoint_id, str) or not checkpoint_id:
        raise OpsError(400, "a fork needs checkpoint_id: the checkpoint to copy (see the timeline)")
    if not isinstance(values, dict):
        raise OpsError(400, "values must be an object: the state fields to set in the fork")
    await _visible_run(principal, thread_id)
    result = await run_in_threadpool(ops_sources.fork_run, thread_id, checkpoint_id, values)
    logger.info("ops: %s forked thread %s at %s", principal.user_id, thread_id, checkpoint_id)
    return {"fork": result}


async def list_dead_letters(request: Request, principal: Principal) -> dict[str, Any]:
    """The dead-letter queue (a user sees their own entries).

    ---
    summary: List dead letters
    tags: [ops]
    """
    query = request.query_params
    letters = await run_in_threadpool(
        ops_sources.dead_letters,
        owner=owner_scope(principal),
        status=query.get("status") or None,
        limit=_limit(request),
    )
    return {"dead_letters": letters}


async def _visible_letter(principal: Principal, letter_id: str) -> dict[str, Any]:
    letter = await run_in_threadpool(ops_sources.dead_letter, letter_id)
    require_visible(principal, letter.get("owner") if letter else None, f"dead letter {letter_id}")
    if letter is None:
        raise OpsError(404, f"dead letter {letter_id} not found")
    return letter


def _require_open(letter: dict[str, Any]) -> None:
    """Refuse to act on a letter already retried or discarded (409, saying by whom)."""
    if letter.get("status") != "open":
        by = letter.get("resolved_by") or "someone"
        raise OpsError(409, f"dead letter {letter.get('id')} is {letter.get('status')} (by {by})")


async def show_dead_letter(request: Request, principal: Principal) -> dict[str, Any]:
    """One dead letter: error class, message, last checkpoint, attempts, payload.

    ---
    summary: One dead letter
    tags: [ops]
    """
    return await _visible_letter(principal, request.path_params["letter_id"])


async def retry_dead_letter(request: Request, principal: Principal) -> dict[str, Any]:
    """Retry a dead-lettered run from its last checkpoint (owner or admin).

    ---
    summary: Retry a dead letter
    tags: [ops]
    """
    letter_id = request.path_params["letter_id"]
    body = await _body(request)
    letter = await run_in_threadpool(ops_sources.dead_letter, letter_id)
    require_action(principal, letter.get("owner") if letter else None, f"dead letter {letter_id}")
    if letter is None:
        raise OpsError(404, f"dead letter {letter_id} not found")
    _require_open(letter)
    model = _model(principal, body)
    result = await run_in_threadpool(
        ops_sources.retry_dead_letter, letter_id, actor=principal.user_id, model=model
    )
    logger.info("ops: %s retried dead letter %s", principal.user_id, letter_id)
    return {"dead_letter": result}


async def discard_dead_letter(request: Request, principal: Principal) -> dict[str, Any]:
    """Discard a dead letter with a reason (admin; who and why are recorded).

    ---
    summary: Discard a dead letter
    tags: [ops]
    """
    letter_id = request.path_params["letter_id"]
    body = await _body(request)
    reason = body.get("reason")
    if not isinstance(reason, str) or not reason.strip():
        raise OpsError(400, 'discarding needs a reason (body: {"reason": "..."})')
    _require_open(await _visible_letter(principal, letter_id))
    result = await run_in_threadpool(
        ops_sources.discard_dead_letter, letter_id, actor=principal.user_id, reason=reason.strip()
    )
    logger.info("ops: %s discarded dead letter %s", principal.user_id, letter_id)
    return {"dead_letter": result}


async def list_budgets(request: Request, principal: Principal) -> dict[str, Any]:
    """Caps and spend today and this month (a user: the scopes that apply to them).

    ---
    summary: Budgets
    tags: [ops]
    """
    scopes = await run_in_threadpool(ops_sources.budgets, owner_scope(principal))
    return {"budgets": scopes}


async def list_breakers(request: Request, principal: Principal) -> dict[str, Any]:
    """Every circuit breaker: state, failures, when it opened, the last error.

    ---
    summary: Circuit breakers
    tags: [ops]
    """
    return {"breakers": await run_in_threadpool(ops_sources.breakers)}


async def reset_breaker(request: Request, principal: Principal) -> dict[str, Any]:
    """Close a circuit breaker (admin).

    ---
    summary: Reset a circuit breaker
    tags: [ops]
    """
    key = request.path_params["key"]
    if not await run_in_threadpool(ops_sources.reset_breaker, key):
        raise OpsError(404, f"no circuit breaker {key!r}")
    logger.info("ops: %s reset breaker %s", principal.user_id, key)
    return {"key": key, "state": "closed"}


OPS_API: tuple[OpsRoute, ...] = (
    OpsRoute("GET", "/ops/api/me", "any", me),
    OpsRoute("GET", "/ops/api/runs", "any", list_runs),
    OpsRoute("GET", "/ops/api/runs/{thread_id}", "any", show_run),
    OpsRoute("GET", "/ops/api/runs/{thread_id}/timeline", "any", run_timeline),
    OpsRoute("POST", "/ops/api/runs/{thread_id}/retry", "any", retry_run),
    OpsRoute("POST", "/ops/api/runs/{thread_id}/fork", "admin", fork_run),
    OpsRoute("GET", "/ops/api/dead-letters", "any", list_dead_letters),
    OpsRoute("GET", "/ops/api/dead-letters/{letter_id}", "any", show_dead_letter),
    OpsRoute("POST", "/ops/api/dead-letters/{letter_id}/retry", "any", retry_dead_letter),
    OpsRoute("POST", "/ops/api/dead-letters/{letter_id}/discard", "admin", discard_dead_letter),
    OpsRoute("GET", "/ops/api/budgets", "any", list_budgets),
    OpsRoute("GET", "/ops/api/breakers", "reviewer", list_breakers),
    OpsRoute("POST", "/ops/api/breakers/{key}/reset", "admin", reset_breaker),
)
"""Every route of the operations API (the security tests walk this and the app's routes)."""

_STATIC = {"console.js": "text/javascript", "console.css": "text/css"}
OPS_PAGES = ("/ops", "/ops/", *(f"/ops/{name}" for name in _STATIC))
"""The open paths: the page (no data) and its script and style sheet."""


PAGE_HEADERS = {
    "content-security-policy": (
        "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; "
        "img-src 'self'; form-action 'none'; frame-ancestors 'none'; base-uri 'none'"
    ),
    "x-frame-options": "DENY",
    "x-content-type-options": "nosniff",
    "referrer-policy": "no-referrer",
    "cache-control": "no-store",
}
"""The page runs only its own script, calls only this server and cannot be framed (its
buttons approve refunds: no clickjacking)."""


async def _page(request: Request) -> Response:
    name = request.url.path.rsplit("/", 1)[-1]
    if name in _STATIC:
        return FileResponse(CONSOLE_DIR / name, media_type=_STATIC[name], headers=PAGE_HEADERS)
    return FileResponse(CONSOLE_DIR / "index.html", media_type="text/html", headers=PAGE_HEADERS)


def ops_routes() -> list[BaseRoute]:
    """The console's page routes (open, not in the schema) and its API routes."""
    routes: list[BaseRoute] = [
        Route(path, _page, methods=["GET"], include_in_schema=False) for path in OPS_PAGES
    ]
    routes += [Route(r.path, _endpoint(r), methods=[r.method]) for r in OPS_API]
    return routes
