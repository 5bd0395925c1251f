//! DEBUG PROTOCOL <type>: a sample of each reply type in the client's protocol (what the suite's
//! unit/protocol uses to check a client's RESP3 parsing).

use crate::commands::Call;
use crate::core::Server;
use crate::resp::Out;

/// DEBUG PROTOCOL string|integer|double|bignum|null|array|set|map|attrib|push|verbatim|true|false.
pub(super) fn protocol(s: &mut Server, call: &Call) {
    let kind = String::from_utf8_lossy(&call.args[2]).to_ascii_lowercase();
    sample(&mut s.reply(call.id), &kind);
}

// Redis' sample double is the literal 3.141, not an approximation of pi.
#[allow(clippy::approx_constant)]
fn sample(out: &mut Out, kind: &str) {
    match kind {
        "string" => out.bulk(b"Hello World"),
        "integer" => out.int(12345),
        "double" => out.double(3.141),
        "bignum" => out.big_number("1234567999999999999999999999999999999"),
        "null" => out.null(),
        "array" | "set" => {
            if kind == "set" {
                out.set(3);
            } else {
                out.array(3);
            }
            (0..3).for_each(|j| out.int(j));
        }
        "map" => {
            out.map(3);
            for j in 0..3 {
                out.int(j);
                out.boolean(j == 1);
            }
        }
        "attrib" => {
            if out.is_resp3() {
                out.attribute(1);
                out.bulk(b"key-popularity");
                out.array(2);
                out.bulk(b"key:123");
                out.int(90);
            }
            // An attribute only annotates: a real reply follows it.
            out.bulk(b"Some real reply following the attribute");
        }
        "push" if !out.is_resp3() => out.error("ERR RESP2 is not supported by this command"),
        "push" => {
            out.push(2);
            out.bulk(b"server-cpu-usage");
            out.int(42);
            // The push is out of band: a client waiting for a reply gets this one.
            out.bulk(b"Some real reply following the push reply");
        }
        "true" => out.boolean(true),
        "false" => out.boolean(false),
        "verbatim" => out.verbatim(b"This is a verbatim\nstring"),
        _ => out.error(
            "ERR Wrong protocol type name. Please use one of the following: \
             string|integer|double|bignum|null|array|set|map|attrib|push|verbatim|true|false",
        ),
    }
}

#[cfg(test)]
mod tests {
    use crate::config::{Allow, Config};
    use crate::core::testing::*;

    fn debug_server() -> TestServer {
        let mut t = TestServer::with_config(Config {
            enable_debug_command: Allow::Yes,
            ..Config::default()
        });
        t.connect(2);
        t.cmd_text(1, &["hello", "3"]);
        t
    }

    #[test]
    fn debug_protocol_replies_each_type_in_the_clients_protocol() {
        let mut t = debug_server();
        for (kind, resp3, resp2) in [
            ("double", ",3.141\r\n", "$5\r\n3.141\r\n"),
            (
                "bignum",
                "(1234567999999999999999999999999999999\r\n",
                "$37\r\n",
            ),
            ("null", "_\r\n", "$-1\r\n"),
            (
                "set",
                "~3\r\n:0\r\n:1\r\n:2\r\n",
                "*3\r\n:0\r\n:1\r\n:2\r\n",
            ),
            (
                "map",
                "%3\r\n:0\r\n#f\r\n:1\r\n#t\r\n",
                "*6\r\n:0\r\n:0\r\n:1\r\n:1\r\n",
            ),
            ("true", "#t\r\n", ":1\r\n"),
            (
                "verbatim",
                "=29\r\ntxt:This is a verbatim\nstring\r\n",
                "$25\r\n",
            ),
            ("attrib", "|1\r\n$14\r\nkey-popularity\r\n*2\r\n", "$39\r\n"),
            (
                "push",
                ">2\r\n$16\r\nserver-cpu-usage\r\n:42\r\n",
                "-ERR RESP2 is not",
            ),
        ] {
            assert!(
                t.cmd_text(1, &["debug", "protocol", kind])
                    .starts_with(resp3),
                "{kind}"
            );
            assert!(
                t.cmd_text(2, &["debug", "protocol", kind])
                    .starts_with(resp2),
                "{kind}"
            );
        }
        assert!(t
            .cmd_text(1, &["debug", "protocol", "nope"])
            .starts_with("-ERR Wrong protocol type name."));
        assert_eq!(
            t.cmd(&["debug", "nope"]),
            err("ERR unknown subcommand or wrong number of arguments for 'nope'. Try DEBUG HELP.")
        );
    }
}
