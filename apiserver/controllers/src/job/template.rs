//! The pod a Job creates: its template with the controller reference, the tracking
//! finalizer, and for Indexed Jobs the completion index (annotation, label, hostname
//! `<job>-<index>` and the `JOB_COMPLETION_INDEX` variable), as upstream.

use k8s_openapi::api::batch::v1::Job;
use k8s_openapi::api::core::v1::{Container, EnvVar, EnvVarSource, ObjectFieldSelector, Pod};
use kube::ResourceExt;

use super::decide::NewPod;
use super::pods::{COMPLETION_INDEX, INDEX_FAILURE_COUNT, INDEX_IGNORED_FAILURE_COUNT, TRACKING_FINALIZER};
use crate::owners;

pub fn pod_for(job: &Job, new: &NewPod) -> Pod {
    let template = job.spec.as_ref().map(|s| s.template.clone()).unwrap_or_default();
    let mut metadata = template.metadata.unwrap_or_default();
    let mut spec = template.spec.unwrap_or_default();
    let job_name = job.name_any();
    metadata.name = None;
    metadata.namespace = job.namespace();
    metadata.owner_references = Some(vec![owners::controller_ref(job)]);
    metadata.finalizers.get_or_insert_with(Vec::new).push(TRACKING_FINALIZER.to_string());
    metadata.generate_name = Some(format!("{job_name}-"));
    if let Some(index) = new.index {
        let text = index.to_string();
        metadata.generate_name = Some(format!("{job_name}-{index}-"));
        let annotations = metadata.annotations.get_or_insert_with(Default::default);
        annotations.insert(COMPLETION_INDEX.into(), text.clone());
        if let Some((failures, ignored)) = new.index_failures {
            annotations.insert(INDEX_FAILURE_COUNT.into(), failures.to_string());
            if ignored > 0 {
                annotations.insert(INDEX_IGNORED_FAILURE_COUNT.into(), ignored.to_string());
            }
        }
        metadata.labels.get_or_insert_with(Default::default).insert(COMPLETION_INDEX.into(), text);
        if spec.hostname.is_none() {
            spec.hostname = Some(format!("{job_name}-{index}"));
        }
        for container in spec.containers.iter_mut().chain(spec.init_containers.iter_mut().flatten()) {
            add_index_variable(container);
        }
    }
    Pod { metadata, spec: Some(spec), status: None }
}

fn add_index_variable(container: &mut Container) {
    let env = container.env.get_or_insert_with(Vec::new);
    if env.iter().any(|e| e.name == "JOB_COMPLETION_INDEX") {
        return;
    }
    env.push(EnvVar {
        name: "JOB_COMPLETION_INDEX".into(),
        value: None,
        value_from: Some(EnvVarSource {
            field_ref: Some(ObjectFieldSelector {
                api_version: None,
                field_path: format!("metadata.annotations['{COMPLETION_INDEX}']"),
            }),
            ..Default::default()
        }),
    });
}

#[cfg(test)]
mod tests {
    use k8s_openapi::api::batch::v1::JobSpec;
    use k8s_openapi::api::core::v1::{PodSpec, PodTemplateSpec};
    use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;

    use super::*;

    #[test]
    fn indexed_pods_carry_their_index_everywhere_upstream_puts_it() {
        let job = Job {
            metadata: ObjectMeta {
                name: Some("work".into()),
                namespace: Some("ns".into()),
                uid: Some("u1".into()),
                ..Default::default()
            },
            spec: Some(JobSpec {
                template: PodTemplateSpec {
                    metadata: Some(ObjectMeta {
                        labels: Some([("app".to_string(), "x".to_string())].into()),
                        ..Default::default()
                    }),
                    spec: Some(PodSpec {
                        containers: vec![Container { name: "c".into(), ..Default::default() }],
                        ..Default::default()
                    }),
                },
                ..Default::default()
            }),
            status: None,
        };
        let pod = pod_for(&job, &NewPod { index: Some(3), index_failures: Some((1, 0)) });
        assert_eq!(pod.metadata.generate_name.as_deref(), Some("work-3-"));
        assert_eq!(pod.metadata.annotations.as_ref().unwrap()[COMPLETION_INDEX], "3");
        assert_eq!(pod.metadata.annotations.as_ref().unwrap()[INDEX_FAILURE_COUNT], "1");
        assert_eq!(pod.metadata.labels.as_ref().unwrap()[COMPLETION_INDEX], "3");
        assert_eq!(pod.metadata.labels.as_ref().unwrap()["app"], "x");
        assert_eq!(pod.metadata.finalizers, Some(vec![TRACKING_FINALIZER.to_string()]));
        assert_eq!(owners::controller_of(&pod.metadata).map(|r| r.uid.as_str()), Some("u1"));
        let spec = pod.spec.unwrap();
        assert_eq!(spec.hostname.as_deref(), Some("work-3"));
        assert_eq!(spec.containers[0].env.as_ref().unwrap()[0].name, "JOB_COMPLETION_INDEX");

        let plain = pod_for(&job, &NewPod { index: None, index_failures: None });
        assert_eq!(plain.metadata.generate_name.as_deref(), Some("work-"));
        assert!(plain.spec.unwrap().hostname.is_none());
    }
}
