//! Unique values that objects hold (Service ClusterIPs and NodePorts): one store key per value
//! under `/registry/claims/`, created only if absent, so two objects never get the same one
//! even when created at the same moment. Released when the holder is deleted or lets go.
//! (A crash between deleting a holder and releasing its claims leaks them; upstream runs a
//! repair loop for that, which comes with the controllers.)

use std::collections::HashSet;

use apiserver_store::{ListOptions, Precondition, Store, StoreError};
use bytes::Bytes;

const PREFIX: &str = "/registry/claims/";

fn key(claim: &str) -> Bytes {
    Bytes::from(format!("{PREFIX}{claim}"))
}

/// Every value currently claimed.
pub(crate) async fn taken(store: &dyn Store) -> Result<HashSet<String>, StoreError> {
    let page = store.list(PREFIX.as_bytes(), ListOptions::default()).await?;
    Ok(page.items.iter().map(|kv| String::from_utf8_lossy(&kv.key[PREFIX.len()..]).into_owned()).collect())
}

/// Claims all of `claims` for `holder`, or none: `Ok(Err(claim))` names one someone else holds.
pub(crate) async fn claim(
    store: &dyn Store,
    claims: &[String],
    holder: &str,
) -> Result<Result<(), String>, StoreError> {
    for (i, claim) in claims.iter().enumerate() {
        match store.create(key(claim), Bytes::from(holder.to_string())).await {
            Ok(_) => {}
            Err(StoreError::AlreadyExists) => {
                release(store, &claims[..i]).await;
                return Ok(Err(claim.clone()));
            }
            Err(err) => {
                release(store, &claims[..i]).await;
                return Err(err);
            }
        }
    }
    Ok(Ok(()))
}

/// Releases claims (best effort: a claim already gone is fine).
pub(crate) async fn release(store: &dyn Store, claims: &[String]) {
    for claim in claims {
        if let Err(err) = store.delete(key(claim), Precondition::None).await
            && err != StoreError::NotFound
        {
            tracing::warn!(claim, error = %err, "could not release a claim");
        }
    }
}
