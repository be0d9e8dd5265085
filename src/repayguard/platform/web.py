"""What an endpoint takes from the application serving it, declared as FastAPI dependencies
instead of read from ``request.app.state`` in each body: today the unit-of-work factory.

``api/app.py`` puts the container's factory on the application's state once; a route asks for
``work: UnitsOfWork`` and opens ``work()`` per transaction. (Who calls is the identity
capability's: ``identity.Caller``.)
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from repayguard.platform.uow import UnitOfWorkFactory


def units_of_work(request: Request) -> UnitOfWorkFactory:
    """The application's unit-of-work factory (one fresh unit per call)."""
    factory: UnitOfWorkFactory = request.app.state.uow
    return factory


UnitsOfWork = Annotated[UnitOfWorkFactory, Depends(units_of_work)]
