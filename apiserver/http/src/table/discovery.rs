//! `discovery.k8s.io`: endpoint slices.

use serde_json::{Value, json};

use super::{AGE, Column, NAME, Printer, age, items, name, text};

pub(super) static ENDPOINT_SLICES: Printer = Printer::new(
    &[
        NAME,
        Column::string("AddressType", "The type of address carried by this EndpointSlice."),
        Column::string("Ports", "The network ports exposed by each endpoint in this slice."),
        Column::string("Endpoints", "A list of unique endpoints in this slice."),
        AGE,
    ],
    |obj, now| {
        let ports = items(obj, "/ports").iter().map(|p| match p.get("port").and_then(Value::as_i64) {
            Some(port) => port.to_string(),
            None => p.get("name").and_then(Value::as_str).unwrap_or("*").to_string(),
        });
        let addresses = items(obj, "/endpoints")
            .iter()
            .flat_map(|e| items(e, "/addresses"))
            .map(|a| a.as_str().unwrap_or_default().to_string());
        vec![
            name(obj),
            json!(text(obj, "/addressType")),
            json!(first_three(ports)),
            json!(first_three(addresses)),
            age(obj, now),
        ]
    },
);

/// Up to three entries, then `+ N more...`; `<unset>` when there are none.
fn first_three(entries: impl Iterator<Item = String>) -> String {
    let entries: Vec<String> = entries.collect();
    match entries.len() {
        0 => "<unset>".to_string(),
        n if n > 3 => format!("{} + {} more...", entries[..3].join(","), n - 3),
        _ => entries.join(","),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::super::testing::{cells, headers};

    #[test]
    fn endpoint_slices() {
        assert_eq!(headers("discovery.k8s.io", "endpointslices"), ["Name", "AddressType", "Ports", "Endpoints", "Age"]);
        let slice = json!({
            "metadata": {"name": "web-abc"},
            "addressType": "IPv4",
            "ports": [{"port": 80}, {"name": "metrics"}, {}, {"port": 443}],
            "endpoints": [{"addresses": ["10.0.0.1"]}, {"addresses": ["10.0.0.2", "10.0.0.3"]}],
        });
        assert_eq!(
            cells("discovery.k8s.io", "endpointslices", slice),
            json!(["web-abc", "IPv4", "80,metrics,* + 1 more...", "10.0.0.1,10.0.0.2,10.0.0.3", "<unknown>"])
        );
        let empty = json!({"metadata": {"name": "x"}, "addressType": "IPv6"});
        assert_eq!(
            cells("discovery.k8s.io", "endpointslices", empty),
            json!(["x", "IPv6", "<unset>", "<unset>", "<unknown>"])
        );
    }
}
