//! The command line, declared with clap's derive API.

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
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

const EXAMPLES: &str = "Examples:
  redisgate dev                                   # the whole platform on this machine
  redisgate login --url http://127.0.0.1:8080 --email you@example.com
  redisgate org create my-org
  redisgate instance create cache --memory 64mb
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
    /// Forget the profile's session.
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
        /// Return at once instead of waiting until it runs.
        #[arg(long)]
        no_wait: bool,
    },
    /// Instances of an organization.
    List {
        /// Organization slug or id (default: all of yours).
        #[arg(long)]
        org: Option<String>,
    },
    /// One instance.
    Get {
        /// Name.
        name: String,
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
        #[arg(long, default_value_t = 60)]
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
        scopes: Vec<String>,
        /// Limit it to one instance.
        #[arg(long)]
        instance: Option<String>,
        /// Organization slug or id (default: your only one).
        #[arg(long)]
        org: Option<String>,
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

    #[test]
    fn the_command_line_is_consistent() {
        super::Cli::command().debug_assert();
    }
}
