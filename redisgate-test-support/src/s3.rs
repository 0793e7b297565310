//! [`TestS3`]: an S3-compatible server for the backup tests — moto's server (`python3 -m moto.server`, from
//! PyPI: `scripts/deps.sh` installs it) on a free loopback port, with one bucket, killed on drop.

use std::process::{Child, Command, Stdio};
use std::time::Duration;

/// A running moto server with the bucket `backups`.
pub struct TestS3 {
    child: Child,
    endpoint: String,
}

impl TestS3 {
    /// Starts it and creates the bucket.
    ///
    /// # Panics
    /// When moto is not installed (the message says how to install it) or does not answer within 30 s.
    pub async fn start() -> Self {
        let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let child = Command::new("python3")
            .args(["-m", "moto.server", "-H", "127.0.0.1", "-p", &port.to_string()])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("cannot run python3 -m moto.server: run scripts/deps.sh (pip install 'moto[server]')");
        let endpoint = format!("http://127.0.0.1:{port}");
        let s3 = Self { child, endpoint };
        let http = reqwest::Client::new();
        let bucket = format!("{}/backups", s3.endpoint);
        // The server answers once it listens; until then the connection is refused.
        let created = crate::eventually(Duration::from_secs(30), || {
            let (http, bucket) = (http.clone(), bucket.clone());
            async move { http.put(&bucket).send().await.is_ok_and(|r| r.status().is_success()) }
        })
        .await;
        assert!(created, "moto's server did not answer within 30 s");
        s3
    }

    /// `http://127.0.0.1:<port>`.
    #[must_use]
    pub fn endpoint(&self) -> &str {
        &self.endpoint
    }

    /// The `AWS_*` settings that point an S3 client at it (moto takes any credentials).
    #[must_use]
    pub fn env(&self) -> Vec<(&'static str, String)> {
        vec![
            ("AWS_ENDPOINT_URL", self.endpoint.clone()),
            ("AWS_ALLOW_HTTP", "true".to_owned()),
            ("AWS_REGION", "us-east-1".to_owned()),
            ("AWS_ACCESS_KEY_ID", "testing".to_owned()),
            ("AWS_SECRET_ACCESS_KEY", "testing".to_owned()),
        ]
    }

    /// The keys of the objects in the bucket (from S3's XML listing).
    ///
    /// # Panics
    /// When the server does not answer.
    pub async fn keys(&self) -> Vec<String> {
        let listing =
            reqwest::get(format!("{}/backups?list-type=2", self.endpoint)).await.unwrap().text().await.unwrap();
        listing
            .split("<Key>")
            .skip(1)
            .filter_map(|part| part.split_once("</Key>"))
            .map(|(key, _)| key.to_owned())
            .collect()
    }
}

impl Drop for TestS3 {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
