"""``repayguard decide``'s companions: recent runs, and the Spark driver for the whole book."""
