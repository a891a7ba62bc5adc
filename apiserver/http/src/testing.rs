//! Test support shared by the test binaries that drive the real kubectl (behind feature
//! `testing`).

use std::path::PathBuf;

/// The kubectl v1.35 that `ci/install-kubectl.sh` installs (`$KYBERNETES_TOOLS`, default
/// `~/.cache/kybernetes/tools`), or `None` after saying loudly that it is missing. Under
/// CI=true a missing kubectl is a failure, never a skip.
pub fn kubectl_binary() -> Option<PathBuf> {
    let tools = std::env::var_os("KYBERNETES_TOOLS").map(PathBuf::from).unwrap_or_else(|| {
        let cache = std::env::var_os("XDG_CACHE_HOME")
            .map(PathBuf::from)
            .unwrap_or_else(|| PathBuf::from(std::env::var_os("HOME").unwrap_or_default()).join(".cache"));
        cache.join("kybernetes/tools")
    });
    let kubectl = tools.join("kubectl");
    if kubectl.exists() {
        return Some(kubectl);
    }
    assert!(std::env::var("CI").as_deref() != Ok("true"), "kubectl v1.35 missing at {} under CI", kubectl.display());
    eprintln!("SKIPPED: real kubectl v1.35 not found at {} (run ci/install-kubectl.sh)", kubectl.display());
    None
}
