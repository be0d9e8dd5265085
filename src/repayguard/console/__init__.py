"""The web console: pages for the people who run repayguard, served by the API's application
under ``/console`` (server-rendered Jinja2, one stylesheet, plotly charts from the installed
package). Every page goes through the API's access guard and permission map, and acts through
the same use-cases as the API and the CLI."""

from fastapi import APIRouter
from fastapi.responses import HTMLResponse

from repayguard.console import (
    approvals,
    audit,
    borrowers,
    complaints,
    hardship,
    incidents,
    monitoring,
    pages,
    policies,
    shadow,
    simulations,
)
from repayguard.console.web import COOKIE, PREFIX, Console, error_page, login_redirect

router = APIRouter(tags=["console"], default_response_class=HTMLResponse, include_in_schema=False)
router.include_router(pages.router)
router.include_router(approvals.router)
router.include_router(complaints.router)
router.include_router(hardship.router)
router.include_router(incidents.router)
router.include_router(borrowers.router)
router.include_router(audit.router)
router.include_router(policies.router)
router.include_router(shadow.router)
router.include_router(simulations.router)
router.include_router(monitoring.router)

__all__ = ["COOKIE", "PREFIX", "Console", "error_page", "login_redirect", "router"]
