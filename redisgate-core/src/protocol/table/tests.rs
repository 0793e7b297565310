//! The table's own shape, and its rows against what the policy, the key extraction and the growth rules
//! said before they were one table.

use super::*;

#[test]
fn the_rows_are_sorted_without_duplicates() {
    for pair in ROWS.windows(2) {
        assert!(
            pair[0].name < pair[1].name,
            "ROWS must be sorted (a duplicate is then a neighbour): {} {}",
            pair[0].name,
            pair[1].name
        );
        assert!(pair[1].name.len() <= LONGEST, "{} is longer than the lookup has room for", pair[1].name);
    }
}

#[test]
fn every_row_is_well_formed_and_found_by_its_name() {
    for row in ROWS {
        assert_eq!(row.name, row.name.to_ascii_lowercase(), "names are lower case");
        let (name, sub) = row.name.split_once('|').map_or((row.name, None), |(n, s)| (n, Some(s)));
        assert_eq!(find(name, sub), Some(row));
        assert_eq!(find(&name.to_ascii_uppercase(), sub.map(str::to_ascii_uppercase).as_deref()), Some(row));
        match row.keys {
            Keys::Range { first, step, .. } => assert!(first >= 1 && step >= 1, "{}", row.name),
            Keys::NumKeys { at } => assert!(at >= 1, "{}", row.name),
            _ => {}
        }
    }
}

fn class(name: &str, sub: Option<&str>) -> Option<Class> {
    find(name, sub).map(|row| row.class)
}

#[test]
fn containers_are_classified_per_subcommand() {
    assert_eq!(class("ACL", Some("WHOAMI")), Some(Class::Write));
    assert!(matches!(class("acl", Some("setuser")), Some(Class::Refused(_))));
    assert!(matches!(class("acl", None), Some(Class::Refused(_))));
    assert!(matches!(class("config", Some("get")), Some(Class::Refused(_))));
    assert!(matches!(class("script", Some("debug")), Some(Class::Refused(_))));
    assert_eq!(class("script", Some("load")), Some(Class::Write));
    assert_eq!(class("script", Some("no-such-subcommand")), None);
    assert_eq!(class("object", Some("encoding")), Some(Class::Read));
    assert_eq!(class("cluster", Some("keyslot")), Some(Class::Write));
    assert!(matches!(class("cluster", Some("nodes")), Some(Class::Refused(_))));
    assert_eq!(class("no-such-command", None), None);
}

/// A sample of rows, each with the class, keys and growth that `policy.rs` (`refusal`, `is_read`), `keys.rs`
/// and `limits.rs` (`grown_size`) gave its command before the table.
#[test]
fn rows_say_what_the_code_before_the_table_said() {
    use Class::{Read, Refused, Write};
    let first = Keys::FIRST;
    let all = Keys::Range { first: 1, last: -1, step: 1 };
    let cases = [
        ("get", None, Read, first, None, None),
        ("set", None, Write, first, None, None),
        ("setrange", None, Write, first, Some(Growth::SetRange), None),
        ("setbit", None, Write, first, Some(Growth::SetBit), None),
        ("bitfield", None, Write, first, Some(Growth::Bitfield), None),
        ("bitfield_ro", None, Read, first, None, None),
        ("del", None, Write, all, None, None),
        ("exists", None, Read, all, None, None),
        ("mset", None, Write, Keys::Range { first: 1, last: -1, step: 2 }, None, None),
        ("json.mset", None, Write, Keys::Range { first: 1, last: -1, step: 3 }, None, None),
        ("json.mget", None, Read, Keys::Range { first: 1, last: -2, step: 1 }, None, None),
        ("bitop", None, Write, Keys::Range { first: 2, last: -1, step: 1 }, None, None),
        ("lmove", None, Write, Keys::Range { first: 1, last: 2, step: 1 }, None, None),
        ("object", Some("encoding"), Read, Keys::Range { first: 2, last: 2, step: 1 }, None, None),
        ("xgroup", Some("create"), Write, Keys::Range { first: 2, last: 2, step: 1 }, None, None),
        ("zinter", None, Read, Keys::NumKeys { at: 1 }, None, None),
        ("lmpop", None, Write, Keys::NumKeys { at: 1 }, None, None),
        ("eval", None, Write, Keys::NumKeys { at: 2 }, None, None),
        ("eval_ro", None, Write, Keys::NumKeys { at: 2 }, None, None),
        ("zunionstore", None, Write, Keys::DestinationNumKeys, None, None),
        ("sort", None, Write, Keys::FirstAndStores, None, None),
        ("georadius_ro", None, Read, first, None, None),
        ("xread", None, Read, Keys::Streams, None, Some(Guard::Block)),
        ("xreadgroup", None, Write, Keys::Streams, None, Some(Guard::Block)),
        ("srandmember", None, Read, first, None, Some(Guard::NegativeCount)),
        ("hrandfield", None, Read, first, None, Some(Guard::NegativeCount)),
        ("keys", None, Write, Keys::Keyless, None, None),
        ("scan", None, Write, Keys::Keyless, None, None),
        ("randomkey", None, Write, Keys::Keyless, None, None),
        ("lcs", None, Write, Keys::Range { first: 1, last: 2, step: 1 }, None, None),
        ("ping", None, Read, Keys::Keyless, None, None),
        ("publish", None, Write, Keys::Keyless, None, None),
        ("vsim", None, Read, first, None, None),
        ("json.get", None, Read, first, None, None),
        ("acl", Some("whoami"), Write, Keys::Keyless, None, None),
        ("acl", Some("list"), Refused("access is managed by RedisGate's tokens"), Keys::Keyless, None, None),
        ("cluster", Some("keyslot"), Write, first, None, None),
        ("cluster", Some("info"), Refused("cluster commands are not supported"), first, None, None),
        ("script", Some("load"), Write, Keys::Keyless, None, None),
        ("script", Some("debug"), Refused("the script debugger takes over the connection"), Keys::Keyless, None, None),
        ("blpop", None, Refused("blocking commands are not supported"), first, None, None),
        ("multi", None, Refused("use the /multi-exec endpoint for transactions"), first, None, None),
        (
            "ssubscribe",
            None,
            Refused("use the /subscribe/<channel> or /psubscribe/<pattern> endpoint"),
            first,
            None,
            None,
        ),
        ("monitor", None, Refused("use the /monitor endpoint"), first, None, None),
        (
            "client",
            Some("kill"),
            Refused("connection commands other than PING and ECHO are not supported"),
            first,
            None,
            None,
        ),
        (
            "config",
            Some("set"),
            Refused("the configuration is managed by RedisGate (resize through the management API)"),
            Keys::Keyless,
            None,
            None,
        ),
        ("migrate", None, Refused("MIGRATE would connect the server to other hosts"), first, None, None),
        ("lastsave", None, Refused("persistence is managed by RedisGate"), Keys::Keyless, None, None),
        ("replicaof", None, Refused("replication is managed by RedisGate"), first, None, None),
        ("restore-asking", None, Refused("administrative commands are not supported"), first, None, None),
        ("swapdb", None, Refused("only database 0 is served"), Keys::Keyless, None, None),
        ("move", None, Refused("only database 0 is served"), first, None, None),
    ];
    for (name, sub, class, keys, growth, guard) in cases {
        let row = find(name, sub).unwrap_or_else(|| panic!("no row for {name} {sub:?}"));
        assert_eq!((row.class, row.keys, row.growth, row.guard), (class, keys, growth, guard), "{name} {sub:?}");
    }
}
