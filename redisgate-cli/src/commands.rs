//! Command implementations share a [`Context`]: the profile, the output mode, and lookups that turn the
//! names people type (organization slugs, instance names) into ids.

pub mod account;
pub mod admin;
pub mod backup;
pub mod data;
pub mod dev;
pub mod instance;
pub mod key;
pub mod limits;
pub mod org;

use anyhow::{anyhow, bail, Context as _, Result};
use redisgate_client::management::{Instance, Management, Organization};
use redisgate_client::Client;

use crate::cli::Cli;
use crate::output::Output;
use crate::profile::{Profile, Profiles};

/// What every command needs.
pub struct Context {
    /// The profile's name.
    pub profile_name: String,
    /// Saved profiles.
    pub profiles: Profiles,
    /// The profile.
    pub profile: Profile,
    /// `--url` or the profile's.
    pub url: Option<String>,
    /// `--token` or the profile's session.
    pub token: Option<String>,
    /// Tables or JSON.
    pub output: Output,
    /// `--ca-cert`: a CA to trust for https:// URLs (PEM).
    pub ca_cert: Option<Vec<u8>>,
}

impl Context {
    /// The context of a command line.
    ///
    /// # Errors
    /// When the config directory cannot be found.
    pub fn new(cli: &Cli) -> Result<Self> {
        let profiles = Profiles::open()?;
        let profile = profiles.load(&cli.profile);
        let url = cli.url.clone().or_else(|| profile.url.clone());
        let token = cli.token.clone().or_else(|| profiles.token(&cli.profile));
        let ca_cert = match &cli.ca_cert {
            Some(path) => Some(std::fs::read(path).with_context(|| format!("--ca-cert {}", path.display()))?),
            None => None,
        };
        let output = Output { json: cli.json };
        Ok(Self { profile_name: cli.profile.clone(), profiles, profile, url, token, output, ca_cert })
    }

    /// A management client for the platform URL, without a session yet.
    pub fn anonymous(&self) -> Result<Management> {
        Ok(Management::with_ca(self.url()?, self.ca_cert.as_deref())?)
    }

    /// The platform URL, or an error saying how to set it.
    pub fn url(&self) -> Result<&str> {
        self.url.as_deref().ok_or_else(|| {
            anyhow!(crate::UsageError(
                "no server URL: pass --url (or REDISGATE_URL), or log in first: redisgate login --url http://127.0.0.1:8080 --email you@example.com".into()
            ))
        })
    }

    /// An authenticated management client, or an error saying how to log in.
    pub fn management(&self) -> Result<Management> {
        let url = self.url()?;
        let token = self.token.as_deref().ok_or_else(|| {
            anyhow!(redisgate_client::Error::Auth(format!(
                "not logged in (profile '{}'): run redisgate login --email you@example.com",
                self.profile_name
            )))
        })?;
        Ok(Management::with_ca(url, self.ca_cert.as_deref())?.with_token(token))
    }

    /// The organization named by slug or id, or the caller's only one.
    pub async fn org(&self, api: &Management, wanted: Option<&str>) -> Result<Organization> {
        let orgs = api.organizations().await?;
        match wanted {
            Some(wanted) => orgs
                .into_iter()
                .find(|o| o.slug == wanted || o.id.to_string() == wanted)
                .ok_or_else(|| anyhow!(NotFound(format!("no organization '{wanted}' (see: redisgate org list)")))),
            None => {
                if orgs.len() > 1 {
                    bail!(crate::UsageError("you belong to several organizations: pass --org <slug>".into()));
                }
                orgs.into_iter().next().ok_or_else(|| {
                    anyhow!(NotFound("you have no organization yet: redisgate org create <slug>".into()))
                })
            }
        }
    }

    /// The instance called `name` in any of the caller's organizations.
    pub async fn instance(&self, api: &Management, name: &str) -> Result<Instance> {
        for org in api.organizations().await? {
            if let Some(instance) = api.instances(org.id).await?.into_iter().find(|i| i.name == name) {
                return Ok(instance);
            }
        }
        bail!(NotFound(format!("no instance '{name}' (see: redisgate instance list)")))
    }

    /// Where the interactive prompt keeps its history.
    pub fn profiles_history(&self) -> std::path::PathBuf {
        self.profiles.history(&self.profile_name)
    }

    /// A data-plane client for `instance` with the token saved when this CLI created or rotated it.
    pub fn data_client(&self, instance: &str) -> Result<Client> {
        let saved = self.profiles.instance(&self.profile_name, instance).ok_or_else(|| {
            anyhow!(NotFound(format!(
                "no saved token for instance '{instance}' in profile '{}': tokens are shown once; redisgate instance rotate {instance} issues and saves new ones (and revokes the current ones, which your applications may be using)",
                self.profile_name
            )))
        })?;
        let mut client = Client::builder(saved.rest_url, saved.token);
        if let Some(pem) = &self.ca_cert {
            client = client.ca_cert(pem.clone());
        }
        Ok(client.build()?)
    }
}

/// Something named does not exist (exit code 4).
#[derive(Debug)]
pub struct NotFound(pub String);

impl std::fmt::Display for NotFound {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for NotFound {}
