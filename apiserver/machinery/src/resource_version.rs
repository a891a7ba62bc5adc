//! What revision a read or a watch starts at, from `resourceVersion`, `resourceVersionMatch`,
//! `continue`, `limit` and `sendInitialEvents`, with upstream's validation
//! (`ValidateListOptions`) and semantics (the "resource versions" page of the API concepts):
//!
//! | request | list reads | watch starts |
//! |---|---|---|
//! | `resourceVersion` unset | the current revision | with the current state, then changes |
//! | `resourceVersion=0` | any revision (we serve the current one) | same as unset |
//! | `resourceVersion=N` | not older than N (exactly N with `limit`) | after N |
//! | `...&resourceVersionMatch=Exact` | exactly N | (forbidden) |
//! | `continue=T` | the token's revision, after its key | (not used) |
//! | `sendInitialEvents=true&resourceVersionMatch=NotOlderThan` | (forbidden) | current state, BOOKMARK, changes |

use crate::continue_token::Continue;
use crate::field::{FieldError, FieldErrors};
use crate::status::{ApiError, GroupKind};

const LIST_OPTIONS: GroupKind<'static> = GroupKind { group: "meta.k8s.io", kind: "ListOptions" };

/// The list and watch query parameters that decide where a read starts (as sent, unparsed).
#[derive(Debug, Clone, Copy, Default)]
pub struct ReadParams<'a> {
    /// `resourceVersion`
    pub resource_version: Option<&'a str>,
    /// `resourceVersionMatch`
    pub resource_version_match: Option<&'a str>,
    /// `continue`
    pub continue_token: Option<&'a str>,
    /// `limit`
    pub limit: Option<i64>,
    /// `sendInitialEvents`
    pub send_initial_events: Option<bool>,
    /// `allowWatchBookmarks`
    pub allow_watch_bookmarks: Option<bool>,
}

/// Where a list (or get) reads.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ListRead {
    /// At the current revision.
    Current,
    /// At the current revision, which must have reached this one (else wait, then 504).
    NotOlderThan(u64),
    /// At exactly this revision (410 once compacted).
    Exact(u64),
    /// The next page of an earlier list.
    Continue(Continue),
}

/// Where a watch starts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WatchStart {
    /// Synthetic ADDED events for every current object, then changes (rv unset or "0").
    CurrentState,
    /// Changes after this revision.
    After(u64),
    /// Watch-list: current objects (at a revision not older than the given one, if any) as
    /// ADDED events, a BOOKMARK marked `k8s.io/initial-events-end: "true"`, then changes.
    InitialEvents {
        /// The state sent must be at least this fresh.
        not_older_than: Option<u64>,
    },
}

fn match_value(params: &ReadParams<'_>, errors: &mut FieldErrors) -> Option<Match> {
    match params.resource_version_match.unwrap_or("") {
        "" => None,
        "NotOlderThan" => Some(Match::NotOlderThan),
        "Exact" => Some(Match::Exact),
        other => {
            errors.push(FieldError::not_supported("resourceVersionMatch", other, &["Exact", "NotOlderThan", ""]));
            None
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Match {
    NotOlderThan,
    Exact,
}

/// A `resourceVersion` as a revision ("" and "0" are both "unset" here).
fn parse_revision(value: &str) -> Result<Option<u64>, ApiError> {
    match value {
        "" | "0" => Ok(None),
        v => v.parse::<u64>().map(Some).map_err(|_| ApiError::bad_request(format!("invalid resource version: {v:?}"))),
    }
}

fn invalid(errors: &FieldErrors) -> ApiError {
    ApiError::invalid(LIST_OPTIONS, "", errors)
}

/// Plans a list.
pub fn plan_list(params: &ReadParams<'_>) -> Result<ListRead, ApiError> {
    let mut errors = FieldErrors::default();
    let rv = params.resource_version.unwrap_or("");
    let matching = match_value(params, &mut errors);
    let continuing = params.continue_token.is_some_and(|c| !c.is_empty());
    if matching.is_some() && rv.is_empty() {
        errors.push(FieldError::forbidden(
            "resourceVersionMatch",
            "resourceVersionMatch is forbidden unless resourceVersion is provided",
        ));
    }
    if matching.is_some() && continuing {
        errors.push(FieldError::forbidden(
            "resourceVersionMatch",
            "resourceVersionMatch is forbidden when continue is provided",
        ));
    }
    if matching == Some(Match::Exact) && rv == "0" {
        errors.push(FieldError::forbidden(
            "resourceVersionMatch",
            "resourceVersionMatch \"exact\" is forbidden for resourceVersion \"0\"",
        ));
    }
    if params.send_initial_events.is_some() {
        errors.push(FieldError::forbidden("sendInitialEvents", "sendInitialEvents is forbidden for list"));
    }
    if !errors.is_empty() {
        return Err(invalid(&errors));
    }
    if let Some(token) = params.continue_token.filter(|c| !c.is_empty()) {
        if !(rv.is_empty() || rv == "0") {
            return Err(ApiError::bad_request("specifying resource version is not allowed when using continue"));
        }
        return Continue::decode(token).map(ListRead::Continue).map_err(|e| ApiError::bad_request(e.to_string()));
    }
    let Some(revision) = parse_revision(rv)? else { return Ok(ListRead::Current) };
    let paginated = params.limit.is_some_and(|l| l > 0);
    Ok(match matching {
        Some(Match::Exact) => ListRead::Exact(revision),
        Some(Match::NotOlderThan) => ListRead::NotOlderThan(revision),
        // Legacy rule: a paginated list at a given revision reads exactly there.
        None if paginated => ListRead::Exact(revision),
        None => ListRead::NotOlderThan(revision),
    })
}

/// Plans a get: unset and "0" read the current revision, N at least N.
pub fn plan_get(resource_version: Option<&str>) -> Result<ListRead, ApiError> {
    Ok(match parse_revision(resource_version.unwrap_or(""))? {
        None => ListRead::Current,
        Some(revision) => ListRead::NotOlderThan(revision),
    })
}

/// Plans a watch.
pub fn plan_watch(params: &ReadParams<'_>) -> Result<WatchStart, ApiError> {
    let mut errors = FieldErrors::default();
    let rv = params.resource_version.unwrap_or("");
    let matching = match_value(params, &mut errors);
    match params.send_initial_events {
        Some(true) => {
            if matching != Some(Match::NotOlderThan) {
                errors.push(FieldError::forbidden(
                    "resourceVersionMatch",
                    "sendInitialEvents requires setting resourceVersionMatch to NotOlderThan",
                ));
            }
            if params.allow_watch_bookmarks != Some(true) {
                errors.push(FieldError::forbidden(
                    "allowWatchBookmarks",
                    "allowWatchBookmarks must be set to true when sendInitialEvents is set",
                ));
            }
        }
        Some(false) | None if matching.is_some() => errors.push(FieldError::forbidden(
            "resourceVersionMatch",
            "resourceVersionMatch is forbidden for watch unless sendInitialEvents is provided",
        )),
        _ => {}
    }
    if !errors.is_empty() {
        return Err(invalid(&errors));
    }
    let revision = parse_revision(rv)?;
    Ok(match (params.send_initial_events, revision) {
        (Some(true), not_older_than) => WatchStart::InitialEvents { not_older_than },
        (_, None) => WatchStart::CurrentState,
        (_, Some(revision)) => WatchStart::After(revision),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn list(rv: Option<&str>, matching: Option<&str>, limit: Option<i64>) -> Result<ListRead, ApiError> {
        plan_list(&ReadParams {
            resource_version: rv,
            resource_version_match: matching,
            limit,
            ..ReadParams::default()
        })
    }

    #[test]
    fn list_semantics() {
        assert_eq!(list(None, None, None).unwrap(), ListRead::Current);
        assert_eq!(list(Some("0"), None, None).unwrap(), ListRead::Current);
        assert_eq!(list(Some("0"), None, Some(10)).unwrap(), ListRead::Current);
        assert_eq!(list(Some("7"), None, None).unwrap(), ListRead::NotOlderThan(7));
        assert_eq!(list(Some("7"), None, Some(10)).unwrap(), ListRead::Exact(7));
        assert_eq!(list(Some("7"), Some("NotOlderThan"), Some(10)).unwrap(), ListRead::NotOlderThan(7));
        assert_eq!(list(Some("7"), Some("Exact"), None).unwrap(), ListRead::Exact(7));
    }

    #[test]
    fn list_validation() {
        let code = |r: Result<ListRead, ApiError>| r.unwrap_err().code();
        assert_eq!(code(list(None, Some("Exact"), None)), 422);
        assert_eq!(code(list(Some("0"), Some("Exact"), None)), 422);
        assert_eq!(code(list(Some("5"), Some("Sometimes"), None)), 422);
        assert_eq!(code(list(Some("abc"), None, None)), 400);
        let token = Continue { revision: 9, after: "ns/a".into() }.encode();
        let with_token =
            |rv| plan_list(&ReadParams { resource_version: rv, continue_token: Some(&token), ..Default::default() });
        assert_eq!(with_token(None).unwrap(), ListRead::Continue(Continue { revision: 9, after: "ns/a".into() }));
        assert_eq!(with_token(Some("0")).unwrap(), ListRead::Continue(Continue { revision: 9, after: "ns/a".into() }));
        assert_eq!(code(with_token(Some("5"))), 400);
        let garbage = plan_list(&ReadParams { continue_token: Some("garbage!"), ..Default::default() });
        assert_eq!(code(garbage), 400);
        let err = list(None, Some("Exact"), None).unwrap_err();
        assert!(
            err.to_string().starts_with("ListOptions.meta.k8s.io \"\" is invalid: resourceVersionMatch: Forbidden")
        );
    }

    #[test]
    fn watch_semantics_and_watch_list() {
        let watch = |rv, matching, initial, bookmarks| {
            plan_watch(&ReadParams {
                resource_version: rv,
                resource_version_match: matching,
                send_initial_events: initial,
                allow_watch_bookmarks: bookmarks,
                ..ReadParams::default()
            })
        };
        assert_eq!(watch(None, None, None, None).unwrap(), WatchStart::CurrentState);
        assert_eq!(watch(Some("0"), None, None, Some(true)).unwrap(), WatchStart::CurrentState);
        assert_eq!(watch(Some("12"), None, None, None).unwrap(), WatchStart::After(12));
        assert_eq!(
            watch(Some(""), Some("NotOlderThan"), Some(true), Some(true)).unwrap(),
            WatchStart::InitialEvents { not_older_than: None }
        );
        assert_eq!(
            watch(Some("12"), Some("NotOlderThan"), Some(true), Some(true)).unwrap(),
            WatchStart::InitialEvents { not_older_than: Some(12) }
        );
        assert_eq!(watch(None, None, Some(true), Some(true)).unwrap_err().code(), 422);
        assert_eq!(watch(None, Some("NotOlderThan"), Some(true), None).unwrap_err().code(), 422);
        assert_eq!(watch(Some("5"), Some("NotOlderThan"), None, None).unwrap_err().code(), 422);
        assert_eq!(watch(Some("x"), None, None, None).unwrap_err().code(), 400);
    }

    #[test]
    fn get_semantics() {
        assert_eq!(plan_get(None).unwrap(), ListRead::Current);
        assert_eq!(plan_get(Some("0")).unwrap(), ListRead::Current);
        assert_eq!(plan_get(Some("3")).unwrap(), ListRead::NotOlderThan(3));
        assert_eq!(plan_get(Some("-3")).unwrap_err().code(), 400);
    }
}
