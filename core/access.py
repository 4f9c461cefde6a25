"""The acting user: who may run the report, what they see, which prices apply (spec section 6)."""
from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.engine import Connection

from .errors import AccessDenied, NotFound
from .schema import users
from .settings import Settings


@dataclass(frozen=True)
class ActingUser:
    id: int
    username: str
    usertype: str
    own_providers: bool
    sees_money: bool = True

    @property
    def is_reseller(self) -> bool:
        return self.usertype == "reseller"

    @property
    def role(self) -> str:
        """The role as a person would name it."""
        if self.is_reseller:
            return "Reseller PRO" if self.own_providers else "reseller"
        return self.usertype


def authorise(row, settings: Settings) -> ActingUser:
    """Turn a users row into an ActingUser, or refuse with MOR's 'Access Denied'."""
    usertype = (row.usertype or "").lower()
    own_providers = bool(row.own_providers)
    user = ActingUser(id=int(row.id), username=row.username, usertype=usertype,
                      own_providers=own_providers)
    if usertype == "admin":
        return user
    if usertype == "reseller" and own_providers:
        return user
    if usertype == "reseller":
        raise AccessDenied(hint="a reseller needs Reseller PRO (own providers) to use this report")
    if usertype == "accountant":
        if not settings.accountant_stats:
            raise AccessDenied(hint="this accountant lacks the statistics permission "
                                    "(the 'accountant may see statistics' setting is off)")
        return ActingUser(id=user.id, username=user.username, usertype=usertype,
                          own_providers=False, sees_money=settings.accountant_financial)
    raise AccessDenied(hint=f"a MOR {usertype or 'user'} may not use this report; "
                            "log in as an admin, a Reseller PRO or an accountant")


def acting_user(conn: Connection, username: str, settings: Settings) -> ActingUser:
    row = conn.execute(select(users.c.id, users.c.username, users.c.usertype,
                              users.c.own_providers)
                       .where(users.c.username == username)).first()
    if row is None:
        raise NotFound("User was not found", hint=f"no MOR user is named '{username}'")
    return authorise(row, settings)
