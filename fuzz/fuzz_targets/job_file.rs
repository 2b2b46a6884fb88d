//! Fuzzes the `job.txt` scanner: `find_job` and `remove_spans` on arbitrary
//! bytes and ids, checking the invariants of the spans on every `Ok`.
//!
//! Input layout: byte 0 picks how the id is made. Below 192, the id is the
//! first field of the line that byte 1 selects, so the fuzzer reaches found
//! jobs without guessing an id. Otherwise byte 1 is the id's length and the
//! id is the bytes after it. The rest of the input is the file content.

#![no_main]

use libfuzzer_sys::fuzz_target;
use video_delete::DeleteError;
use video_delete::job_file::{find_job, remove_spans};

const SEP: &[u8] = b"$###$";

fuzz_target!(|data: &[u8]| {
    let Some((id, content)) = split_input(data) else {
        return;
    };
    match find_job(content, &id, SEP) {
        Ok(found) => check_found(content, &id, &found.spans, found.removed_len()),
        Err(DeleteError::NotFound { .. }) => {
            assert!(
                !lines(content).any(|(_, line)| is_line_of(line, id.as_bytes())),
                "NotFound although a line has the id as first field"
            );
        }
        Err(DeleteError::Processing { .. } | DeleteError::Internal { .. }) => {
            assert!(
                lines(content).any(|(_, line)| is_line_of(line, id.as_bytes())),
                "an error about the id although no line has it as first field"
            );
        }
        Err(other) => panic!("unexpected error {other:?}"),
    }
});

/// Splits the input into the id to delete and the file content.
fn split_input(data: &[u8]) -> Option<(String, &[u8])> {
    let (&mode, rest) = data.split_first()?;
    let (&choice, content) = rest.split_first()?;
    if mode < 192 {
        let all: Vec<&[u8]> = content.split_inclusive(|byte| *byte == b'\n').collect();
        let line = all.get(usize::from(choice) % all.len().max(1))?;
        let field = match find(line, SEP) {
            Some(at) => &line[..at],
            None => line,
        };
        let id = std::str::from_utf8(field).ok()?;
        (!id.is_empty()).then(|| (id.to_string(), content))
    } else {
        let len = usize::from(choice % 32).min(content.len());
        let (id, content) = content.split_at(len);
        let id = std::str::from_utf8(id).ok()?;
        (!id.is_empty()).then(|| (id.to_string(), content))
    }
}

/// Checks the spans of a found job against the content.
fn check_found(content: &[u8], id: &str, spans: &[std::ops::Range<u64>], removed: u64) {
    let len = content.len() as u64;
    assert!(!spans.is_empty(), "a found job has no spans");
    for pair in spans.windows(2) {
        assert!(
            pair[0].end <= pair[1].start,
            "spans {:?} and {:?} overlap or are out of order",
            pair[0],
            pair[1]
        );
    }
    for span in spans {
        assert!(span.start < span.end, "span {span:?} is empty");
        assert!(
            span.end <= len,
            "span {span:?} ends past the content length {len}"
        );
        let start = span.start as usize;
        let end = span.end as usize;
        assert!(
            start == 0 || content[start - 1] == b'\n',
            "span {span:?} does not start at a line start"
        );
        assert!(
            end == content.len() || content[end - 1] == b'\n',
            "span {span:?} does not end after a newline or at the end"
        );
        assert!(
            !content[start..end - 1].contains(&b'\n'),
            "span {span:?} covers more than one line"
        );
        let continues = spans.iter().any(|other| other.end == span.start);
        assert!(
            continues || is_line_of(&content[start..end], id.as_bytes()),
            "span {span:?} neither has the id as first field nor continues a span"
        );
    }
    for (range, line) in lines(content) {
        if is_line_of(line, id.as_bytes()) {
            assert!(spans.contains(&range), "line {range:?} of the id is kept");
        }
    }

    let kept = remove_spans(content, spans);
    assert_eq!(kept.len() as u64, len - removed, "output length");
    let mut expected = Vec::with_capacity(content.len());
    for (range, line) in lines(content) {
        if !spans.contains(&range) {
            expected.extend_from_slice(line);
        }
    }
    assert!(kept == expected, "output differs from the kept lines");
}

/// Physical lines with their byte ranges, each including its `\n`.
fn lines(content: &[u8]) -> impl Iterator<Item = (std::ops::Range<u64>, &[u8])> {
    let mut offset = 0u64;
    content
        .split_inclusive(|byte| *byte == b'\n')
        .map(move |line| {
            let range = offset..offset + line.len() as u64;
            offset = range.end;
            (range, line)
        })
}

/// Whether the id is the line's first field: the line's first separator
/// comes right after the id.
fn is_line_of(line: &[u8], id: &[u8]) -> bool {
    line.starts_with(id) && find(line, SEP) == Some(id.len())
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack
        .windows(needle.len())
        .position(|window| window == needle)
}
