//! Configuration from environment variables named like the existing
//! service's: `VIDEO_DIR`, `MODEL`, `SEP`, and the optional `API_KEY`.

use std::path::PathBuf;

use crate::DeleteError;
use crate::journal::Durability;

/// The model name the existing service reports, spelled as it spells it.
pub const DEFAULT_MODEL: &str = "InfinteTalk";

/// The separator the existing service sets through its `SEP` variable.
pub const DEFAULT_SEPARATOR: &str = "$###$";

/// Settings of one delete.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    /// The queue directory, as a guest path under a host.
    pub video_dir: PathBuf,
    /// The model name put in every response.
    pub model: String,
    /// The field separator of `job.txt`.
    pub separator: Vec<u8>,
    /// The key every request must carry as `Authorization: Bearer <key>`,
    /// when set.
    pub api_key: Option<String>,
    /// Whether the host holds the producer's `flock` on `job.txt` around
    /// every call (`VIDEO_DELETE_HOST_FLOCK=1`, which the bundled host sets).
    pub host_holds_flock: bool,
    /// Whether every step of a delete is synced to disk (`DURABILITY=sync`,
    /// the default) or left to the kernel (`DURABILITY=none`).
    pub durability: Durability,
}

impl Config {
    /// Builds the configuration from a lookup of environment variables.
    ///
    /// `VIDEO_DIR` is required; an empty `SEP` is rejected because it would
    /// split every byte; an empty `API_KEY` counts as unset.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Config, DeleteError> {
        let video_dir = match lookup("VIDEO_DIR") {
            Some(dir) if !dir.is_empty() => PathBuf::from(dir),
            _ => {
                return Err(DeleteError::internal(
                    "VIDEO_DIR is not set; set it to the guest path of the queue directory",
                ));
            }
        };
        let separator = lookup("SEP").unwrap_or_else(|| DEFAULT_SEPARATOR.to_string());
        if separator.is_empty() {
            return Err(DeleteError::internal(
                "SEP is empty; unset it or set it to the job.txt field separator, such as $###$",
            ));
        }
        let durability = match lookup("DURABILITY").as_deref() {
            None | Some("sync") => Durability::Sync,
            Some("none") => Durability::NoSync,
            Some(other) => {
                return Err(DeleteError::internal(format!(
                    "DURABILITY is {other:?}; set it to sync or none, or unset it"
                )));
            }
        };
        Ok(Config {
            host_holds_flock: lookup("VIDEO_DELETE_HOST_FLOCK").as_deref() == Some("1"),
            durability,
            video_dir,
            model: lookup("MODEL")
                .filter(|model| !model.is_empty())
                .unwrap_or_else(|| DEFAULT_MODEL.to_string()),
            separator: separator.into_bytes(),
            api_key: lookup("API_KEY").filter(|key| !key.is_empty()),
        })
    }

    /// Builds the configuration from the process environment.
    pub fn from_env() -> Result<Config, DeleteError> {
        Config::from_lookup(|name| std::env::var(name).ok())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lookup<'a>(vars: &'a [(&'a str, &'a str)]) -> impl Fn(&str) -> Option<String> + 'a {
        move |name| {
            vars.iter()
                .find(|(key, _)| *key == name)
                .map(|(_, value)| value.to_string())
        }
    }

    #[test]
    fn defaults_apply_when_unset() {
        let config = Config::from_lookup(lookup(&[("VIDEO_DIR", "/queue")])).unwrap();
        assert_eq!(config.video_dir, PathBuf::from("/queue"));
        assert_eq!(config.model, "InfinteTalk");
        assert_eq!(config.separator, b"$###$".to_vec());
        assert_eq!(config.api_key, None);
        assert_eq!(config.durability, Durability::Sync);
    }

    #[test]
    fn durability_none_and_invalid() {
        let config =
            Config::from_lookup(lookup(&[("VIDEO_DIR", "/q"), ("DURABILITY", "none")])).unwrap();
        assert_eq!(config.durability, Durability::NoSync);
        let error = Config::from_lookup(lookup(&[("VIDEO_DIR", "/q"), ("DURABILITY", "fast")]))
            .unwrap_err();
        assert_eq!(
            error.to_string(),
            "Internal server error: DURABILITY is \"fast\"; set it to sync or none, or unset it"
        );
    }

    #[test]
    fn missing_video_dir_is_rejected() {
        let error = Config::from_lookup(lookup(&[])).unwrap_err();
        assert_eq!(
            error.to_string(),
            "Internal server error: VIDEO_DIR is not set; set it to the guest path of the queue directory"
        );
    }

    #[test]
    fn empty_separator_is_rejected() {
        let error = Config::from_lookup(lookup(&[("VIDEO_DIR", "/q"), ("SEP", "")])).unwrap_err();
        assert_eq!(error.status(), 500);
    }

    #[test]
    fn empty_api_key_counts_as_unset() {
        let config = Config::from_lookup(lookup(&[("VIDEO_DIR", "/q"), ("API_KEY", "")])).unwrap();
        assert_eq!(config.api_key, None);
    }
}
