"""The simulated people of the load plan (a Locust file, run by running.py in a subprocess).

`BrowserUser` is a person in a browser: it logs in with the login page's server action, opens
the list page, and adds, completes and deletes todos with the list's server actions, exactly
as the pages send them (see nextjs.py); about once in 60 actions it logs out and back in.
`ApiUser` is a client of the API behind the frontend (an MCP or script user): the same work
through the backend's REST endpoints with a bearer token, sending each write again with its
`Idempotency-Key` when the API was away, as the API asks its clients to.

Every write carries a key minted once per action (the frontend's forms carry one the same
way). About once in 20 creates the person sends the same action twice, as a double click or a
browser's resend does: the second answer must be the first, and the read-back fails the run
if the todo exists twice (read_back.py).

Every acknowledged write goes to the journal (journal.py), every request to the request log
(analysis.py). Both the run (the profile's steps, `LoadPlanShape`) and each user (a task
budget) stop by themselves. Settings come from the environment running.py sets (LOADPLAN_*).
"""

from __future__ import annotations

import csv
import itertools
import json
import os
import random
import secrets
import time
from pathlib import Path
from typing import Any

from locust import LoadTestShape, between, events, task
from locust.contrib.fasthttp import FastHttpUser, ResponseContextManager
from locust.exception import StopUser

from loadplan import journal, nextjs
from loadplan.analysis import Channel, RequestEvent, write_event_row
from loadplan.profiles import SPAWN_RATE

RUN_ID = os.environ.get("LOADPLAN_RUN_ID", "local")
API_URL = os.environ.get("LOADPLAN_API_URL", "")
STEPS: list[tuple[float, float, int]] = [
    (float(start), float(end), int(users))
    for start, end, users in json.loads(os.environ.get("LOADPLAN_STEPS", "[]"))
]
# A person's pause between two things they do.
THINK_SECONDS = (0.5, 1.5)
# The share of creates sent twice with one key (a double click, a browser's resend).
RESEND_SHARE = 0.05
# An API client's retries of one action: on no answer, 502, 503 or 504, with backoff, honouring
# Retry-After, within this budget (the frontend's own default budget for its backend calls).
API_RETRY_BUDGET_SECONDS = 15.0
API_RETRY_FIRST_SECONDS = 0.1
API_RETRY_MAX_SECONDS = 2.0
RETRIED_STATUSES = frozenset({0, 502, 503, 504})
# A retried action's single attempts, in Locust's own report only: the request log holds one
# row per action, as its client saw it.
ATTEMPT_PREFIX = "attempt: "
# Each user stops after this many tasks, whatever the clock says.
TASK_BUDGET = int(os.environ.get("LOADPLAN_TASK_BUDGET", "2000"))

_accounts_file = os.environ.get("LOADPLAN_ACCOUNTS")
_accounts: list[dict[str, str]] = (
    json.loads(Path(_accounts_file).read_text()) if _accounts_file else []
)
_next_account = itertools.cycle(_accounts)
_journal = open(os.environ.get("LOADPLAN_JOURNAL", os.devnull), "a", buffering=1)  # noqa: SIM115 (lives as long as the run)
_request_log = open(os.environ.get("LOADPLAN_EVENTS", os.devnull), "a", buffering=1, newline="")  # noqa: SIM115
_request_rows = csv.writer(_request_log)

# React's previous state for each action: the initial states of apps/frontend/src/lib/form-state.ts.
# A write's state also names the key its form carries (its hidden `idempotencyKey` field).
AUTH_FORM_STATE: dict[str, Any] = {
    "email": "",
    "fieldErrors": {},
    "formError": None,
    "idempotencyKey": None,  # logging in writes nothing
}
TODO_FORM_STATE: dict[str, Any] = {
    "status": "idle",
    "values": {"title": "", "description": ""},
    "fieldErrors": {},
    "formError": None,
}
TODO_ACTION_STATE: dict[str, Any] = {"error": None}
API_PREFIX = "API "
# The list page shows its form only when the list loaded (not on its "can't be loaded" state).
LIST_LOADED_MARKER = 'class="add-form"'

# Log-out's id is in a script, which a browser fetches once and keeps: so does this process.
_script_actions: dict[str, str] = {}
_scripts_read: set[str] = set()


def _note_start(**_: Any) -> None:
    """The moment the profile's clock starts, for the driver's timeline."""
    started_file = os.environ.get("LOADPLAN_STARTED")
    if started_file:
        Path(started_file).write_text(f"{time.time():.3f}")


def _log_request(
    name: str, response_time: float, exception: BaseException | None, start_time: float, **_: Any
) -> None:
    if name.startswith(ATTEMPT_PREFIX):
        return
    at = start_time + response_time / 1000
    event = RequestEvent(at, _channel(name), name, response_time, exception is None)
    write_event_row(_request_rows.writerow, event)


def _channel(name: str) -> Channel:
    return "api" if name.startswith(API_PREFIX) else "frontend"


# Locust's EventHook is not annotated.
events.test_start.add_listener(_note_start)  # type: ignore[no-untyped-call]
events.request.add_listener(_log_request)  # type: ignore[no-untyped-call]


class LoadPlanShape(LoadTestShape):
    """The profile's steps: so many users from one second to another, then the end."""

    began: float | None = None

    def tick(self) -> tuple[int, float] | None:
        if self.began is None:
            self.began = time.monotonic()
        now = time.monotonic() - self.began
        for start, end, users in STEPS:
            if start <= now < end:
                return users, SPAWN_RATE
        return None


class PlanUser(FastHttpUser):
    abstract = True
    wait_time = between(*THINK_SECONDS)

    def on_start(self) -> None:
        account = next(_next_account)
        self.email = account["email"]
        self.password = account["password"]
        self.tasks_done = 0
        self.created = 0
        # Todos this user made and knows the id of: the ones it completes and deletes.
        self.open_ids: list[int] = []
        self.done_ids: list[int] = []
        # Titles of creates acknowledged once: a resend's answer is not journaled again.
        self.sent_titles: set[str] = set()

    def spend_budget(self) -> None:
        self.tasks_done += 1
        if self.tasks_done > TASK_BUDGET:
            raise StopUser

    def new_title(self, channel: str) -> str:
        self.created += 1
        return f"loadplan-{RUN_ID}-{channel}-{id(self):x}-{self.created}"

    @staticmethod
    def new_key() -> str:
        """An idempotency key, minted once per action (22 URL-safe characters)."""
        return secrets.token_urlsafe(16)

    @staticmethod
    def resends() -> bool:
        return random.random() < RESEND_SHARE  # noqa: S311 (not security)

    def record(self, operation: journal.Operation, todo_id: int | None, **content: Any) -> None:
        journal.append(
            _journal,
            journal.Entry(operation, time.time(), self.email, todo_id, **content),
        )

    @staticmethod
    def take(*pools: list[int]) -> int | None:
        """One of this user's todos from `pools`, removed from what it will touch again."""
        filled = [pool for pool in pools if pool]
        if not filled:
            return None
        pool = random.choice(filled)  # noqa: S311 (not security)
        return pool.pop(random.randrange(len(pool)))  # noqa: S311


class BrowserUser(PlanUser):
    """A person using the frontend in a browser."""

    weight = 4

    def on_start(self) -> None:
        super().on_start()
        self.actions: dict[str, str] = {}
        self.signed_in = False
        self.log_in()

    def action(
        self, page: str, name: str, action_id: str, body: str, content_type: str
    ) -> ResponseContextManager:
        headers = {
            "Next-Action": action_id,
            "Accept": "text/x-component",
            "Content-Type": content_type,
            # A browser's POST names its origin; the frontend refuses a foreign one.
            "Origin": self.host,
        }
        return self.client.post(
            page,
            data=body,
            headers=headers,
            name=f"action {name}",
            catch_response=True,
            allow_redirects=False,
        )

    def form_action(
        self,
        page: str,
        name: str,
        action_id: str,
        state: dict[str, Any] | None,
        fields: dict[str, str],
    ) -> ResponseContextManager:
        body, content_type = nextjs.multipart(
            nextjs.form_call(state, fields), secrets.token_hex(12)
        )
        return self.action(page, name, action_id, body, content_type)

    def log_in(self) -> None:
        with self.client.get("/login", name="GET /login (page)", catch_response=True) as page:
            try:
                action_id = nextjs.actions_by_prop(nextjs.flight_payload(page.text or ""))["action"]
            except (nextjs.ProtocolError, KeyError) as error:
                page.failure(f"the login page offers no login action: {error}")
                return
        fields = {"email": self.email, "password": self.password}
        with self.form_action("/login", "logIn", action_id, AUTH_FORM_STATE, fields) as answer:
            target = nextjs.redirect_of(answer.headers.get("x-action-redirect"))
            if answer.status_code == 200 and target == "/todos":
                self.signed_in = True
                answer.success()
            else:
                answer.failure(
                    f"log in answered {answer.status_code}: {_describe(_result(answer))}"
                )

    @task(30)
    def open_list(self) -> None:
        self.spend_budget()
        if not self.signed_in:
            self.log_in()
            return
        status = random.choice(["all", "all", "open", "done"])  # noqa: S311
        with self.client.get(
            f"/todos?status={status}",
            name="GET /todos (page)",
            catch_response=True,
            allow_redirects=False,
        ) as page:
            html = page.text or ""
            if page.status_code in (303, 307) and "/login" in page.headers.get("location", ""):
                self.signed_in = False
                page.failure("the list sent a signed-in person to log in")
            elif page.status_code != 200 or LIST_LOADED_MARKER not in html:
                page.failure(f"the list did not load ({page.status_code})")
            else:
                self.learn_actions(html)
                page.success()

    def learn_actions(self, html: str) -> None:
        self.actions.update(nextjs.actions_by_prop(nextjs.flight_payload(html)))
        for script in nextjs.scripts_of(html):
            if script in _scripts_read:
                continue
            _scripts_read.add(script)
            response = self.client.get(script, name="GET /_next/static (script)")
            _script_actions.update(nextjs.actions_by_name(response.text or ""))

    def todo_action(self, key: str) -> str | None:
        """The id of a list action; the list page must have been seen first."""
        if not self.signed_in:
            return None
        found = self.actions.get(key) or _script_actions.get(key)
        if found is None:
            self.open_list()
        return self.actions.get(key) or _script_actions.get(key)

    @task(15)
    def add_todo(self) -> None:
        self.spend_budget()
        action_id = self.todo_action("action")
        if action_id is None:
            return
        title = self.new_title("frontend")
        description = "added through the list page"
        fields = {"title": title, "description": description, "idempotencyKey": self.new_key()}
        sends = 2 if self.resends() else 1
        for _ in range(sends):
            if not self.send_add(action_id, title, description, fields):
                return

    def send_add(
        self, action_id: str, title: str, description: str, fields: dict[str, str]
    ) -> bool:
        """One add sent; a resend of the same action finds its todo already there."""
        state = {**TODO_FORM_STATE, "idempotencyKey": fields["idempotencyKey"]}
        with self.form_action("/todos", "addTodo", action_id, state, fields) as answer:
            result = _result(answer)
            if (
                answer.status_code == 200
                and isinstance(result, dict)
                and result.get("status") == "saved"
            ):
                todo_id = nextjs.todo_id_in(answer.text or "", title)
                if fields["title"] not in self.sent_titles:
                    self.sent_titles.add(fields["title"])
                    self.record(
                        "create", todo_id, title=title, description=description, channel="frontend"
                    )
                    if todo_id is not None:
                        self.open_ids.append(todo_id)
                answer.success()
                return True
            answer.failure(f"add answered {answer.status_code}: {_describe(result)}")
            return False

    def one_click(self, name: str, action_key: str, todo_id: int, fields: dict[str, str]) -> bool:
        action_id = self.todo_action(action_key)
        if action_id is None:
            return False
        key = self.new_key()
        fields = {**fields, "idempotencyKey": key}
        state = {**TODO_ACTION_STATE, "idempotencyKey": key}
        with self.form_action("/todos", name, action_id, state, fields) as answer:
            result = _result(answer)
            if (
                answer.status_code == 200
                and isinstance(result, dict)
                and result.get("error") is None
            ):
                answer.success()
                return True
            answer.failure(f"{name} answered {answer.status_code}: {_describe(result)}")
            return False

    @task(10)
    def complete_todo(self) -> None:
        self.spend_budget()
        todo_id = self.take(self.open_ids)
        if todo_id is None:
            self.add_todo()
            return
        self.record("complete-sent", todo_id)
        if self.one_click(
            "setTodoCompleted", "setCompleted", todo_id, {"id": str(todo_id), "completed": "true"}
        ):
            self.record("complete", todo_id)
            self.done_ids.append(todo_id)

    @task(5)
    def delete_todo(self) -> None:
        self.spend_budget()
        todo_id = self.take(self.open_ids, self.done_ids)
        if todo_id is None:
            return
        self.record("delete-sent", todo_id)
        if self.one_click("deleteTodo", "deleteTodo", todo_id, {"id": str(todo_id)}):
            self.record("delete", todo_id)

    # About once in 60 actions: a session lasts a while, and each login hashes a password.
    @task(1)
    def log_out_and_in(self) -> None:
        self.spend_budget()
        action_id = self.todo_action("logOut")
        if action_id is None:
            return
        # logOut takes the form alone (its idempotency key), without a previous state.
        fields = {"idempotencyKey": self.new_key()}
        with self.form_action("/todos", "logOut", action_id, None, fields) as answer:
            if (
                answer.status_code == 200
                and nextjs.redirect_of(answer.headers.get("x-action-redirect")) == "/login"
            ):
                answer.success()
            else:
                answer.failure(f"log out answered {answer.status_code}")
        self.signed_in = False
        self.actions.clear()
        self.log_in()


class ApiUser(PlanUser):
    """A client of the API behind the frontend, with a bearer token. Its requests name the
    API's full URL: Locust gives every user class the frontend's `--host`."""

    weight = 1

    def on_start(self) -> None:
        super().on_start()
        self.headers: dict[str, str] = {}
        self.log_in()

    def log_in(self) -> None:
        credentials = {"email": self.email, "password": self.password}
        status, body = self.call("POST", "/auth/login", "POST /auth/login", json_body=credentials)
        if status == 200 and isinstance(body, dict):
            self.headers = {"Authorization": f"Bearer {body['access_token']}"}
        else:
            self.headers = {}

    def has_token(self) -> bool:
        if not self.headers:
            self.log_in()
        return bool(self.headers)

    def call(
        self,
        method: str,
        path: str,
        name: str,
        *,
        expect: int = 200,
        json_body: Any = None,
        key: str | None = None,
    ) -> tuple[int, Any]:
        """One action: sent again (with its key, for a write) on no answer, 502, 503 or 504,
        after Retry-After or a growing backoff, until API_RETRY_BUDGET_SECONDS have passed.
        The request log gets one row for it, timed from the first attempt to the last answer."""
        headers = dict(self.headers)
        if key is not None:
            headers["Idempotency-Key"] = key
        began, began_wall = time.monotonic(), time.time()
        backoff = API_RETRY_FIRST_SECONDS
        status, body, problem = 0, None, ""
        while True:
            with self.client.request(
                method,
                f"{API_URL}{path}",
                json=json_body,
                headers=headers,
                name=f"{ATTEMPT_PREFIX}{API_PREFIX}{name}",
                catch_response=True,
            ) as answer:
                status = answer.status_code
                retry_after = _retry_after(answer.headers.get("Retry-After"))
                if status == expect:
                    body = answer.json() if answer.text else None
                    answer.success()
                else:
                    answer.failure(f"answered {status}")
            if status == expect or status not in RETRIED_STATUSES:
                problem = "" if status == expect else f"{name} answered {status}"
                break
            pause = min(retry_after or backoff, API_RETRY_MAX_SECONDS)
            if time.monotonic() - began + pause > API_RETRY_BUDGET_SECONDS:
                problem = (
                    f"{name} answered {status or 'nothing'} for {API_RETRY_BUDGET_SECONDS:g} s"
                )
                break
            time.sleep(pause)
            backoff = min(backoff * 2, API_RETRY_MAX_SECONDS)
        self.environment.events.request.fire(
            request_type=method,
            name=f"{API_PREFIX}{name}",
            response_time=(time.monotonic() - began) * 1000,
            response_length=0,
            exception=RuntimeError(problem) if problem else None,
            start_time=began_wall,
            context={},
            url=f"{API_URL}{path}",
        )
        return status, body

    @task(6)
    def list_todos(self) -> None:
        self.spend_budget()
        if self.has_token():
            status = random.choice(["all", "open", "done"])  # noqa: S311
            self.call("GET", f"/todos?status={status}&limit=20", "GET /todos")

    @task(3)
    def create_todo(self) -> None:
        self.spend_budget()
        if not self.has_token():
            return
        title = self.new_title("api")
        body = {"title": title, "description": None}
        key = self.new_key()
        for _ in range(2 if self.resends() else 1):
            status, created = self.call(
                "POST", "/todos", "POST /todos", expect=201, json_body=body, key=key
            )
            if status != 201 or not isinstance(created, dict):
                return
            if title not in self.sent_titles:
                self.sent_titles.add(title)
                todo_id = int(created["id"])
                self.record("create", todo_id, title=title, description=None, channel="api")
                self.open_ids.append(todo_id)

    @task(2)
    def complete_todo(self) -> None:
        self.spend_budget()
        todo_id = self.take(self.open_ids)
        if todo_id is None or not self.has_token():
            return
        self.record("complete-sent", todo_id)
        status, _ = self.call(
            "POST",
            f"/todos/{todo_id}/complete",
            "POST /todos/{id}/complete",
            key=self.new_key(),
        )
        if status == 200:
            self.record("complete", todo_id)
            self.done_ids.append(todo_id)

    @task(1)
    def delete_todo(self) -> None:
        self.spend_budget()
        todo_id = self.take(self.open_ids, self.done_ids)
        if todo_id is None or not self.has_token():
            return
        self.record("delete-sent", todo_id)
        status, _ = self.call(
            "DELETE", f"/todos/{todo_id}", "DELETE /todos/{id}", expect=204, key=self.new_key()
        )
        if status == 204:
            self.record("delete", todo_id)


def _retry_after(header: str | None) -> float | None:
    """Retry-After's seconds (the API sends whole seconds), None when absent or not a number."""
    try:
        return float(header) if header else None
    except ValueError:
        return None


def _result(answer: ResponseContextManager) -> Any:
    if answer.status_code != 200:
        return None
    try:
        return nextjs.result_of(answer.text or "")
    except nextjs.ProtocolError:
        return None


def _describe(result: Any) -> str:
    if isinstance(result, dict):
        return str(
            result.get("formError") or result.get("error") or result.get("fieldErrors") or result
        )
    return "no action result"
