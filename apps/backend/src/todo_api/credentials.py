"""Sign-up rules for passwords (NIST SP 800-63B) and email addresses (Unicode UTS #39).

Passwords: a minimum length (schemas.Password) and a blocklist, no composition rules. The
blocklist is zxcvbn's list of the 30,000 passwords seen most often in a breach corpus.

Addresses: ICU's spoof checker. Each account stores the confusable skeleton of its address,
so that `alice@example.com` and the same with a Cyrillic `a` cannot both sign up, and a
local part may mix scripts only as far as UTS #39's "moderately restrictive" profile allows.
"""

from __future__ import annotations

import icu
from pydantic_core import PydanticCustomError
from zxcvbn.frequency_lists import FREQUENCY_LISTS

# Lowercase in the list: compared case-insensitively, so `Password1` is refused as `password1`.
COMMON_PASSWORDS = frozenset(FREQUENCY_LISTS["passwords"])


def normalise_email(email: str) -> str:
    return email.strip().lower()


def local_part(email: str) -> str:
    return email.rpartition("@")[0]


def password_problem(password: str, email: str | None) -> PydanticCustomError | None:
    """Why a new password is refused, or None. `email` is None when the address was invalid."""
    if password.strip() == "":
        return PydanticCustomError(
            "password_blank", "The password must contain something besides spaces."
        )
    if password.lower() in COMMON_PASSWORDS:
        return PydanticCustomError(
            "password_common",
            "This password is on a list of common or leaked passwords, so it is easy to "
            "guess. Choose another.",
        )
    if email is None:
        return None
    address = normalise_email(email)
    typed = normalise_email(password)
    if typed == address:
        return PydanticCustomError(
            "password_is_email", "The password must not be your email address."
        )
    if typed == local_part(address):
        return PydanticCustomError(
            "password_is_email_name",
            "The password must not be the part of your email address before the @.",
        )
    return None


# Built once: ICU loads its data when a checker is made; a configured checker is thread-safe.
# It checks the restriction level only; skeletons do not depend on the checks set.
_SPOOF_CHECKER = icu.SpoofChecker()
_SPOOF_CHECKER.setRestrictionLevel(icu.URestrictionLevel.MODERATELY_RESTRICTIVE)
_SPOOF_CHECKER.setChecks(icu.USpoofChecks.RESTRICTION_LEVEL)


def email_skeleton(email: str) -> str:
    """The UTS #39 skeleton of the normalised address: two addresses that look the same have
    the same skeleton (a Latin or a Cyrillic `a`; also `a1ice` and `alice`, `rn` and `m`)."""
    skeleton: str = _SPOOF_CHECKER.getSkeleton(0, normalise_email(email))
    return skeleton


def local_part_problem(email: str) -> PydanticCustomError | None:
    """Latin mixed with Cyrillic or Greek (or other mixes beyond "moderately restrictive")
    in the local part; one script, or Latin with Han, Hiragana and Katakana, is fine. The
    domain is IDNA's to judge."""
    if _SPOOF_CHECKER.check(local_part(email)) != 0:
        return PydanticCustomError(
            "email_mixed_scripts",
            "The part of the email address before the @ mixes alphabets whose letters look "
            "alike (such as Latin and Cyrillic).",
        )
    return None
