//! TLS at both ends: HTTPS at the gateway (ALPN, certificates that follow their files) and TLS with mTLS to a
//! real TLS-only `redis-server` (`port 0`, `tls-auth-clients yes`), with a clear JSON error for each failure.

use std::sync::Arc;
use std::time::Duration;

use redisgate_gateway::directory::StaticDirectory;
use redisgate_gateway::tls::{server_config, RedisTls, TlsFiles};
use redisgate_gateway::upstream::UpstreamOptions;
use redisgate_gateway::AppState;
use redisgate_test_support::{instance, Issued, Purpose, TestCa, TestGateway, TestRedis, TlsServer, TOKEN};
use rustls::pki_types::pem::PemObject as _;
use rustls::pki_types::{CertificateDer, ServerName};
use serde_json::json;

/// A TLS-only Redis whose certificate is `server` (from `ca`), requiring client certificates from `ca`.
fn tls_redis(ca: &TestCa, server: Issued) -> TestRedis {
    TestRedis::start_tls(TlsServer { server, client_ca: ca.cert(), require_client_cert: true })
}

/// A gateway in front of `url` that trusts `ca` and presents `client`.
async fn gateway(url: &str, ca: &TestCa, client: Option<&Issued>) -> TestGateway {
    let tls = RedisTls::from_files(Some(&ca.cert()), client.map(|c| c.cert.as_path()), client.map(|c| c.key.as_path()))
        .unwrap();
    let options = UpstreamOptions { connect_timeout: Duration::from_secs(2), tls, ..UpstreamOptions::default() };
    let directory = StaticDirectory::new(vec![instance("default", url, TOKEN, None, options)], Some("default"), None);
    TestGateway::with_directory(Arc::new(directory)).await
}

#[tokio::test]
async fn commands_run_over_mtls_with_the_right_client_certificate() {
    let ca = TestCa::new("redis-ca");
    let redis = tls_redis(&ca, ca.issue("redis", Purpose::Server));
    assert!(redis.url().starts_with("rediss://"), "{}", redis.url());
    let gw = gateway(&redis.url(), &ca, Some(&ca.issue("gateway", Purpose::Client))).await;
    assert_eq!(gw.command(json!(["set", "k", "over tls"])).await, (200, json!({"result": "OK"})));
    assert_eq!(gw.command(json!(["get", "k"])).await, (200, json!({"result": "over tls"})));
    let (status, body) = gw.post("/pipeline", r#"[["incr", "n"], ["incr", "n"]]"#, TOKEN).await;
    assert_eq!((status, body), (200, json!([{"result": 1}, {"result": 2}])));
}

#[tokio::test]
async fn each_tls_failure_is_a_clear_json_error() {
    let ca = TestCa::new("redis-ca");
    let redis = tls_redis(&ca, ca.issue("redis", Purpose::Server));
    let expired = tls_redis(&ca, ca.issue("old", Purpose::ExpiredServer));
    let client = ca.issue("gateway", Purpose::Client);
    let cases: [(&str, TestGateway, &str); 3] = [
        (
            "a CA that did not sign the server",
            gateway(&redis.url(), &TestCa::new("other-ca"), Some(&client)).await,
            "unknown issuer",
        ),
        ("no client certificate", gateway(&redis.url(), &ca, None).await, "client certificate"),
        ("an expired server certificate", gateway(&expired.url(), &ca, Some(&client)).await, "expired"),
    ];
    for (case, gw, says) in &cases {
        for _ in 0..2 {
            let (status, body) = gw.command(json!(["ping"])).await;
            let error = body["error"].as_str().unwrap_or_default();
            assert_eq!(status, 502, "{case}: {body}");
            assert!(error.starts_with("ERR TLS to redis failed: ") && error.contains(says), "{case}: {error}");
        }
    }
}

#[tokio::test]
async fn a_tls_only_redis_has_no_plain_port() {
    let ca = TestCa::new("redis-ca");
    let redis = tls_redis(&ca, ca.issue("redis", Purpose::Server));
    // The same port without TLS: the server waits for a handshake that never comes, then drops us.
    let plain = redis.url().replace("rediss://", "redis://");
    let options = UpstreamOptions { response_timeout: Duration::from_secs(2), ..UpstreamOptions::default() };
    let directory =
        StaticDirectory::new(vec![instance("default", &plain, TOKEN, None, options)], Some("default"), None);
    let gw = TestGateway::with_directory(Arc::new(directory)).await;
    let (status, body) = gw.command(json!(["ping"])).await;
    assert!(matches!(status, 502 | 504), "{status} {body}");
    assert!(body["error"].as_str().is_some_and(|e| e.starts_with("ERR redis")), "{body}");
}

/// The certificate the gateway at `port` presents to a new connection, and the protocol ALPN chose.
async fn handshake(port: u16, ca: &TestCa, alpn: &[&[u8]]) -> (CertificateDer<'static>, Option<Vec<u8>>) {
    let mut roots = rustls::RootCertStore::empty();
    roots.add(CertificateDer::from_pem_file(ca.cert()).unwrap()).unwrap();
    let mut config = rustls::ClientConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots)
        .with_no_client_auth();
    config.alpn_protocols = alpn.iter().map(|p| p.to_vec()).collect();
    let tcp = tokio::net::TcpStream::connect(("127.0.0.1", port)).await.unwrap();
    let name = ServerName::try_from("127.0.0.1").unwrap();
    let tls = tokio_rustls::TlsConnector::from(Arc::new(config)).connect(name, tcp).await.unwrap();
    let (_, session) = tls.get_ref();
    (session.peer_certificates().unwrap()[0].clone(), session.alpn_protocol().map(<[u8]>::to_vec))
}

#[tokio::test]
async fn https_negotiates_h2_and_serves_a_replaced_certificate_to_the_next_connection() {
    let redis = TestRedis::start();
    let ca = TestCa::new("gateway-ca");
    let first = ca.issue("gateway", Purpose::Server);
    let files = TlsFiles { cert: ca.dir().join("live.pem"), key: ca.dir().join("live-key.pem") };
    std::fs::copy(&first.cert, &files.cert).unwrap();
    std::fs::copy(&first.key, &files.key).unwrap();
    let directory = StaticDirectory::new(
        vec![instance("default", &redis.url(), TOKEN, None, UpstreamOptions::default())],
        Some("default"),
        None,
    );
    let state = AppState::new(Arc::new(directory)).with_tls(server_config(&files).unwrap());
    let gw = TestGateway::start(state).await;
    let port: u16 = gw.url().rsplit(':').next().unwrap().parse().unwrap();
    assert!(gw.url().starts_with("https://"));

    let (served, alpn) = handshake(port, &ca, &[b"h2", b"http/1.1"]).await;
    assert_eq!(served, CertificateDer::from_pem_file(&first.cert).unwrap());
    assert_eq!(alpn.as_deref(), Some(&b"h2"[..]));
    assert_eq!(handshake(port, &ca, &[b"http/1.1"]).await.1.as_deref(), Some(&b"http/1.1"[..]));
    let https = reqwest::Client::builder()
        .add_root_certificate(reqwest::Certificate::from_pem(&std::fs::read(ca.cert()).unwrap()).unwrap())
        .build()
        .unwrap();
    let response = https.post(format!("{}/set/k/v", gw.url())).bearer_auth(TOKEN).send().await.unwrap();
    assert_eq!(response.json::<serde_json::Value>().await.unwrap(), json!({"result": "OK"}));

    // Renewed in place (as cert-manager does): the next connection gets the new certificate.
    let second = ca.issue("gateway-renewed", Purpose::Server);
    std::fs::copy(&second.key, &files.key).unwrap();
    std::fs::copy(&second.cert, &files.cert).unwrap();
    let (served, _) = handshake(port, &ca, &[b"h2"]).await;
    assert_eq!(served, CertificateDer::from_pem_file(&second.cert).unwrap());
    let response = https.get(format!("{}/get/k", gw.url())).bearer_auth(TOKEN).send().await.unwrap();
    assert_eq!(response.json::<serde_json::Value>().await.unwrap(), json!({"result": "v"}));
}
