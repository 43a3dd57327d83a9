"""The suite runs with the network cut (scripts/test uses a private network namespace)."""

import os
import socket

import pytest


@pytest.mark.skipif(os.environ.get("RATHAUS_TEST_OFFLINE") != "1", reason="only inside the offline namespace")
def test_the_network_is_really_cut() -> None:
    for host, port in (("1.1.1.1", 443), ("8.8.8.8", 53)):
        with pytest.raises(OSError):
            socket.create_connection((host, port), timeout=2)
    with pytest.raises(OSError):
        socket.getaddrinfo("pypi.org", 443)
