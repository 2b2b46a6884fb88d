//! A minimal HTTP/1.1 client over `TcpStream` that sends exactly the bytes
//! it is given, so tests can send requests that no ordinary client would.
//!
//! Every request is sent on a new connection, and the response is read until
//! the server closes it. Requests built here carry `Connection: close`;
//! raw requests must carry it themselves or end in a way that makes the
//! server close.

use std::io::{Read as _, Write as _};
use std::net::{SocketAddr, TcpStream};

use super::WAIT_LIMIT;

/// A parsed response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Response {
    pub status: u16,
    /// Header names in lower case, values as sent, in order.
    pub headers: Vec<(String, String)>,
    /// The body, with chunked transfer coding removed.
    pub body: Vec<u8>,
}

impl Response {
    /// Returns the value of the only header called `name`, or `None` when
    /// there is none. Panics when the header appears more than once.
    pub fn header(&self, name: &str) -> Option<&str> {
        let name = name.to_ascii_lowercase();
        let mut values = self
            .headers
            .iter()
            .filter(|(header, _)| *header == name)
            .map(|(_, value)| value.as_str());
        let first = values.next();
        assert_eq!(values.next(), None, "header {name} appears more than once");
        first
    }

    /// Returns the body as UTF-8 text. Panics on invalid UTF-8, which no
    /// response of the service contains.
    pub fn text(&self) -> &str {
        std::str::from_utf8(&self.body).expect("the response body is UTF-8")
    }
}

/// Sends `DELETE /v1/videos/{encoded_id}`; `encoded_id` is sent as written.
pub fn delete_video(addr: SocketAddr, encoded_id: &str) -> Response {
    request(addr, "DELETE", &format!("/v1/videos/{encoded_id}"))
}

/// Sends a request with no body for `target`, which is sent as written.
pub fn request(addr: SocketAddr, method: &str, target: &str) -> Response {
    let raw = format!(
        "{method} {target} HTTP/1.1\r\nHost: {addr}\r\nContent-Length: 0\r\n\
         Connection: close\r\n\r\n"
    );
    send_raw(addr, raw.as_bytes())
}

/// Writes `raw` to a new connection and parses everything the server sends
/// back until it closes the connection.
pub fn send_raw(addr: SocketAddr, raw: &[u8]) -> Response {
    let mut stream = TcpStream::connect(addr)
        .unwrap_or_else(|error| panic!("failed to connect to {addr}: {error}"));
    stream.set_read_timeout(Some(WAIT_LIMIT)).unwrap();
    stream.set_write_timeout(Some(WAIT_LIMIT)).unwrap();
    stream
        .write_all(raw)
        .unwrap_or_else(|error| panic!("failed to send the request to {addr}: {error}"));
    let mut received = Vec::new();
    stream
        .read_to_end(&mut received)
        .unwrap_or_else(|error| panic!("failed to read the response from {addr}: {error}"));
    parse_response(&received)
}

/// Parses one HTTP/1.1 response, panicking with the raw bytes when they are
/// not one.
pub fn parse_response(raw: &[u8]) -> Response {
    let fail = |why: &str| -> ! { panic!("invalid HTTP response ({why}): {}", raw.escape_ascii()) };
    let Some(head_end) = find(raw, b"\r\n\r\n") else {
        fail("no blank line after the headers");
    };
    let head = std::str::from_utf8(&raw[..head_end]).unwrap_or_else(|_| fail("head is not UTF-8"));
    let rest = &raw[head_end + 4..];

    let mut lines = head.split("\r\n");
    let status_line = lines.next().unwrap_or_default();
    let mut parts = status_line.splitn(3, ' ');
    if parts.next() != Some("HTTP/1.1") {
        fail("status line does not start with HTTP/1.1");
    }
    let status = parts
        .next()
        .and_then(|code| code.parse().ok())
        .unwrap_or_else(|| fail("status code is not a number"));

    let mut headers = Vec::new();
    for line in lines {
        let Some((name, value)) = line.split_once(':') else {
            fail("header line without a colon");
        };
        headers.push((name.trim().to_ascii_lowercase(), value.trim().to_string()));
    }

    let header = |name: &str| {
        headers
            .iter()
            .find(|(header, _)| header == name)
            .map(|(_, value)| value.as_str())
    };
    let body = if header("transfer-encoding").is_some_and(|coding| coding.contains("chunked")) {
        decode_chunked(rest).unwrap_or_else(|why| fail(why))
    } else if let Some(length) = header("content-length") {
        let length: usize = length
            .parse()
            .unwrap_or_else(|_| fail("content-length is not a number"));
        if rest.len() != length {
            fail("body length differs from content-length");
        }
        rest.to_vec()
    } else {
        rest.to_vec()
    };
    Response {
        status,
        headers,
        body,
    }
}

/// Removes chunked transfer coding and checks that nothing follows the
/// final chunk except trailers.
fn decode_chunked(mut rest: &[u8]) -> Result<Vec<u8>, &'static str> {
    let mut body = Vec::new();
    loop {
        let line_end = find(rest, b"\r\n").ok_or("chunk size line without CRLF")?;
        let size_line =
            std::str::from_utf8(&rest[..line_end]).map_err(|_| "chunk size not UTF-8")?;
        let size_hex = size_line.split(';').next().unwrap_or_default().trim();
        let size = usize::from_str_radix(size_hex, 16).map_err(|_| "chunk size not hex")?;
        rest = &rest[line_end + 2..];
        if size == 0 {
            // Trailers, if any, end with an empty line.
            return if rest.ends_with(b"\r\n") {
                Ok(body)
            } else {
                Err("chunked body does not end with CRLF")
            };
        }
        if rest.len() < size + 2 || &rest[size..size + 2] != b"\r\n" {
            return Err("chunk shorter than its size");
        }
        body.extend_from_slice(&rest[..size]);
        rest = &rest[size + 2..];
    }
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack
        .windows(needle.len())
        .position(|window| window == needle)
}
