"""ClientApp: returns the model it was given."""

from flwr.client import ClientApp, NumPyClient
from flwr.common import Context


class EchoClient(NumPyClient):
    def fit(self, parameters, config):  # type: ignore[no-untyped-def]
        return parameters, 1, {}

    def evaluate(self, parameters, config):  # type: ignore[no-untyped-def]
        return 0.0, 1, {"accuracy": 1.0}


def client_fn(context: Context):  # type: ignore[no-untyped-def]
    return EchoClient().to_client()


app = ClientApp(client_fn=client_fn)
