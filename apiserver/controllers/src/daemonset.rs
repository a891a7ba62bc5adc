//! Not built yet.

use std::sync::Arc;

use crate::{Context, Error};

pub async fn run(_ctx: Arc<Context>) -> Result<(), Error> {
    std::future::pending().await
}
