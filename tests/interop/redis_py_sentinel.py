"""redis-py's Sentinel client against redsim Sentinels (driven by tests/sentinel_redsim_interop.rs).

Usage: redis_py_sentinel.py <sentinel ports, comma-separated> <master name>

Phase 1 finds the master and both replicas, writes through master_for (WAIT 2: on both
replicas), reads the write back through slave_for, then prints `phase1 ok master=<ip>:<port>`
and waits for a line on stdin (the test kills the master meanwhile). Phase 2 retries writes
through the same master_for client until they succeed on the new master (40 s at most) and
prints `failover ok new=<ip>:<port>`.
"""

import sys
import time

from redis.exceptions import ConnectionError, ReadOnlyError, TimeoutError
from redis.sentinel import MasterNotFoundError, Sentinel, SlaveNotFoundError

RETRYABLE = (ConnectionError, TimeoutError, ReadOnlyError, MasterNotFoundError, SlaveNotFoundError)


def until(deadline_s, what, f):
    """Calls f until it returns a true value without a retryable error."""
    deadline = time.time() + deadline_s
    while True:
        try:
            value = f()
            if value:
                return value
        except RETRYABLE as e:
            if time.time() > deadline:
                raise AssertionError(f"{what}: still failing: {e!r}")
        if time.time() > deadline:
            raise AssertionError(f"{what}: timed out")
        time.sleep(0.2)


def main():
    ports = [int(p) for p in sys.argv[1].split(",")]
    name = sys.argv[2]
    sentinel = Sentinel(
        [("127.0.0.1", p) for p in ports],
        socket_timeout=1.0,
        min_other_sentinels=len(ports) - 1,
    )
    old = sentinel.discover_master(name)
    replicas = sentinel.discover_slaves(name)
    assert len(replicas) == 2, replicas
    assert old not in replicas, (old, replicas)

    master = sentinel.master_for(name, socket_timeout=1.0)
    replica = sentinel.slave_for(name, socket_timeout=1.0)
    assert master.set("before", "v1") is True
    assert master.get("before") == b"v1"
    assert master.execute_command("WAIT", 2, 5000) == 2
    until(10, "the write reaches a replica", lambda: replica.get("before") == b"v1")
    try:
        replica.set("nope", "x")
        raise AssertionError("a replica accepted a write")
    except ReadOnlyError:
        pass

    print(f"phase1 ok master={old[0]}:{old[1]}", flush=True)
    sys.stdin.readline()

    until(40, "a write on the new master", lambda: master.set("after", "v2"))
    new = sentinel.discover_master(name)
    assert new != old, (new, old)
    assert master.get("after") == b"v2"
    assert master.get("before") == b"v1"
    until(10, "a read from a replica of the new master", lambda: replica.get("after") == b"v2")
    print(f"failover ok new={new[0]}:{new[1]}", flush=True)


if __name__ == "__main__":
    main()
