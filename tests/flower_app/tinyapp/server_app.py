"""ServerApp: one round of FedAvg over a 1x1 model.

With --run-config probe-serverapp=true (probe-clientapp=true) the ServerApp
(every ClientApp) first looks for what it should not reach (tinyapp/probe.py);
the run then fails, naming it, if any of them found something."""

import numpy as np
from flwr.common import Context, ndarrays_to_parameters
from flwr.server import ServerApp, ServerAppComponents, ServerConfig
from flwr.server.strategy import FedAvg

from tinyapp.probe import exposed


def refuse_exposed(metrics):  # type: ignore[no-untyped-def]
    found = [str(m.get("exposed", "")) for _, m in metrics if m.get("exposed")]
    if found:
        raise RuntimeError(f"a ClientApp can reach: {' | '.join(found)}")
    return {}


def server_fn(context: Context) -> ServerAppComponents:
    if context.run_config.get("probe-serverapp", False) and (found := exposed()):
        raise RuntimeError(f"the ServerApp can reach: {'; '.join(found)}")
    probe_clients = bool(context.run_config.get("probe-clientapp", False))
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
        accept_failures=not probe_clients,
        fit_metrics_aggregation_fn=refuse_exposed if probe_clients else None,
    )
    return ServerAppComponents(strategy=strategy, config=ServerConfig(num_rounds=rounds))


app = ServerApp(server_fn=server_fn)
