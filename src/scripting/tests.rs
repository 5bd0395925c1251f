//! Stories of scripts and functions as a client sees them: replies converted as Redis converts
//! them, Redis' error strings, the sandbox, effects in the AOF, libraries across a restart.

use crate::config::Config;
use crate::core::testing::*;
use crate::resp::{encode_command, Frame};

const INCR1: &str = "./appendonlydir/appendonly.aof.1.incr.aof";

#[test]
fn a_script_reply_follows_redis_conversion_rules() {
    let mut t = TestServer::new();
    let reply = t.cmd(&["eval", "return {1, 'two', 3.99, true, false, nil, 5}", "0"]);
    let expected = Frame::Array(vec![int(1), bulk("two"), int(3), int(1), Frame::Null]);
    assert_eq!(reply, expected);
    assert_eq!(
        t.cmd(&["eval", "return {ok='FINE'}", "0"]),
        Frame::Simple("FINE".into())
    );
    assert_eq!(
        t.cmd(&["eval", "return redis.error_reply('MY_ERR custom msg')", "0"]),
        err("MY_ERR custom msg")
    );
}

#[test]
fn redis_call_runs_commands_and_raises_their_errors_with_the_line() {
    let mut t = TestServer::new();
    let set = "return redis.call('set', KEYS[1], ARGV[1])";
    assert_eq!(t.cmd(&["eval", set, "1", "k", "v"]), ok());
    assert_eq!(
        t.cmd(&["eval", "return redis.call('get', KEYS[1])", "1", "k"]),
        bulk("v")
    );
    let Frame::Error(e) = t.cmd(&["eval", "\nreturn redis.call('incr', 'k')", "0"]) else {
        panic!("an error was expected");
    };
    assert!(
        e.starts_with("ERR value is not an integer or out of range script: "),
        "{e}"
    );
    assert!(e.ends_with(", on @user_script:2."), "{e}");
    assert_eq!(
        t.cmd(&["eval", "return redis.pcall('nosuch')", "0"]),
        err("ERR Unknown Redis command called from script")
    );
}

#[test]
fn the_sandbox_refuses_new_globals_and_unknown_ones() {
    let mut t = TestServer::new();
    let Frame::Error(e) = t.cmd(&["eval", "x = 1", "0"]) else {
        panic!("an error was expected");
    };
    assert!(
        e.starts_with("ERR user_script:1: Attempt to modify a readonly table"),
        "{e}"
    );
    let Frame::Error(e) = t.cmd(&["eval", "return os.time()", "0"]) else {
        panic!("an error was expected");
    };
    assert!(
        e.contains("Script attempted to access nonexistent global variable 'os'"),
        "{e}"
    );
}

#[test]
fn evalsha_finds_only_loaded_scripts() {
    let mut t = TestServer::new();
    let sha = "2f31ba2bb6d6a0f42cc159d2e2dad55440778de3";
    assert_eq!(t.cmd(&["script", "load", "return 'hi'"]), bulk(sha));
    assert_eq!(t.cmd(&["evalsha", sha, "0"]), bulk("hi"));
    assert_eq!(t.cmd(&["script", "flush"]), ok());
    assert_eq!(
        t.cmd(&["evalsha", sha, "0"]),
        err("NOSCRIPT No matching script. Please use EVAL.")
    );
}

#[test]
fn a_read_only_script_may_not_write() {
    let mut t = TestServer::new();
    let Frame::Error(e) = t.cmd(&["eval_ro", "return redis.call('set', 'k', 'v')", "0"]) else {
        panic!("an error was expected");
    };
    assert!(
        e.starts_with("ERR Write commands are not allowed from read-only scripts."),
        "{e}"
    );
}

#[test]
fn a_script_reaches_the_aof_as_its_commands_wrapped_in_multi_exec() {
    let mut t = TestServer::with_config(Config {
        appendonly: true,
        save_points: vec![],
        ..Config::default()
    });
    let script = "redis.call('set', 'a', '1'); redis.call('incr', 'a'); return 1";
    assert_eq!(t.cmd(&["eval", script, "0"]), int(1));
    let aof = String::from_utf8(t.disk.file(INCR1).unwrap()).unwrap();
    assert!(!aof.contains("eval"), "{aof:?}");
    let body = aof.split_once("*1\r\n$5\r\nMULTI\r\n").expect("MULTI").1;
    assert!(
        body.starts_with(
            "*2\r\n$6\r\nSELECT\r\n$1\r\n0\r\n*3\r\n$3\r\nset\r\n$1\r\na\r\n$1\r\n1\r\n"
        ),
        "{aof:?}"
    );
    assert!(
        body.ends_with("*2\r\n$4\r\nincr\r\n$1\r\na\r\n*1\r\n$4\r\nEXEC\r\n"),
        "{aof:?}"
    );
}

#[test]
fn a_function_library_is_called_by_name_and_survives_a_restart() {
    let mut t = TestServer::new();
    let lib = "#!lua name=mylib\nredis.register_function('hello', function(keys, args) return 'hi ' .. args[1] end)";
    assert_eq!(t.cmd(&["function", "load", lib]), bulk("mylib"));
    assert_eq!(t.cmd(&["fcall", "HELLO", "0", "you"]), bulk("hi you"));
    assert_eq!(
        t.cmd(&["function", "load", lib]),
        err("ERR Library 'mylib' already exists")
    );
    assert_eq!(t.cmd(&["save"]), ok());
    let mut t = t.restart(1_000);
    assert_eq!(t.cmd(&["fcall", "hello", "0", "again"]), bulk("hi again"));
    assert_eq!(t.cmd(&["function", "delete", "mylib"]), ok());
    assert_eq!(
        t.cmd(&["fcall", "hello", "0"]),
        err("ERR Function not found")
    );
}

#[test]
fn function_dump_restores_the_same_libraries() {
    let mut t = TestServer::new();
    let lib = "#!lua name=l1\nredis.register_function{function_name='f1', callback=function() return 7 end, flags={'no-writes'}}";
    t.cmd(&["function", "load", lib]);
    let Frame::Bulk(payload) = t.cmd(&["function", "dump"]) else {
        panic!("a payload was expected");
    };
    assert_eq!(t.cmd(&["function", "flush"]), ok());
    let restore: [&[u8]; 3] = [b"function", b"restore", &payload];
    t.send_raw(1, &encode_command(&restore));
    assert_eq!(t.reply(1), Some(ok()));
    assert_eq!(t.cmd(&["fcall_ro", "f1", "0"]), int(7));
}

#[test]
fn a_library_must_register_functions_with_valid_names() {
    let mut t = TestServer::new();
    assert_eq!(
        t.cmd(&["function", "load", "#!lua name=empty\nlocal a = 1"]),
        err("ERR No functions registered")
    );
    assert_eq!(
        t.cmd(&["function", "load", "return 1"]),
        err("ERR Missing library metadata")
    );
    let bad = "#!lua name=l\nredis.register_function('bad name', function() end)";
    assert!(
        matches!(t.cmd(&["function", "load", bad]), Frame::Error(e) if e.contains("can only contain letters"))
    );
}

#[test]
fn numbers_print_as_lua_prints_them() {
    let text: Vec<String> = [0.0003, 1023.2, -5000.0, 0.1, 1e20, 3.14159265358979]
        .iter()
        .map(|&n| super::lua_number_text(n))
        .collect();
    assert_eq!(
        text,
        [
            "0.0003",
            "1023.2",
            "-5000",
            "0.1",
            "1e+20",
            "3.1415926535898"
        ]
    );
}
