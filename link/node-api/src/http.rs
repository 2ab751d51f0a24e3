//! A minimal HTTP/1.1 client for the node's localhost API: plain `http://`, one request per
//! connection (`Connection: close`), Content-Length, chunked or read-to-close bodies, an
//! overall timeout, and a body limit per request. The node's API is a local, unencrypted JSON
//! endpoint; a general-purpose client (and its TLS stack) would add much and buy nothing here.
//!
//! Every response is bounded while it is read: a Content-Length above the caller's limit is
//! refused before any of the body is read, and a chunked or read-to-close body is refused as
//! soon as more than the limit has arrived, so a misbehaving node cannot make the client buffer
//! more than `limit` (plus the chunk framing) bytes.

use std::time::Duration;

use base64::Engine as _;
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};

/// The default body limit: the node's status, challenge, wallet and single blocks are a few
/// kilobytes.
pub const DEFAULT_BODY_LIMIT: usize = 8 << 20;

/// Largest response head (status line and headers).
const MAX_HEAD: usize = 64 << 10;

/// Allowance for chunked framing (sizes and CRLFs) beyond the body limit.
fn framing_allowance(limit: usize) -> usize {
    limit / 8 + 4096
}

/// Why a request failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum HttpError {
    /// The URL is not `http://host[:port][/path]`.
    #[error("invalid node URL {0:?}: expected http://host[:port][/path]")]
    Url(String),
    /// Connecting failed.
    #[error("cannot connect to {host}:{port}: {source}")]
    Connect {
        /// The host.
        host: String,
        /// The port.
        port: u16,
        /// Why.
        source: std::io::Error,
    },
    /// Writing the request or reading the response failed.
    #[error("{0}")]
    Io(#[from] std::io::Error),
    /// No complete answer within the timeout.
    #[error("no answer within {0:?}")]
    Timeout(Duration),
    /// The answer is not HTTP.
    #[error("malformed HTTP response: {0}")]
    Malformed(&'static str),
    /// The body is larger than the limit of this request.
    #[error("response body larger than the {limit}-byte limit of this request")]
    TooLarge {
        /// The limit, in bytes.
        limit: usize,
    },
}

/// HTTP Basic credentials of the node's API. `Debug` shows the user, never the password.
#[derive(Clone, PartialEq, Eq)]
pub struct Credentials {
    /// The user.
    pub user: String,
    /// The password.
    pub password: String,
}

impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Credentials")
            .field("user", &self.user)
            .field("password", &"<hidden>")
            .finish()
    }
}

/// Where the node's API is, and how to log in. `Debug` hides the authorization header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpTarget {
    host: String,
    port: u16,
    base_path: String,
    authorization: Option<Hidden>,
    timeout: Duration,
}

/// A header value that `Debug` shows as `"<hidden>"`.
#[derive(Clone, PartialEq, Eq)]
struct Hidden(String);

impl std::fmt::Debug for Hidden {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        std::fmt::Debug::fmt("<hidden>", f)
    }
}

/// A response: status code and body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpResponse {
    /// The status code.
    pub status: u16,
    /// The body.
    pub body: Vec<u8>,
}

impl HttpTarget {
    /// Parses `http://host[:port][/path]`.
    ///
    /// # Errors
    /// [`HttpError::Url`].
    pub fn parse(url: &str, timeout: Duration) -> Result<Self, HttpError> {
        let bad = || HttpError::Url(url.to_owned());
        let rest = url.strip_prefix("http://").ok_or_else(bad)?;
        let (authority, path) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
        if authority.is_empty() || authority.contains('@') {
            return Err(bad());
        }
        let (host, port) = match authority.rsplit_once(':') {
            Some((h, p)) if !h.ends_with(']') || h.starts_with('[') => {
                (h.to_owned(), p.parse().map_err(|_| bad())?)
            }
            _ => (authority.to_owned(), 80),
        };
        if host.is_empty() {
            return Err(bad());
        }
        Ok(Self {
            host,
            port,
            base_path: path.trim_end_matches('/').to_owned(),
            authorization: None,
            timeout,
        })
    }

    /// Adds HTTP Basic credentials.
    #[must_use]
    pub fn with_basic_auth(mut self, credentials: &Credentials) -> Self {
        let Credentials { user, password } = credentials;
        let token = base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"));
        self.authorization = Some(Hidden(format!("Basic {token}")));
        self
    }

    /// `GET base/method?query` (the query already encoded), the body at most `limit` bytes.
    ///
    /// # Errors
    /// [`HttpError`] for transport failures and bodies over `limit`; any status code is a
    /// response.
    pub async fn get(
        &self,
        method: &str,
        query: &str,
        limit: usize,
    ) -> Result<HttpResponse, HttpError> {
        let path = if query.is_empty() {
            format!("{}/{method}", self.base_path)
        } else {
            format!("{}/{method}?{query}", self.base_path)
        };
        tokio::time::timeout(self.timeout, self.exchange(&path, limit))
            .await
            .map_err(|_| HttpError::Timeout(self.timeout))?
    }

    /// The per-request timeout.
    #[must_use]
    pub fn timeout(&self) -> Duration {
        self.timeout
    }

    async fn exchange(&self, path: &str, limit: usize) -> Result<HttpResponse, HttpError> {
        let host = self.host.trim_start_matches('[').trim_end_matches(']');
        let mut stream = tokio::net::TcpStream::connect((host, self.port))
            .await
            .map_err(|source| HttpError::Connect {
                host: self.host.clone(),
                port: self.port,
                source,
            })?;
        let mut request = format!(
            "GET {path} HTTP/1.1\r\nHost: {}:{}\r\nAccept: application/json\r\nConnection: close\r\n",
            self.host, self.port
        );
        if let Some(Hidden(auth)) = &self.authorization {
            request.push_str(&format!("Authorization: {auth}\r\n"));
        }
        request.push_str("\r\n");
        stream.write_all(request.as_bytes()).await?;
        // The head first: its Content-Length decides before the body is read.
        let mut raw = Vec::new();
        let mut chunk = vec![0u8; 64 << 10];
        let head_end = loop {
            if let Some(end) = find(&raw, b"\r\n\r\n") {
                break end;
            }
            if raw.len() > MAX_HEAD {
                return Err(HttpError::Malformed("headers too long"));
            }
            let n = stream.read(&mut chunk).await?;
            if n == 0 {
                return Err(HttpError::Malformed("no end of headers"));
            }
            raw.extend_from_slice(&chunk[..n]);
        };
        let head = parse_head(&raw[..head_end])?;
        let body_start = head_end + 4;
        // The most raw body bytes this response may take.
        let max_raw = match head.content_length {
            Some(n) if n > limit => return Err(HttpError::TooLarge { limit }),
            Some(n) => n,
            None if head.chunked => limit + framing_allowance(limit),
            None => limit,
        };
        while raw.len() - body_start < max_raw.saturating_add(1) {
            if head
                .content_length
                .is_some_and(|n| raw.len() - body_start >= n)
            {
                break;
            }
            let want = (max_raw + 1 - (raw.len() - body_start)).min(chunk.len());
            let n = stream.read(&mut chunk[..want]).await?;
            if n == 0 {
                break;
            }
            raw.extend_from_slice(&chunk[..n]);
        }
        if head.content_length.is_none() && raw.len() - body_start > max_raw {
            return Err(HttpError::TooLarge { limit });
        }
        finish_response(&head, &raw[body_start..], limit)
    }
}

/// The parts of a response head this client uses.
struct Head {
    status: u16,
    content_length: Option<usize>,
    chunked: bool,
}

/// Parses a complete HTTP/1.x response, its body at most [`DEFAULT_BODY_LIMIT`] bytes.
///
/// # Errors
/// [`HttpError::Malformed`], [`HttpError::TooLarge`].
pub fn parse_response(raw: &[u8]) -> Result<HttpResponse, HttpError> {
    let malformed = HttpError::Malformed;
    let head_end = find(raw, b"\r\n\r\n").ok_or(malformed("no end of headers"))?;
    let head = parse_head(&raw[..head_end])?;
    finish_response(&head, &raw[head_end + 4..], DEFAULT_BODY_LIMIT)
}

fn finish_response(head: &Head, body: &[u8], limit: usize) -> Result<HttpResponse, HttpError> {
    let malformed = HttpError::Malformed;
    let body = if head.chunked {
        dechunk(body, limit)?
    } else if let Some(n) = head.content_length {
        if n > limit {
            return Err(HttpError::TooLarge { limit });
        }
        body.get(..n)
            .ok_or(malformed("body shorter than Content-Length"))?
            .to_vec()
    } else if body.len() > limit {
        return Err(HttpError::TooLarge { limit });
    } else {
        body.to_vec()
    };
    Ok(HttpResponse {
        status: head.status,
        body,
    })
}

fn parse_head(raw: &[u8]) -> Result<Head, HttpError> {
    let malformed = HttpError::Malformed;
    let head = std::str::from_utf8(raw).map_err(|_| malformed("headers not UTF-8"))?;
    let mut lines = head.split("\r\n");
    let status_line = lines.next().ok_or(malformed("empty response"))?;
    let mut parts = status_line.split(' ');
    if !parts.next().is_some_and(|v| v.starts_with("HTTP/1.")) {
        return Err(malformed("not an HTTP/1.x status line"));
    }
    let status: u16 = parts
        .next()
        .and_then(|s| s.parse().ok())
        .ok_or(malformed("no status code"))?;
    let mut content_length = None;
    let mut chunked = false;
    for line in lines {
        let Some((name, value)) = line.split_once(':') else {
            return Err(malformed("header line without a colon"));
        };
        let value = value.trim();
        if name.eq_ignore_ascii_case("content-length") {
            content_length = Some(
                value
                    .parse::<usize>()
                    .map_err(|_| malformed("bad Content-Length"))?,
            );
        } else if name.eq_ignore_ascii_case("transfer-encoding") {
            chunked = value.to_ascii_lowercase().contains("chunked");
        }
    }
    Ok(Head {
        status,
        content_length: if chunked { None } else { content_length },
        chunked,
    })
}

fn dechunk(mut body: &[u8], limit: usize) -> Result<Vec<u8>, HttpError> {
    let malformed = HttpError::Malformed;
    let mut out = Vec::new();
    loop {
        let line_end = find(body, b"\r\n").ok_or(malformed("truncated chunk size"))?;
        let size_text =
            std::str::from_utf8(&body[..line_end]).map_err(|_| malformed("chunk size"))?;
        let size_text = size_text.split(';').next().unwrap_or("").trim();
        let size = usize::from_str_radix(size_text, 16).map_err(|_| malformed("chunk size"))?;
        body = &body[line_end + 2..];
        if size == 0 {
            return Ok(out);
        }
        if out.len().saturating_add(size) > limit {
            return Err(HttpError::TooLarge { limit });
        }
        out.extend_from_slice(body.get(..size).ok_or(malformed("truncated chunk"))?);
        body = body
            .get(size..)
            .and_then(|b| b.strip_prefix(b"\r\n"))
            .ok_or(malformed("chunk without CRLF"))?;
    }
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

/// Percent-encodes a query value (RFC 3986 unreserved characters stay as they are), so that a
/// base64 nonce's `+`, `/` and `=` arrive intact.
#[must_use]
pub fn encode_query_value(value: &str) -> String {
    let mut out = String::with_capacity(value.len() * 3);
    for b in value.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    // Test code: a failed expectation is a panic by design.
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn urls_parse_or_are_refused() {
        let t = HttpTarget::parse("http://localhost:8081", Duration::from_secs(1)).unwrap();
        assert_eq!(
            (t.host.as_str(), t.port, t.base_path.as_str()),
            ("localhost", 8081, "")
        );
        let t = HttpTarget::parse("http://10.0.0.2/api/", Duration::from_secs(1)).unwrap();
        assert_eq!(
            (t.host.as_str(), t.port, t.base_path.as_str()),
            ("10.0.0.2", 80, "/api")
        );
        let t = HttpTarget::parse("http://[::1]:8181", Duration::from_secs(1)).unwrap();
        assert_eq!((t.host.as_str(), t.port), ("[::1]", 8181));
        for bad in [
            "https://localhost",
            "localhost:8081",
            "http://",
            "http://h:port",
            "http://u:p@h",
        ] {
            assert!(
                HttpTarget::parse(bad, Duration::from_secs(1)).is_err(),
                "{bad}"
            );
        }
    }

    #[test]
    fn debug_hides_the_authorization() {
        let credentials = Credentials {
            user: "ixi".into(),
            password: "hunter2".into(),
        };
        let t = HttpTarget::parse("http://localhost:8081", Duration::from_secs(1))
            .unwrap()
            .with_basic_auth(&credentials);
        assert_eq!(
            format!("{t:?}"),
            r#"HttpTarget { host: "localhost", port: 8081, base_path: "", authorization: Some("<hidden>"), timeout: 1s }"#
        );
        assert!(!format!("{t:#?} {credentials:?}").contains("hunter2"));
    }

    #[test]
    fn bodies_by_length_chunks_or_close() {
        let r = parse_response(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nokEXTRA").unwrap();
        assert_eq!((r.status, r.body.as_slice()), (200, &b"ok"[..]));
        let r = parse_response(
            b"HTTP/1.1 500 Internal\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n2;x=y\r\nde\r\n0\r\n\r\n",
        )
        .unwrap();
        assert_eq!((r.status, r.body.as_slice()), (500, &b"abcde"[..]));
        let r = parse_response(b"HTTP/1.0 404 Not Found\r\n\r\nrest").unwrap();
        assert_eq!((r.status, r.body.as_slice()), (404, &b"rest"[..]));
        for bad in [
            &b"HTTP/1.1 200 OK\r\nContent-Length: 9\r\n\r\nshort"[..],
            b"SSH-2.0\r\n\r\n",
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
            b"HTTP/1.1 200",
        ] {
            assert!(parse_response(bad).is_err());
        }
    }

    #[test]
    fn base64_survives_the_query() {
        assert_eq!(encode_query_value("a+b/c=="), "a%2Bb%2Fc%3D%3D");
        assert_eq!(encode_query_value("AZaz09-_.~"), "AZaz09-_.~");
    }
}
