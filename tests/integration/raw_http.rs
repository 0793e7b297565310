//! HTTP/1.1 spoken by hand over a socket, for what clients do that reqwest will not: headers and body in
//! separate writes, a second request on a connection whatever the first answer said.

use std::net::SocketAddr;

use serde_json::Value;
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::TcpStream;

/// One HTTP/1.1 answer, as read off the socket.
#[derive(Debug)]
pub struct Answer {
    pub status: u16,
    /// Whether it said `Connection: close`.
    pub close: bool,
    pub content_type: String,
    pub body: Vec<u8>,
}

impl Answer {
    /// The `error` of its JSON body (which must be JSON).
    pub fn error(&self) -> String {
        assert_eq!(self.content_type, "application/json", "{self:?}");
        let body: Value = serde_json::from_slice(&self.body).unwrap_or_else(|e| panic!("{e}: {self:?}"));
        body["error"].as_str().unwrap_or_else(|| panic!("no error in {body}")).to_owned()
    }
}

/// Reads one answer; `None` when the connection ends (or is reset) before a whole one arrives.
pub async fn read_answer(stream: &mut TcpStream) -> Option<Answer> {
    let mut buf = Vec::new();
    let mut chunk = [0_u8; 4096];
    let end = loop {
        if let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break end + 4;
        }
        match stream.read(&mut chunk).await {
            Ok(0) | Err(_) => return None,
            Ok(n) => buf.extend_from_slice(&chunk[..n]),
        }
    };
    let head = String::from_utf8(buf[..end].to_vec()).unwrap();
    let header = |name: &str| {
        head.lines()
            .filter_map(|line| line.split_once(':'))
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.trim().to_owned())
    };
    let status = head.split(' ').nth(1).unwrap().parse().unwrap();
    let length: usize = header("content-length").expect("a content-length").parse().unwrap();
    let mut body = buf[end..].to_vec();
    while body.len() < length {
        match stream.read(&mut chunk).await {
            Ok(0) | Err(_) => return None,
            Ok(n) => body.extend_from_slice(&chunk[..n]),
        }
    }
    let close = header("connection").is_some_and(|v| v.eq_ignore_ascii_case("close"));
    Some(Answer { status, close, content_type: header("content-type").unwrap_or_default(), body })
}

/// Sends `head` (request line and headers; a `Host` and the `Content-Length` of `body` are added) and `body`
/// in two writes, as httpx and undici do, reads the answer, then sends `next` (a whole request) on the same
/// connection. Returns both answers (the second is `None` when the connection ended).
pub async fn two_writes(address: SocketAddr, head: &str, body: &[u8], next: &str) -> (Answer, Option<Answer>) {
    let mut stream = TcpStream::connect(address).await.unwrap();
    stream.set_nodelay(true).unwrap();
    let head = format!("{head}Host: gateway\r\nContent-Length: {}\r\n\r\n", body.len());
    stream.write_all(head.as_bytes()).await.unwrap();
    stream.write_all(body).await.unwrap();
    let first = read_answer(&mut stream).await.expect("an answer to the first request");
    let second = match stream.write_all(next.as_bytes()).await {
        Ok(()) => read_answer(&mut stream).await,
        Err(_) => None,
    };
    (first, second)
}
