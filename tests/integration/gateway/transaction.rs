//! `/multi-exec`: atomic, with EXECABORT and refusals failing the whole transaction.

use redisgate_test_support::TOKEN;
use serde_json::json;

use super::setup;

#[tokio::test]
async fn transaction_results_and_runtime_errors_in_place() {
    let (_redis, gw) = setup().await;
    let (status, body) = gw.post("/multi-exec", r#"[["set","t","a"],["incr","t"],["get","t"]]"#, TOKEN).await;
    assert_eq!(status, 200);
    assert_eq!(
        body,
        json!([{"result": "OK"}, {"error": "ERR value is not an integer or out of range"}, {"result": "a"}])
    );
}

#[tokio::test]
async fn a_queueing_error_discards_the_whole_transaction() {
    let (redis, gw) = setup().await;
    let (status, body) = gw.post("/multi-exec", r#"[["set","t","a"],["incr"]]"#, TOKEN).await;
    assert_eq!(status, 400);
    assert_eq!(body, json!({"error": "ERR wrong number of arguments for 'incr' command"}));
    let exists: i64 = redis::cmd("EXISTS").arg("t").query(&mut redis.connection()).unwrap();
    assert_eq!(exists, 0, "nothing of a discarded transaction is applied");
    // The shared connection is not left inside a MULTI.
    assert_eq!(gw.command(json!(["set", "after", "1"])).await, (200, json!({"result": "OK"})));
}

#[tokio::test]
async fn a_refused_command_discards_the_whole_transaction_before_redis_sees_it() {
    let (redis, gw) = setup().await;
    let (status, body) = gw.post("/multi-exec", r#"[["set","t","a"],["watch","t"]]"#, TOKEN).await;
    assert_eq!(status, 400);
    assert!(body["error"].as_str().unwrap().contains("'watch' is not supported"));
    let exists: i64 = redis::cmd("EXISTS").arg("t").query(&mut redis.connection()).unwrap();
    assert_eq!(exists, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fifty_concurrent_transactions_on_the_same_keys_stay_atomic() {
    let (_redis, gw) = setup().await;
    let gw = std::sync::Arc::new(gw);
    let mut tasks = Vec::new();
    for id in 0..50 {
        let tx_gw = gw.clone();
        tasks.push(tokio::spawn(async move {
            let gw = tx_gw;
            let body = format!(r#"[["set","shared","{id}"],["incr","counter"],["incr","counter"],["get","shared"]]"#);
            let (status, body) = gw.post("/multi-exec", &body, TOKEN).await;
            assert_eq!(status, 200, "{body}");
            let first = body[1]["result"].as_i64().unwrap();
            let second = body[2]["result"].as_i64().unwrap();
            assert_eq!(second, first + 1, "another client's INCR slipped inside the transaction");
            assert_eq!(body[3]["result"], json!(id.to_string()), "another client's SET slipped inside");
        }));
        // Plain commands interleave on the same shared connection.
        let plain_gw = gw.clone();
        tasks.push(tokio::spawn(async move {
            let (status, _) = plain_gw.command(json!(["incr", "other"])).await;
            assert_eq!(status, 200);
        }));
    }
    for task in tasks {
        task.await.unwrap();
    }
    assert_eq!(gw.command(json!(["get", "counter"])).await.1, json!({"result": "100"}));
}
