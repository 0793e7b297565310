//! A directory fed catalogs from outside (what the Kubernetes directory does): not ready until the first
//! catalog, then serving it; a new catalog replaces tokens and instances at once; when the source goes away
//! the last catalog keeps serving.

use std::sync::Arc;

use redisgate_core::auth::TokenHash;
use redisgate_core::catalog::{Catalog, Entry};
use redisgate_core::limits::Limits;
use redisgate_core::protocol::Access;
use redisgate_gateway::directory::watched::WatchedDirectory;
use redisgate_gateway::quota::Meters;
use redisgate_gateway::upstream::UpstreamOptions;
use redisgate_test_support::{eventually, TestGateway, TestRedis};
use serde_json::json;
use tokio::sync::watch;

/// Well within the 2 s.
const SOON: std::time::Duration = std::time::Duration::from_secs(2);

fn entry(name: &str, url: &str, token: &str, limits: Limits) -> Entry {
    Entry {
        name: name.to_owned(),
        url: url.to_owned(),
        credentials: vec![(TokenHash::of(token.as_bytes()), Access::Full)],
        limits,
        tls: None,
    }
}

async fn ready(gw: &TestGateway) -> u16 {
    gw.http().get(format!("{}/-/ready", gw.url())).send().await.unwrap().status().as_u16()
}

#[tokio::test]
async fn the_latest_catalog_is_served_and_the_last_one_outlives_its_source() {
    let redis = TestRedis::start();
    let (feed, follow) = watch::channel(None::<Arc<Catalog>>);
    let directory = Arc::new(WatchedDirectory::new(None, UpstreamOptions::default(), Arc::new(Meters::default())));
    tokio::spawn(Arc::clone(&directory).follow(follow));
    let gw = TestGateway::with_directory(directory).await;
    assert_eq!(ready(&gw).await, 503, "ready before knowing any instance");

    feed.send_replace(Some(Arc::new(vec![entry("shop", &redis.url(), "first", Limits::default())])));
    let became = eventually(SOON, || async { ready(&gw).await == 200 });
    assert!(became.await, "not ready after the first catalog");
    assert_eq!(gw.post("/db/shop/set/k/v", "", "first").await, (200, json!({"result": "OK"})));

    // A rotated token: the old one is refused, the new one opens it; the connection is kept.
    feed.send_replace(Some(Arc::new(vec![entry("shop", &redis.url(), "second", Limits::default())])));
    let rotated = eventually(SOON, || async { gw.post("/db/shop/get/k", "", "first").await.0 == 401 }).await;
    assert!(rotated, "the old token still works");
    assert_eq!(gw.post("/db/shop/get/k", "", "second").await, (200, json!({"result": "v"})));

    // Limits come with the catalog.
    let limited = Limits { max_key_size: std::num::NonZeroU64::new(4), ..Limits::default() };
    feed.send_replace(Some(Arc::new(vec![entry("shop", &redis.url(), "second", limited)])));
    let enforced = eventually(SOON, || async { gw.post("/db/shop/get/a-long-key", "", "second").await.0 == 400 }).await;
    assert!(enforced, "the catalog's key size limit is not enforced");

    // The source goes away: the last catalog keeps serving. An instance dropped from it is gone.
    feed.send_replace(Some(Arc::new(Vec::new())));
    let gone = eventually(SOON, || async { gw.post("/db/shop/get/k", "", "second").await.0 == 401 }).await;
    assert!(gone, "a deleted instance is still served");
    feed.send_replace(Some(Arc::new(vec![entry("shop", &redis.url(), "second", Limits::default())])));
    let back = eventually(SOON, || async { gw.post("/db/shop/get/k", "", "second").await.0 == 200 });
    assert!(back.await, "an instance added again is not served");
    drop(feed);
    assert_eq!(gw.post("/db/shop/get/k", "", "second").await, (200, json!({"result": "v"})));
    assert_eq!(ready(&gw).await, 200);
}
