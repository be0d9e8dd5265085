"""HTTP endpoints of borrower profiles: thin, they call the same services as the CLI."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request

from repayguard.borrowers.schemas import ProfileIn, ProfileRead, ProfileSavedRead
from repayguard.borrowers.service import ReadProfile, SaveProfile, read_profile, save_profile
from repayguard.platform.crypto import Keyring
from repayguard.platform.dto import BorrowerKey
from repayguard.platform.records import record_of
from repayguard.platform.web import UnitsOfWork

router = APIRouter(tags=["borrowers"])


@router.put("/v1/borrowers/{borrower_id}/profile", response_model=ProfileSavedRead)
def put_profile(
    borrower_id: BorrowerKey, body: ProfileIn, request: Request, uow: UnitsOfWork
) -> ProfileSavedRead:
    """Register or replace a borrower's profile; personal fields are encrypted one by one."""
    keyring: Keyring = request.app.state.keyring
    saved = save_profile(
        SaveProfile(
            borrower_id=borrower_id,
            name=body.name,
            phone=body.phone,
            national_id=body.national_id,
            email=body.email,
            locale=body.locale,
            region=body.region,
            birth_year=body.birth_year,
        ),
        uow=uow(),
        keyring=keyring,
    )
    return ProfileSavedRead(
        borrower_id=saved.borrower_id,
        created=saved.created,
        changed_fields=list(saved.changed),
        locale=saved.locale,
        updated_at=saved.updated_at,
    )


@router.get("/v1/borrowers/{borrower_id}/profile", response_model=ProfileRead)
def get_profile(
    borrower_id: BorrowerKey,
    request: Request,
    uow: UnitsOfWork,
    reveal: Annotated[
        bool, Query(description="Return full values instead of masked ones (audited).")
    ] = False,
) -> ProfileRead:
    """A borrower's profile, masked unless ``reveal=true``; every read is audited."""
    keyring: Keyring = request.app.state.keyring
    profile = read_profile(
        ReadProfile(borrower_id=borrower_id, reveal=reveal), uow=uow(), keyring=keyring
    )
    return record_of(ProfileRead, profile)
