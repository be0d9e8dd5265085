"""Child process of ``columnar``: run one SQLite query through ADBC, write Arrow IPC.

Invoked as ``python -m repayguard.platform._sqlite_scan`` with a JSON request on stdin
(``database``, ``query``, ``params``, ``target``). It uses ADBC's low-level API (the DB-API
module imports pandas: a second of start-up) and owns its copy of the SQLite library alone.
"""

from __future__ import annotations

import json
import sys


def main() -> None:
    import adbc_driver_manager
    import adbc_driver_sqlite
    import pyarrow as pa
    import pyarrow.ipc as ipc

    request = json.load(sys.stdin)
    database = adbc_driver_sqlite.connect(f"file:{request['database']}?mode=ro")
    connection = adbc_driver_manager.AdbcConnection(database)
    statement = adbc_driver_manager.AdbcStatement(connection)
    try:
        statement.set_sql_query(request["query"])
        params = request["params"]
        if params:
            names = [f"p{i}" for i in range(len(params))]
            statement.bind(pa.record_batch([pa.array([p]) for p in params], names=names))
        stream, _ = statement.execute_query()
        table = pa.RecordBatchReader._import_from_c(stream.address).read_all()
    finally:
        statement.close()
        connection.close()
        database.close()
    with ipc.new_file(request["target"], table.schema) as writer:
        writer.write_table(table)


if __name__ == "__main__":
    main()
