//! `redisgate-backup`: one backup of one Redis server into a backup store, configured by environment
//! variables (`redisgate_platform::backup::one_shot` lists them). The operator's backup Jobs run it from
//! the gateway's image. Prints the result as JSON; exits 1 on failure.

use std::process::ExitCode;

use redisgate_platform::backup::one_shot::OneBackup;

fn main() -> ExitCode {
    let backup = match OneBackup::from_env(|name| std::env::var(name).ok()) {
        Ok(backup) => backup,
        Err(e) => {
            eprintln!("redisgate-backup: {e}");
            return ExitCode::from(64);
        }
    };
    let Ok(runtime) = tokio::runtime::Builder::new_current_thread().enable_all().build() else {
        eprintln!("redisgate-backup: cannot start the runtime");
        return ExitCode::FAILURE;
    };
    match runtime.block_on(backup.run()) {
        Ok(result) => {
            println!("{result}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("redisgate-backup: {e}");
            ExitCode::FAILURE
        }
    }
}
