"""Free TCP ports on 127.0.0.1 for the services a test starts.

bind(port 0) hands out a port from the kernel's ephemeral range, the range
every outgoing connection takes its local port from too. With the suite
running in parallel, a client connection of another test can take that
port between the choice and the daemon's bind, and the daemon then exits
with "Address already in use". So ports are drawn below that range, at
random, and checked free by binding them.

As a command: print N free ports (default 1) on one line.
"""
import random
import socket
import sys

_given = set()
_rng = random.SystemRandom()


def _ephemeral_low():
    try:
        with open("/proc/sys/net/ipv4/ip_local_port_range") as f:
            return int(f.read().split()[0])
    except (OSError, ValueError, IndexError):
        return 32768


def _bindable(port):
    with socket.socket() as s:
        try:
            s.bind(("127.0.0.1", port))
            return s.getsockname()[1]
        except OSError:
            return None


def free_port():
    """A free port, never the same twice in one process (a daemon given
    the same port for two listeners fails to start)."""
    low = _ephemeral_low()
    for _ in range(10000):
        # A machine whose ephemeral range starts low: the kernel's choice.
        port = _rng.randint(10000, low - 1) if low > 11000 else 0
        got = _bindable(port)
        if got is not None and got not in _given:
            _given.add(got)
            return got
    raise RuntimeError("no free port below %d" % low)


if __name__ == "__main__":
    print(*[free_port() for _ in range(int(sys.argv[1]) if len(sys.argv) > 1 else 1)])
