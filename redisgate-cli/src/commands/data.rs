//! Talking to an instance: `exec` (one command, or an interactive prompt), `pipe`, `subscribe`.

use anyhow::{anyhow, bail, Result};
use futures_util::stream::{select_all, StreamExt as _};
use redisgate_client::{Client, Error};
use tokio::io::AsyncBufReadExt as _;

use super::Context;

/// How many commands `pipe` sends per request.
const PIPE_BATCH: usize = 100;

/// `redisgate exec <instance> [command...]`.
pub async fn exec(ctx: &Context, instance: &str, command: &[String]) -> Result<()> {
    let client = ctx.data_client(instance)?;
    if command.is_empty() {
        return prompt(ctx, &client, instance).await;
    }
    let args = command.iter().map(|a| a.as_bytes().to_vec()).collect();
    match client.raw(args).await {
        Ok(value) => {
            ctx.output.reply(&value);
            Ok(())
        }
        Err(Error::Redis(message)) => {
            ctx.output.error_reply(&message);
            bail!(crate::Reported(crate::EXIT_REDIS))
        }
        Err(e) => Err(e.into()),
    }
}

/// An interactive prompt in the spirit of `redis-cli`, with history.
async fn prompt(ctx: &Context, client: &Client, instance: &str) -> Result<()> {
    if !std::io::IsTerminal::is_terminal(&std::io::stdin()) {
        bail!(crate::UsageError(format!(
            "no command given and standard input is not a terminal: use redisgate pipe {instance}"
        )));
    }
    let mut editor = rustyline::DefaultEditor::new()?;
    let history = ctx.profiles_history();
    let _ = editor.load_history(&history);
    loop {
        let line = match editor.readline(&format!("{instance}> ")) {
            Ok(line) => line,
            Err(rustyline::error::ReadlineError::Interrupted | rustyline::error::ReadlineError::Eof) => break,
            Err(e) => return Err(e.into()),
        };
        let Some(args) = shlex::split(&line) else {
            println!("(error) unbalanced quotes");
            continue;
        };
        if args.is_empty() {
            continue;
        }
        if matches!(args[0].to_ascii_lowercase().as_str(), "quit" | "exit") {
            break;
        }
        let _ = editor.add_history_entry(line.as_str());
        match client.raw(args.into_iter().map(String::into_bytes).collect()).await {
            Ok(value) => ctx.output.reply(&value),
            Err(Error::Redis(message)) => ctx.output.error_reply(&message),
            Err(e) => println!("(error) {e}"),
        }
    }
    let _ = editor.save_history(&history);
    Ok(())
}

/// `redisgate pipe <instance>`: commands from standard input, one per line, sent in pipelines.
pub async fn pipe(ctx: &Context, instance: &str) -> Result<()> {
    let client = ctx.data_client(instance)?;
    let mut lines = tokio::io::BufReader::new(tokio::io::stdin()).lines();
    let mut batch = Vec::new();
    let mut failures = 0;
    loop {
        let line = lines.next_line().await?;
        if let Some(line) = &line {
            let args = shlex::split(line)
                .ok_or_else(|| anyhow!(crate::UsageError(format!("unbalanced quotes in: {line}"))))?;
            if !args.is_empty() {
                batch.push(args);
            }
        }
        if batch.len() >= PIPE_BATCH || (line.is_none() && !batch.is_empty()) {
            let pipeline = batch.drain(..).fold(client.pipeline(), |p, args| p.cmd(args));
            for result in pipeline.results().await? {
                match result {
                    Ok(value) => ctx.output.reply(&value),
                    Err(Error::Redis(message)) => {
                        failures += 1;
                        ctx.output.error_reply(&message);
                    }
                    Err(e) => return Err(e.into()),
                }
            }
        }
        if line.is_none() {
            break;
        }
    }
    if failures > 0 {
        bail!(crate::Reported(crate::EXIT_REDIS));
    }
    Ok(())
}

/// `redisgate subscribe <instance> <channel...>`: prints messages until Ctrl-C or the server ends them.
pub async fn subscribe(ctx: &Context, instance: &str, channels: &[String]) -> Result<()> {
    let client = ctx.data_client(instance)?;
    let mut streams = Vec::new();
    for channel in channels {
        let subscription =
            if channel.contains('*') { client.psubscribe(channel).await? } else { client.subscribe(channel).await? };
        streams.push(subscription);
    }
    if !ctx.output.json {
        eprintln!("subscribed to {}; Ctrl-C stops", channels.join(", "));
    }
    let mut messages = select_all(streams);
    loop {
        tokio::select! {
            _ = tokio::signal::ctrl_c() => return Ok(()),
            message = messages.next() => match message {
                Some(Ok(m)) if ctx.output.json => println!("{}", serde_json::json!({"channel": m.channel, "pattern": m.pattern, "payload": m.payload})),
                Some(Ok(m)) => println!("{}: {}", m.channel, m.payload),
                Some(Err(e)) => return Err(e.into()),
                None => return Ok(()),
            },
        }
    }
}
