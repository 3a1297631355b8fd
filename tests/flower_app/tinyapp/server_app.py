"""ServerApp: one round of FedAvg over a 1x1 model."""

import numpy as np
from flwr.common import Context, ndarrays_to_parameters
from flwr.server import ServerApp, ServerAppComponents, ServerConfig
from flwr.server.strategy import FedAvg


def server_fn(context: Context) -> ServerAppComponents:
    rounds = int(context.run_config["num-server-rounds"])
    # One SuperNode is enough: the TLS tests finish a run with a single node.
    strategy = FedAvg(
        initial_parameters=ndarrays_to_parameters([np.ones((1, 1))]),
        min_fit_clients=1,
        min_evaluate_clients=1,
        min_available_clients=1,
    )
    return ServerAppComponents(strategy=strategy, config=ServerConfig(num_rounds=rounds))


app = ServerApp(server_fn=server_fn)
