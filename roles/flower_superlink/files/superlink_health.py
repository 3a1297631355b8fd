# Run inside the SuperLink container:
#   python -c <this> ADDRESS DATABASE SETTLE [CA_CERT SERVER_NAME]
# With CA_CERT the Exec API is reached over TLS, checking that the server
# certificate is valid for SERVER_NAME.
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
ca_cert, server_name = (sys.argv[4], sys.argv[5]) if len(sys.argv) > 5 else ("", "")


def channel() -> grpc.Channel:
    if not ca_cert:
        return grpc.insecure_channel(address)
    credentials = grpc.ssl_channel_credentials(root_certificates=Path(ca_cert).read_bytes())
    return grpc.secure_channel(address, credentials, options=[("grpc.ssl_target_name_override", server_name)])


def list_runs() -> int:
    with channel() as ch:
        return len(ExecStub(ch).ListRuns(ListRunsRequest(), timeout=5).run_dict)


try:
    list_runs()
    time.sleep(settle)
    runs = list_runs()
except grpc.RpcError as err:
    sys.exit(f"Exec API at {address} did not answer: {err.code().name} {err.details()}")
if not Path(database).is_file():
    sys.exit(f"database {database} does not exist inside the container")
print(json.dumps({"runs": runs, "database": database}))
