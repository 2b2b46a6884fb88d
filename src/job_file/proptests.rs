//! Property tests of the scanner and of `delete_video`: generated queues are
//! checked against models that rebuild the expected `job.txt` without the
//! scanner, and arbitrary bytes against the invariants of the spans.
//!
//! Failure persistence is off, so a failing case is printed but no file is
//! written into the source tree. To rerun one, paste the printed input into
//! a unit test.

use proptest::prelude::*;
use proptest::test_runner::Config as ProptestConfig;

use super::*;
use crate::journal::{Durability, JOURNAL_FILE};
use crate::queue_lock::LOCK_FILE;
use crate::{Config, delete_video};

const SEP: &str = "$###$";

/// Ids the generated queues draw from. A small pool makes duplicate ids,
/// and ids that are prefixes of one another, common.
const ID_POOL: [&str; 6] = [
    "video_1_100",
    "video_1_1000",
    "video_1_10000",
    "video_2_2000",
    "video_3_3000",
    "video_1764790000_4821",
];

/// Generates the statuses the service writes, weighted so that most generated jobs
/// can be deleted.
fn status_strategy() -> impl Strategy<Value = &'static str> {
    prop_oneof![
        3 => Just("queued"),
        3 => Just("completed"),
        2 => Just("error"),
        1 => Just("processing"),
    ]
}

fn config() -> ProptestConfig {
    ProptestConfig {
        failure_persistence: None,
        ..ProptestConfig::default()
    }
}

/// The fields of one generated job that the delete response reports.
#[derive(Debug, Clone)]
struct JobValues {
    id: String,
    status: &'static str,
    created_at: i64,
    seconds: String,
    duration: i64,
}

impl JobValues {
    /// Returns all 18 fields, with the prompt at index 3.
    fn fields(&self, prompt: &str) -> Vec<String> {
        vec![
            self.id.clone(),
            self.status.to_string(),
            self.created_at.to_string(),
            prompt.to_string(),
            self.seconds.clone(),
            "720x1280".into(),
            "standard".into(),
            "25".into(),
            "5.0".into(),
            "40".into(),
            "5.0".into(),
            "5.0".into(),
            "42".into(),
            "False".into(),
            self.duration.to_string(),
            "1764790031".into(),
            "1764790045".into(),
            String::new(),
        ]
    }

    fn job_fields(&self) -> JobFields {
        JobFields {
            created_at: self.created_at,
            seconds: self.seconds.clone(),
            duration: self.duration,
        }
    }
}

/// One piece of a generated `job.txt`.
#[derive(Debug, Clone)]
enum Segment {
    /// A complete job on one physical line. The prompt may contain the
    /// separator.
    Full {
        job: JobValues,
        prompt: String,
        crlf: bool,
    },
    /// A complete job whose prompt contains newlines, so it spans
    /// `pieces.len()` physical lines.
    Split {
        job: JobValues,
        pieces: Vec<String>,
        crlf: bool,
    },
    /// The first `fields` fields of a job (4 to 8), as a writer that died
    /// part way through would leave them.
    Truncated {
        job: JobValues,
        fields: usize,
        crlf: bool,
    },
    /// A line of arbitrary bytes without the separator or a newline.
    Junk { bytes: Vec<u8>, crlf: bool },
}

impl Segment {
    fn id(&self) -> Option<&str> {
        match self {
            Segment::Full { job, .. }
            | Segment::Split { job, .. }
            | Segment::Truncated { job, .. } => Some(&job.id),
            Segment::Junk { .. } => None,
        }
    }

    fn job(&self) -> Option<&JobValues> {
        match self {
            Segment::Full { job, .. }
            | Segment::Split { job, .. }
            | Segment::Truncated { job, .. } => Some(job),
            Segment::Junk { .. } => None,
        }
    }

    /// Renders the segment, ending with its line ending.
    fn render(&self) -> Vec<u8> {
        let (text, crlf) = match self {
            Segment::Full { job, prompt, crlf } => {
                (job.fields(prompt).join(SEP).into_bytes(), crlf)
            }
            Segment::Split { job, pieces, crlf } => {
                let newline = if *crlf { "\r\n" } else { "\n" };
                let prompt = pieces.join(newline);
                (job.fields(&prompt).join(SEP).into_bytes(), crlf)
            }
            Segment::Truncated {
                job,
                fields: count,
                crlf,
            } => (job.fields("cut off")[..*count].join(SEP).into_bytes(), crlf),
            Segment::Junk { bytes, crlf } => (bytes.clone(), crlf),
        };
        let mut rendered = text;
        rendered.extend_from_slice(if *crlf { b"\r\n" } else { b"\n" });
        rendered
    }
}

/// A generated `job.txt`: its segments and whether the last one lacks its
/// line ending.
#[derive(Debug, Clone)]
struct Queue {
    segments: Vec<Segment>,
    unterminated_last: bool,
}

impl Queue {
    /// Renders the file content and returns it with the byte range of each
    /// segment.
    fn render(&self) -> (Vec<u8>, Vec<Range<usize>>) {
        let mut content = Vec::new();
        let mut ranges = Vec::new();
        for (index, segment) in self.segments.iter().enumerate() {
            let mut bytes = segment.render();
            if self.unterminated_last && index + 1 == self.segments.len() {
                let ending = if bytes.ends_with(b"\r\n") { 2 } else { 1 };
                bytes.truncate(bytes.len() - ending);
            }
            let start = content.len();
            content.extend_from_slice(&bytes);
            ranges.push(start..content.len());
        }
        (content, ranges)
    }
}

/// The outcome a delete of one id must have.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Expected {
    Deleted { kept: Vec<u8>, job: JobFields },
    NotFound,
    Processing,
    Internal,
}

/// Computes the outcome from the segments alone: every segment of the id
/// goes, and every other byte stays.
fn expected_outcome(queue: &Queue, id: &str) -> Expected {
    let (content, ranges) = queue.render();
    let targets: Vec<&Segment> = queue
        .segments
        .iter()
        .filter(|segment| segment.id() == Some(id))
        .collect();
    if targets.is_empty() {
        return Expected::NotFound;
    }
    if targets
        .iter()
        .any(|segment| segment.job().is_some_and(|job| job.status == "processing"))
    {
        return Expected::Processing;
    }
    if targets
        .iter()
        .any(|segment| matches!(segment, Segment::Truncated { .. }))
    {
        return Expected::Internal;
    }
    let mut kept = Vec::new();
    for (segment, range) in queue.segments.iter().zip(&ranges) {
        if segment.id() != Some(id) {
            kept.extend_from_slice(&content[range.clone()]);
        }
    }
    Expected::Deleted {
        kept,
        job: targets[0].job().expect("a target has a job").job_fields(),
    }
}

fn outcome_of(result: Result<Found, DeleteError>, content: &[u8]) -> Expected {
    match result {
        Ok(found) => Expected::Deleted {
            kept: remove_spans(content, &found.spans),
            job: found.job,
        },
        Err(DeleteError::NotFound { .. }) => Expected::NotFound,
        Err(DeleteError::Processing { .. }) => Expected::Processing,
        Err(DeleteError::Internal { .. }) => Expected::Internal,
        Err(other) => panic!("find_job returned an unexpected error: {other:?}"),
    }
}

fn id_strategy() -> impl Strategy<Value = String> {
    prop_oneof![
        4 => prop::sample::select(ID_POOL.as_slice()).prop_map(str::to_string),
        1 => "video_[0-9]{1,4}_[0-9]{1,5}",
    ]
}

fn job_strategy() -> impl Strategy<Value = JobValues> {
    (
        id_strategy(),
        status_strategy(),
        0..2_000_000_000i64,
        "[0-9]{1,3}(\\.[0-9])?",
        0..100_000i64,
    )
        .prop_map(|(id, status, created_at, seconds, duration)| JobValues {
            id,
            status,
            created_at,
            seconds,
            duration,
        })
}

/// Prompt text, sometimes with the separator inside. The separator always
/// has a space on each side, so no field of a prompt is a status word and
/// no prompt line reads as the start of a job.
fn prompt_strategy() -> impl Strategy<Value = String> {
    prop::collection::vec(
        prop_oneof![
            6 => "[a-z \u{e9}]{0,12}",
            1 => Just(format!(" {SEP} ")),
        ],
        0..4,
    )
    .prop_map(|parts| parts.concat())
}

/// Bytes of a junk line: anything but `\n`, and `$` replaced so that the
/// line never contains the separator.
fn junk_strategy() -> impl Strategy<Value = Vec<u8>> {
    prop::collection::vec(any::<u8>(), 0..40).prop_map(|mut bytes| {
        for byte in &mut bytes {
            if *byte == b'\n' || *byte == b'$' {
                *byte = b'.';
            }
        }
        bytes
    })
}

fn segment_strategy() -> impl Strategy<Value = Segment> {
    prop_oneof![
        6 => (job_strategy(), prompt_strategy(), any::<bool>())
            .prop_map(|(job, prompt, crlf)| Segment::Full { job, prompt, crlf }),
        2 => (
            job_strategy(),
            prop::collection::vec("[a-z \u{e9}]{0,10}", 2..4),
            any::<bool>(),
        )
            .prop_map(|(job, pieces, crlf)| Segment::Split { job, pieces, crlf }),
        1 => (job_strategy(), 4..=8usize, any::<bool>())
            .prop_map(|(job, fields, crlf)| Segment::Truncated { job, fields, crlf }),
        1 => (junk_strategy(), any::<bool>()).prop_map(|(bytes, crlf)| Segment::Junk { bytes, crlf }),
    ]
}

fn queue_strategy() -> impl Strategy<Value = Queue> {
    (
        prop::collection::vec(segment_strategy(), 0..24),
        any::<bool>(),
    )
        .prop_map(|(segments, unterminated_last)| Queue {
            segments,
            unterminated_last,
        })
}

/// Generates a queue and an id to delete: usually one of the queue's ids, sometimes
/// any id of the pool or none at all.
fn queue_and_id() -> impl Strategy<Value = (Queue, String)> {
    (queue_strategy(), any::<prop::sample::Index>(), 0..6u8).prop_map(|(queue, index, pick)| {
        let ids: Vec<&str> = queue.segments.iter().filter_map(Segment::id).collect();
        let id = match pick {
            0 => ID_POOL[index.index(ID_POOL.len())].to_string(),
            1 => "video_9_9999".to_string(),
            _ if ids.is_empty() => "video_1_1000".to_string(),
            _ => index.get(&ids).to_string(),
        };
        (queue, id)
    })
}

/// Returns the bytes before the first separator of a line, or the whole
/// line.
fn first_field<'l>(line: &'l [u8], separator: &[u8]) -> &'l [u8] {
    match find(line, separator) {
        Some(at) => &line[..at],
        None => line,
    }
}

/// Whether `id` is the first field of a line: the line's first separator
/// comes right after the id.
fn is_line_of(line: &[u8], id: &[u8], separator: &[u8]) -> bool {
    line.starts_with(id) && find(line, separator) == Some(id.len())
}

/// Lines with their byte ranges, each including its `\n` if it has one.
fn lines_with_ranges(content: &[u8]) -> Vec<(Range<u64>, &[u8])> {
    let mut offset = 0u64;
    content
        .split_inclusive(|byte| *byte == b'\n')
        .map(|line| {
            let range = offset..offset + line.len() as u64;
            offset = range.end;
            (range, line)
        })
        .collect()
}

/// Checks what must hold for any `Ok` from `find_job`, whatever the input.
fn check_spans(content: &[u8], id: &str, found: &Found) -> Result<(), TestCaseError> {
    let separator = SEP.as_bytes();
    let len = content.len() as u64;
    prop_assert!(!found.spans.is_empty(), "a found job has no spans");
    for pair in found.spans.windows(2) {
        prop_assert!(
            pair[0].end <= pair[1].start,
            "spans {:?} and {:?} overlap or are out of order",
            pair[0],
            pair[1]
        );
    }
    let lines = lines_with_ranges(content);
    for span in &found.spans {
        prop_assert!(span.start < span.end, "span {span:?} is empty");
        prop_assert!(span.end <= len, "span {span:?} ends past {len}");
        prop_assert!(
            lines.iter().any(|(range, _)| range == span),
            "span {span:?} is not exactly one physical line"
        );
        let follows_span = found.spans.iter().any(|other| other.end == span.start);
        let line = &content[span.start as usize..span.end as usize];
        prop_assert!(
            follows_span || is_line_of(line, id.as_bytes(), separator),
            "span {span:?} neither has the id as first field nor continues a span"
        );
    }
    for (range, line) in &lines {
        if is_line_of(line, id.as_bytes(), separator) {
            prop_assert!(
                found.spans.contains(range),
                "line {range:?} of the id is not removed"
            );
        }
    }

    let kept = remove_spans(content, &found.spans);
    prop_assert_eq!(kept.len() as u64, len - found.removed_len());
    let mut expected = Vec::new();
    for (range, line) in &lines {
        if !found.spans.contains(range) {
            expected.extend_from_slice(line);
        }
    }
    prop_assert_eq!(kept, expected);
    Ok(())
}

/// Bytes that look like parts of a queue: whole lines, cut lines, the
/// separator, line endings and arbitrary bytes, in any order.
fn queue_like_bytes() -> impl Strategy<Value = Vec<u8>> {
    let piece = prop_oneof![
        3 => segment_strategy().prop_map(|segment| segment.render()),
        2 => (segment_strategy(), any::<prop::sample::Index>()).prop_map(|(segment, cut)| {
            let bytes = segment.render();
            bytes[..cut.index(bytes.len() + 1)].to_vec()
        }),
        1 => Just(SEP.as_bytes().to_vec()),
        1 => prop::sample::select(vec![b"\n".to_vec(), b"\r\n".to_vec(), b"\r".to_vec()]),
        1 => prop::sample::select(ID_POOL.as_slice()).prop_map(|id| format!("{id}{SEP}").into_bytes()),
        1 => prop::collection::vec(any::<u8>(), 0..16),
    ];
    prop::collection::vec(piece, 0..24).prop_map(|pieces| pieces.concat())
}

/// Any id the scanner may be asked for, including ids made of separator
/// characters.
fn any_id() -> impl Strategy<Value = String> {
    prop_oneof![
        3 => prop::sample::select(ID_POOL.as_slice()).prop_map(str::to_string),
        1 => "[a-z0-9_$#\r]{1,12}",
    ]
}

proptest! {
    // Cheap cases, and many are needed to reach a found job in arbitrary
    // bytes often.
    #![proptest_config(ProptestConfig { cases: 1024, ..config() })]

    /// When every line is one whole job, a delete keeps exactly the lines
    /// whose first field is not the id.
    #[test]
    fn full_lines_match_line_filter(
        jobs in prop::collection::vec(
            (job_strategy(), prompt_strategy(), any::<bool>()),
            0..32,
        ),
        id in id_strategy(),
    ) {
        let mut content = Vec::new();
        for (job, prompt, crlf) in &jobs {
            content.extend_from_slice(
                &Segment::Full { job: job.clone(), prompt: prompt.clone(), crlf: *crlf }.render(),
            );
        }
        let separator = SEP.as_bytes();
        let lines: Vec<&[u8]> = content.split_inclusive(|byte| *byte == b'\n').collect();
        let of_id: Vec<&[u8]> = lines
            .iter()
            .copied()
            .filter(|line| first_field(line, separator) == id.as_bytes())
            .collect();
        let processing = of_id.iter().any(|line| {
            let rest = &line[id.len() + separator.len()..];
            first_field(rest, separator) == b"processing"
        });

        match find_job(&content, &id, separator) {
            Ok(found) => {
                prop_assert!(!of_id.is_empty(), "found a job with no line of the id");
                prop_assert!(!processing, "found a job with a processing line");
                let kept: Vec<u8> = lines
                    .iter()
                    .copied()
                    .filter(|line| first_field(line, separator) != id.as_bytes())
                    .flatten()
                    .copied()
                    .collect();
                prop_assert_eq!(remove_spans(&content, &found.spans), kept);
            }
            Err(DeleteError::NotFound { .. }) => prop_assert!(of_id.is_empty()),
            Err(DeleteError::Processing { .. }) => prop_assert!(processing),
            Err(other) => prop_assert!(false, "unexpected error {other:?}"),
        }
    }

    /// Generated queues with split, truncated and junk lines lose exactly
    /// the segments of the id, or nothing when the delete must fail.
    #[test]
    fn segments_match_model((queue, id) in queue_and_id()) {
        let (content, _) = queue.render();
        let result = find_job(&content, &id, SEP.as_bytes());
        if let Ok(found) = &result {
            check_spans(&content, &id, found)?;
        }
        prop_assert_eq!(outcome_of(result, &content), expected_outcome(&queue, &id));
    }

    /// Whatever the bytes, a found job's spans are whole lines of the id
    /// and removing them drops nothing else.
    #[test]
    fn arbitrary_bytes_keep_span_invariants(content in queue_like_bytes(), id in any_id()) {
        let separator = SEP.as_bytes();
        let has_line_of_id = lines_with_ranges(&content)
            .iter()
            .any(|(_, line)| is_line_of(line, id.as_bytes(), separator));
        match find_job(&content, &id, separator) {
            Ok(found) => check_spans(&content, &id, &found)?,
            Err(DeleteError::NotFound { .. }) => prop_assert!(!has_line_of_id),
            Err(DeleteError::Processing { .. } | DeleteError::Internal { .. }) => {
                prop_assert!(has_line_of_id, "an error names a line that does not exist")
            }
            Err(other) => prop_assert!(false, "unexpected error {other:?}"),
        }
    }
}

proptest! {
    // Each case writes a queue directory, and with `sync` fsyncs it.
    #![proptest_config(ProptestConfig { cases: 48, ..config() })]

    /// `delete_video` on a real directory leaves the modelled file, removes
    /// the folder only on success, and leaves no journal or lock behind.
    #[test]
    fn delete_video_matches_model((queue, id) in queue_and_id(), sync in any::<bool>()) {
        let (content, _) = queue.render();
        let dir = tempfile::tempdir().expect("failed to create a temp dir");
        let queue_path = dir.path().join("job.txt");
        std::fs::write(&queue_path, &content).expect("failed to write job.txt");
        let folder = dir.path().join(&id);
        std::fs::create_dir_all(folder.join("nested")).expect("failed to create the job folder");
        std::fs::write(folder.join("nested/output.mp4"), b"mp4").expect("failed to write output");
        let bystander = dir.path().join("video_bystander");
        std::fs::create_dir(&bystander).expect("failed to create another folder");
        let config = Config {
            video_dir: dir.path().to_path_buf(),
            model: "InfinteTalk".into(),
            separator: SEP.as_bytes().to_vec(),
            api_key: None,
            durability: if sync { Durability::Sync } else { Durability::NoSync },
            host_holds_flock: false,
        };

        let result = delete_video(&config, &id);
        let after = std::fs::read(&queue_path).expect("job.txt is gone");
        let expected = expected_outcome(&queue, &id);
        match (&result, &expected) {
            (Ok(deleted), Expected::Deleted { kept, job }) => {
                prop_assert_eq!(&after, kept);
                prop_assert_eq!(&deleted.id, &id);
                prop_assert_eq!(deleted.created_at, job.created_at);
                prop_assert_eq!(&deleted.seconds, &job.seconds);
                prop_assert_eq!(deleted.duration, job.duration);
                prop_assert!(!folder.exists(), "the job folder is still there");
            }
            (Err(DeleteError::NotFound { .. }), Expected::NotFound)
            | (Err(DeleteError::Processing { .. }), Expected::Processing)
            | (Err(DeleteError::Internal { .. }), Expected::Internal) => {
                prop_assert_eq!(&after, &content, "a failed delete changed job.txt");
                prop_assert!(folder.exists(), "a failed delete removed the job folder");
            }
            _ => prop_assert!(false, "delete returned {result:?}, expected {expected:?}"),
        }
        prop_assert!(bystander.exists(), "another job's folder was removed");
        prop_assert!(!dir.path().join(JOURNAL_FILE).exists(), "the journal was left behind");
        prop_assert!(!dir.path().join(LOCK_FILE).exists(), "the lock file was left behind");
    }
}

fn completed_line(id: &str) -> Vec<u8> {
    let job = JobValues {
        id: id.into(),
        status: "completed",
        created_at: 1764790000,
        seconds: "15".into(),
        duration: 14,
    };
    Segment::Full {
        job,
        prompt: "a host greets the audience".into(),
        crlf: false,
    }
    .render()
}

/// An id that contains the separator is no first field of any line, so no
/// line is its job.
#[test]
fn id_with_separator_is_not_found() {
    let content = completed_line("video_1_1000");
    let result = find_job(&content, "video_1_1000$###$completed", SEP.as_bytes());
    assert!(
        matches!(result, Err(DeleteError::NotFound { .. })),
        "find_job returned {result:?}"
    );
}

/// An id that ends in the start of the separator, on a line where the
/// separator after the id overlaps an earlier one, is not the first field.
#[test]
fn id_overlapping_separator_is_not_found() {
    // The first field is "video_1"; "video_1$###" is followed by "$###$"
    // only because the separators overlap at the '$' they share.
    let content = completed_line("video_1$###");
    assert_eq!(first_field(&content, SEP.as_bytes()), b"video_1");
    let result = find_job(&content, "video_1$###", SEP.as_bytes());
    assert!(
        matches!(result, Err(DeleteError::NotFound { .. })),
        "find_job returned {result:?}"
    );
}
