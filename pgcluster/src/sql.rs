//! The few SQL statements cluster management needs.

use tokio_postgres::error::SqlState;
use tokio_postgres::{Client, Config, NoTls};

use crate::error::{Error, Result};

/// Opens one connection and drives it on a background task.
pub(crate) async fn connect(config: &Config) -> Result<Client> {
    let (client, connection) = config.connect(NoTls).await?;
    tokio::spawn(async move {
        if let Err(error) = connection.await {
            tracing::debug!(%error, "maintenance connection ended");
        }
    });
    Ok(client)
}

/// Creates database `name` through the maintenance database of `maintenance`.
pub(crate) async fn create_database(maintenance: &Config, name: &str) -> Result<bool> {
    validate_name(name)?;
    let client = connect(maintenance).await?;
    let exists = client
        .query_opt("SELECT 1 FROM pg_database WHERE datname = $1", &[&name])
        .await?
        .is_some();
    if exists {
        return Ok(false);
    }
    // The name was validated as a plain identifier, so quoting it is enough.
    match client
        .batch_execute(&format!("CREATE DATABASE \"{name}\""))
        .await
    {
        Ok(()) => Ok(true),
        // Another process created it between the check and the statement.
        Err(e) if e.code() == Some(&SqlState::DUPLICATE_DATABASE) => Ok(false),
        Err(e) => Err(e.into()),
    }
}

fn validate_name(name: &str) -> Result<()> {
    let mut chars = name.chars();
    let valid = name.len() <= 63
        && chars.next().is_some_and(|c| c.is_ascii_lowercase())
        && chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_' || c == '-');
    if valid {
        Ok(())
    } else {
        Err(Error::InvalidName(name.to_owned()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_plain_identifiers() {
        assert!(validate_name("decnet").is_ok());
        assert!(validate_name("test_db-2").is_ok());
        assert!(validate_name("").is_err());
        assert!(validate_name("1abc").is_err());
        assert!(validate_name("a\"; DROP").is_err());
        assert!(validate_name(&"a".repeat(64)).is_err());
    }
}
