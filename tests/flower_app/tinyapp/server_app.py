"""ServerApp: one round of FedAvg over a 1x1 model."""

import numpy as np
from flwr.common import Context, ndarrays_to_parameters
from flwr.server import ServerApp, ServerAppComponents, ServerConfig
from flwr.server.strategy import FedAvg


def server_fn(context: Context) -> ServerAppComponents:
    rounds = int(context.run_config["num-server-rounds"])
    # One SuperNode is enough for the TLS tests; the federation test asks for
    # every node it deployed (--run-config min-nodes=N), so a completed run
    # proves each of them trained.
    nodes = int(context.run_config.get("min-nodes", 1))
    # Training only: each round message starts a ClientApp process on every
    # node (seconds of imports on a loaded test machine); an evaluate round
    # would double that and prove nothing more about the deployment.
    strategy = FedAvg(
        initial_parameters=ndarrays_to_parameters([np.ones((1, 1))]),
        fraction_evaluate=0.0,
        min_fit_clients=nodes,
        min_available_clients=nodes,
    )
    return ServerAppComponents(strategy=strategy, config=ServerConfig(num_rounds=rounds))


app = ServerApp(server_fn=server_fn)
