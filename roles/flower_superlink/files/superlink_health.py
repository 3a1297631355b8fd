# Run inside the SuperLink container: python -c <this> ADDRESS DATABASE SETTLE
# Healthy means: ListRuns on the Exec API answers twice, SETTLE seconds apart,
# and the database file exists. One answer is not enough: a SuperLink that
# cannot write its database serves requests for about a second, then dies.
import json
import sys
import time
from pathlib import Path

import grpc
from flwr.proto.exec_pb2 import ListRunsRequest
from flwr.proto.exec_pb2_grpc import ExecStub

address, database, settle = sys.argv[1], sys.argv[2], float(sys.argv[3])


def list_runs() -> int:
    with grpc.insecure_channel(address) as channel:
        return len(ExecStub(channel).ListRuns(ListRunsRequest(), timeout=5).run_dict)


try:
    list_runs()
    time.sleep(settle)
    runs = list_runs()
except grpc.RpcError as err:
    sys.exit(f"Exec API at {address} did not answer: {err.code().name} {err.details()}")
if not Path(database).is_file():
    sys.exit(f"database {database} does not exist inside the container")
print(json.dumps({"runs": runs, "database": database}))
