"""The transfer registry (GR-6): other apps plug in what moves when a grid changes hands.

grids must not import crm, fieldwork or campaigns. Each of them registers a participant at start-up
(`AppConfig.ready`):

    from grids.transfer import register_transfer_participant
    register_transfer_participant("crm.customers", move_customers)

A participant is `fn(*, grid, from_user, to_user, actor) -> int` (how many things it moved). It runs
inside the transfer's transaction: if any participant raises, the whole transfer rolls back.
"""
from __future__ import annotations

from typing import Any, Callable, Protocol


class TransferParticipant(Protocol):
    def __call__(self, *, grid: Any, from_user: Any, to_user: Any, actor: Any) -> int: ...


_PARTICIPANTS: dict[str, Callable[..., int]] = {}


def register_transfer_participant(name: str, fn: Callable[..., int]) -> None:
    """Register (or replace) the participant called `name`."""
    _PARTICIPANTS[name] = fn


def unregister_transfer_participant(name: str) -> None:
    _PARTICIPANTS.pop(name, None)


def transfer_participants() -> dict[str, Callable[..., int]]:
    return dict(sorted(_PARTICIPANTS.items()))
