"""repayguard: decide, enforce, explain and govern per-borrower repayment-method controls."""
