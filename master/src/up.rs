//! `decnet-master up`: the embedded all-in-one mode.

use tokio_util::sync::CancellationToken;

use crate::app;
use crate::cli::UpArgs;
use crate::config::{MasterConfig, Mode};
use crate::embedded::{self, EmbeddedDatabase};
use crate::http;

/// Runs `up` until `shutdown`; PostgreSQL is stopped before returning.
pub async fn run(args: UpArgs, shutdown: CancellationToken) -> anyhow::Result<()> {
    let mut config = MasterConfig::load(args.config.path.as_deref())?;
    if let Some(dir) = args.data_dir {
        config.embedded.data_dir = dir;
    }
    if let Some(listen) = args.listen {
        config.api.listen = listen;
    }
    let valid = config.validate(Mode::Up)?;
    let listener = http::bind(valid.listen)?;
    let data_dir = embedded::prepare_data_dir(&valid.config.embedded.data_dir)?;
    embedded::check_data_dir_path(&data_dir)?;
    let _lock = embedded::lock_data_dir(&data_dir)?;
    let mut valid = valid;
    valid
        .config
        .mesh
        .pki_dir
        .get_or_insert_with(|| data_dir.join("pki"));
    let jwt_secret = match valid.config.jwt_secret.clone() {
        Some(secret) => secret,
        None => embedded::load_or_create_jwt_secret(&data_dir)?,
    };

    if let Some(pg) = valid.database {
        tracing::info!(
            "database_url is set: using the external database instead of an embedded one"
        );
        return app::run(
            listener,
            pg,
            &valid.config,
            jwt_secret,
            Some(&data_dir),
            shutdown,
        )
        .await;
    }

    let db = EmbeddedDatabase::start(&data_dir, valid.config.embedded.pg_bindir.as_deref()).await?;
    let result = if shutdown.is_cancelled() {
        Ok(())
    } else {
        app::run(
            listener,
            db.connection_config(),
            &valid.config,
            jwt_secret,
            Some(&data_dir),
            shutdown,
        )
        .await
    };
    let stopped = db.stop().await;
    result.and(stopped)
}
