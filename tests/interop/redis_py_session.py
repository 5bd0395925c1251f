"""A redis-py session against redsim-server: plain commands, pipelines, MULTI/EXEC,
WATCH conflicts, pub/sub and client names. Exits non-zero on the first mismatch."""
import sys
import redis

port = int(sys.argv[1])
r = redis.Redis(host="127.0.0.1", port=port, decode_responses=True)

assert r.ping() is True
assert r.set("k", "v") is True
assert r.get("k") == "v"
assert r.set("k", "w", nx=True) is None
assert r.incr("n") == 1 and r.incrby("n", 41) == 42
assert r.rpush("l", "a", "b", "c") == 3
assert r.lrange("l", 0, -1) == ["a", "b", "c"]
assert r.hset("h", mapping={"f1": "1", "f2": "2"}) == 2
assert r.hgetall("h") == {"f1": "1", "f2": "2"}
assert r.sadd("s", "x", "y") == 2 and r.smembers("s") == {"x", "y"}
assert r.zadd("z", {"a": 1, "b": 2.5}) == 2
assert r.zrange("z", 0, -1, withscores=True) == [("a", 1.0), ("b", 2.5)]
assert sorted(r.keys("*")) == ["h", "k", "l", "n", "s", "z"]
assert r.expire("k", 100) is True and 0 < r.ttl("k") <= 100
assert r.config_get("port") == {"port": str(port)}
info = r.info()
assert info["redis_version"] == "7.2.6" and info["role"] == "master", info

p = r.pipeline(transaction=True)
p.incr("n").get("n")
assert p.execute() == [43, "43"]

other = redis.Redis(host="127.0.0.1", port=port, decode_responses=True)
with r.pipeline() as p:
    p.watch("n")
    other.incr("n")
    p.multi()
    p.incr("n")
    try:
        p.execute()
        raise AssertionError("EXEC should have failed after a WATCHed key changed")
    except redis.WatchError:
        pass

ps = r.pubsub()
ps.subscribe("news")
assert ps.get_message(timeout=2)["type"] == "subscribe"
assert other.publish("news", "hello") == 1
msg = ps.get_message(timeout=2)
assert msg["type"] == "message" and msg["data"] == "hello", msg
ps.close()

r.client_setname("py")
assert r.client_getname() == "py"
try:
    r.execute_command("NOSUCHCOMMAND")
    raise AssertionError("unknown command accepted")
except redis.ResponseError as e:
    assert str(e).startswith("unknown command 'NOSUCHCOMMAND'"), e
print("redis-py session ok")
