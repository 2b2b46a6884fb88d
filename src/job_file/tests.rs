//! Tests of the `job.txt` scanner, with inputs and expected files written
//! out in full.

use super::*;

const SEP: &[u8] = b"$###$";

fn line(id: &str, status: &str, prompt: &str) -> String {
    format!(
        "{id}$###${status}$###$1764790000$###${prompt}$###$15$###$720x1280$###$standard$###$25\
         $###$5.0$###$40$###$5.0$###$5.0$###$42$###$False$###$14$###$1764790031$###$1764790045$###$\n"
    )
}

fn delete(content: &[u8], id: &str) -> Result<(Vec<u8>, JobFields), DeleteError> {
    let found = find_job(content, id, SEP)?;
    Ok((remove_spans(content, &found.spans), found.job))
}

#[test]
fn removes_only_target_line() {
    let content = [
        line("video_1_1000", "completed", "first"),
        line("video_2_2000", "queued", "second"),
        line("video_3_3000", "error", "third"),
    ]
    .concat();
    let (kept, job) = delete(content.as_bytes(), "video_2_2000").unwrap();
    let expected = [
        line("video_1_1000", "completed", "first"),
        line("video_3_3000", "error", "third"),
    ]
    .concat();
    assert_eq!(String::from_utf8(kept).unwrap(), expected);
    assert_eq!(
        job,
        JobFields {
            created_at: 1764790000,
            seconds: "15".to_string(),
            duration: 14,
        }
    );
}

#[test]
fn expected_file_written_in_full() {
    let content = "video_1_1000$###$completed$###$1764790000$###$A host greets the audience$###$15$###$720x1280$###$standard$###$25$###$5.0$###$40$###$5.0$###$5.0$###$42$###$False$###$14$###$1764790031$###$1764790045$###$\n\
video_2_2000$###$queued$###$1764790100$###$Second$###$8$###$720x1280$###$standard$###$25$###$5.0$###$40$###$5.0$###$5.0$###$7$###$True$###$0$###$0$###$0$###$\n";
    let (kept, job) = delete(content.as_bytes(), "video_1_1000").unwrap();
    assert_eq!(
        String::from_utf8(kept).unwrap(),
        "video_2_2000$###$queued$###$1764790100$###$Second$###$8$###$720x1280$###$standard$###$25$###$5.0$###$40$###$5.0$###$5.0$###$7$###$True$###$0$###$0$###$0$###$\n"
    );
    assert_eq!(job.seconds, "15");
    assert_eq!(job.duration, 14);
}

#[test]
fn keeps_crlf_and_invalid_utf8_bytes() {
    let mut content = Vec::new();
    content.extend_from_slice(b"garbage \xff\xfe not a job\r\n");
    content.extend_from_slice(
        line("video_1_1000", "completed", "x")
            .replace('\n', "\r\n")
            .as_bytes(),
    );
    content.extend_from_slice(b"\r\n");
    content.extend_from_slice(b"\n");
    content.extend_from_slice(
        line("video_2_2000", "queued", "caf\u{e9}")
            .replace('\n', "\r\n")
            .as_bytes(),
    );
    content.extend_from_slice(b"unterminated \x80 last line");

    let (kept, job) = delete(&content, "video_1_1000").unwrap();
    let mut expected = Vec::new();
    expected.extend_from_slice(b"garbage \xff\xfe not a job\r\n");
    expected.extend_from_slice(b"\r\n");
    expected.extend_from_slice(b"\n");
    expected.extend_from_slice(
        line("video_2_2000", "queued", "caf\u{e9}")
            .replace('\n', "\r\n")
            .as_bytes(),
    );
    expected.extend_from_slice(b"unterminated \x80 last line");
    assert_eq!(kept, expected);
    assert_eq!(job.duration, 14);
}

#[test]
fn removes_last_line_without_newline() {
    let last = line("video_2_2000", "completed", "b");
    let content = format!(
        "{}{}",
        line("video_1_1000", "queued", "a"),
        last.trim_end_matches('\n')
    );
    let (kept, _) = delete(content.as_bytes(), "video_2_2000").unwrap();
    assert_eq!(
        String::from_utf8(kept).unwrap(),
        line("video_1_1000", "queued", "a")
    );
}

#[test]
fn prompt_with_separator_parses_from_end() {
    let content = line("video_1_1000", "completed", "a $###$ b $###$ c");
    let (kept, job) = delete(content.as_bytes(), "video_1_1000").unwrap();
    assert_eq!(kept, b"");
    assert_eq!(job.seconds, "15");
    assert_eq!(job.duration, 14);
    assert_eq!(job.created_at, 1764790000);
}

#[test]
fn split_prompt_job_removed_whole() {
    let split = line("video_1_1000", "completed", "first part\nsecond part");
    let content = [
        line("video_0_1000", "queued", "before"),
        split.clone(),
        line("video_2_2000", "queued", "after"),
    ]
    .concat();
    let (kept, job) = delete(content.as_bytes(), "video_1_1000").unwrap();
    let expected = [
        line("video_0_1000", "queued", "before"),
        line("video_2_2000", "queued", "after"),
    ]
    .concat();
    assert_eq!(String::from_utf8(kept).unwrap(), expected);
    assert_eq!(job.duration, 14);
}

#[test]
fn split_over_three_lines_with_blank() {
    let content = line("video_1_1000", "completed", "one\n\nthree");
    let (kept, _) = delete(content.as_bytes(), "video_1_1000").unwrap();
    assert_eq!(kept, b"");
}

#[test]
fn other_split_job_is_untouched() {
    let content = [
        line("video_0_1000", "queued", "other\nsplit"),
        line("video_1_1000", "completed", "target"),
    ]
    .concat();
    let (kept, _) = delete(content.as_bytes(), "video_1_1000").unwrap();
    assert_eq!(
        String::from_utf8(kept).unwrap(),
        line("video_0_1000", "queued", "other\nsplit")
    );
}

#[test]
fn truncated_target_line_before_job_is_internal() {
    let content = format!(
        "video_1_1000$###$completed$###$1764790000$###$cut off\n{}",
        line("video_2_2000", "queued", "next")
    );
    let error = find_job(content.as_bytes(), "video_1_1000", SEP).unwrap_err();
    assert_eq!(
        error.to_string(),
        "Internal server error: line 1 of job.txt has id video_1_1000 but only 4 of 18 fields; \
         it lacks seconds and generate_duration, so fix or remove that line by hand"
    );
}

#[test]
fn short_target_lines_name_missing_fields() {
    let cases = [
        (
            "video_1_1000$###$completed\n",
            2,
            "created_at, seconds and generate_duration",
        ),
        (
            "video_1_1000$###$completed$###$1764790000\n",
            3,
            "seconds and generate_duration",
        ),
    ];
    for (content, fields, missing) in cases {
        let error = find_job(content.as_bytes(), "video_1_1000", SEP).unwrap_err();
        assert_eq!(
            error.to_string(),
            format!(
                "Internal server error: line 1 of job.txt has id video_1_1000 but only {fields} \
                 of 18 fields; it lacks {missing}, so fix or remove that line by hand"
            )
        );
    }
}

#[test]
fn non_integer_created_at_is_internal() {
    let content = line("video_1_1000", "completed", "x").replace("1764790000", "yesterday");
    let error = find_job(content.as_bytes(), "video_1_1000", SEP).unwrap_err();
    assert_eq!(
        error.to_string(),
        "Internal server error: line 1 of job.txt: created_at \"yesterday\" is not an integer"
    );
}

#[test]
fn non_integer_duration_is_internal() {
    let content = line("video_1_1000", "completed", "x").replace("$###$14$###$", "$###$soon$###$");
    let error = find_job(content.as_bytes(), "video_1_1000", SEP).unwrap_err();
    assert_eq!(
        error.to_string(),
        "Internal server error: line 1 of job.txt: generate_duration \"soon\" is not an integer"
    );
}

#[test]
fn duplicate_ids_all_removed() {
    let content = [
        line("video_1_1000", "completed", "first copy"),
        line("video_2_2000", "queued", "keep"),
        line("video_1_1000", "error", "second copy").replace("$###$14$###$", "$###$99$###$"),
    ]
    .concat();
    let (kept, job) = delete(content.as_bytes(), "video_1_1000").unwrap();
    assert_eq!(
        String::from_utf8(kept).unwrap(),
        line("video_2_2000", "queued", "keep")
    );
    assert_eq!(job.duration, 14, "the first line supplies the response");
}

#[test]
fn processing_duplicate_blocks_delete() {
    let content = [
        line("video_1_1000", "completed", "a"),
        line("video_1_1000", "processing", "b"),
    ]
    .concat();
    let error = find_job(content.as_bytes(), "video_1_1000", SEP).unwrap_err();
    assert_eq!(
        error,
        DeleteError::Processing {
            id: "video_1_1000".to_string()
        }
    );
}

#[test]
fn id_prefix_does_not_match() {
    let content = line("video_1_10000", "completed", "a");
    let error = find_job(content.as_bytes(), "video_1_1000", SEP).unwrap_err();
    assert_eq!(
        error,
        DeleteError::NotFound {
            id: "video_1_1000".to_string()
        }
    );
}

#[test]
fn empty_file_is_not_found() {
    let error = find_job(b"", "video_1_1000", SEP).unwrap_err();
    assert_eq!(error.status(), 404);
}

#[test]
fn other_separator_is_honoured() {
    let content = line("video_1_1000", "completed", "a").replace("$###$", "##$##");
    let found = find_job(content.as_bytes(), "video_1_1000", b"##$##").unwrap();
    assert_eq!(found.spans, vec![0..content.len() as u64]);
    assert_eq!(found.removed_len(), content.len() as u64);
}

#[test]
fn spans_cover_whole_lines() {
    let first = line("video_1_1000", "queued", "a");
    let content = [
        first.clone(),
        line("video_2_2000", "completed", "b"),
        first.clone(),
    ]
    .concat();
    let found = find_job(content.as_bytes(), "video_1_1000", SEP).unwrap();
    let start_of_third = (content.len() - first.len()) as u64;
    assert_eq!(
        found.spans,
        vec![0..first.len() as u64, start_of_third..content.len() as u64]
    );
}

#[test]
fn id_with_separator_matches_nothing() {
    let content = line("video_1_1000", "completed", "a");
    let error = find_job(content.as_bytes(), "video_1_1000$###$completed", SEP).unwrap_err();
    assert_eq!(
        error,
        DeleteError::NotFound {
            id: "video_1_1000$###$completed".to_string()
        }
    );
}
