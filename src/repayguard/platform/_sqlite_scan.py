"""Child process of ``columnar``: run one SQLite query through ADBC, write Arrow IPC.

Invoked as ``python -m repayguard.platform._sqlite_scan`` with a JSON request on stdin
(``database``, ``query``, ``params``, ``target``). It imports only pyarrow and the ADBC driver,
so it starts in a fraction of a second, and it owns its copy of the SQLite library alone.
"""

from __future__ import annotations

import json
import sys


def main() -> None:
    import adbc_driver_sqlite.dbapi as adbc_sqlite
    import pyarrow.feather as feather

    request = json.load(sys.stdin)
    uri = f"file:{request['database']}?mode=ro"
    with adbc_sqlite.connect(uri) as connection, connection.cursor() as cursor:
        cursor.execute(request["query"], request["params"])
        table = cursor.fetch_arrow_table()
    feather.write_feather(table, request["target"], compression="uncompressed")


if __name__ == "__main__":
    main()
