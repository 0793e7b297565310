//! `redisgate`: the RedisGate command line.
//!
//! Exit codes: 0 success, 1 failure, 2 bad arguments or usage, 3 authentication, 4 not found, 5 server
//! unreachable or timed out, 6 Redis answered with an error.

mod cli;
mod commands;
mod output;
mod profile;
mod size;

use std::process::ExitCode;

use clap::{CommandFactory as _, Parser as _};

use crate::cli::{Cli, Command};
use crate::commands::Context;

/// Exit code: Redis answered with an error.
pub const EXIT_REDIS: u8 = 6;

/// A mistake in how the CLI was used (exit code 2), with what to do instead.
#[derive(Debug)]
pub struct UsageError(pub String);

impl std::fmt::Display for UsageError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for UsageError {}

/// A failure already printed; exit with this code.
#[derive(Debug)]
pub struct Reported(pub u8);

impl std::fmt::Display for Reported {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "exit {}", self.0)
    }
}

impl std::error::Error for Reported {}

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(&cli).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            let code = exit_code(&error);
            if error.downcast_ref::<Reported>().is_none() {
                let url = cli.url.clone().unwrap_or_else(|| "the server".into());
                eprintln!("redisgate: {}", explain(&error, &url));
            }
            ExitCode::from(code)
        }
    }
}

async fn run(cli: &Cli) -> anyhow::Result<()> {
    if let Command::Completions { shell } = &cli.command {
        clap_complete::generate(*shell, &mut Cli::command(), "redisgate", &mut std::io::stdout());
        return Ok(());
    }
    let ctx = Context::new(cli)?;
    match &cli.command {
        Command::Dev(args) => commands::dev::run(&ctx, args).await,
        Command::Register(args) => commands::account::register(&ctx, args).await,
        Command::Login(args) => commands::account::login(&ctx, args).await,
        Command::Logout => {
            commands::account::logout(&ctx).await;
            Ok(())
        }
        Command::Org(command) => commands::org::run(&ctx, command).await,
        Command::Instance(command) => commands::instance::run(&ctx, command).await,
        Command::Key(command) => commands::key::run(&ctx, command).await,
        Command::Admin(command) => commands::admin::run(&ctx, command).await,
        Command::Exec { instance, command } => commands::data::exec(&ctx, instance, command).await,
        Command::Pipe { instance } => commands::data::pipe(&ctx, instance).await,
        Command::Subscribe { instance, channels } => commands::data::subscribe(&ctx, instance, channels).await,
        Command::Completions { .. } => Ok(()),
    }
}

fn exit_code(error: &anyhow::Error) -> u8 {
    if let Some(Reported(code)) = error.downcast_ref::<Reported>() {
        return *code;
    }
    if error.downcast_ref::<UsageError>().is_some() {
        return 2;
    }
    if error.downcast_ref::<commands::NotFound>().is_some() {
        return 4;
    }
    match error.downcast_ref::<redisgate_client::Error>() {
        Some(redisgate_client::Error::Auth(_)) => 3,
        Some(redisgate_client::Error::Http { status: 404, .. }) => 4,
        Some(redisgate_client::Error::Transport(_) | redisgate_client::Error::Timeout) => 5,
        Some(redisgate_client::Error::Redis(_)) => EXIT_REDIS,
        Some(redisgate_client::Error::Validation { .. } | redisgate_client::Error::Config(_)) => 2,
        _ => 1,
    }
}

/// The error, and what to do next where that is clear.
fn explain(error: &anyhow::Error, url: &str) -> String {
    match error.downcast_ref::<redisgate_client::Error>() {
        Some(redisgate_client::Error::Transport(cause)) => {
            let url = cause.url().map_or_else(|| url.to_owned(), ToString::to_string);
            let mut reason = String::new();
            let mut source = std::error::Error::source(cause);
            while let Some(inner) = source {
                reason = inner.to_string();
                source = inner.source();
            }
            format!("cannot reach {url} ({reason}): is the platform running? (`redisgate dev` starts one)")
        }
        Some(redisgate_client::Error::NotRunning { instance, .. }) => {
            format!("{error:#}; it may still come up: redisgate instance wait {instance} --timeout 600")
        }
        Some(redisgate_client::Error::Auth(message)) if !message.contains("redisgate login") => {
            format!("authentication failed ({message}): run redisgate login --email you@example.com")
        }
        _ => format!("{error:#}"),
    }
}
