# A Debian target host with systemd as PID 1, the kind of machine operators
# deploy to. Built on a debootstrap rootfs imported as BASE_IMAGE.
ARG BASE_IMAGE
FROM ${BASE_IMAGE}
# Kernel modules cannot be loaded from inside a container; on trixie this unit
# fails and keeps the system state at "degraded" instead of "running".
RUN systemctl mask systemd-modules-load.service \
    && rm -f /etc/machine-id /var/lib/dbus/machine-id \
    && touch /etc/machine-id
# /proc/sys is read-only in a container (the engine here refuses
# systempaths=unconfined through its API), so a nested dockerd 26+ (Debian 13)
# cannot disable IPv6 on a new container's interface and refuses to start any
# container. A real server has a writable /proc/sys; this drop-in only makes
# the test host behave like one. The docker_engine role never touches it.
RUN mkdir -p /etc/systemd/system/docker.service.d \
    && printf '[Service]\nEnvironment=DOCKER_ALLOW_IPV6_ON_IPV4_INTERFACE=1\n' \
       > /etc/systemd/system/docker.service.d/10-test-host.conf
STOPSIGNAL SIGRTMIN+3
CMD ["/lib/systemd/systemd"]
