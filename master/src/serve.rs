//! `decnet-master serve`: the API against an external PostgreSQL.

use std::path::PathBuf;

use anyhow::Context as _;
use decnet_runtime::config::Secret;
use tokio_util::sync::CancellationToken;

use crate::app;
use crate::cli::ServeArgs;
use crate::config::{DEFAULT_SERVE_PKI_DIR, MasterConfig, Mode};
use crate::http;

/// Runs `serve` until `shutdown`.
pub async fn run(args: ServeArgs, shutdown: CancellationToken) -> anyhow::Result<()> {
    let mut config = MasterConfig::load(args.config.path.as_deref())?;
    if let Some(url) = args.database_url {
        config.database_url = Some(Secret::new(url));
    }
    if let Some(listen) = args.listen {
        config.api.listen = listen;
    }
    config
        .mesh
        .pki_dir
        .get_or_insert_with(|| PathBuf::from(DEFAULT_SERVE_PKI_DIR));
    let valid = config.validate(Mode::Serve)?;
    let pg = valid.database.context("database_url: is required")?;
    let jwt_secret = valid
        .config
        .jwt_secret
        .clone()
        .context("jwt_secret: is required")?;
    let listener = http::bind(valid.listen)?;
    app::run(listener, pg, &valid.config, jwt_secret, None, shutdown).await
}
