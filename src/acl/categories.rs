//! ACL command categories (`@read`, `@dangerous`, ...) and the categories of every command and
//! subcommand, as Redis 7.2's COMMAND INFO reports them (its own flags' categories included).

pub const KEYSPACE: u32 = 1;
pub const READ: u32 = 1 << 1;
pub const WRITE: u32 = 1 << 2;
pub const SET: u32 = 1 << 3;
pub const SORTEDSET: u32 = 1 << 4;
pub const LIST: u32 = 1 << 5;
pub const HASH: u32 = 1 << 6;
pub const STRING: u32 = 1 << 7;
pub const BITMAP: u32 = 1 << 8;
pub const PUBSUB: u32 = 1 << 12;
pub const ADMIN: u32 = 1 << 13;
pub const FAST: u32 = 1 << 14;
pub const SLOW: u32 = 1 << 15;
pub const BLOCKING: u32 = 1 << 16;
pub const DANGEROUS: u32 = 1 << 17;
pub const CONNECTION: u32 = 1 << 18;
pub const TRANSACTION: u32 = 1 << 19;

/// Every category in Redis' order (ACL CAT, COMMAND INFO); bit `i` is `NAMES[i]`.
pub const NAMES: [&str; 21] = [
    "keyspace",
    "read",
    "write",
    "set",
    "sortedset",
    "list",
    "hash",
    "string",
    "bitmap",
    "hyperloglog",
    "geo",
    "stream",
    "pubsub",
    "admin",
    "fast",
    "slow",
    "blocking",
    "dangerous",
    "connection",
    "transaction",
    "scripting",
];

/// The bit of a category name (without `@`, any case).
pub fn by_name(name: &str) -> Option<u32> {
    NAMES
        .iter()
        .position(|n| n.eq_ignore_ascii_case(name))
        .map(|i| 1 << i)
}

/// The names of the categories in `bits`, in Redis' order, each with its `@`.
pub fn names_of(bits: u32) -> Vec<String> {
    (0..NAMES.len())
        .filter(|i| bits & (1 << i) != 0)
        .map(|i| format!("@{}", NAMES[i]))
        .collect()
}

/// The categories of a command or subcommand (`config|set`); a command Redis does not have
/// is `@slow`.
pub fn of(full_name: &str) -> u32 {
    TABLE
        .binary_search_by(|(n, _)| n.cmp(&full_name))
        .map_or(SLOW, |i| TABLE[i].1)
}

/// Whether Redis treats `name` as a container: its ACL rules name its subcommands.
pub fn subcommands(name: &str) -> impl Iterator<Item = &'static str> + '_ {
    let start = TABLE.partition_point(|(n, _)| *n <= name);
    TABLE[start..]
        .iter()
        .map_while(move |(n, _)| n.strip_prefix(name)?.strip_prefix('|'))
}

/// Sorted by name.
const TABLE: &[(&str, u32)] = &[
    ("acl", SLOW),
    ("acl|cat", SLOW),
    ("acl|deluser", ADMIN | SLOW | DANGEROUS),
    ("acl|dryrun", ADMIN | SLOW | DANGEROUS),
    ("acl|genpass", SLOW),
    ("acl|getuser", ADMIN | SLOW | DANGEROUS),
    ("acl|help", SLOW),
    ("acl|list", ADMIN | SLOW | DANGEROUS),
    ("acl|load", ADMIN | SLOW | DANGEROUS),
    ("acl|log", ADMIN | SLOW | DANGEROUS),
    ("acl|save", ADMIN | SLOW | DANGEROUS),
    ("acl|setuser", ADMIN | SLOW | DANGEROUS),
    ("acl|users", ADMIN | SLOW | DANGEROUS),
    ("acl|whoami", SLOW),
    ("append", WRITE | STRING | FAST),
    ("auth", FAST | CONNECTION),
    ("bgrewriteaof", ADMIN | SLOW | DANGEROUS),
    ("bgsave", ADMIN | SLOW | DANGEROUS),
    ("bitcount", READ | BITMAP | SLOW),
    ("bitfield", WRITE | BITMAP | SLOW),
    ("bitfield_ro", READ | BITMAP | FAST),
    ("bitop", WRITE | BITMAP | SLOW),
    ("bitpos", READ | BITMAP | SLOW),
    ("blmove", WRITE | LIST | SLOW | BLOCKING),
    ("blpop", WRITE | LIST | SLOW | BLOCKING),
    ("brpop", WRITE | LIST | SLOW | BLOCKING),
    ("brpoplpush", WRITE | LIST | SLOW | BLOCKING),
    ("bzpopmax", WRITE | SORTEDSET | FAST | BLOCKING),
    ("bzpopmin", WRITE | SORTEDSET | FAST | BLOCKING),
    ("client", SLOW),
    ("client|caching", SLOW | CONNECTION),
    ("client|getname", SLOW | CONNECTION),
    ("client|getredir", SLOW | CONNECTION),
    ("client|help", SLOW | CONNECTION),
    ("client|id", SLOW | CONNECTION),
    ("client|info", SLOW | CONNECTION),
    ("client|kill", ADMIN | SLOW | DANGEROUS | CONNECTION),
    ("client|list", ADMIN | SLOW | DANGEROUS | CONNECTION),
    ("client|no-evict", ADMIN | SLOW | DANGEROUS | CONNECTION),
    ("client|no-touch", SLOW | CONNECTION),
    ("client|pause", ADMIN | SLOW | DANGEROUS | CONNECTION),
    ("client|reply", SLOW | CONNECTION),
    ("client|setinfo", SLOW | CONNECTION),
    ("client|setname", SLOW | CONNECTION),
    ("client|tracking", SLOW | CONNECTION),
    ("client|trackinginfo", SLOW | CONNECTION),
    ("client|unblock", ADMIN | SLOW | DANGEROUS | CONNECTION),
    ("client|unpause", ADMIN | SLOW | DANGEROUS | CONNECTION),
    ("command", SLOW | CONNECTION),
    ("command|count", SLOW | CONNECTION),
    ("command|docs", SLOW | CONNECTION),
    ("command|getkeys", SLOW | CONNECTION),
    ("command|getkeysandflags", SLOW | CONNECTION),
    ("command|help", SLOW | CONNECTION),
    ("command|info", SLOW | CONNECTION),
    ("command|list", SLOW | CONNECTION),
    ("config", SLOW),
    ("config|get", ADMIN | SLOW | DANGEROUS),
    ("config|help", SLOW),
    ("config|resetstat", ADMIN | SLOW | DANGEROUS),
    ("config|rewrite", ADMIN | SLOW | DANGEROUS),
    ("config|set", ADMIN | SLOW | DANGEROUS),
    ("copy", KEYSPACE | WRITE | SLOW),
    ("dbsize", KEYSPACE | READ | FAST),
    ("debug", ADMIN | SLOW | DANGEROUS),
    ("decr", WRITE | STRING | FAST),
    ("decrby", WRITE | STRING | FAST),
    ("del", KEYSPACE | WRITE | SLOW),
    ("discard", FAST | TRANSACTION),
    ("dump", KEYSPACE | READ | SLOW),
    ("echo", FAST | CONNECTION),
    ("exec", SLOW | TRANSACTION),
    ("exists", KEYSPACE | READ | FAST),
    ("expire", KEYSPACE | WRITE | FAST),
    ("expireat", KEYSPACE | WRITE | FAST),
    ("expiretime", KEYSPACE | READ | FAST),
    ("failover", ADMIN | SLOW | DANGEROUS),
    ("flushall", KEYSPACE | WRITE | SLOW | DANGEROUS),
    ("flushdb", KEYSPACE | WRITE | SLOW | DANGEROUS),
    ("get", READ | STRING | FAST),
    ("getbit", READ | BITMAP | FAST),
    ("getdel", WRITE | STRING | FAST),
    ("getex", WRITE | STRING | FAST),
    ("getrange", READ | STRING | SLOW),
    ("getset", WRITE | STRING | FAST),
    ("hdel", WRITE | HASH | FAST),
    ("hello", FAST | CONNECTION),
    ("hexists", READ | HASH | FAST),
    ("hget", READ | HASH | FAST),
    ("hgetall", READ | HASH | SLOW),
    ("hincrby", WRITE | HASH | FAST),
    ("hincrbyfloat", WRITE | HASH | FAST),
    ("hkeys", READ | HASH | SLOW),
    ("hlen", READ | HASH | FAST),
    ("hmget", READ | HASH | FAST),
    ("hmset", WRITE | HASH | FAST),
    ("hrandfield", READ | HASH | SLOW),
    ("hset", WRITE | HASH | FAST),
    ("hsetnx", WRITE | HASH | FAST),
    ("hstrlen", READ | HASH | FAST),
    ("hvals", READ | HASH | SLOW),
    ("incr", WRITE | STRING | FAST),
    ("incrby", WRITE | STRING | FAST),
    ("incrbyfloat", WRITE | STRING | FAST),
    ("info", SLOW | DANGEROUS),
    ("keys", KEYSPACE | READ | SLOW | DANGEROUS),
    ("lastsave", ADMIN | FAST | DANGEROUS),
    ("lcs", READ | STRING | SLOW),
    ("lindex", READ | LIST | SLOW),
    ("linsert", WRITE | LIST | SLOW),
    ("llen", READ | LIST | FAST),
    ("lmove", WRITE | LIST | SLOW),
    ("lmpop", WRITE | LIST | SLOW),
    ("lpop", WRITE | LIST | FAST),
    ("lpos", READ | LIST | SLOW),
    ("lpush", WRITE | LIST | FAST),
    ("lpushx", WRITE | LIST | FAST),
    ("lrange", READ | LIST | SLOW),
    ("lrem", WRITE | LIST | SLOW),
    ("lset", WRITE | LIST | SLOW),
    ("ltrim", WRITE | LIST | SLOW),
    ("memory", SLOW),
    ("memory|doctor", SLOW),
    ("memory|help", SLOW),
    ("memory|malloc-stats", SLOW),
    ("memory|purge", SLOW),
    ("memory|stats", SLOW),
    ("memory|usage", READ | SLOW),
    ("mget", READ | STRING | FAST),
    ("migrate", KEYSPACE | WRITE | SLOW | DANGEROUS),
    ("move", KEYSPACE | WRITE | FAST),
    ("mset", WRITE | STRING | SLOW),
    ("msetnx", WRITE | STRING | SLOW),
    ("multi", FAST | TRANSACTION),
    ("object", SLOW),
    ("object|encoding", KEYSPACE | READ | SLOW),
    ("object|freq", KEYSPACE | READ | SLOW),
    ("object|help", KEYSPACE | SLOW),
    ("object|idletime", KEYSPACE | READ | SLOW),
    ("object|refcount", KEYSPACE | READ | SLOW),
    ("persist", KEYSPACE | WRITE | FAST),
    ("pexpire", KEYSPACE | WRITE | FAST),
    ("pexpireat", KEYSPACE | WRITE | FAST),
    ("pexpiretime", KEYSPACE | READ | FAST),
    ("ping", FAST | CONNECTION),
    ("psetex", WRITE | STRING | SLOW),
    ("psubscribe", PUBSUB | SLOW),
    ("psync", ADMIN | SLOW | DANGEROUS),
    ("pttl", KEYSPACE | READ | FAST),
    ("publish", PUBSUB | FAST),
    ("pubsub", SLOW),
    ("pubsub|channels", PUBSUB | SLOW),
    ("pubsub|help", SLOW),
    ("pubsub|numpat", PUBSUB | SLOW),
    ("pubsub|numsub", PUBSUB | SLOW),
    ("pubsub|shardchannels", PUBSUB | SLOW),
    ("pubsub|shardnumsub", PUBSUB | SLOW),
    ("punsubscribe", PUBSUB | SLOW),
    ("quit", FAST | CONNECTION),
    ("randomkey", KEYSPACE | READ | SLOW),
    ("rename", KEYSPACE | WRITE | SLOW),
    ("renamenx", KEYSPACE | WRITE | FAST),
    ("replconf", ADMIN | SLOW | DANGEROUS),
    ("replicaof", ADMIN | SLOW | DANGEROUS),
    ("reset", FAST | CONNECTION),
    ("restore", KEYSPACE | WRITE | SLOW | DANGEROUS),
    ("role", ADMIN | FAST | DANGEROUS),
    ("rpop", WRITE | LIST | FAST),
    ("rpoplpush", WRITE | LIST | SLOW),
    ("rpush", WRITE | LIST | FAST),
    ("rpushx", WRITE | LIST | FAST),
    ("sadd", WRITE | SET | FAST),
    ("save", ADMIN | SLOW | DANGEROUS),
    ("scan", KEYSPACE | READ | SLOW),
    ("scard", READ | SET | FAST),
    ("sdiff", READ | SET | SLOW),
    ("sdiffstore", WRITE | SET | SLOW),
    ("select", FAST | CONNECTION),
    ("sentinel", ADMIN | SLOW | DANGEROUS),
    ("set", WRITE | STRING | SLOW),
    ("setbit", WRITE | BITMAP | SLOW),
    ("setex", WRITE | STRING | SLOW),
    ("setnx", WRITE | STRING | FAST),
    ("setrange", WRITE | STRING | SLOW),
    ("shutdown", ADMIN | SLOW | DANGEROUS),
    ("sinter", READ | SET | SLOW),
    ("sintercard", READ | SET | SLOW),
    ("sinterstore", WRITE | SET | SLOW),
    ("sismember", READ | SET | FAST),
    ("slaveof", ADMIN | SLOW | DANGEROUS),
    ("smembers", READ | SET | SLOW),
    ("smismember", READ | SET | FAST),
    ("smove", WRITE | SET | FAST),
    ("sort", WRITE | SET | SORTEDSET | LIST | SLOW | DANGEROUS),
    ("sort_ro", READ | SET | SORTEDSET | LIST | SLOW | DANGEROUS),
    ("spop", WRITE | SET | FAST),
    ("srandmember", READ | SET | SLOW),
    ("srem", WRITE | SET | FAST),
    ("strlen", READ | STRING | FAST),
    ("subscribe", PUBSUB | SLOW),
    ("substr", READ | STRING | SLOW),
    ("sunion", READ | SET | SLOW),
    ("sunionstore", WRITE | SET | SLOW),
    ("swapdb", KEYSPACE | WRITE | FAST | DANGEROUS),
    ("sync", ADMIN | SLOW | DANGEROUS),
    ("time", FAST),
    ("touch", KEYSPACE | READ | FAST),
    ("ttl", KEYSPACE | READ | FAST),
    ("type", KEYSPACE | READ | FAST),
    ("unlink", KEYSPACE | WRITE | FAST),
    ("unsubscribe", PUBSUB | SLOW),
    ("unwatch", FAST | TRANSACTION),
    ("wait", SLOW | CONNECTION),
    ("watch", FAST | TRANSACTION),
    ("zadd", WRITE | SORTEDSET | FAST),
    ("zcard", READ | SORTEDSET | FAST),
    ("zcount", READ | SORTEDSET | FAST),
    ("zdiff", READ | SORTEDSET | SLOW),
    ("zdiffstore", WRITE | SORTEDSET | SLOW),
    ("zincrby", WRITE | SORTEDSET | FAST),
    ("zinter", READ | SORTEDSET | SLOW),
    ("zintercard", READ | SORTEDSET | SLOW),
    ("zinterstore", WRITE | SORTEDSET | SLOW),
    ("zlexcount", READ | SORTEDSET | FAST),
    ("zmpop", WRITE | SORTEDSET | SLOW),
    ("zmscore", READ | SORTEDSET | FAST),
    ("zpopmax", WRITE | SORTEDSET | FAST),
    ("zpopmin", WRITE | SORTEDSET | FAST),
    ("zrandmember", READ | SORTEDSET | SLOW),
    ("zrange", READ | SORTEDSET | SLOW),
    ("zrangebylex", READ | SORTEDSET | SLOW),
    ("zrangebyscore", READ | SORTEDSET | SLOW),
    ("zrangestore", WRITE | SORTEDSET | SLOW),
    ("zrank", READ | SORTEDSET | FAST),
    ("zrem", WRITE | SORTEDSET | FAST),
    ("zremrangebylex", WRITE | SORTEDSET | SLOW),
    ("zremrangebyrank", WRITE | SORTEDSET | SLOW),
    ("zremrangebyscore", WRITE | SORTEDSET | SLOW),
    ("zrevrange", READ | SORTEDSET | SLOW),
    ("zrevrangebylex", READ | SORTEDSET | SLOW),
    ("zrevrangebyscore", READ | SORTEDSET | SLOW),
    ("zrevrank", READ | SORTEDSET | FAST),
    ("zscore", READ | SORTEDSET | FAST),
    ("zunion", READ | SORTEDSET | SLOW),
    ("zunionstore", WRITE | SORTEDSET | SLOW),
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_table_is_sorted_so_lookups_find_every_row() {
        assert!(TABLE.windows(2).all(|w| w[0].0 < w[1].0));
        assert_eq!(of("get"), READ | STRING | FAST);
        assert_eq!(of("config|set"), ADMIN | SLOW | DANGEROUS);
        assert_eq!(of("no-such-command"), SLOW);
    }

    #[test]
    fn containers_list_their_subcommands() {
        let subs: Vec<_> = subcommands("config").collect();
        assert_eq!(subs, ["get", "help", "resetstat", "rewrite", "set"]);
        assert_eq!(subcommands("get").count(), 0);
        assert_eq!(subcommands("client").count(), 18);
    }
}
