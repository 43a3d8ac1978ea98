"""HTTP endpoints: accounts, todos, health."""

from __future__ import annotations

import asyncio
from typing import Annotated, Any

import orjson
from fastapi import APIRouter, HTTPException, Path, Query, Request, Response, status

from todo_api.credentials import normalise_email
from todo_api.database import database_answers
from todo_api.dependencies import (
    Caller,
    CallerDep,
    ClientAddressDep,
    LoggingOut,
    LoggingOutDep,
    Services,
    ServicesDep,
    idempotency_key,
    unauthorized,
)
from todo_api.idempotency import (
    KEY_HEADER,
    KEY_PATTERN,
    REPLAYED_HEADER,
    Answer,
    IdempotencyKey,
    KeyReusedError,
    Outcome,
    address_scope,
    user_scope,
    valid_key,
)
from todo_api.observability import IDEMPOTENT_REPLAYS
from todo_api.paging import OLDEST_PAGE, Cursor, decode_cursor, encode_cursor
from todo_api.schemas import (
    DEFAULT_PAGE_SIZE,
    MAX_OFFSET,
    MAX_PAGE_SIZE,
    Credentials,
    ErrorBody,
    LoginCredentials,
    PageCursor,
    Status,
    StatusFilter,
    TodoCreate,
    TodoOut,
    TodoPage,
    TodosViewOut,
    TodoUpdate,
    TokenResponse,
    UserOut,
)
from todo_api.security import MAX_ID, HashingBusyError
from todo_api.store import (
    EmailTakenError,
    Todo,
    TodoListing,
    UnknownOwnerError,
    User,
    not_found_detail,
)
from todo_api.throttle import Counted, Limit, Slowdown, address_bucket, throttle_key

# Ids beyond a signed 64-bit integer cannot exist; refusing them keeps them away from the driver.
TodoId = Annotated[int, Path(ge=1, le=MAX_ID)]
# A list page's query, shared by GET /todos and GET /me/todos.
StatusQuery = Annotated[StatusFilter, Query(alias="status")]
LimitQuery = Annotated[int, Query(ge=1, le=MAX_PAGE_SIZE)]
CursorQuery = Annotated[PageCursor | None, Query()]
OffsetQuery = Annotated[int, Query(ge=0, le=MAX_OFFSET)]

_AUTH_ERRORS: dict[int | str, dict[str, object]] = {401: {"model": ErrorBody}}
_BUSY_ERRORS: dict[int | str, dict[str, object]] = {
    429: {"model": ErrorBody, "description": "Too many attempts; see Retry-After"},
    503: {"model": ErrorBody, "description": "Busy or database unavailable; see Retry-After"},
}
_TODO_ERRORS: dict[int | str, dict[str, object]] = {
    401: {"model": ErrorBody},
    404: {"model": ErrorBody},
}

# The optional header of every write, described in the OpenAPI document (read by
# dependencies.idempotency_key, which names it in its own 422).
_KEYED: dict[str, Any] = {
    "parameters": [
        {
            "name": KEY_HEADER,
            "in": "header",
            "required": False,
            "description": "Makes the write safe to repeat: a repeat with the same key and "
            "request gets the first answer (with `Idempotent-Replayed: true`) and writes nothing",
            "schema": {"type": "string", "pattern": KEY_PATTERN, "minLength": 16, "maxLength": 128},
        }
    ]
}

auth_router = APIRouter(tags=["accounts"])
todo_router = APIRouter(prefix="/todos", tags=["todos"], responses=_AUTH_ERRORS)
ops_router = APIRouter(tags=["operations"])


def _token_response(user: User, services: ServicesDep) -> TokenResponse:
    issued = services.sessions.issue(user.id, user.token_version)
    return TokenResponse(access_token=issued.access_token, expires_in=issued.expires_in)


def todo_out(todo: Todo) -> TodoOut:
    return TodoOut(
        id=todo.id,
        title=todo.title,
        description=todo.description,
        completed=todo.completed,
        created_at=todo.created_at,
        updated_at=todo.updated_at,
    )


def page_body(
    listing: TodoListing, status_filter: StatusFilter, limit: int, offset: int
) -> dict[str, Any]:
    """A TodoPage as plain data, its items the store's Todo dataclasses."""
    open_count, done_count = listing.counts.open, listing.counts.done
    counts = {"all": open_count + done_count, "open": open_count, "done": done_count}
    return {
        "items": listing.items,
        "total": counts[status_filter],
        "limit": limit,
        "offset": offset,
        "counts": counts,
        "next_cursor": None if listing.older is None else encode_cursor(listing.older),
        "prev_cursor": None if listing.newer is None else encode_cursor(listing.newer),
        "last_cursor": None if listing.older is None else encode_cursor(OLDEST_PAGE),
    }


def todo_page(
    listing: TodoListing, status_filter: StatusFilter, limit: int, offset: int
) -> TodoPage:
    body = page_body(listing, status_filter, limit, offset)
    return TodoPage.model_validate({**body, "items": [todo_out(todo) for todo in listing.items]})


def _json(content: object, status_code: int = status.HTTP_200_OK) -> Response:
    """The hot paths' answers: orjson writes the dataclasses straight to JSON (the fields of
    TodoOut, in its order), with no response model to build and validate per todo. Naive
    timestamps are UTC (see pgstore.py; SQLite hands them back so)."""
    body = orjson.dumps(content, option=orjson.OPT_NAIVE_UTC)
    return Response(body, status_code, media_type="application/json")


def page_start(cursor: str | None, offset: int) -> Cursor | None:
    """The cursor to start from; a list starts at either a cursor or an offset, not both."""
    if cursor is None:
        return None
    if offset > 0:
        raise ValueError("give either cursor or offset, not both")
    return decode_cursor(cursor)


def _not_found(todo_id: int) -> HTTPException:
    return HTTPException(status_code=status.HTTP_404_NOT_FOUND, detail=not_found_detail(todo_id))


def _answer(outcome: Outcome, request: Request) -> Response:
    """The answer of a keyed write: the first one's, marked when it is a repeat's."""
    headers = None
    if outcome.replayed:
        route = getattr(request.scope.get("route"), "path", "unmatched")
        IDEMPOTENT_REPLAYS.labels(f"{request.method} {route}").inc()
        headers = {REPLAYED_HEADER: "true"}
    answer = outcome.answer
    if answer.body is None:
        return Response(status_code=answer.status_code, headers=headers)
    return Response(answer.body, answer.status_code, headers, media_type="application/json")


async def _user_key(request: Request, caller: Caller) -> IdempotencyKey | None:
    return await idempotency_key(request, caller.services, user_scope(caller.user_id))


def _too_many(counted: Counted) -> HTTPException:
    return HTTPException(
        status.HTTP_429_TOO_MANY_REQUESTS,
        "too many attempts, try again later",
        headers={"Retry-After": str(counted.retry_after)},
    )


def _busy(services: Services) -> HTTPException:
    retry_after = max(1, round(services.settings.password_hash_wait_seconds))
    return HTTPException(
        status.HTTP_503_SERVICE_UNAVAILABLE,
        "busy, try again shortly",
        headers={"Retry-After": str(retry_after)},
    )


# Sign-up's refusals (credentials.py), described in the OpenAPI document.
_SIGNUP_ERRORS: dict[int | str, dict[str, object]] = {
    409: {
        "model": ErrorBody,
        "description": "An account with this email, or with one that looks the same (the same "
        "UTS #39 confusable skeleton, e.g. a Cyrillic `a` for a Latin one), exists; the answer "
        "is the same for both",
    },
    422: {
        "description": "Invalid body. Besides the usual checks, each refused password or email "
        "is one entry naming its field (`loc` `[body, password]` or `[body, email]`), its "
        "reason as `type` and a sentence for people as `msg`: `password_blank` (only "
        "whitespace), `password_common` (on the list of common or leaked passwords), "
        "`password_is_email`, `password_is_email_name` (the part before the @; compared "
        "case-insensitively), `email_mixed_scripts` (the part before the @ mixes scripts "
        "beyond UTS #39's moderately restrictive profile, e.g. Latin with Cyrillic)",
        "content": {
            "application/json": {"schema": {"$ref": "#/components/schemas/HTTPValidationError"}}
        },
    },
}


@auth_router.post(
    "/auth/signup",
    status_code=status.HTTP_201_CREATED,
    response_model=TokenResponse,
    responses={**_SIGNUP_ERRORS, **_BUSY_ERRORS},
    openapi_extra=_KEYED,
)
async def signup(
    body: Credentials, services: ServicesDep, address: ClientAddressDep, request: Request
) -> TokenResponse | Response:
    """With an Idempotency-Key (scoped to the client address), a repeat answers 201 with a new
    token for the account the first request made; it is neither counted nor hashed again."""
    bucket = address_bucket(address)
    key = await idempotency_key(request, services, address_scope(bucket))
    if key is not None and (stored := await services.store.stored_answer(key)) is not None:
        return await _signed_up_before(stored, services, request)
    settings = services.settings
    per_address = Limit(
        "signup-address", settings.signup_address_attempts, settings.signup_window_seconds
    )
    counted = await services.throttle.count([(per_address, bucket)], address=bucket)
    if counted.refused:
        raise _too_many(counted)
    try:
        password_hash = await services.hashing.hash_password(body.password)
    except HashingBusyError:
        await services.throttle.give_back(counted.keys)
        raise _busy(services) from None
    try:
        if key is None:
            return _token_response(
                await services.store.create_user(body.email, password_hash), services
            )
        outcome, user = await services.store.create_user_once(key, body.email, password_hash)
    except EmailTakenError:
        raise HTTPException(status.HTTP_409_CONFLICT, "an account with this email exists") from None
    if user is None:  # a request with the same key made the account meanwhile
        await services.throttle.give_back(counted.keys)
        return await _signed_up_before(outcome.answer, services, request)
    return _json(_token_response(user, services).model_dump(), status.HTTP_201_CREATED)


async def _signed_up_before(answer: Answer, services: Services, request: Request) -> Response:
    """A repeated sign-up: a new token for the account the first request made (tokens are
    not stored)."""
    user_id = answer.created_user_id
    user = None if user_id is None else await services.store.user_by_id(user_id)
    if user is None:
        raise HTTPException(
            status.HTTP_404_NOT_FOUND, f"the account made with this {KEY_HEADER} no longer exists"
        )
    token = orjson.dumps(_token_response(user, services).model_dump())
    return _answer(Outcome(Answer(answer.status_code, token), replayed=True), request)


@auth_router.post("/auth/login", responses={**_AUTH_ERRORS, **_BUSY_ERRORS})
async def login(
    body: LoginCredentials, services: ServicesDep, address: ClientAddressDep
) -> TokenResponse:
    settings = services.settings
    window = settings.login_window_seconds
    email = normalise_email(body.email)
    bucket = address_bucket(address)
    # An email holds no space, so this names one account at one address unambiguously.
    account_at_address = f"{email} {bucket}"
    # Refused: an address's guesses at one account, and at all accounts together. Slowed down
    # but never refused: all guesses at one account, so that guessing from one address (or
    # many) cannot keep the account's owner, at another address, out.
    per_account_and_address = Limit(
        "login-account-address", settings.login_account_address_attempts, window
    )
    per_address = Limit("login-address", settings.login_address_attempts, window)
    per_account = Slowdown(
        "login-account",
        settings.login_account_attempts,
        window,
        settings.login_account_max_delay_seconds,
    )
    # Counted before the password is checked: parallel guesses cannot outrun the count.
    counted = await services.throttle.count(
        [(per_account_and_address, account_at_address), (per_address, bucket)],
        address=bucket,
        slowdown=(per_account, email),
    )
    if counted.refused:
        raise _too_many(counted)
    # Before the password is checked, whether right or wrong: a quick answer must not tell
    # that the password was right.
    await asyncio.sleep(counted.delay_seconds)
    user = await services.store.user_by_email(email)
    try:
        valid = await services.hashing.verify_password(
            None if user is None else user.password_hash, body.password
        )
    except HashingBusyError:
        await services.throttle.give_back(counted.keys)  # no guess was checked
        raise _busy(services) from None
    if user is None or not valid:
        raise unauthorized("invalid email or password")
    # The right password clears this address's failures for the account; it counts neither
    # for the address nor for the account's slowdown, whose failures stay until their window
    # ends (the owner's login does not stop guessing elsewhere).
    pair_key = throttle_key(per_account_and_address.scope, account_at_address)
    await services.throttle.succeeded(
        pair_key if pair_key in counted.keys else None,
        [key for key in counted.keys if key != pair_key],
    )
    return _token_response(user, services)


async def _logout_key(session: LoggingOut, request: Request) -> IdempotencyKey | None:
    """A logout's key: the fingerprint covers the token too, so a key repeated with another
    token (whose session may still be on) is another request, never a repeat."""
    claims = session.claims
    scope = user_scope(claims.user_id)
    return await idempotency_key(request, session.services, scope, claims.token_id.encode())


async def _logged_out_before(session: LoggingOut, request: Request) -> Response:
    """A logout whose token's session has ended: 204 if it repeats, with the same token and
    Idempotency-Key, the logout that ended it; 401 otherwise, as for any ended session."""
    header = request.headers.get(KEY_HEADER)
    if header is not None and valid_key(header):
        key = await _logout_key(session, request)
        assert key is not None
        try:
            stored = await session.services.sessions.stored_answer(key)
        except KeyReusedError:
            stored = None
        if stored is not None:
            return _answer(Outcome(stored, replayed=True), request)
    raise unauthorized("invalid or expired token")


@auth_router.post(
    "/auth/logout",
    status_code=status.HTTP_204_NO_CONTENT,
    responses=_AUTH_ERRORS,
    openapi_extra=_KEYED,
)
async def logout(session: LoggingOutDep, request: Request) -> Response:
    """End this token's session: the token is refused from now on (401), except by a repeat
    of this logout with its Idempotency-Key (204)."""
    if session.ended:
        return await _logged_out_before(session, request)
    key = await _logout_key(session, request)
    if key is None:
        await session.services.sessions.end(session.claims)
        return Response(status_code=status.HTTP_204_NO_CONTENT)
    return _answer(await session.services.sessions.end_once(session.claims, key), request)


@auth_router.post(
    "/auth/logout-everywhere",
    status_code=status.HTTP_204_NO_CONTENT,
    responses=_AUTH_ERRORS,
    openapi_extra=_KEYED,
)
async def logout_everywhere(session: LoggingOutDep, request: Request) -> Response:
    """End every session of the user: every token issued so far is refused (401), except by a
    repeat of this request with its Idempotency-Key (204)."""
    if session.ended:
        return await _logged_out_before(session, request)
    sessions, user_id = session.services.sessions, session.claims.user_id
    key = await _logout_key(session, request)
    if key is None:
        await sessions.end_all(user_id)
        return Response(status_code=status.HTTP_204_NO_CONTENT)
    return _answer(await sessions.end_all_once(user_id, key), request)


@auth_router.get("/me", responses=_AUTH_ERRORS)
async def me(caller: CallerDep) -> UserOut:
    user = await caller.services.store.user_by_id(caller.user_id)
    if user is None:
        raise unauthorized("account no longer exists")
    return UserOut(id=user.id, email=user.email, created_at=user.created_at)


@auth_router.get("/me/todos", responses=_AUTH_ERRORS, response_model=TodosViewOut)
async def my_todos(
    caller: CallerDep,
    status_filter: StatusQuery = "all",
    limit: LimitQuery = DEFAULT_PAGE_SIZE,
    cursor: CursorQuery = None,
    offset: OffsetQuery = 0,
) -> Response:
    """`GET /me` and `GET /todos` in one answer (one database round trip): the list screen's."""
    start = _start_or_422(cursor, offset)
    view = await caller.services.store.todos_view(
        caller.user_id, status_filter, limit, start, offset
    )
    if view is None:
        raise unauthorized("account no longer exists")
    body = page_body(view.listing, status_filter, limit, offset)
    body["user"] = {"id": view.user_id, "email": view.email, "created_at": view.created_at}
    return _json(body)


def _start_or_422(cursor: str | None, offset: int) -> Cursor | None:
    try:
        return page_start(cursor, offset)
    except ValueError as error:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, str(error)) from None


@todo_router.get("", response_model=TodoPage)
async def list_todos(
    caller: CallerDep,
    status_filter: StatusQuery = "all",
    limit: LimitQuery = DEFAULT_PAGE_SIZE,
    cursor: CursorQuery = None,
    offset: OffsetQuery = 0,
) -> Response:
    """Newest first. Follow `next_cursor` (older), `prev_cursor` (newer) or `last_cursor`."""
    start = _start_or_422(cursor, offset)
    listing = await caller.services.store.list_todos(
        caller.user_id, status_filter, limit, start, offset
    )
    return _json(page_body(listing, status_filter, limit, offset))


@todo_router.post(
    "", status_code=status.HTTP_201_CREATED, response_model=TodoOut, openapi_extra=_KEYED
)
async def create_todo(body: TodoCreate, caller: CallerDep, request: Request) -> Response:
    store = caller.services.store
    key = await _user_key(request, caller)
    try:
        if key is None:
            todo = await store.create_todo(caller.user_id, body.title, body.description)
            return _json(todo, status.HTTP_201_CREATED)
        outcome = await store.create_todo_once(key, caller.user_id, body.title, body.description)
    except UnknownOwnerError:
        raise unauthorized("account no longer exists") from None
    return _answer(outcome, request)


@todo_router.get("/{todo_id}", responses=_TODO_ERRORS, response_model=TodoOut)
async def get_todo(todo_id: TodoId, caller: CallerDep) -> Response:
    todo = await caller.services.store.get_todo(caller.user_id, todo_id)
    if todo is None:
        raise _not_found(todo_id)
    return _json(todo)


@todo_router.patch(
    "/{todo_id}", responses=_TODO_ERRORS, response_model=TodoOut, openapi_extra=_KEYED
)
async def update_todo(
    todo_id: TodoId, body: TodoUpdate, caller: CallerDep, request: Request
) -> TodoOut | Response:
    changes = body.model_dump(include=body.model_fields_set)
    store = caller.services.store
    key = await _user_key(request, caller)
    if key is not None:
        return _answer(await store.update_todo_once(key, caller.user_id, todo_id, changes), request)
    todo = await store.update_todo(caller.user_id, todo_id, changes)
    if todo is None:
        raise _not_found(todo_id)
    return todo_out(todo)


async def _set_completed(
    todo_id: int, completed: bool, caller: Caller, request: Request
) -> Response:
    store = caller.services.store
    key = await _user_key(request, caller)
    if key is not None:
        outcome = await store.set_completed_once(key, caller.user_id, todo_id, completed)
        return _answer(outcome, request)
    todo = await store.set_completed(caller.user_id, todo_id, completed)
    if todo is None:
        raise _not_found(todo_id)
    return _json(todo)


@todo_router.post(
    "/{todo_id}/complete", responses=_TODO_ERRORS, response_model=TodoOut, openapi_extra=_KEYED
)
async def complete_todo(todo_id: TodoId, caller: CallerDep, request: Request) -> Response:
    return await _set_completed(todo_id, True, caller, request)


@todo_router.post(
    "/{todo_id}/uncomplete", responses=_TODO_ERRORS, response_model=TodoOut, openapi_extra=_KEYED
)
async def uncomplete_todo(todo_id: TodoId, caller: CallerDep, request: Request) -> Response:
    return await _set_completed(todo_id, False, caller, request)


@todo_router.delete(
    "/{todo_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    responses=_TODO_ERRORS,
    openapi_extra=_KEYED,
)
async def delete_todo(todo_id: TodoId, caller: CallerDep, request: Request) -> Response:
    store = caller.services.store
    key = await _user_key(request, caller)
    if key is not None:
        return _answer(await store.delete_todo_once(key, caller.user_id, todo_id), request)
    if not await store.delete_todo(caller.user_id, todo_id):
        raise _not_found(todo_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


# HEAD answers wherever GET does on the probes (load balancers and uptime checks use it).
@ops_router.get("/health")
@ops_router.head("/health", include_in_schema=False)
async def health() -> Status:
    return Status(status="ok")


@ops_router.get("/ready", responses={503: {"model": ErrorBody}})
@ops_router.head("/ready", include_in_schema=False)
async def ready(services: ServicesDep) -> Status:
    """Ready once this server has reached its database, and from then on whatever the
    database does: it is shared by every pod, so failing readiness with it would take every
    pod out of the Service at once (see the README's "Readiness")."""
    reach = services.database_reach
    if not reach.reached:
        problem = await database_answers(services.engine, services.settings.ready_timeout_seconds)
        if problem is not None:
            raise HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE, problem)
        reach.record()
    return Status(status="ready")
