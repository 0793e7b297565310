//! Profiles under the user's config directory: the server URL, the session token (a file readable only
//! by its owner) and the tokens of instances this CLI created or rotated.
//!
//! Layout: `<dir>/profiles/<name>/{profile.json, token, instances/<instance>.json}`, where `<dir>` is
//! `REDISGATE_CONFIG_DIR`, else `$XDG_CONFIG_HOME/redisgate`, else `~/.config/redisgate`.

use std::path::{Path, PathBuf};

use anyhow::{Context as _, Result};
use serde::{Deserialize, Serialize};

/// What a profile remembers besides secrets.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Profile {
    /// The platform's URL.
    pub url: Option<String>,
    /// The account's email.
    pub email: Option<String>,
}

/// An instance's secrets, as saved.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SavedInstance {
    /// REST URL (path form, which works without wildcard DNS).
    pub rest_url: String,
    /// Standard token.
    pub token: String,
    /// Read-only token.
    pub readonly_token: String,
}

/// The profiles directory.
pub struct Profiles {
    root: PathBuf,
}

impl Profiles {
    /// The profiles of this user.
    ///
    /// # Errors
    /// When no config directory can be determined.
    pub fn open() -> Result<Self> {
        let base = std::env::var_os("REDISGATE_CONFIG_DIR")
            .map(PathBuf::from)
            .or_else(|| std::env::var_os("XDG_CONFIG_HOME").map(|d| PathBuf::from(d).join("redisgate")))
            .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".config").join("redisgate")))
            .context("cannot find a config directory: set REDISGATE_CONFIG_DIR")?;
        Ok(Self { root: base.join("profiles") })
    }

    fn dir(&self, profile: &str) -> PathBuf {
        self.root.join(profile)
    }

    /// The profile (empty when new).
    pub fn load(&self, profile: &str) -> Profile {
        std::fs::read(self.dir(profile).join("profile.json"))
            .ok()
            .and_then(|bytes| serde_json::from_slice(&bytes).ok())
            .unwrap_or_default()
    }

    /// Saves the profile.
    ///
    /// # Errors
    /// I/O errors.
    pub fn save(&self, profile: &str, data: &Profile) -> Result<()> {
        write_private(&self.dir(profile).join("profile.json"), &serde_json::to_vec_pretty(data)?)
    }

    /// The session token, if logged in.
    pub fn token(&self, profile: &str) -> Option<String> {
        std::fs::read_to_string(self.dir(profile).join("token"))
            .ok()
            .map(|t| t.trim().to_owned())
            .filter(|t| !t.is_empty())
    }

    /// Saves the session token (mode 0600).
    ///
    /// # Errors
    /// I/O errors.
    pub fn save_token(&self, profile: &str, token: &str) -> Result<()> {
        write_private(&self.dir(profile).join("token"), token.as_bytes())
    }

    /// Forgets the session token; `true` if there was one.
    pub fn clear_token(&self, profile: &str) -> bool {
        std::fs::remove_file(self.dir(profile).join("token")).is_ok()
    }

    /// The saved secrets of `instance`.
    pub fn instance(&self, profile: &str, instance: &str) -> Option<SavedInstance> {
        let bytes = std::fs::read(self.dir(profile).join("instances").join(format!("{instance}.json"))).ok()?;
        serde_json::from_slice(&bytes).ok()
    }

    /// Saves the secrets of `instance` (mode 0600).
    ///
    /// # Errors
    /// I/O errors.
    pub fn save_instance(&self, profile: &str, instance: &str, secrets: &SavedInstance) -> Result<()> {
        let path = self.dir(profile).join("instances").join(format!("{instance}.json"));
        write_private(&path, &serde_json::to_vec_pretty(secrets)?)
    }

    /// The interactive prompt's history file.
    pub fn history(&self, profile: &str) -> PathBuf {
        self.dir(profile).join("history")
    }

    /// Forgets the secrets of `instance`.
    pub fn forget_instance(&self, profile: &str, instance: &str) {
        let _ = std::fs::remove_file(self.dir(profile).join("instances").join(format!("{instance}.json")));
    }
}

/// Writes a file readable and writable by its owner only, creating private parent directories.
pub(crate) fn write_private(path: &Path, contents: &[u8]) -> Result<()> {
    redisgate_platform::os::write_private(path, contents).with_context(|| format!("cannot write {}", path.display()))
}
