"""The backend API, for what the plan does outside the load: accounts and reading writes back."""

from __future__ import annotations

import secrets
import time
from typing import Any

import httpx

from loadplan.journal import Observed

# Through a port-forward that a fault broke, a call waits for it to reopen.
ATTEMPTS = 20
RETRY_SECONDS = 1.5
PAGE_SIZE = 100
MAX_PAGES = 2000


class ApiError(RuntimeError):
    pass


class Api:
    def __init__(self, base_url: str) -> None:
        self.http = httpx.Client(base_url=base_url, timeout=15)

    def close(self) -> None:
        self.http.close()

    def _call(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        """One call, sent again on a connection error or a 502/503/504 (the API was away); a
        write sent again carries its Idempotency-Key."""
        problem = ""
        for _ in range(ATTEMPTS):
            try:
                response = self.http.request(method, path, **kwargs)
            except httpx.TransportError as error:
                problem = f"{type(error).__name__}: {error}"
            else:
                if response.status_code not in (502, 503, 504):
                    return response
                problem = f"answered {response.status_code}"
            time.sleep(RETRY_SECONDS)
        raise ApiError(f"{method} {path}: {problem} ({ATTEMPTS} attempts)")

    def log_in(self, email: str, password: str) -> str | None:
        """A token, or None when the account does not exist (or has another password)."""
        response = self._call("POST", "/auth/login", json={"email": email, "password": password})
        if response.status_code == 401:
            return None
        if response.status_code != 200:
            raise ApiError(f"log in as {email}: {response.status_code} {response.text[:300]}")
        return str(response.json()["access_token"])

    def sign_up(self, email: str, password: str) -> None:
        # Its key makes a sign-up sent again (after no answer) answer as the first did.
        response = self._call(
            "POST",
            "/auth/signup",
            json={"email": email, "password": password},
            headers={"Idempotency-Key": secrets.token_urlsafe(16)},
        )
        if response.status_code == 429:
            raise ApiError(
                "sign-ups from this address are throttled (the backend's "
                "SIGNUP_ADDRESS_ATTEMPTS per SIGNUP_WINDOW_SECONDS); retry after "
                f"{response.headers.get('Retry-After', '?')} s"
            )
        if response.status_code != 201:
            raise ApiError(f"sign up {email}: {response.status_code} {response.text[:300]}")

    def all_todos(self, token: str) -> list[Observed]:
        """Every todo of the account, page by page (newest first, by cursor)."""
        headers = {"Authorization": f"Bearer {token}"}
        todos: list[Observed] = []
        params: dict[str, str | int] = {"status": "all", "limit": PAGE_SIZE}
        for _ in range(MAX_PAGES):
            response = self._call("GET", "/todos", params=params, headers=headers)
            if response.status_code != 200:
                raise ApiError(f"list todos: {response.status_code} {response.text[:300]}")
            page = response.json()
            todos.extend(
                Observed(
                    int(item["id"]),
                    str(item["title"]),
                    item["description"],
                    bool(item["completed"]),
                )
                for item in page["items"]
            )
            if page["next_cursor"] is None:
                return todos
            params = {"status": "all", "limit": PAGE_SIZE, "cursor": page["next_cursor"]}
        raise ApiError(f"an account holds more than {MAX_PAGES * PAGE_SIZE} todos")
