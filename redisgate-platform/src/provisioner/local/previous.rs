//! What an instance's directory says about a server that ran before: its port, whether it is TLS-only, and
//! the passwords in `credentials.json`. A server made before instances had users (a `requirepass` in its
//! redis.conf) is read as the legacy form: its old password becomes the gateway user's and a new admin
//! password is generated, which adoption then writes out (the migration).

use std::path::Path;

use redisgate_core::auth::token::redis_password;
use redisgate_core::provisioning::{Credentials, ProvisionError, Provisioned};

use super::invalid;

/// The file holding an instance's passwords.
pub const CREDENTIALS_FILE: &str = "credentials.json";

/// What an instance's directory says about a server that ran before.
pub(super) struct Previous {
    /// Its port (the TLS port of a TLS-only server).
    pub(super) port: u16,
    /// Whether it listens on TLS only (`tls-port`).
    pub(super) tls: bool,
    pub(super) credentials: Credentials,
    /// The `requirepass` of a server made before instances had users (its `default` user's password).
    pub(super) legacy_password: Option<String>,
}

impl Previous {
    /// Reads `dir`'s redis.conf and credentials; the error says which file is missing or wrong, and is
    /// [`ProvisionError::Gone`] when there is no redis.conf at all.
    pub(super) fn read(dir: &Path) -> Provisioned<Self> {
        let conf = dir.join("redis.conf");
        let text = std::fs::read_to_string(&conf).map_err(|e| {
            let message = format!("cannot read {}: {e}", conf.display());
            if e.kind() == std::io::ErrorKind::NotFound {
                ProvisionError::Gone(message)
            } else {
                invalid(message)
            }
        })?;
        let value = |key: &str| text.lines().find_map(|l| l.strip_prefix(key)).map(str::trim).map(str::to_owned);
        let tls_port = value("tls-port ").and_then(|p| p.parse::<u16>().ok());
        let port = tls_port
            .or_else(|| value("port ").and_then(|p| p.parse().ok()))
            .ok_or_else(|| invalid(format!("{} names no port", conf.display())))?;
        let tls = tls_port.is_some();
        if let Some(password) = value("requirepass ") {
            let credentials = Credentials { gateway: password.clone(), admin: redis_password() };
            return Ok(Self { port, tls, credentials, legacy_password: Some(password) });
        }
        let credentials = read_credentials(dir).ok_or_else(|| {
            invalid(format!(
                "{} is missing or unreadable: nobody can log in to this server",
                dir.join(CREDENTIALS_FILE).display()
            ))
        })?;
        Ok(Self { port, tls, credentials, legacy_password: None })
    }

    /// The connection with every permission on the server as it runs now.
    pub(super) fn admin_url(&self) -> String {
        let address = format!("127.0.0.1:{}", self.port);
        match &self.legacy_password {
            Some(password) => format!("redis://:{password}@{address}"),
            None => self.credentials.admin_url_over(if self.tls { "rediss" } else { "redis" }, &address),
        }
    }
}

/// The URL of the admin user of the server whose instance directory is `dir` (for tests and operators:
/// the way in for maintenance), as the provisioner itself connects.
#[must_use]
pub fn admin_url(dir: &Path) -> Option<String> {
    Previous::read(dir).ok().map(|previous| previous.admin_url())
}

/// Creates the private directory `dir` of a new instance and stores `credentials` in it, before anything else:
/// a conf whose users' passwords are lost would lock everyone out. The instance's data (its AOF and RDB) is
/// the tenant's: nobody else on the machine reads the directory.
///
/// # Errors
/// The directory or the file cannot be written.
pub fn write_credentials(dir: &Path, credentials: &Credentials) -> Provisioned<()> {
    crate::os::create_private_dir(dir).map_err(|e| invalid(format!("cannot create {}: {e}", dir.display())))?;
    write_json(&dir.join(CREDENTIALS_FILE), credentials)
}

/// Writes `value` as JSON to the private file `file` (credentials, an instance's layout).
pub(super) fn write_json<T: serde::Serialize>(file: &Path, value: &T) -> Provisioned<()> {
    let json = serde_json::to_vec(value).map_err(|e| invalid(format!("cannot encode {}: {e}", file.display())))?;
    crate::os::write_private(file, &json).map_err(|e| invalid(format!("cannot write {}: {e}", file.display())))
}

/// The JSON in `file`, if it is there and reads as a `T`.
pub(super) fn read_json<T: serde::de::DeserializeOwned>(file: &Path) -> Option<T> {
    serde_json::from_str(&std::fs::read_to_string(file).ok()?).ok()
}

/// The credentials stored in an instance's directory.
#[must_use]
pub fn read_credentials(dir: &Path) -> Option<Credentials> {
    read_json(&dir.join(CREDENTIALS_FILE))
}
