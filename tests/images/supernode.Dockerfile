# Offline stand-in for the upstream flwr/supernode image: Flower builds it on
# the same base as flwr/superlink (a venv with flwr, user app 49999, HOME and
# WORKDIR /app); only the entrypoint differs. The SuperLink stand-in's venv
# also holds the test app's dependency (numpy), which a real deployment bakes
# into its own image FROM flwr/supernode. Like Flower's base image, the venv
# has pip, which an image built FROM it installs the ClientApp's
# dependencies with (flower_supernode_app_requirements).
ARG BASE_IMAGE
FROM ${BASE_IMAGE}
USER root
COPY wheels/ /tmp/pip/
RUN wheel=$(ls /tmp/pip/pip-*.whl) \
    && python "$wheel/pip" install --no-index --no-cache-dir --no-compile "$wheel" \
    && rm -rf /tmp/pip \
    && chown -R app:app /python/venv
USER app
ENTRYPOINT ["flower-supernode"]
