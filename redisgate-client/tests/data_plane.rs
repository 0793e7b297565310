//! The client against the real gateway and a real Redis: every helper, binary values, pipelines,
//! transactions, subscriptions and each error type.
#![allow(missing_docs)]

use std::collections::HashMap;
use std::time::Duration;

use futures_util::StreamExt as _;
use redisgate_client::{Client, Error, Message};
use redisgate_test_support::{TestGateway, TestRedis, READONLY_TOKEN, TOKEN};

async fn setup() -> (TestRedis, TestGateway, Client) {
    let redis = TestRedis::start();
    let gw = TestGateway::single(&redis.url()).await;
    let client = Client::new(format!("{}/db/default", gw.url()), TOKEN).unwrap();
    (redis, gw, client)
}

#[tokio::test]
async fn every_helper_against_real_redis() {
    let (_redis, _gw, c) = setup().await;
    assert_eq!(c.ping::<String>().await.unwrap(), "PONG");
    assert_eq!(c.echo::<String>("hi").await.unwrap(), "hi");
    // Strings and counters.
    c.set::<()>("s", "v").await.unwrap();
    assert_eq!(c.get::<Option<String>>("s").await.unwrap(), Some("v".into()));
    assert_eq!(c.get::<Option<String>>("missing").await.unwrap(), None);
    c.set_ex::<()>("e", "v", 100).await.unwrap();
    assert!((1..=100).contains(&c.ttl::<i64>("e").await.unwrap()));
    assert!(c.pttl::<i64>("e").await.unwrap() > 0);
    assert!(c.persist::<bool>("e").await.unwrap());
    assert!(!c.set_nx::<bool>("s", "other").await.unwrap());
    c.mset::<()>(&[("a", "1"), ("b", "2")]).await.unwrap();
    assert_eq!(
        c.mget::<Vec<Option<String>>>(&["a", "b", "zz"]).await.unwrap(),
        vec![Some("1".into()), Some("2".into()), None]
    );
    assert_eq!(c.append::<i64>("s", "w").await.unwrap(), 2);
    assert_eq!(c.strlen::<i64>("s").await.unwrap(), 2);
    assert_eq!(c.incr("n").await.unwrap(), 1);
    assert_eq!(c.incr_by::<i64>("n", 10).await.unwrap(), 11);
    assert_eq!(c.decr("n").await.unwrap(), 10);
    assert_eq!(c.decr_by::<i64>("n", 5).await.unwrap(), 5);
    assert_eq!(c.incr_by_float::<f64>("f", 1.5).await.unwrap(), 1.5);
    assert_eq!(c.getdel::<String>("f").await.unwrap(), "1.5");
    // Keys and expiry.
    assert_eq!(c.exists::<i64>(&["a", "b", "zz"]).await.unwrap(), 2);
    assert!(c.expire::<bool>("a", 50).await.unwrap());
    assert!(c.pexpire::<bool>("b", 50_000).await.unwrap());
    assert_eq!(c.key_type::<String>("a").await.unwrap(), "string");
    c.rename::<()>("a", "a2").await.unwrap();
    let (cursor, keys): (String, Vec<String>) = c.scan(0, "a*", 100).await.unwrap();
    assert_eq!((cursor.as_str(), keys), ("0", vec!["a2".to_owned()]));
    assert_eq!(c.del::<i64>(&["a2", "b"]).await.unwrap(), 2);
    // Hashes.
    assert_eq!(c.hset::<i64>("h", "f", "v").await.unwrap(), 1);
    c.hset_multiple::<i64>("h", &[("g", "1"), ("x", "y")]).await.unwrap();
    assert_eq!(c.hget::<String>("h", "f").await.unwrap(), "v");
    let all: HashMap<String, String> = c.hgetall("h").await.unwrap();
    assert_eq!(all.len(), 3);
    assert!(c.hexists::<bool>("h", "g").await.unwrap());
    assert_eq!(c.hincr_by::<i64>("h", "g", 2).await.unwrap(), 3);
    assert_eq!(c.hlen::<i64>("h").await.unwrap(), 3);
    assert_eq!(c.hkeys::<Vec<String>>("h").await.unwrap().len(), 3);
    assert_eq!(c.hdel::<i64>("h", &["x"]).await.unwrap(), 1);
    // Lists.
    assert_eq!(c.rpush::<i64>("l", &["a", "b"]).await.unwrap(), 2);
    assert_eq!(c.lpush::<i64>("l", "z").await.unwrap(), 3);
    assert_eq!(c.lrange::<Vec<String>>("l", 0, -1).await.unwrap(), ["z", "a", "b"]);
    assert_eq!(c.llen::<i64>("l").await.unwrap(), 3);
    assert_eq!(c.lpop::<String>("l").await.unwrap(), "z");
    assert_eq!(c.rpop::<String>("l").await.unwrap(), "b");
    // Sets.
    assert_eq!(c.sadd::<i64>("set", &["a", "b", "a"]).await.unwrap(), 2);
    assert!(c.sismember::<bool>("set", "a").await.unwrap());
    assert_eq!(c.scard::<i64>("set").await.unwrap(), 2);
    assert_eq!(c.srem::<i64>("set", "a").await.unwrap(), 1);
    assert_eq!(c.smembers::<Vec<String>>("set").await.unwrap(), ["b"]);
    // Sorted sets.
    assert_eq!(c.zadd::<i64>("z", 1.5, "m").await.unwrap(), 1);
    c.zadd::<i64>("z", 3, "n").await.unwrap();
    assert_eq!(c.zscore::<f64>("z", "m").await.unwrap(), 1.5);
    assert_eq!(c.zincr_by::<f64>("z", 1, "m").await.unwrap(), 2.5);
    assert_eq!(c.zrange::<Vec<String>>("z", 0, -1).await.unwrap(), ["m", "n"]);
    assert_eq!(c.zrange_withscores::<Vec<(String, f64)>>("z", 0, 0).await.unwrap(), [("m".to_owned(), 2.5)]);
    assert_eq!(c.zcard::<i64>("z").await.unwrap(), 2);
    assert_eq!(c.zrank::<i64>("z", "n").await.unwrap(), 1);
    assert_eq!(c.zrem::<i64>("z", "n").await.unwrap(), 1);
    // Scripts.
    let script = "return redis.call('INCRBY', KEYS[1], ARGV[1])";
    assert_eq!(c.eval::<i64, _, _>(script, &["sc"], &[5]).await.unwrap(), 5);
    let sha = c.script_load(script).await.unwrap();
    assert_eq!(c.evalsha::<i64, _, _>(&sha, &["sc"], &[2]).await.unwrap(), 7);
    // Publish, size, generic.
    assert_eq!(c.publish::<i64>("nobody", "x").await.unwrap(), 0);
    assert!(c.dbsize::<i64>().await.unwrap() > 0);
    assert_eq!(c.cmd::<i64>(("INCRBY", "generic", 3)).await.unwrap(), 3);
}

#[tokio::test]
async fn every_byte_value_round_trips() {
    let (redis, _gw, c) = setup().await;
    let all: Vec<u8> = (0..=255u8).collect();
    let key: Vec<u8> = vec![0, 255, b'/', b'%', b'?', b'#', 10, 13];
    c.set::<()>(&key[..], &all[..]).await.unwrap();
    assert_eq!(c.get::<Vec<u8>>(&key[..]).await.unwrap(), all);
    let stored: Vec<u8> = redis::cmd("GET").arg(&key[..]).query(&mut redis.connection()).unwrap();
    assert_eq!(stored, all, "the bytes reached Redis unchanged");
    for byte in 0..=255u8 {
        c.set::<()>("one", vec![byte]).await.unwrap();
        assert_eq!(c.get::<Vec<u8>>("one").await.unwrap(), vec![byte]);
    }
    // Values that look like base64 or OK survive the encoding.
    for tricky in ["OK", "T0s=", "test", "PONG", ""] {
        c.set::<()>("t", tricky).await.unwrap();
        assert_eq!(c.get::<String>("t").await.unwrap(), tricky);
    }
}

#[tokio::test]
async fn pipelines_and_transactions() {
    let (_redis, _gw, c) = setup().await;
    let (a, b, (), v): (i64, i64, (), String) =
        c.pipeline().incr("p", 1).incr("p", 2).set("k", "v").get("k").query().await.unwrap();
    assert_eq!((a, b, v.as_str()), (1, 3, "v"));
    let results = c.pipeline().set("s", "x").incr("s", 1).get("s").results().await.unwrap();
    assert!(results[0].is_ok() && results[2].is_ok());
    assert!(matches!(&results[1], Err(Error::Redis(m)) if m.contains("not an integer")));
    let failed = c.pipeline().set("s", "x").incr("s", 1).query::<((), i64)>().await.unwrap_err();
    assert!(matches!(&failed, Error::Redis(m) if m.starts_with("command 2 failed")), "{failed}");
    let (ok, n): ((), i64) = c.transaction().set("t", "1").incr("t", 5).query().await.unwrap();
    assert_eq!((ok, n), ((), 6));
    let discarded = c.transaction().set("t", "2").cmd(("INCR",)).results().await.unwrap_err();
    assert!(matches!(&discarded, Error::Redis(m) if m.contains("wrong number of arguments")), "{discarded}");
    assert_eq!(c.get::<String>("t").await.unwrap(), "6", "a discarded transaction changed nothing");
    let binary = c.pipeline().set("b", vec![0xffu8]).results().await.unwrap_err();
    assert!(matches!(binary, Error::Config(_)));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn subscriptions_receive_messages_and_end_cleanly() {
    let (_redis, gw, c) = setup().await;
    let mut sub = c.subscribe("news").await.unwrap();
    let mut psub = c.psubscribe("news.*").await.unwrap();
    assert_eq!(c.publish::<i64>("news", "hello, world").await.unwrap(), 1);
    let message = tokio::time::timeout(Duration::from_secs(5), sub.next()).await.unwrap().unwrap().unwrap();
    assert_eq!(message, Message { channel: "news".into(), pattern: None, payload: "hello, world".into() });
    c.publish::<i64>("news.sport", "goal").await.unwrap();
    let message = tokio::time::timeout(Duration::from_secs(5), psub.next()).await.unwrap().unwrap().unwrap();
    assert_eq!(
        message,
        Message { channel: "news.sport".into(), pattern: Some("news.*".into()), payload: "goal".into() }
    );
    drop(psub);
    // When the server goes away the stream ends instead of hanging.
    tokio::time::timeout(Duration::from_secs(5), gw.shutdown()).await.unwrap();
    let end = tokio::time::timeout(Duration::from_secs(5), sub.next()).await.unwrap();
    assert!(end.is_none() || matches!(end, Some(Err(_))), "{end:?}");
}

#[tokio::test]
async fn each_error_type() {
    let (redis, gw, c) = setup().await;
    let wrong = Client::new(c.url(), "wrong-token").unwrap();
    assert!(matches!(wrong.ping::<String>().await, Err(Error::Auth(_))));
    let readonly = Client::new(c.url(), READONLY_TOKEN).unwrap();
    assert!(matches!(readonly.set::<()>("k", "v").await, Err(Error::Redis(m)) if m.starts_with("NOPERM")));
    assert!(matches!(c.cmd::<()>(("NOSUCHCOMMAND",)).await, Err(Error::Redis(m)) if m.contains("unknown command")));
    c.set::<()>("text", "abc").await.unwrap();
    assert!(matches!(c.get::<i64>("text").await, Err(Error::Decode(_))));
    let unknown_db = Client::new(format!("{}/db/nope", gw.url()), TOKEN).unwrap();
    // An unknown database answers as a wrong token does (names are not told to callers without a token).
    assert!(matches!(unknown_db.ping::<String>().await, Err(Error::Auth(_))));
    assert!(matches!(Client::new("ftp://x", "t"), Err(Error::Config(_))));
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap();
    let nowhere = Client::builder(format!("http://{closed}"), "t").retries(1).build().unwrap();
    assert!(matches!(nowhere.ping::<String>().await, Err(Error::Transport(_))));
    let impatient = Client::builder(c.url(), TOKEN).timeout(Duration::from_millis(200)).build().unwrap();
    let () = redis::cmd("CLIENT").arg("PAUSE").arg(1000).arg("ALL").query(&mut redis.connection()).unwrap();
    assert!(matches!(impatient.ping::<String>().await, Err(Error::Timeout)));
}

#[tokio::test]
async fn https_with_a_private_ca() {
    use std::sync::Arc;

    use redisgate_gateway::directory::StaticDirectory;
    use redisgate_gateway::tls::{server_config, TlsFiles};
    use redisgate_gateway::upstream::UpstreamOptions;
    use redisgate_test_support::{instance, Purpose, TestCa};

    let redis = TestRedis::start();
    let ca = TestCa::new("client-ca");
    let issued = ca.issue("gateway", Purpose::Server);
    let directory = StaticDirectory::new(
        vec![instance("default", &redis.url(), TOKEN, None, UpstreamOptions::default())],
        Some("default"),
        None,
    );
    let tls = server_config(&TlsFiles { cert: issued.cert, key: issued.key }).unwrap();
    let gw = TestGateway::start(redisgate_gateway::AppState::new(Arc::new(directory)).with_tls(tls)).await;
    let untrusted = Client::builder(gw.url(), TOKEN).retries(0).build().unwrap();
    assert!(matches!(untrusted.ping::<String>().await, Err(Error::Transport(_))), "a CA the system does not know");
    let pem = std::fs::read(ca.cert()).unwrap();
    let trusted = Client::builder(gw.url(), TOKEN).ca_cert(pem.clone()).build().unwrap();
    assert_eq!(trusted.ping::<String>().await.unwrap(), "PONG");
    assert!(matches!(Client::builder(gw.url(), TOKEN).ca_cert(b"not pem".to_vec()).build(), Err(Error::Config(_))));
    let api = redisgate_client::management::Management::with_ca(gw.url(), Some(&pem)).unwrap();
    assert!(api.me().await.is_err(), "standalone mode has no management API, but TLS got through to say so");
}
