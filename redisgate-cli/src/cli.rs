//! The command line, declared with clap's derive API.

use std::num::{NonZeroU32, NonZeroU64};
use std::path::PathBuf;

use clap::{Parser, Subcommand};

/// Manage RedisGate: accounts, organizations, Redis instances and API keys; run Redis commands over HTTP;
/// or run the whole platform on this machine with `redisgate dev`.
#[derive(Debug, Parser)]
#[command(name = "redisgate", version, propagate_version = true, after_help = EXAMPLES)]
pub struct Cli {
    /// Profile to use (each holds a server URL and a session).
    #[arg(long, global = true, env = "REDISGATE_PROFILE", default_value = "default")]
    pub profile: String,
    /// Print JSON instead of tables (for scripts).
    #[arg(long, global = true)]
    pub json: bool,
    /// The platform's URL (overrides the profile).
    #[arg(long, global = true, env = "REDISGATE_URL")]
    pub url: Option<String>,
    /// A session token or `rgk_` API key (overrides the profile's session).
    #[arg(long, global = true, env = "REDISGATE_API_TOKEN", hide_env_values = true)]
    pub token: Option<String>,
    /// Trust this CA certificate (PEM) for https:// URLs, besides the system's roots.
    #[arg(long, global = true, env = "REDISGATE_CA_CERT")]
    pub ca_cert: Option<PathBuf>,
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

const EXAMPLES: &str = "Examples:
  redisgate dev                                   # the whole platform on this machine
  redisgate login --url http://127.0.0.1:8080 --email you@example.com
  redisgate org create my-org
  redisgate instance create cache --memory 64mb
  redisgate instance limits cache --max-requests-per-second 100 --max-request-size 1mb
  redisgate instance usage cache --days 7
  redisgate exec cache SET greeting hello
  redisgate exec cache                            # interactive prompt
  printf 'INCR hits\\nGET hits\\n' | redisgate pipe cache
  redisgate --json instance list";

/// The commands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the platform on this machine: private PostgreSQL, gateway, local provisioner, a first instance.
    Dev(DevArgs),
    /// Create an account and log in.
    Register(AccountArgs),
    /// Log in and keep the session in the profile.
    Login(AccountArgs),
    /// End the account's sessions and forget the profile's.
    Logout,
    /// Organizations.
    #[command(subcommand)]
    Org(OrgCommand),
    /// Redis instances.
    #[command(subcommand)]
    Instance(InstanceCommand),
    /// Organization API keys.
    #[command(subcommand)]
    Key(KeyCommand),
    /// Platform administration, on the control plane's database directly (no account can do this).
    #[command(subcommand)]
    Admin(AdminCommand),
    /// Run one command on an instance, or open an interactive prompt without one.
    Exec {
        /// The instance's name.
        instance: String,
        /// The command and its arguments (e.g. `SET k v`; `LRANGE l 0 -1` works as typed).
        #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
        command: Vec<String>,
    },
    /// Run commands read from standard input, one per line, as pipelines.
    Pipe {
        /// The instance's name.
        instance: String,
    },
    /// Print messages published on channels (Ctrl-C stops).
    Subscribe {
        /// The instance's name.
        instance: String,
        /// Channels (a `*` makes it a pattern).
        #[arg(required = true)]
        channels: Vec<String>,
    },
    /// Print shell completions.
    Completions {
        /// The shell.
        shell: clap_complete::Shell,
    },
}

/// `redisgate dev`.
#[derive(Debug, clap::Args)]
pub struct DevArgs {
    /// Address to serve on.
    #[arg(long, default_value = "127.0.0.1:8080")]
    pub listen: std::net::SocketAddr,
    /// Where the platform keeps its database, secrets and instances (reused on the next start).
    #[arg(long, env = "REDISGATE_DEV_STATE")]
    pub state_dir: Option<PathBuf>,
    /// The redis-server binary for instances.
    #[arg(long, env = "REDISGATE_REDIS_SERVER_BIN", default_value = "redis-server")]
    pub redis_server_bin: PathBuf,
}

/// `register` / `login`.
#[derive(Debug, clap::Args)]
pub struct AccountArgs {
    /// Your email.
    #[arg(long)]
    pub email: String,
    /// Your password (else `REDISGATE_PASSWORD`, else a prompt).
    #[arg(long, env = "REDISGATE_PASSWORD", hide_env_values = true)]
    pub password: Option<String>,
}

/// `org ...`.
#[derive(Debug, Subcommand)]
pub enum OrgCommand {
    /// Your organizations.
    List,
    /// Create an organization (you become its owner).
    Create {
        /// Its slug (a-z, 0-9, '-').
        slug: String,
        /// Display name (default: the slug).
        #[arg(long)]
        name: Option<String>,
    },
    /// Delete an organization (it must have no instances).
    Delete {
        /// Slug or id.
        org: String,
    },
}

/// `instance ...`.
#[derive(Debug, Subcommand)]
pub enum InstanceCommand {
    /// Create an instance and wait until it runs; its tokens are saved in the profile.
    Create {
        /// Globally unique name (a-z, 0-9, '-').
        name: String,
        /// Organization slug or id (default: your only one).
        #[arg(long)]
        org: Option<String>,
        /// Memory limit: bytes, or with kb/mb/gb.
        #[arg(long, default_value = "64mb")]
        memory: String,
        /// Redis version.
        #[arg(long, default_value = "7.2")]
        redis_version: String,
        /// Replicas (1 to 5) besides the master, with three Sentinels that promote one when the master is
        /// lost (default: a single server).
        #[arg(long)]
        replicas: Option<u8>,
        /// With --replicas: replicas that must be connected for the master to accept a write.
        #[arg(long, requires = "replicas", default_value_t = 0)]
        min_replicas_to_write: u8,
        /// A Redis Cluster of this many shards (3 to 16), sharing the hash slots.
        #[arg(long, conflicts_with = "replicas")]
        shards: Option<u8>,
        /// With --shards: replicas of each shard's master (0 to 2), promoted when it is lost.
        #[arg(long, requires = "shards", default_value_t = 0)]
        replicas_per_shard: u8,
        /// Return at once instead of waiting until it runs.
        #[arg(long)]
        no_wait: bool,
        /// Give up waiting after this many seconds (the instance may still come up: `instance wait`).
        #[arg(long, default_value_t = 300)]
        timeout: u64,
        /// Its limits (default: unlimited).
        #[command(flatten)]
        limits: LimitArgs,
    },
    /// Instances of an organization.
    List {
        /// Organization slug or id (default: all of yours).
        #[arg(long)]
        org: Option<String>,
    },
    /// One instance.
    #[command(visible_alias = "show")]
    Get {
        /// Name.
        name: String,
    },
    /// Change a replicated instance's replica count, or grow a cluster's shards, while it serves.
    Scale {
        /// Name.
        name: String,
        /// A replicated instance: replicas besides the master (1 to 5).
        #[arg(long, required_unless_present = "shards", conflicts_with = "shards")]
        replicas: Option<u8>,
        /// A cluster: grow to this many shards (up to 16); slots move to the new ones while it serves.
        #[arg(long)]
        shards: Option<u8>,
    },
    /// Delete an instance and its data.
    Delete {
        /// Name.
        name: String,
    },
    /// Wait until an instance runs.
    Wait {
        /// Name.
        name: String,
        /// Give up after this many seconds.
        #[arg(long, default_value_t = 300)]
        timeout: u64,
    },
    /// Its REST URL, and the token saved in the profile.
    Credentials {
        /// Name.
        name: String,
    },
    /// Replace its tokens (the old ones stop working); the new ones are saved in the profile.
    Rotate {
        /// Name.
        name: String,
    },
    /// Show its limits; with limit flags, change those and keep the others; with --clear, remove them all.
    #[command(after_help = "Examples:
  redisgate instance limits cache                                 # show them
  redisgate instance limits cache --max-requests-per-second 100   # set one, keep the others
  redisgate instance limits cache --max-key-size none             # remove one
  redisgate instance limits cache --clear                         # remove all
  redisgate instance limits cache --clear --max-request-size 1mb  # only this one")]
    Limits {
        /// Name.
        name: String,
        /// Remove every limit first (then set those given, if any).
        #[arg(long)]
        clear: bool,
        /// Limits to change.
        #[command(flatten)]
        limits: LimitArgs,
    },
    /// Take a backup (an RDB snapshot kept in the platform's backup store) and wait until it is stored.
    Backup {
        /// Name.
        name: String,
        /// Return at once (the backup is `running`; see: instance backups).
        #[arg(long)]
        no_wait: bool,
        /// Give up waiting after this many seconds.
        #[arg(long, default_value_t = 3600)]
        timeout: u64,
    },
    /// Its backups, newest first.
    Backups {
        /// Name.
        name: String,
    },
    /// Replace all of its data with a backup (of it, or of another instance of the organization). It does
    /// not answer while it loads; a file that does not load is refused and the data stays.
    Restore {
        /// Name.
        name: String,
        /// The backup's id (see: instance backups).
        #[arg(long)]
        backup: String,
    },
    /// Download a backup as an RDB file (without --backup: take one now).
    Export {
        /// Name.
        name: String,
        /// The backup's id (default: a new backup).
        #[arg(long)]
        backup: Option<String>,
        /// The file to write.
        #[arg(long, short)]
        output: std::path::PathBuf,
    },
    /// Replace all of its data with an RDB file (checked first: a truncated, corrupt or foreign file is
    /// refused and the data stays).
    Import {
        /// Name.
        name: String,
        /// The RDB file.
        file: std::path::PathBuf,
    },
    /// Show its backup schedule and retention; with flags, change those and keep the others.
    BackupPolicy {
        /// Name.
        name: String,
        /// A backup every this many hours (1 to 720).
        #[arg(long)]
        every_hours: Option<i32>,
        /// Keep the newest this many backups (1 to 1000).
        #[arg(long)]
        keep_last: Option<i32>,
        /// Keep backups for this many days (1 to 3650).
        #[arg(long)]
        keep_days: Option<i32>,
        /// Remove the schedule and the retention first (then set those given, if any).
        #[arg(long)]
        clear: bool,
    },
    /// Redis commands run per UTC day, today last (counts lag a few seconds).
    Usage {
        /// Name.
        name: String,
        /// How many days, today included (1 to 90).
        #[arg(long, default_value_t = 30, value_parser = clap::value_parser!(u32).range(1..=90))]
        days: u32,
    },
}

/// A limit flag's value: at most this many, or `none`/`unlimited` to remove the limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Limit<T> {
    /// At most this.
    Set(T),
    /// No limit.
    Unlimited,
}

/// The limits an API key takes (an instance takes these and `--max-daily-requests`).
#[derive(Debug, Clone, Default, clap::Args)]
#[command(next_help_heading = "Limits (a value, or none to remove it)")]
pub struct KeyLimitArgs {
    /// Redis commands per second (a pipeline of 10 commands counts 10).
    #[arg(long, value_name = "N", value_parser = parse_count::<NonZeroU32>, display_order = 1)]
    pub max_requests_per_second: Option<Limit<NonZeroU32>>,
    /// Concurrent connections (open requests and subscriptions).
    #[arg(long, value_name = "N", value_parser = parse_count::<NonZeroU32>, display_order = 3)]
    pub max_concurrent_connections: Option<Limit<NonZeroU32>>,
    /// Size of one request: bytes, or with kb/mb/gb.
    #[arg(long, value_name = "SIZE", value_parser = parse_size_limit, display_order = 4)]
    pub max_request_size: Option<Limit<NonZeroU64>>,
    /// Size of the largest single argument (a value): bytes, or with kb/mb/gb.
    #[arg(long, value_name = "SIZE", value_parser = parse_size_limit, display_order = 5)]
    pub max_record_size: Option<Limit<NonZeroU64>>,
    /// Size of a key: bytes, or with kb/mb/gb.
    #[arg(long, value_name = "SIZE", value_parser = parse_size_limit, display_order = 6)]
    pub max_key_size: Option<Limit<NonZeroU64>>,
    /// Size of one answer as sent (JSON escapes and base64 included): bytes, or with kb/mb/gb.
    #[arg(long, value_name = "SIZE", value_parser = parse_size_limit, display_order = 7)]
    pub max_response_size: Option<Limit<NonZeroU64>>,
}

/// The limits an instance takes.
#[derive(Debug, Clone, Default, clap::Args)]
#[command(next_help_heading = "Limits (a value, or none to remove it)")]
pub struct LimitArgs {
    /// Redis commands per UTC day (a pipeline of 10 commands counts 10).
    #[arg(long, value_name = "N", value_parser = parse_count::<NonZeroU64>, display_order = 2)]
    pub max_daily_requests: Option<Limit<NonZeroU64>>,
    /// The limits keys take too.
    #[command(flatten)]
    pub common: KeyLimitArgs,
}

fn is_unlimited(text: &str) -> bool {
    matches!(text.trim().to_ascii_lowercase().as_str(), "none" | "unlimited")
}

/// `N` (at least 1) or `none`.
fn parse_count<T: std::str::FromStr>(text: &str) -> Result<Limit<T>, String> {
    if is_unlimited(text) {
        return Ok(Limit::Unlimited);
    }
    if text.trim().parse::<u64>() == Ok(0) {
        return Err("must be at least 1 (none removes the limit)".into());
    }
    text.trim().parse::<T>().map(Limit::Set).map_err(|_| "use a whole number, or none to remove the limit".into())
}

/// A size (at least 1 byte) or `none`.
fn parse_size_limit(text: &str) -> Result<Limit<NonZeroU64>, String> {
    if is_unlimited(text) {
        return Ok(Limit::Unlimited);
    }
    match crate::size::parse_size(text).map(NonZeroU64::new) {
        Some(Some(bytes)) => Ok(Limit::Set(bytes)),
        Some(None) => Err("must be at least 1 byte (none removes the limit)".into()),
        None => Err("use bytes or a size like 32kb or 10mb, or none to remove the limit".into()),
    }
}

/// `admin ...`.
#[derive(Debug, Subcommand)]
pub enum AdminCommand {
    /// Plans: what an organization may have. New organizations get `default`.
    #[command(subcommand)]
    Plan(PlanCommand),
}

/// The control plane's database, for `admin` commands.
#[derive(Debug, Clone, clap::Args)]
pub struct DatabaseArgs {
    /// The platform's PostgreSQL (`postgres://…`; give it by variable: it holds a password).
    #[arg(long, env = "REDISGATE_DATABASE_URL", hide_env_values = true)]
    pub database_url: String,
}

/// `admin plan ...`.
#[derive(Debug, Subcommand)]
pub enum PlanCommand {
    /// Every plan.
    List {
        /// The database.
        #[command(flatten)]
        database: DatabaseArgs,
    },
    /// Create a plan, or change one (unset flags keep their values; gateways apply it within a second).
    Set {
        /// Its name (a-z, 0-9, '-').
        name: String,
        /// Most instances an organization may have.
        #[arg(long)]
        instances: Option<u16>,
        /// Most memory of an organization's instances together: bytes, or with kb/mb/gb.
        #[arg(long)]
        memory: Option<String>,
        /// Ceilings of each instance's limits (an instance gets the stricter of its own and these).
        #[command(flatten)]
        limits: LimitArgs,
        /// The database.
        #[command(flatten)]
        database: DatabaseArgs,
    },
    /// Put an organization on a plan.
    Assign {
        /// The organization's slug.
        org: String,
        /// The plan's name.
        plan: String,
        /// The database.
        #[command(flatten)]
        database: DatabaseArgs,
    },
}

/// `key ...`.
#[derive(Debug, Subcommand)]
pub enum KeyCommand {
    /// Create a key; its secret is printed once.
    Create {
        /// A name for it.
        name: String,
        /// Scopes: instances:manage, data:write, data:read (repeat or comma-separate).
        #[arg(long = "scope", required = true, value_delimiter = ',')]
        scopes: Vec<redisgate_core::api::Scope>,
        /// Limit it to one instance.
        #[arg(long)]
        instance: Option<String>,
        /// Organization slug or id (default: your only one).
        #[arg(long)]
        org: Option<String>,
        /// Its limits (default: unlimited); requests are held to the instance's limits too.
        #[command(flatten)]
        limits: KeyLimitArgs,
    },
    /// Active keys.
    List {
        /// Organization slug or id (default: your only one).
        #[arg(long)]
        org: Option<String>,
    },
    /// Revoke a key.
    Revoke {
        /// The key's id.
        id: uuid::Uuid,
        /// Organization slug or id (default: your only one).
        #[arg(long)]
        org: Option<String>,
    },
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory as _;

    use super::*;

    fn n(value: u64) -> NonZeroU64 {
        NonZeroU64::new(value).unwrap()
    }

    #[test]
    fn the_command_line_is_consistent() {
        super::Cli::command().debug_assert();
    }

    #[test]
    fn limit_values() {
        assert_eq!(parse_count::<NonZeroU32>("100"), Ok(Limit::Set(NonZeroU32::new(100).unwrap())));
        assert_eq!(parse_count::<NonZeroU64>(" none "), Ok(Limit::Unlimited));
        assert_eq!(parse_count::<NonZeroU64>("Unlimited"), Ok(Limit::Unlimited));
        assert_eq!(parse_count::<NonZeroU32>("0"), Err("must be at least 1 (none removes the limit)".into()));
        assert!(parse_count::<NonZeroU32>("-1").is_err());
        assert!(parse_count::<NonZeroU32>("5000000000").is_err(), "more than a u32");
        assert_eq!(parse_size_limit("32kb"), Ok(Limit::Set(n(32 << 10))));
        assert_eq!(parse_size_limit("10MB"), Ok(Limit::Set(n(10 << 20))));
        assert_eq!(parse_size_limit("512"), Ok(Limit::Set(n(512))));
        assert_eq!(parse_size_limit("none"), Ok(Limit::Unlimited));
        assert!(parse_size_limit("0kb").is_err());
        assert!(parse_size_limit("lots").is_err());
    }

    #[test]
    fn limit_flags_parse_where_they_belong() {
        let cli = Cli::try_parse_from([
            "redisgate",
            "instance",
            "limits",
            "db",
            "--max-daily-requests",
            "1000",
            "--max-key-size",
            "1kb",
            "--max-record-size",
            "none",
        ])
        .unwrap();
        let Command::Instance(InstanceCommand::Limits { clear, limits, .. }) = cli.command else { panic!() };
        assert!(!clear);
        assert_eq!(limits.max_daily_requests, Some(Limit::Set(n(1000))));
        assert_eq!(limits.common.max_key_size, Some(Limit::Set(n(1024))));
        assert_eq!(limits.common.max_record_size, Some(Limit::Unlimited));
        assert_eq!(limits.common.max_requests_per_second, None);
        let key = ["redisgate", "key", "create", "k", "--scope", "data:read", "--max-daily-requests", "5"];
        assert!(Cli::try_parse_from(key).is_err(), "keys take no daily limit");
        assert!(Cli::try_parse_from(["redisgate", "instance", "usage", "db", "--days", "91"]).is_err());
        assert!(Cli::try_parse_from(["redisgate", "instance", "show", "db"]).is_ok());
    }
}
