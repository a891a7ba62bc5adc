//! `coordination.k8s.io`: leases.

use serde_json::json;

use super::{AGE, Column, NAME, Printer, age, name, text};

pub(super) static LEASES: Printer = Printer::new(
    &[NAME, Column::string("Holder", "The identity of the holder of a current lease."), AGE],
    |obj, now| vec![name(obj), json!(text(obj, "/spec/holderIdentity")), age(obj, now)],
);

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::super::testing::{cells, headers};

    #[test]
    fn leases() {
        assert_eq!(headers("coordination.k8s.io", "leases"), ["Name", "Holder", "Age"]);
        let lease = json!({"metadata": {"name": "n1"}, "spec": {"holderIdentity": "n1"}});
        assert_eq!(cells("coordination.k8s.io", "leases", lease), json!(["n1", "n1", "<unknown>"]));
    }
}
