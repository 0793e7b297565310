//! `crdgen`: writes the `RedisHttpInstance` and `RedisHttpBackup` CRDs to `deploy/crds/` (or the first to
//! stdout with `-`). Run it after changing `crd.rs` or `crd/backup.rs`; a test fails while a checked-in file
//! differs.

use std::path::PathBuf;

fn main() -> anyhow::Result<()> {
    let yaml = redisgate_operator::crd::crd_yaml();
    match std::env::args().nth(1).as_deref() {
        Some("-") => print!("{yaml}"),
        Some(path) => std::fs::write(path, yaml)?,
        None => {
            let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../deploy/crds");
            std::fs::create_dir_all(&dir)?;
            for (file, yaml) in
                [("redishttpinstance.yaml", yaml), ("redishttpbackup.yaml", redisgate_operator::crd::backup_crd_yaml())]
            {
                std::fs::write(dir.join(file), yaml)?;
                eprintln!("wrote {}", dir.join(file).display());
            }
        }
    }
    Ok(())
}
