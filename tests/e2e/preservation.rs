//! What a delete removes and what it keeps: every byte of `job.txt` outside
//! the target job, the file's inode, and everything outside the job folder.

use std::os::unix::fs::symlink;

use crate::support::assert_bytes_eq;
use crate::support::client;
use crate::support::queue::{Job, Queue, lines};
use crate::support::server::{Server, ServerKind};
use crate::support::tree::assert_tree_eq;

for_each_server!(
    keeps_every_other_byte,
    removes_crlf_target_line,
    removes_last_line_without_newline,
    removes_only_line_leaving_empty_file,
    prompt_containing_separator_removed_whole,
    prompt_with_newline_removed_whole,
    duplicate_ids_remove_every_line,
    missing_job_folder_still_deletes,
    symlinks_inside_folder_not_followed,
    symlinked_folder_removed_as_link,
);

fn keeps_every_other_byte(kind: ServerKind) {
    let target = Job::completed("video_1764789530_7315", 1764789530);
    let crlf = Job::completed("video_1764789412_4821", 1764789412)
        .line()
        .replace('\n', "\r\n");
    let mut content = Vec::new();
    content.extend_from_slice(crlf.as_bytes());
    content.extend_from_slice(b"\n\n");
    content.extend_from_slice(b"not a job line at all\n");
    content.extend_from_slice(b"video_\xff\xfe_bad$###$completed$###$1$###$caf\xe9\n");
    content.extend_from_slice(b"   \t  \n");
    let head_len = content.len();
    content.extend_from_slice(target.line().as_bytes());
    content.extend_from_slice(b"video_1764789530$###$queued$###$12$###$prefix of the id\n");
    content.extend_from_slice(b"\r\n");
    content.extend_from_slice(b"video_1764789688_2093$###$queued$###$1764789688$###$no newline");
    let queue = Queue::with_job_txt(&content);
    let inode = queue.job_txt_inode();
    let server = Server::start(kind, &queue.dir());

    let response = client::delete_video(server.addr(), &target.id);

    assert_eq!(response.status, 200);
    assert_eq!(response.text(), target.deleted_body());
    let mut expected = content[..head_len].to_vec();
    expected.extend_from_slice(&content[head_len + target.line().len()..]);
    assert_bytes_eq(&queue.job_txt(), &expected);
    assert_eq!(queue.job_txt_inode(), inode, "job.txt was replaced");
}

fn removes_crlf_target_line(kind: ServerKind) {
    let first = Job::completed("video_1764789412_4821", 1764789412);
    let target = Job::completed("video_1764789530_7315", 1764789530);
    let last = Job::completed("video_1764789688_2093", 1764789688);
    let content = lines(&[&first, &target, &last]).replace('\n', "\r\n");
    let queue = Queue::with_job_txt(&content);
    let server = Server::start(kind, &queue.dir());

    let response = client::delete_video(server.addr(), &target.id);

    assert_eq!(response.status, 200);
    assert_eq!(response.text(), target.deleted_body());
    let expected = lines(&[&first, &last]).replace('\n', "\r\n");
    assert_bytes_eq(&queue.job_txt(), expected.as_bytes());
}

fn removes_last_line_without_newline(kind: ServerKind) {
    let first = Job::completed("video_1764789412_4821", 1764789412);
    let target = Job::completed("video_1764789530_7315", 1764789530);
    let unterminated = target.line().trim_end_matches('\n').to_string();
    let queue = Queue::with_job_txt(format!("{}{unterminated}", first.line()));
    let server = Server::start(kind, &queue.dir());

    let response = client::delete_video(server.addr(), &target.id);

    assert_eq!(response.status, 200);
    assert_eq!(response.text(), target.deleted_body());
    assert_bytes_eq(&queue.job_txt(), first.line().as_bytes());
}

fn removes_only_line_leaving_empty_file(kind: ServerKind) {
    let target = Job::completed("video_1764789412_4821", 1764789412);
    let queue = Queue::with_job_txt(target.line());
    let inode = queue.job_txt_inode();
    let server = Server::start(kind, &queue.dir());

    let response = client::delete_video(server.addr(), &target.id);

    assert_eq!(response.status, 200);
    assert_eq!(response.text(), target.deleted_body());
    assert_bytes_eq(&queue.job_txt(), b"");
    assert_eq!(queue.job_txt_inode(), inode, "job.txt was replaced");
}

fn prompt_containing_separator_removed_whole(kind: ServerKind) {
    let first = Job::completed("video_1764789412_4821", 1764789412);
    let target = Job::completed("video_1764789530_7315", 1764789530)
        .with_prompt("She says $###$ then pauses$###$15$###$and smiles")
        .with_seconds("12")
        .with_duration(245);
    // The other job's prompt contains a separator too, and must stay intact.
    let last = Job::completed("video_1764789688_2093", 1764789688)
        .with_prompt("A chef $###$ folds dumplings");
    let queue = Queue::with_job_txt(lines(&[&first, &target, &last]));
    queue.add_job_folder(&target.id);
    let mut expected = queue.snapshot();
    let server = Server::start(kind, &queue.dir());

    let response = client::delete_video(server.addr(), &target.id);

    assert_eq!(response.status, 200);
    assert_eq!(
        response.text(),
        r#"{"id":"video_1764789530_7315","model":"InfinteTalk","status":"deleted","progress":0,"created_at":1764789530,"seconds":"12","duration":245,"estimated_time":0,"queue_length":0,"error":"","object":"video.deleted","deleted":true}"#
    );
    expected.set_file("queue/job.txt", lines(&[&first, &last]));
    expected.remove("queue/video_1764789530_7315");
    assert_tree_eq(&queue.snapshot(), &expected);
}

fn prompt_with_newline_removed_whole(kind: ServerKind) {
    let first = Job::completed("video_1764789412_4821", 1764789412)
        .with_prompt("Line one of another prompt\nline two of it");
    let target = Job::completed("video_1764789530_7315", 1764789530)
        .with_prompt("A teacher says\r\nwelcome back\n\nto the class")
        .with_seconds("10")
        .with_duration(245);
    let last = Job::completed("video_1764789688_2093", 1764789688);
    let content = lines(&[&first, &target, &last]);
    assert_eq!(content.lines().count(), 7, "the fixture spans 7 lines");
    let queue = Queue::with_job_txt(&content);
    queue.add_job_folder(&target.id);
    let mut expected = queue.snapshot();
    let server = Server::start(kind, &queue.dir());

    let response = client::delete_video(server.addr(), &target.id);

    assert_eq!(response.status, 200);
    assert_eq!(response.text(), target.deleted_body());
    expected.set_file("queue/job.txt", lines(&[&first, &last]));
    expected.remove("queue/video_1764789530_7315");
    assert_tree_eq(&queue.snapshot(), &expected);
}

fn duplicate_ids_remove_every_line(kind: ServerKind) {
    let id = "video_1764789530_7315";
    let queued = Job::completed(id, 1764789530)
        .with_status("queued")
        .with_seconds("10")
        .with_duration(0);
    let completed = Job::completed(id, 1764789600).with_duration(245);
    let retried = Job::completed(id, 1764789700)
        .with_status("error")
        .with_prompt("retry\nwith a newline");
    let other = Job::completed("video_1764789412_4821", 1764789412);
    let queue = Queue::with_job_txt(lines(&[&queued, &other, &completed, &other, &retried]));
    queue.add_job_folder(id);
    let mut expected = queue.snapshot();
    let server = Server::start(kind, &queue.dir());

    let response = client::delete_video(server.addr(), id);

    // The response reports the first line of the id.
    assert_eq!(response.status, 200);
    assert_eq!(response.text(), queued.deleted_body());
    expected.set_file("queue/job.txt", lines(&[&other, &other]));
    expected.remove("queue/video_1764789530_7315");
    assert_tree_eq(&queue.snapshot(), &expected);

    let again = client::delete_video(server.addr(), id);
    assert_eq!(again.status, 404);
    assert_eq!(
        again.text(),
        r#"{"error":{"code":"404","message":"Video with id video_1764789530_7315 not found."}}"#
    );
}

fn missing_job_folder_still_deletes(kind: ServerKind) {
    let target = Job::completed("video_1764789530_7315", 1764789530);
    let kept = Job::completed("video_1764789412_4821", 1764789412);
    let queue = Queue::with_job_txt(lines(&[&target, &kept]));
    queue.add_job_folder(&kept.id);
    let mut expected = queue.snapshot();
    let server = Server::start(kind, &queue.dir());

    let response = client::delete_video(server.addr(), &target.id);

    assert_eq!(response.status, 200);
    assert_eq!(response.text(), target.deleted_body());
    expected.set_file("queue/job.txt", kept.line());
    assert_tree_eq(&queue.snapshot(), &expected);
}

fn symlinks_inside_folder_not_followed(kind: ServerKind) {
    let target = Job::completed("video_1764789530_7315", 1764789530);
    let kept = Job::completed("video_1764789412_4821", 1764789412);
    let queue = Queue::with_job_txt(lines(&[&kept, &target]));
    let folder = queue.add_job_folder(&target.id);
    let kept_folder = queue.add_job_folder(&kept.id);
    let outside = queue.outside();
    std::fs::write(outside.join("keep.txt"), "outside the queue").unwrap();
    std::fs::create_dir(outside.join("models")).unwrap();
    std::fs::write(outside.join("models/weights.bin"), "weights").unwrap();
    // Absolute links leave the queue directory, relative ones stay inside it.
    symlink(outside.join("keep.txt"), folder.join("file-link")).unwrap();
    symlink(outside.join("models"), folder.join("dir-link")).unwrap();
    symlink("../video_1764789412_4821", folder.join("sibling-link")).unwrap();
    symlink(
        "../video_1764789412_4821/video.mp4",
        folder.join("frames/relative-link"),
    )
    .unwrap();
    symlink("/nonexistent/target", folder.join("dangling-link")).unwrap();
    let mut expected = queue.snapshot();
    let server = Server::start(kind, &queue.dir());

    let response = client::delete_video(server.addr(), &target.id);

    assert_eq!(response.status, 200);
    assert_eq!(response.text(), target.deleted_body());
    expected.set_file("queue/job.txt", kept.line());
    expected.remove("queue/video_1764789530_7315");
    assert_tree_eq(&queue.snapshot(), &expected);
    assert_eq!(
        std::fs::read_to_string(kept_folder.join("video.mp4")).unwrap(),
        "video of video_1764789412_4821"
    );
}

fn symlinked_folder_removed_as_link(kind: ServerKind) {
    let target = Job::completed("video_1764789530_7315", 1764789530);
    let relative = Job::completed("video_1764789688_2093", 1764789688);
    let kept = Job::completed("video_1764789412_4821", 1764789412);
    let queue = Queue::with_job_txt(lines(&[&target, &relative, &kept]));
    queue.add_job_folder(&kept.id);
    let outside = queue.outside().join("real-folder");
    std::fs::create_dir(&outside).unwrap();
    std::fs::write(outside.join("video.mp4"), "the real video").unwrap();
    symlink(&outside, queue.dir().join(&target.id)).unwrap();
    // A link to a sibling job folder inside the queue.
    symlink(&kept.id, queue.dir().join(&relative.id)).unwrap();
    let mut expected = queue.snapshot();
    let server = Server::start(kind, &queue.dir());

    let absolute_response = client::delete_video(server.addr(), &target.id);
    let relative_response = client::delete_video(server.addr(), &relative.id);

    assert_eq!(absolute_response.status, 200);
    assert_eq!(absolute_response.text(), target.deleted_body());
    assert_eq!(relative_response.status, 200);
    assert_eq!(relative_response.text(), relative.deleted_body());
    expected.set_file("queue/job.txt", kept.line());
    expected.remove("queue/video_1764789530_7315");
    expected.remove("queue/video_1764789688_2093");
    assert_tree_eq(&queue.snapshot(), &expected);
}
