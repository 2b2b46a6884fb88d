//! The `job.txt` format: finding the lines of one job, bytes in, spans out.
//!
//! A job is one line of 18 fields joined by a separator (`$###$` in the
//! existing service) and ended by `\n`. Fields 0-2 (id, status, created_at)
//! come before the prompt and fields 4-17 (seconds ... error) after it. The
//! prompt is client text written unescaped, so it can contain the separator,
//! and a newline in it splits one job over several physical lines. Fields are
//! therefore read from the start for 0-2 and from the end for 4-17.
//!
//! The scanner never decodes the file as text and never rewrites a line: it
//! reports the byte spans of the target job, so every other byte, including
//! `\r\n` endings, invalid UTF-8 and lines no reader can parse, stays as it was.

use std::ops::Range;

use crate::DeleteError;

/// Fields per job line.
pub const FIELD_COUNT: usize = 18;

/// Fields after the prompt: seconds (4) through error (17).
const TAIL_FIELDS: usize = FIELD_COUNT - 4;

/// The statuses the service writes in field 1.
const STATUSES: [&[u8]; 4] = [b"queued", b"processing", b"completed", b"error"];

/// The maximum length of a line that the scanner reads whole. A longer line keeps only its
/// first bytes, enough to tell whether it belongs to the target job.
pub const MAX_LINE_BYTES: usize = 1 << 20;

/// The largest split job the scanner joins, so a long run of unparseable
/// lines after a truncated line cannot grow memory without bound.
const MAX_SPLIT_JOB_BYTES: usize = 1 << 20;

/// The fields of a job that a delete response reports.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JobFields {
    /// Field 2, unix seconds.
    pub created_at: i64,
    /// Field 4, as written.
    pub seconds: String,
    /// Field 14, `generate_duration` in seconds.
    pub duration: i64,
}

/// The lines of the target job in one `job.txt`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Found {
    /// Byte spans to remove, sorted, disjoint, each ending after its `\n`
    /// (or at the end of the file for a last line without one).
    pub spans: Vec<Range<u64>>,
    /// The fields of the first matching job.
    pub job: JobFields,
}

impl Found {
    /// Bytes removed in total.
    pub fn removed_len(&self) -> u64 {
        self.spans.iter().map(|span| span.end - span.start).sum()
    }
}

/// A job whose first physical line has the target id but too few fields,
/// waiting for the rest of its prompt on the following lines.
struct SplitJob {
    line_number: u64,
    spans: Vec<Range<u64>>,
    record: Vec<u8>,
    /// Separators in `record`, kept as lines join so each line is counted
    /// once.
    separators: usize,
}

/// Finds every line of one job id, fed one physical line at a time.
///
/// Feed lines in file order with [`Scanner::push`], then call
/// [`Scanner::finish`]. Memory stays bounded by the longest line.
pub struct Scanner<'a> {
    id: &'a str,
    separator: &'a [u8],
    line_number: u64,
    split: Option<SplitJob>,
    spans: Vec<Range<u64>>,
    first: Option<JobFields>,
    processing: bool,
    malformed: Option<String>,
    id_contains_separator: bool,
}

impl<'a> Scanner<'a> {
    /// Starts a scan for `id`. The separator must not be empty.
    pub fn new(id: &'a str, separator: &'a [u8]) -> Self {
        assert!(!separator.is_empty(), "the separator must not be empty");
        Scanner {
            id,
            separator,
            line_number: 0,
            split: None,
            spans: Vec::new(),
            first: None,
            processing: false,
            malformed: None,
            id_contains_separator: find(id.as_bytes(), separator).is_some(),
        }
    }

    /// Takes the next physical line, which starts at byte `offset` of the
    /// file and includes its `\n` unless it is the last line.
    pub fn push(&mut self, offset: u64, line: &[u8]) {
        self.line_number += 1;
        let span = offset..offset + line.len() as u64;
        let record = trim_line_end(line);

        if let Some(mut split) = self.split.take() {
            if !self.is_job_head(record) && split.record.len() < MAX_SPLIT_JOB_BYTES {
                split.record.push(b'\n');
                split.record.extend_from_slice(record);
                split.spans.push(span);
                split.separators += self.count_separators(record);
                if split.separators >= FIELD_COUNT - 1 {
                    self.accept(split.line_number, split.spans, &split.record);
                } else {
                    self.split = Some(split);
                }
                return;
            }
            self.reject_split(&split);
        }

        if !self.has_target_id(record) {
            return;
        }
        if self.status(record) == Some(b"processing".as_slice()) {
            self.processing = true;
        }
        if self.count_separators(record) >= FIELD_COUNT - 1 {
            self.accept(self.line_number, vec![span], record);
        } else {
            self.split = Some(SplitJob {
                line_number: self.line_number,
                spans: vec![span],
                record: record.to_vec(),
                separators: self.count_separators(record),
            });
        }
    }

    /// Takes the next physical line when it is longer than
    /// [`MAX_LINE_BYTES`]: `len` is its length and `prefix` its start. Such a
    /// line is never removed; one of the target id fails the delete.
    pub fn push_long(&mut self, len: u64, prefix: &[u8]) {
        self.line_number += 1;
        if let Some(split) = self.split.take() {
            self.reject_split(&split);
        }
        if !self.has_target_id(prefix) {
            return;
        }
        if self.status(prefix) == Some(b"processing".as_slice()) {
            self.processing = true;
        }
        self.malformed.get_or_insert(format!(
            "line {} of job.txt has id {} but is {len} bytes long, longer than the {} bytes \
             a job line may have, so fix or remove that line by hand",
            self.line_number, self.id, MAX_LINE_BYTES
        ));
    }

    /// Ends the scan and returns the target job's spans.
    ///
    /// Returns [`DeleteError::Processing`] if any line of the id has status
    /// `processing`, [`DeleteError::Internal`] if a line of the id lacks the
    /// fields a response needs, and [`DeleteError::NotFound`] if no line has
    /// the id.
    pub fn finish(mut self) -> Result<Found, DeleteError> {
        if let Some(split) = self.split.take() {
            self.reject_split(&split);
        }
        if self.processing {
            return Err(DeleteError::Processing {
                id: self.id.to_string(),
            });
        }
        if let Some(details) = self.malformed {
            return Err(DeleteError::internal(details));
        }
        match self.first {
            Some(job) => Ok(Found {
                spans: self.spans,
                job,
            }),
            None => Err(DeleteError::NotFound {
                id: self.id.to_string(),
            }),
        }
    }

    /// Records a complete job of the target id.
    fn accept(&mut self, line_number: u64, spans: Vec<Range<u64>>, record: &[u8]) {
        match self.parse_job(line_number, record) {
            Ok(job) => {
                self.first.get_or_insert(job);
                self.spans.extend(spans);
            }
            Err(details) => {
                self.malformed.get_or_insert(details);
            }
        }
    }

    /// Records a line of the target id that never gained all its fields.
    fn reject_split(&mut self, split: &SplitJob) {
        let fields = self.count_separators(&split.record) + 1;
        let missing = match fields {
            1 => "status, created_at, seconds and generate_duration",
            2 => "created_at, seconds and generate_duration",
            _ => "seconds and generate_duration",
        };
        self.malformed.get_or_insert(format!(
            "line {} of job.txt has id {} but only {fields} of {FIELD_COUNT} fields; \
             it lacks {missing}, so fix or remove that line by hand",
            split.line_number, self.id
        ));
    }

    /// Parses the response fields of a record with at least 18 fields.
    fn parse_job(&self, line_number: u64, record: &[u8]) -> Result<JobFields, String> {
        let head: Vec<&[u8]> = split_n(record, self.separator, 4);
        let mut tail: Vec<&[u8]> = rsplit_n(record, self.separator, TAIL_FIELDS + 1);
        tail.reverse();
        // tail[0] is the head and prompt; tail[1] is field 4, tail[11] field 14.
        let created_at = parse_integer(head[2], "created_at", line_number)?;
        let seconds = std::str::from_utf8(tail[1])
            .map_err(|_| format!("line {line_number} of job.txt: seconds is not UTF-8"))?
            .to_string();
        let duration = parse_integer(tail[11], "generate_duration", line_number)?;
        Ok(JobFields {
            created_at,
            seconds,
            duration,
        })
    }

    fn has_target_id(&self, record: &[u8]) -> bool {
        let id = self.id.as_bytes();
        // The id must be the whole first field: the line's first separator
        // comes right after it. An id that contains the separator is no
        // line's first field.
        !self.id_contains_separator
            && record.starts_with(id)
            && find(record, self.separator) == Some(id.len())
    }

    fn status<'r>(&self, record: &'r [u8]) -> Option<&'r [u8]> {
        let fields = split_n(record, self.separator, 3);
        (fields.len() >= 3).then(|| fields[1])
    }

    /// Whether a line starts like a job of any id: an id, a known status and
    /// an integer created_at. Such a line is never taken as the rest of a
    /// split prompt.
    fn is_job_head(&self, record: &[u8]) -> bool {
        let fields = split_n(record, self.separator, 4);
        fields.len() == 4
            && !fields[0].is_empty()
            && STATUSES.contains(&fields[1])
            && !fields[2].is_empty()
            && fields[2].iter().all(u8::is_ascii_digit)
    }

    fn count_separators(&self, record: &[u8]) -> usize {
        let mut count = 0;
        let mut rest = record;
        while let Some(at) = find(rest, self.separator) {
            count += 1;
            rest = &rest[at + self.separator.len()..];
        }
        count
    }
}

/// Finds the job `id` in the whole content of a `job.txt`.
pub fn find_job(content: &[u8], id: &str, separator: &[u8]) -> Result<Found, DeleteError> {
    let mut scanner = Scanner::new(id, separator);
    let mut offset = 0;
    for line in content.split_inclusive(|byte| *byte == b'\n') {
        scanner.push(offset, line);
        offset += line.len() as u64;
    }
    scanner.finish()
}

/// Returns `content` without the bytes in `spans`.
pub fn remove_spans(content: &[u8], spans: &[Range<u64>]) -> Vec<u8> {
    let mut kept = Vec::with_capacity(content.len());
    let mut start = 0;
    for span in spans {
        kept.extend_from_slice(&content[start..span.start as usize]);
        start = span.end as usize;
    }
    kept.extend_from_slice(&content[start..]);
    kept
}

/// Strips the `\n` and a `\r` before it.
fn trim_line_end(line: &[u8]) -> &[u8] {
    let line = line.strip_suffix(b"\n").unwrap_or(line);
    line.strip_suffix(b"\r").unwrap_or(line)
}

fn parse_integer(field: &[u8], name: &str, line_number: u64) -> Result<i64, String> {
    std::str::from_utf8(field)
        .ok()
        .and_then(|text| text.parse().ok())
        .ok_or_else(|| {
            format!(
                "line {line_number} of job.txt: {name} {:?} is not an integer",
                String::from_utf8_lossy(field)
            )
        })
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack
        .windows(needle.len())
        .position(|window| window == needle)
}

fn rfind(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack
        .windows(needle.len())
        .rposition(|window| window == needle)
}

/// Splits at the first `n - 1` separators, left to right.
fn split_n<'r>(record: &'r [u8], separator: &[u8], n: usize) -> Vec<&'r [u8]> {
    let mut fields = Vec::with_capacity(n);
    let mut rest = record;
    while fields.len() + 1 < n {
        match find(rest, separator) {
            Some(at) => {
                fields.push(&rest[..at]);
                rest = &rest[at + separator.len()..];
            }
            None => break,
        }
    }
    fields.push(rest);
    fields
}

/// Splits at the last `n - 1` separators, right to left; the fields come out
/// last first.
fn rsplit_n<'r>(record: &'r [u8], separator: &[u8], n: usize) -> Vec<&'r [u8]> {
    let mut fields = Vec::with_capacity(n);
    let mut rest = record;
    while fields.len() + 1 < n {
        match rfind(rest, separator) {
            Some(at) => {
                fields.push(&rest[at + separator.len()..]);
                rest = &rest[..at];
            }
            None => break,
        }
    }
    fields.push(rest);
    fields
}

#[cfg(test)]
mod proptests;
#[cfg(test)]
mod tests;
