//! Builds the video-delete component for `wasm32-wasip2`, so that
//! `cargo run -p video-delete-host` works on a fresh clone with no manual
//! build step. The path of the built component reaches the host as the
//! compile-time variable `VIDEO_DELETE_COMPONENT`.

use std::path::{Path, PathBuf};
use std::process::Command;

const TARGET: &str = "wasm32-wasip2";

fn main() {
    let manifest_dir = PathBuf::from(std::env::var_os("CARGO_MANIFEST_DIR").unwrap());
    let root = manifest_dir.parent().unwrap().to_path_buf();
    for input in ["src", "wit", "Cargo.toml", "Cargo.lock"] {
        println!("cargo:rerun-if-changed={}", root.join(input).display());
    }

    ensure_target_installed();

    // The component gets a target directory of its own: the outer cargo
    // holds the lock on the workspace's build directory while this runs.
    let target_dir = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| root.join("target"))
        .join("component");
    build_component(&root, &target_dir);

    let component = target_dir
        .join(TARGET)
        .join("release")
        .join("video_delete.wasm");
    assert!(
        component.is_file(),
        "the component build finished but {} is missing",
        component.display()
    );
    println!(
        "cargo:rustc-env=VIDEO_DELETE_COMPONENT={}",
        component.display()
    );
}

/// Adds the wasm target when rustup is present and lacks it. rustup does
/// not add the targets of `rust-toolchain.toml` to a toolchain that is
/// already installed.
fn ensure_target_installed() {
    let Ok(output) = Command::new("rustup")
        .args(["target", "list", "--installed"])
        .output()
    else {
        return;
    };
    let installed = String::from_utf8_lossy(&output.stdout);
    if installed.lines().any(|line| line.trim() == TARGET) {
        return;
    }
    let status = Command::new("rustup")
        .args(["target", "add", TARGET])
        .status()
        .expect("failed to run rustup target add");
    assert!(status.success(), "rustup target add {TARGET} failed");
}

fn build_component(root: &Path, target_dir: &Path) {
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let mut command = Command::new(cargo);
    command
        .current_dir(root)
        .args([
            "build",
            "--release",
            "--lib",
            "-p",
            "video-delete",
            "--target",
            TARGET,
        ])
        .arg("--target-dir")
        .arg(target_dir);
    // Settings meant for the outer, native build must not reach this one.
    for name in [
        "CARGO_ENCODED_RUSTFLAGS",
        "RUSTFLAGS",
        "RUSTC_WORKSPACE_WRAPPER",
        "RUSTC_WRAPPER",
        "CARGO_BUILD_TARGET",
        "CARGO_TARGET_DIR",
        "CARGO_MAKEFLAGS",
        "MAKEFLAGS",
        "MFLAGS",
    ] {
        command.env_remove(name);
    }
    let status = command
        .status()
        .expect("failed to run cargo for the component");
    assert!(
        status.success(),
        "building the component for {TARGET} failed"
    );
}
