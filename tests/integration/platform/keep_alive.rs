//! The management API's answers given before (or without all of) the body (issue 26): a 401, a 413, a
//! 429. A keep-alive client that sends headers and body in two writes gets each as JSON, and its next
//! request on the connection is answered, or the answer said `Connection: close`.

use redisgate_test_support::TestPlatform;

use crate::raw_http::two_writes;

const NEXT: &str = "GET /-/health HTTP/1.1\r\nHost: platform\r\n\r\n";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn management_refusals_keep_the_connection_or_say_close() {
    let platform = TestPlatform::start().await;
    let address = platform.url().trim_start_matches("http://").parse().unwrap();

    // No session: 401 before the body is read; the small body is drained.
    let body = br#"{"name":"Org","slug":"org"}"#;
    let (first, second) = two_writes(address, "POST /api/organizations HTTP/1.1\r\n", body, NEXT).await;
    assert_eq!(first.status, 401, "{}", first.error());
    assert!(!first.close);
    assert_eq!(second.expect("the connection serves the next request").status, 200);

    // 100 KiB, over the API's 64 KiB: 413 after 64 KiB, the rest (under the drain limit) drained.
    let big = format!(r#"{{"email":"{}@example.com","password":"x"}}"#, "a".repeat(100 * 1024));
    let (first, second) = two_writes(address, "POST /api/auth/login HTTP/1.1\r\n", big.as_bytes(), NEXT).await;
    assert_eq!((first.status, first.error().as_str()), (413, "ERR max request size exceeded"));
    assert!(!first.close);
    assert_eq!(second.expect("the connection serves the next request").status, 200);

    // 1 MiB: more than can be drained; the answer says close.
    let huge = vec![b' '; 1 << 20];
    let (first, second) = two_writes(address, "POST /api/auth/login HTTP/1.1\r\n", &huge, NEXT).await;
    assert_eq!(first.status, 413);
    assert!(first.close, "{first:?}");
    assert!(second.is_none());

    // Password guessing: the eleventh attempt is a 429, and every answer leaves the connection usable.
    platform.user("target@example.com").await;
    let guess = br#"{"email":"target@example.com","password":"guess guess 1"}"#;
    let mut statuses = Vec::new();
    for _ in 0..10 {
        let (first, second) = two_writes(address, "POST /api/auth/login HTTP/1.1\r\n", guess, NEXT).await;
        assert!(!first.close, "{first:?}");
        assert_eq!(second.expect("the connection serves the next request").status, 200);
        statuses.push(first.status);
    }
    assert_eq!(statuses.last(), Some(&429), "{statuses:?}");
}
