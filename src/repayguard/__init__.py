"""repayguard: decide, enforce, explain and govern per-borrower repayment-method controls."""

__version__ = "0.1.0"
