# Offline stand-in for the upstream flwr/supernode image: Flower builds it on
# the same base as flwr/superlink (a venv with flwr, user app 49999, HOME and
# WORKDIR /app); only the entrypoint differs. The SuperLink stand-in's venv
# also holds the test app's dependency (numpy), which a real deployment bakes
# into its own image FROM flwr/supernode.
ARG BASE_IMAGE
FROM ${BASE_IMAGE}
ENTRYPOINT ["flower-supernode"]
