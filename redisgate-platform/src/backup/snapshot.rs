//! Reading an RDB snapshot from a running server the way a replica does: `SYNC` asks it to fork and save, and
//! it answers with the file itself, which is streamed to the caller's writer, never held in memory.
//!
//! The connection does not offer `capa eof`, so the server saves to its disk (a `BGSAVE`) and sends the
//! file with its length, without waiting for other replicas (`repl-diskless-sync-delay`). `REPLCONF
//! rdb-only 1` (Redis 7.0+) tells it this is no replica: no command stream follows the file. While the
//! server saves it sends a newline every second, so a long save is not mistaken for a dead connection.

use std::sync::Arc;
use std::time::Duration;

use redis::{ConnectionAddr, IntoConnectionInfo as _};
use redisgate_core::provisioning::{ClientTls, SnapshotSource};
use rustls::pki_types::pem::PemObject as _;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName};
use sha2::{Digest as _, Sha256};
use tokio::io::{
    AsyncBufRead, AsyncBufReadExt as _, AsyncRead, AsyncReadExt as _, AsyncWrite, AsyncWriteExt as _, BufReader,
};
use tokio::net::TcpStream;

use super::Digest;

use crate::{Error, Result};

/// How long the server may stay silent (no newline, no data) before the snapshot is given up.
const IDLE: Duration = Duration::from_secs(60);
/// Chunks of the file copied at once.
const CHUNK: usize = 256 * 1024;

trait Stream: AsyncRead + AsyncWrite + Unpin + Send {}
impl<T: AsyncRead + AsyncWrite + Unpin + Send> Stream for T {}

/// Streams a snapshot of the server at `source` into `out`, calling `progress(bytes so far, total)` after
/// each chunk. Answers the file's size and SHA-256.
///
/// # Errors
/// [`Error::Storage`] naming what failed: the connection, the login, the server's refusal (its message),
/// silence for [`IDLE`], or writing to `out`.
pub async fn snapshot(
    source: &SnapshotSource,
    out: &mut (impl AsyncWrite + Unpin),
    mut progress: impl FnMut(u64, u64),
) -> Result<(u64, Digest)> {
    let info = source.url.as_str().into_connection_info().map_err(|e| failed("the source URL", e))?;
    let (host, port) = match info.addr() {
        ConnectionAddr::Tcp(host, port) | ConnectionAddr::TcpTls { host, port, .. } => (host.clone(), *port),
        _ => return Err(Error::Storage("a snapshot needs a TCP address".to_owned())),
    };
    let tcp = idle(TcpStream::connect((host.as_str(), port))).await?.map_err(|e| failed("connecting", e))?;
    let stream: Box<dyn Stream> = match &source.tls {
        Some(tls) => {
            let name = ServerName::try_from(host.clone()).map_err(|e| failed("the server name", e))?;
            let connector = tokio_rustls::TlsConnector::from(client_config(tls)?);
            Box::new(idle(connector.connect(name, tcp)).await?.map_err(|e| failed("the TLS handshake", e))?)
        }
        None => Box::new(tcp),
    };
    let mut stream = BufReader::new(stream);
    let settings = info.redis_settings();
    if let Some(password) = settings.password() {
        let user = settings.username().unwrap_or("default");
        command(&mut stream, &["AUTH", user, password]).await?;
        expect_ok(&mut stream, "AUTH").await?;
    }
    // Older servers do not know it, and then send the command stream after the file, which is not read.
    command(&mut stream, &["REPLCONF", "rdb-only", "1"]).await?;
    let _ = reply_line(&mut stream).await?;
    command(&mut stream, &["SYNC"]).await?;
    let total = bulk_length(&mut stream).await?;
    let mut buffer = vec![0; CHUNK];
    let mut done = 0_u64;
    let mut sha = Sha256::new();
    while done < total {
        let want = usize::try_from(total - done).unwrap_or(CHUNK).min(CHUNK);
        let read = idle(stream.read(&mut buffer[..want])).await?.map_err(|e| failed("reading the snapshot", e))?;
        if read == 0 {
            return Err(Error::Storage(format!("the server closed the connection after {done} of {total} bytes")));
        }
        out.write_all(&buffer[..read]).await.map_err(|e| failed("writing the snapshot", e))?;
        sha.update(&buffer[..read]);
        done += read as u64;
        progress(done, total);
    }
    out.flush().await.map_err(|e| failed("writing the snapshot", e))?;
    Ok((total, Digest(sha.finalize().into())))
}

/// A rustls client configuration trusting `tls.ca` and presenting its client certificate.
fn client_config(tls: &ClientTls) -> Result<Arc<rustls::ClientConfig>> {
    let mut roots = rustls::RootCertStore::empty();
    for cert in CertificateDer::pem_slice_iter(&tls.ca) {
        roots.add(cert.map_err(|e| failed("the CA", e))?).map_err(|e| failed("the CA", e))?;
    }
    let chain = CertificateDer::pem_slice_iter(&tls.cert)
        .collect::<std::result::Result<Vec<_>, _>>()
        .map_err(|e| failed("the client certificate", e))?;
    let key = PrivateKeyDer::from_pem_slice(&tls.key).map_err(|e| failed("the client key", e))?;
    let config = rustls::ClientConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
        .with_safe_default_protocol_versions()
        .map_err(|e| failed("TLS", e))?
        .with_root_certificates(roots)
        .with_client_auth_cert(chain, key)
        .map_err(|e| failed("the client certificate", e))?;
    Ok(Arc::new(config))
}

/// Sends a command as a RESP array of bulk strings.
async fn command(stream: &mut (impl AsyncWrite + Unpin), parts: &[&str]) -> Result<()> {
    let mut bytes = format!("*{}\r\n", parts.len()).into_bytes();
    for part in parts {
        bytes.extend_from_slice(format!("${}\r\n", part.len()).as_bytes());
        bytes.extend_from_slice(part.as_bytes());
        bytes.extend_from_slice(b"\r\n");
    }
    stream.write_all(&bytes).await.map_err(|e| failed("sending a command", e))
}

/// The next reply line, without its `\r\n`.
async fn reply_line(stream: &mut (impl AsyncBufRead + Unpin)) -> Result<String> {
    let mut line = String::new();
    let read = idle(stream.read_line(&mut line)).await?.map_err(|e| failed("reading a reply", e))?;
    if read == 0 {
        return Err(Error::Storage("the server closed the connection".to_owned()));
    }
    Ok(line.trim_end().to_owned())
}

async fn expect_ok(stream: &mut (impl AsyncBufRead + Unpin), what: &str) -> Result<()> {
    match reply_line(stream).await? {
        line if line == "+OK" => Ok(()),
        line => Err(Error::Storage(format!("{what} refused: {}", line.trim_start_matches('-')))),
    }
}

/// Skips the keep-alive newlines sent while the server saves, then reads `$<length>`.
async fn bulk_length(stream: &mut (impl AsyncBufRead + Unpin)) -> Result<u64> {
    loop {
        let line = reply_line(stream).await?;
        if line.is_empty() {
            continue;
        }
        return match line.strip_prefix('$').map(str::parse::<u64>) {
            Some(Ok(length)) => Ok(length),
            _ => Err(Error::Storage(format!("SYNC refused: {}", line.trim_start_matches('-')))),
        };
    }
}

/// `work`, or an error once it has waited [`IDLE`].
async fn idle<T>(work: impl std::future::Future<Output = T>) -> Result<T> {
    tokio::time::timeout(IDLE, work)
        .await
        .map_err(|_| Error::Storage(format!("the server sent nothing for {} s", IDLE.as_secs())))
}

fn failed(what: &str, error: impl std::fmt::Display) -> Error {
    Error::Storage(format!("{what}: {error}"))
}
