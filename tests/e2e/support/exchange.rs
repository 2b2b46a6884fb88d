//! One connection that carries any bytes and any number of responses: for
//! pipelined requests, HTTP/1.0, and requests that the server rejects before
//! it has read all of them.
//!
//! The request is written from a thread of its own while the responses are
//! read. So when a server responds and closes before it has read all of a
//! 1 MiB request, its response is still read. A write that fails because
//! the server closed first is expected there and ignored.

use std::io::{ErrorKind, Read as _, Write as _};
use std::net::{Shutdown, SocketAddr, TcpStream};
use std::time::Instant;

use super::WAIT_LIMIT;
use super::client::Response;

/// One response and the HTTP version of its status line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Received {
    /// `HTTP/1.1` or `HTTP/1.0`.
    pub version: String,
    pub response: Response,
}

/// Writes `raw` to a new connection and returns every response that the
/// server sends before it closes the connection, in order. An empty list
/// means the server closed without a response.
pub fn exchange(addr: SocketAddr, raw: &[u8]) -> Vec<Received> {
    let received = read_until_closed(addr, raw);
    parse_responses(&received)
}

/// Writes `raw` and returns every byte the server sent until it closed the
/// connection, either with FIN or with a reset after its last response.
fn read_until_closed(addr: SocketAddr, raw: &[u8]) -> Vec<u8> {
    let mut stream = TcpStream::connect(addr)
        .unwrap_or_else(|error| panic!("failed to connect to {addr}: {error}"));
    stream.set_read_timeout(Some(WAIT_LIMIT)).unwrap();
    stream.set_write_timeout(Some(WAIT_LIMIT)).unwrap();
    let mut writer = stream.try_clone().expect("failed to clone the stream");
    let request = raw.to_vec();
    let writing = std::thread::spawn(move || {
        // A server that rejects a request may close before reading all of
        // it, which fails this write with EPIPE or ECONNRESET.
        let _ = writer.write_all(&request);
    });

    let deadline = Instant::now() + WAIT_LIMIT;
    let mut received = Vec::new();
    let mut buffer = [0; 64 * 1024];
    loop {
        assert!(
            Instant::now() < deadline,
            "{addr} kept the connection open for over {WAIT_LIMIT:?}; received so far: {}",
            received.escape_ascii()
        );
        match stream.read(&mut buffer) {
            Ok(0) => break,
            Ok(count) => received.extend_from_slice(&buffer[..count]),
            // A server that closes with request bytes still unread resets
            // the connection, which ends the data like a close.
            Err(error) if error.kind() == ErrorKind::ConnectionReset => break,
            Err(error) if error.kind() == ErrorKind::Interrupted => {}
            Err(error) => panic!("failed to read from {addr}: {error}"),
        }
    }
    // Unblocks a write that still waits for the server to read.
    let _ = stream.shutdown(Shutdown::Both);
    writing.join().expect("the writer thread panicked");
    received
}

/// Splits `raw` into consecutive HTTP/1.x responses, panicking with the raw
/// bytes when they are not a whole number of responses.
pub fn parse_responses(raw: &[u8]) -> Vec<Received> {
    let mut responses = Vec::new();
    let mut rest = raw;
    while !rest.is_empty() {
        let (received, remaining) = parse_one(rest)
            .unwrap_or_else(|why| panic!("invalid HTTP response ({why}): {}", raw.escape_ascii()));
        responses.push(received);
        rest = remaining;
    }
    responses
}

/// Parses the first response of `raw` and returns it with the bytes after
/// it. A response with neither `Content-Length` nor chunked coding ends
/// when the connection does, as in HTTP/1.0.
fn parse_one(raw: &[u8]) -> Result<(Received, &[u8]), &'static str> {
    let head_end = find(raw, b"\r\n\r\n").ok_or("no blank line after the headers")?;
    let head = std::str::from_utf8(&raw[..head_end]).map_err(|_| "head is not UTF-8")?;
    let rest = &raw[head_end + 4..];

    let mut lines = head.split("\r\n");
    let status_line = lines.next().unwrap_or_default();
    let mut parts = status_line.splitn(3, ' ');
    let version = parts.next().unwrap_or_default();
    if version != "HTTP/1.1" && version != "HTTP/1.0" {
        return Err("status line does not start with HTTP/1.1 or HTTP/1.0");
    }
    let status: u16 = parts
        .next()
        .and_then(|code| code.parse().ok())
        .ok_or("status code is not a number")?;

    let mut headers = Vec::new();
    for line in lines {
        let (name, value) = line.split_once(':').ok_or("header line without a colon")?;
        headers.push((name.trim().to_ascii_lowercase(), value.trim().to_string()));
    }
    let header = |name: &str| {
        headers
            .iter()
            .find(|(header, _)| header == name)
            .map(|(_, value)| value.clone())
    };

    let (body, remaining) =
        if header("transfer-encoding").is_some_and(|coding| coding.contains("chunked")) {
            decode_chunked(rest)?
        } else if let Some(length) = header("content-length") {
            let length: usize = length
                .parse()
                .map_err(|_| "content-length is not a number")?;
            if rest.len() < length {
                return Err("body shorter than content-length");
            }
            (rest[..length].to_vec(), &rest[length..])
        } else {
            (rest.to_vec(), &rest[rest.len()..])
        };
    let response = Response {
        status,
        headers,
        body,
    };
    let received = Received {
        version: version.to_string(),
        response,
    };
    Ok((received, remaining))
}

/// Removes chunked transfer coding from the start of `rest` and returns the
/// body with the bytes after the last chunk and its empty trailer section.
fn decode_chunked(mut rest: &[u8]) -> Result<(Vec<u8>, &[u8]), &'static str> {
    let mut body = Vec::new();
    loop {
        let line_end = find(rest, b"\r\n").ok_or("chunk size line without CRLF")?;
        let size_line =
            std::str::from_utf8(&rest[..line_end]).map_err(|_| "chunk size not UTF-8")?;
        let size_hex = size_line.split(';').next().unwrap_or_default().trim();
        let size = usize::from_str_radix(size_hex, 16).map_err(|_| "chunk size not hex")?;
        rest = &rest[line_end + 2..];
        if size == 0 {
            // The server under test sends no trailers, so the last chunk is
            // followed by the empty line that ends the trailer section.
            return rest
                .strip_prefix(b"\r\n")
                .map(|remaining| (body, remaining))
                .ok_or("no empty line after the last chunk");
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
