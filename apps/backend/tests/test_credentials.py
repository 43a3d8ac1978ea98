"""Sign-up's password and address rules (credentials.py): each refusal names its field and
its reason; look-alike addresses are one account."""

from __future__ import annotations

import secrets
import uuid

import pytest
from fastapi.testclient import TestClient

from conftest import openapi_document

PASSPHRASE = "violet tractor spoons quietly"
# Cyrillic er, a, es and o: an all-Cyrillic word that looks like the Latin `paco`.
CYRILLIC_PACO = "\u0440\u0430\u0441\u043e"
CYRILLIC_A = "\u0430"


def _digits() -> str:
    # Digits belong to no script: unique local parts that stay single-script.
    return str(uuid.uuid4().int)[:12]


def _sign_up(client: TestClient, email: str, password: str = PASSPHRASE) -> tuple[int, object]:
    response = client.post("/auth/signup", json={"email": email, "password": password})
    return response.status_code, response.json()


def _refusal(field: str, reason: str, message: str) -> tuple[int, list[dict[str, object]]]:
    return 422, [{"type": reason, "loc": ["body", field], "msg": message}]


def _without_input(answer: tuple[int, object]) -> tuple[int, object]:
    status, body = answer
    assert isinstance(body, dict)
    return status, [{key: entry[key] for key in ("type", "loc", "msg")} for entry in body["detail"]]


COMMON = (
    "password_common",
    "This password is on a list of common or leaked passwords, so it is easy to guess. "
    "Choose another.",
)


@pytest.mark.parametrize(
    ("password", "reason", "message"),
    [
        ("password", *COMMON),
        ("12345678", *COMMON),
        ("Password1", *COMMON),  # the list is compared without case
        (" " * 8, "password_blank", "The password must contain something besides spaces."),
        (
            "\t \u3000 \n    ",
            "password_blank",
            "The password must contain something besides spaces.",
        ),
    ],
)
def test_weak_passwords_are_refused_with_their_reason(
    client: TestClient, password: str, reason: str, message: str
) -> None:
    email = f"weak-{_digits()}@example.com"
    assert _without_input(_sign_up(client, email, password)) == _refusal(
        "password", reason, message
    )


def test_the_email_as_password_is_refused_whatever_its_case(client: TestClient) -> None:
    email = f"bobby.tables{_digits()}@example.com"
    assert _without_input(_sign_up(client, email, f"  {email.upper()} ")) == _refusal(
        "password", "password_is_email", "The password must not be your email address."
    )


def test_the_part_before_the_at_as_password_is_refused(client: TestClient) -> None:
    email = f"bobby.tables{_digits()}@example.com"
    name = email.split("@")[0]
    assert _without_input(_sign_up(client, email, name.title())) == _refusal(
        "password",
        "password_is_email_name",
        "The password must not be the part of your email address before the @.",
    )


@pytest.mark.parametrize("password", [PASSPHRASE, secrets.token_urlsafe(24)])
def test_a_long_random_passphrase_is_accepted(client: TestClient, password: str) -> None:
    email = f"strong-{_digits()}@example.com"
    assert _sign_up(client, email, password)[0] == 201
    login = client.post("/auth/login", json={"email": email, "password": password})
    assert login.status_code == 200


def test_login_still_takes_a_password_that_sign_up_now_refuses(client: TestClient) -> None:
    # Accounts made before the rules keep working: login only checks the hash.
    response = client.post(
        "/auth/login", json={"email": f"old-{_digits()}@example.com", "password": "password"}
    )
    assert response.status_code == 401


MIXED_SCRIPTS = _refusal(
    "email",
    "email_mixed_scripts",
    "The part of the email address before the @ mixes alphabets whose letters look alike "
    "(such as Latin and Cyrillic).",
)


@pytest.mark.parametrize(
    "name",
    [f"{CYRILLIC_A}lice", "alice\u03b1\u03bb", f"p{CYRILLIC_A}yp{CYRILLIC_A}l"],
    ids=["latin-cyrillic", "latin-greek", "cyrillic-a-in-paypal"],
)
def test_a_local_part_that_mixes_look_alike_scripts_is_refused(
    client: TestClient, name: str
) -> None:
    email = f"{name}{_digits()}@example.com"
    assert _without_input(_sign_up(client, email)) == MIXED_SCRIPTS


def test_the_cyrillic_alice_is_refused_after_the_latin_one(client: TestClient) -> None:
    domain = f"d{_digits()}.example.com"
    assert _sign_up(client, f"alice@{domain}")[0] == 201
    assert _without_input(_sign_up(client, f"{CYRILLIC_A}lice@{domain}")) == MIXED_SCRIPTS


@pytest.mark.parametrize(
    "name",
    [
        "\u03b1\u03bb\u03af\u03ba\u03b7",  # Greek
        "\u0430\u043b\u0438\u0441\u0430",  # Cyrillic
        "alice\u5c71\u7530",  # Latin with Han
        "alice\u3055\u304f\u3089",  # Latin with Hiragana
    ],
    ids=["greek", "cyrillic", "latin-han", "latin-hiragana"],
)
def test_local_parts_the_moderately_restrictive_profile_allows_are_accepted(
    client: TestClient, name: str
) -> None:
    assert _sign_up(client, f"{name}{_digits()}@example.com")[0] == 201


def test_an_internationalised_domain_of_one_script_is_accepted(client: TestClient) -> None:
    email = f"user{_digits()}@\u043f\u0440\u0438\u043c\u0435\u0440.\u0440\u0444"
    status, body = _sign_up(client, email)
    assert status == 201
    assert isinstance(body, dict)
    me = client.get("/me", headers={"Authorization": f"Bearer {body['access_token']}"})
    assert me.json()["email"] == email


@pytest.mark.parametrize(
    ("first", "second"),
    [("paco", CYRILLIC_PACO), (CYRILLIC_PACO, "paco")],
    ids=["latin-first", "cyrillic-first"],
)
def test_an_address_that_looks_like_an_existing_one_is_a_conflict(
    client: TestClient, first: str, second: str
) -> None:
    digits = _digits()
    assert _sign_up(client, f"{first}{digits}@example.com")[0] == 201
    # The same answer as for the same address: it does not tell which account is there.
    assert _sign_up(client, f"{second}{digits}@example.com") == (
        409,
        {"detail": "an account with this email exists"},
    )


def test_a_look_alike_domain_is_a_conflict(client: TestClient) -> None:
    digits = _digits()
    assert _sign_up(client, f"user{digits}@example.com")[0] == 201
    look_alike = f"user{digits}@ex{CYRILLIC_A}mple.com"
    assert _sign_up(client, look_alike)[0] == 409


def test_a_look_alike_of_another_case_and_digits_is_a_conflict(client: TestClient) -> None:
    digits = _digits()
    assert _sign_up(client, f"Alice{digits}@example.com")[0] == 201
    assert _sign_up(client, f"a1ice{digits}@example.com")[0] == 409


def test_openapi_documents_each_refusal_of_sign_up(client: TestClient) -> None:
    document = openapi_document(client)
    responses = document["paths"]["/auth/signup"]["post"]["responses"]
    refused = responses["422"]
    for reason in (
        "password_blank",
        "password_common",
        "password_is_email",
        "password_is_email_name",
        "email_mixed_scripts",
    ):
        assert f"`{reason}`" in refused["description"]
    schema = refused["content"]["application/json"]["schema"]["$ref"]
    assert schema.removeprefix("#/components/schemas/") in document["components"]["schemas"]
    assert "looks the same" in responses["409"]["description"]


@pytest.mark.parametrize("password", ["short", "password", " " * 8])
def test_a_refused_password_is_not_echoed_back(client: TestClient, password: str) -> None:
    response = client.post(
        "/auth/signup", json={"email": f"echo{_digits()}@example.com", "password": password}
    )
    assert response.status_code == 422
    (detail,) = response.json()["detail"]
    assert detail["loc"] == ["body", "password"]
    assert "input" not in detail
    # Other fields still show what was sent, which helps the person correct it.
    refused_email = client.post(
        "/auth/signup", json={"email": "not an address", "password": PASSPHRASE}
    )
    assert refused_email.json()["detail"][0]["input"] == "not an address"
