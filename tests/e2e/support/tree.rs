//! Snapshots of a directory tree, so a test can state the whole expected
//! file system after a request and compare it with one assertion.

use std::collections::BTreeMap;
use std::fmt;
use std::fs;
use std::path::{Path, PathBuf};

/// One entry of a tree. Links are recorded, never followed.
#[derive(Clone, PartialEq, Eq)]
pub enum Entry {
    Dir,
    File(Vec<u8>),
    Symlink(PathBuf),
}

impl fmt::Debug for Entry {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Entry::Dir => write!(formatter, "Dir"),
            Entry::File(content) => write!(formatter, "File(b\"{}\")", content.escape_ascii()),
            Entry::Symlink(target) => write!(formatter, "Symlink({target:?})"),
        }
    }
}

/// Every entry under a root, keyed by its path relative to the root.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tree(pub BTreeMap<PathBuf, Entry>);

impl Tree {
    /// Reads the tree under `root`, which itself is not an entry.
    pub fn read(root: &Path) -> Tree {
        let mut entries = BTreeMap::new();
        read_into(root, Path::new(""), &mut entries);
        Tree(entries)
    }

    /// Replaces the content of the file at `path`.
    pub fn set_file(&mut self, path: impl AsRef<Path>, content: impl AsRef<[u8]>) {
        let path = path.as_ref();
        let entry = self.0.get_mut(path);
        assert!(
            matches!(entry, Some(Entry::File(_))),
            "{path:?} is not a file of the snapshot"
        );
        *entry.unwrap() = Entry::File(content.as_ref().to_vec());
    }

    /// Removes `path` and, for a directory, everything under it. Panics when
    /// `path` is not in the snapshot, so a typo cannot pass as a removal.
    pub fn remove(&mut self, path: impl AsRef<Path>) {
        let path = path.as_ref();
        assert!(
            self.0.remove(path).is_some(),
            "{path:?} is not in the snapshot"
        );
        self.0.retain(|entry, _| !entry.starts_with(path));
    }
}

/// Asserts that two snapshots are equal, listing only the entries that
/// differ.
#[track_caller]
pub fn assert_tree_eq(actual: &Tree, expected: &Tree) {
    let differences = differences(actual, expected);
    assert!(
        differences.is_empty(),
        "the file system differs from the expected one:\n  {}",
        differences.join("\n  ")
    );
}

/// Describes each entry in which `actual` differs from `expected`, one line
/// or block per entry; empty when the snapshots are equal.
pub fn differences(actual: &Tree, expected: &Tree) -> Vec<String> {
    let mut differences = Vec::new();
    for (path, entry) in &expected.0 {
        match actual.0.get(path) {
            None => differences.push(format!("missing {path:?}: expected {entry:?}")),
            Some(found) if found != entry => differences.push(format!(
                "changed {path:?}:\n    found    {found:?}\n    expected {entry:?}"
            )),
            Some(_) => {}
        }
    }
    for (path, entry) in &actual.0 {
        if !expected.0.contains_key(path) {
            differences.push(format!("unexpected {path:?}: {entry:?}"));
        }
    }
    differences
}

fn read_into(root: &Path, relative: &Path, entries: &mut BTreeMap<PathBuf, Entry>) {
    let mut names: Vec<_> = fs::read_dir(root.join(relative))
        .unwrap()
        .map(|entry| entry.unwrap().file_name())
        .collect();
    names.sort();
    for name in names {
        let path = relative.join(&name);
        let absolute = root.join(&path);
        let metadata = fs::symlink_metadata(&absolute).unwrap();
        if metadata.is_symlink() {
            entries.insert(path, Entry::Symlink(fs::read_link(&absolute).unwrap()));
        } else if metadata.is_dir() {
            entries.insert(path.clone(), Entry::Dir);
            read_into(root, &path, entries);
        } else {
            entries.insert(path, Entry::File(fs::read(&absolute).unwrap()));
        }
    }
}
