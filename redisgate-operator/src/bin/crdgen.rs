//! `crdgen`: writes the `RedisHttpInstance` CRD to `deploy/crds/redishttpinstance.yaml` (or stdout with
//! `-`). Run it after changing `crd.rs`; a test fails while the checked-in file differs.

use std::path::PathBuf;

fn main() -> anyhow::Result<()> {
    let yaml = redisgate_operator::crd::crd_yaml();
    match std::env::args().nth(1).as_deref() {
        Some("-") => print!("{yaml}"),
        Some(path) => std::fs::write(path, yaml)?,
        None => {
            let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../deploy/crds/redishttpinstance.yaml");
            std::fs::create_dir_all(path.parent().unwrap_or(&path))?;
            std::fs::write(&path, yaml)?;
            eprintln!("wrote {}", path.display());
        }
    }
    Ok(())
}
