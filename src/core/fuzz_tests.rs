//! Fuzz-style tests of the codec and the core: random, truncated and mutated byte streams must
//! never panic, must only produce well-formed RESP, and must end with Redis' protocol error and a
//! closed connection exactly when the input was not RESP.

use super::testing::TestServer;
use crate::resp::{encode_command, parse_frame, parse_request, Frame, Limits, Parsed};
use bytes::BytesMut;
use rand_chacha::ChaCha8Rng;
use rand_core::{RngCore, SeedableRng};

const COMMANDS: &[&[&str]] = &[
    &["SET", "k", "v"],
    &["GET", "k"],
    &["PING"],
    &["MULTI"],
    &["EXEC"],
    &["SUBSCRIBE", "ch"],
    &["SELECT", "3"],
    &["CLIENT", "SETNAME", "x"],
    &["ECHO", "\r\n\0binary"],
];

fn random_stream(rng: &mut ChaCha8Rng) -> Vec<u8> {
    let mut out = Vec::new();
    for _ in 0..(rng.next_u32() % 6) {
        let cmd = COMMANDS[rng.next_u32() as usize % COMMANDS.len()];
        let mut bytes = encode_command(cmd).to_vec();
        match rng.next_u32() % 4 {
            0 => bytes.truncate(rng.next_u32() as usize % (bytes.len() + 1)),
            1 => {
                let i = rng.next_u32() as usize % bytes.len();
                bytes[i] = rng.next_u32() as u8;
            }
            2 => {
                bytes = (0..rng.next_u32() % 64)
                    .map(|_| rng.next_u32() as u8)
                    .collect()
            }
            _ => {}
        }
        out.extend(bytes);
    }
    out
}

/// All replies in `out` parse as RESP; returns them.
fn frames(mut out: &[u8]) -> Vec<Frame> {
    let mut v = Vec::new();
    while !out.is_empty() {
        let (f, n) = parse_frame(out, usize::MAX)
            .expect("valid RESP")
            .expect("whole frame");
        v.push(f);
        out = &out[n..];
    }
    v
}

#[test]
fn random_streams_never_panic_and_only_emit_valid_resp() {
    let mut rng = ChaCha8Rng::seed_from_u64(2024);
    for round in 0..3000 {
        let mut t = TestServer::new();
        let stream = random_stream(&mut rng);
        // Feed in random-sized chunks, as a network would.
        let mut rest = &stream[..];
        while !rest.is_empty() {
            let n = 1 + rng.next_u32() as usize % rest.len();
            t.send_raw(1, &rest[..n]);
            rest = &rest[n..];
        }
        let replies = frames(&t.take_output(1));
        let protocol_errors: Vec<&Frame> = replies
            .iter()
            .filter(|f| matches!(f, Frame::Error(e) if e.starts_with("ERR Protocol error")))
            .collect();
        assert!(
            protocol_errors.len() <= 1,
            "round {round}: more than one protocol error"
        );
        if !protocol_errors.is_empty() {
            assert!(
                t.closed(1),
                "round {round}: a protocol error must close the connection"
            );
            assert_eq!(
                replies.last(),
                protocol_errors.last().copied(),
                "round {round}: nothing after the protocol error"
            );
        }
    }
}

#[test]
fn codec_agrees_with_itself_on_every_split_point() {
    let mut rng = ChaCha8Rng::seed_from_u64(7);
    let limits = Limits {
        proto_max_bulk_len: 1 << 20,
        authenticated: true,
    };
    for _ in 0..2000 {
        let stream = random_stream(&mut rng);
        let whole = parse_request(&BytesMut::from(&stream[..]), limits);
        for cut in 0..stream.len() {
            let part = parse_request(&BytesMut::from(&stream[..cut]), limits);
            // A prefix is either incomplete, or parses to the same first frame / the same error
            // class the whole stream gives (errors can be detected early).
            match (&part, &whole) {
                (Ok(Parsed::Incomplete), _) => {}
                (Ok(Parsed::Command(a, n)), Ok(Parsed::Command(b, m))) => {
                    assert_eq!((a, n), (b, m))
                }
                (Ok(Parsed::Empty(n)), Ok(Parsed::Empty(m))) => assert_eq!(n, m),
                (Err(_), Err(_)) => {}
                other => panic!("prefix of {stream:?} at {cut} parsed as {other:?}"),
            }
        }
    }
}

#[test]
fn oversized_bulk_and_query_buffer_close_the_connection() {
    let config = crate::config::Config {
        proto_max_bulk_len: 1000,
        client_query_buffer_limit: 4096,
        ..Default::default()
    };
    let mut t = TestServer::with_config(config.clone());
    t.send_raw(1, b"*2\r\n$3\r\nGET\r\n$1001\r\n");
    assert_eq!(
        t.reply(1),
        Some(Frame::Error(
            "ERR Protocol error: invalid bulk length".into()
        ))
    );
    assert!(t.closed(1));

    let mut t = TestServer::with_config(config);
    t.send_raw(1, b"*6\r\n$4\r\nMSET\r\n");
    for _ in 0..5 {
        t.send_raw(1, b"$1000\r\n");
        t.send_raw(1, &[b'x'; 1000]);
        t.send_raw(1, b"\r\n");
    }
    assert!(
        t.closed(1),
        "a query buffer over client-query-buffer-limit closes the client"
    );
    assert_eq!(t.reply(1), None, "Redis closes it without a reply");
}

#[test]
fn pipelined_commands_are_answered_in_order() {
    let mut t = TestServer::new();
    let mut stream = Vec::new();
    for i in 0..100 {
        stream.extend(encode_command(&["ECHO", &i.to_string()]));
    }
    stream.extend(b"PING\r\n");
    t.send_raw(1, &stream);
    let replies = frames(&t.take_output(1));
    assert_eq!(replies.len(), 101);
    assert_eq!(replies[42], Frame::Bulk("42".into()));
    assert_eq!(replies[100], Frame::Simple("PONG".into()));
}
