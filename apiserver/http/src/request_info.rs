//! What a request asks for, from its method, path and query (upstream's `RequestInfoFactory`):
//!
//! ```text
//! /api/v1[/namespaces/{ns}]/{resource}[/{name}[/{subresource}]]
//! /apis/{group}/{version}[/namespaces/{ns}]/{resource}[/{name}[/{subresource}]]
//! /api/v1/namespaces/{name}[/status|/finalize]      (the namespace itself)
//! ```

use http::Method;

/// A resource request's verb.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verb {
    /// GET of one object.
    Get,
    /// GET of a collection.
    List,
    /// GET of a collection with `watch=true`.
    Watch,
    /// POST.
    Create,
    /// PUT.
    Update,
    /// PATCH.
    Patch,
    /// DELETE of one object.
    Delete,
    /// DELETE of a collection.
    DeleteCollection,
    /// A method this path does not take (PUT or PATCH on a collection, POST on a named
    /// object): 405.
    NotAllowed,
}

/// A parsed resource request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestInfo {
    /// The verb.
    pub verb: Verb,
    /// API group ("" for core).
    pub group: String,
    /// API version.
    pub version: String,
    /// Plural resource name.
    pub resource: String,
    /// Namespace, for namespaced requests.
    pub namespace: Option<String>,
    /// Object name.
    pub name: Option<String>,
    /// Subresource (`status`, `scale`, ...).
    pub subresource: Option<String>,
}

/// Namespace paths whose third segment is a subresource, not a resource.
const NAMESPACE_SUBRESOURCES: &[&str] = &["status", "finalize"];

/// Decodes `%XX` escapes (Go clients escape characters such as `(`, `!`, spaces); `None` for
/// a malformed escape or a decoded `/`, which no name may contain.
fn percent_decode(segment: &str) -> Option<String> {
    if !segment.contains('%') {
        return Some(segment.to_string());
    }
    let bytes = segment.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = std::str::from_utf8(bytes.get(i + 1..i + 3)?).ok()?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok().filter(|s| !s.contains('/'))
}

/// Parses a resource request; `None` for anything else (discovery, health, unknown paths).
pub fn parse(method: &Method, path: &str, watch: bool) -> Option<RequestInfo> {
    let decoded: Vec<String> = path.trim_matches('/').split('/').map(percent_decode).collect::<Option<_>>()?;
    let segments: Vec<&str> = decoded.iter().map(String::as_str).collect();
    let (group, version, rest) = match segments.as_slice() {
        ["api", version, rest @ ..] => ("", *version, rest),
        ["apis", group, version, rest @ ..] => (*group, *version, rest),
        _ => return None,
    };
    let (namespace, rest) = match rest {
        ["namespaces", ns, tail @ ..] if !tail.is_empty() && !NAMESPACE_SUBRESOURCES.contains(&tail[0]) => {
            (Some(ns.to_string()), tail)
        }
        _ => (None, rest),
    };
    let (resource, name, subresource) = match rest {
        [resource] => (*resource, None, None),
        [resource, name] => (*resource, Some(name.to_string()), None),
        [resource, name, sub] => (*resource, Some(name.to_string()), Some(sub.to_string())),
        _ => return None,
    };
    if resource.is_empty() || name.as_deref() == Some("") {
        return None;
    }
    // The namespace object's own name doubles as its namespace upstream; we keep it as the name.
    let verb = match (method, name.is_some()) {
        (&Method::GET | &Method::HEAD, true) => Verb::Get,
        (&Method::GET | &Method::HEAD, false) if watch => Verb::Watch,
        (&Method::GET | &Method::HEAD, false) => Verb::List,
        // POST names a collection, or a subresource that creates (binding, eviction).
        (&Method::POST, false) => Verb::Create,
        (&Method::POST, true) if subresource.is_some() => Verb::Create,
        (&Method::PUT, true) => Verb::Update,
        (&Method::PATCH, true) => Verb::Patch,
        (&Method::DELETE, true) => Verb::Delete,
        (&Method::DELETE, false) => Verb::DeleteCollection,
        (&Method::POST | &Method::PUT | &Method::PATCH, _) => Verb::NotAllowed,
        _ => return None,
    };
    Some(RequestInfo {
        verb,
        group: group.to_string(),
        version: version.to_string(),
        resource: resource.to_string(),
        namespace,
        name,
        subresource,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn info(method: Method, path: &str) -> RequestInfo {
        parse(&method, path, false).unwrap_or_else(|| panic!("{path} should parse"))
    }

    #[test]
    fn core_and_group_paths() {
        let list = info(Method::GET, "/api/v1/namespaces/default/configmaps");
        assert_eq!((list.verb, list.group.as_str(), list.resource.as_str()), (Verb::List, "", "configmaps"));
        assert_eq!(list.namespace.as_deref(), Some("default"));
        let get = info(Method::GET, "/apis/apps/v1/namespaces/ns1/deployments/web/scale");
        assert_eq!((get.verb, get.group.as_str(), get.version.as_str()), (Verb::Get, "apps", "v1"));
        assert_eq!((get.name.as_deref(), get.subresource.as_deref()), (Some("web"), Some("scale")));
        let all = info(Method::GET, "/api/v1/pods");
        assert_eq!((all.namespace, all.resource.as_str()), (None, "pods"));
        assert_eq!(parse(&Method::GET, "/api/v1/pods", true).unwrap().verb, Verb::Watch);
    }

    #[test]
    fn namespaces_themselves() {
        let ns = info(Method::GET, "/api/v1/namespaces/kube-system");
        assert_eq!((ns.resource.as_str(), ns.name.as_deref(), ns.namespace), ("namespaces", Some("kube-system"), None));
        let finalize = info(Method::PUT, "/api/v1/namespaces/team/finalize");
        assert_eq!((finalize.resource.as_str(), finalize.subresource.as_deref()), ("namespaces", Some("finalize")));
        assert_eq!(info(Method::DELETE, "/api/v1/namespaces/team").verb, Verb::Delete);
        assert_eq!(info(Method::POST, "/api/v1/namespaces").verb, Verb::Create);
    }

    #[test]
    fn verbs_and_non_resource_paths() {
        assert_eq!(info(Method::DELETE, "/api/v1/namespaces/d/configmaps").verb, Verb::DeleteCollection);
        assert_eq!(info(Method::PATCH, "/api/v1/namespaces/d/configmaps/a").verb, Verb::Patch);
        assert_eq!(info(Method::PUT, "/api/v1/namespaces/d/configmaps/a").verb, Verb::Update);
        for path in ["/version", "/api", "/apis", "/api/v1", "/apis/apps/v1", "/healthz", "/api/v1/a/b/c/d/e/f"] {
            assert!(parse(&Method::GET, path, false).is_none(), "{path}");
        }
        assert_eq!(info(Method::PUT, "/api/v1/namespaces/d/configmaps").verb, Verb::NotAllowed);
        assert_eq!(info(Method::POST, "/api/v1/namespaces/d/configmaps/a").verb, Verb::NotAllowed);
        assert_eq!(info(Method::POST, "/api/v1/namespaces/d/pods/a/eviction").verb, Verb::Create);
    }

    #[test]
    fn percent_escapes_are_decoded() {
        let role = info(Method::GET, "/apis/rbac.authorization.k8s.io/v1/clusterroles/system%3Aview%28x%29");
        assert_eq!(role.name.as_deref(), Some("system:view(x)"));
        assert!(parse(&Method::GET, "/api/v1/namespaces/d/configmaps/a%2Fb", false).is_none());
        assert!(parse(&Method::GET, "/api/v1/namespaces/d/configmaps/a%zz", false).is_none());
    }
}
