"""ClientApp: returns the model it was given (and, when asked, what it can reach)."""

from flwr.client import ClientApp, NumPyClient
from flwr.common import Context

from tinyapp.probe import exposed


class EchoClient(NumPyClient):
    def __init__(self, probe: bool) -> None:
        self.probe = probe

    def fit(self, parameters, config):  # type: ignore[no-untyped-def]
        return parameters, 1, {"exposed": "; ".join(exposed()) if self.probe else ""}

    def evaluate(self, parameters, config):  # type: ignore[no-untyped-def]
        return 0.0, 1, {"accuracy": 1.0}


def client_fn(context: Context):  # type: ignore[no-untyped-def]
    if context.run_config.get("fail-clientapp", False):
        raise RuntimeError("this run asked every ClientApp to fail (fail-clientapp)")
    return EchoClient(bool(context.run_config.get("probe-clientapp", False))).to_client()


app = ClientApp(client_fn=client_fn)
