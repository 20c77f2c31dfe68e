//! [`kube::Resource`] for [`FleetObject`], so the watcher decodes API objects with the
//! same lenient decoder as snapshot files.
//!
//! The version (`v1beta1` or `v1alpha1`) is known only after discovery, so the resource
//! information is an [`ApiResource`] passed at run time, as for `DynamicObject`. It is
//! behind an [`Arc`] because a reflector store keeps the dynamic type in the key of every
//! object it holds, and five strings per object would add up on a large hub.

use std::borrow::Cow;
use std::sync::Arc;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use kube::core::{ApiResource, DynamicResourceScope};

use super::FleetObject;

impl<Spec, Status> kube::Resource for FleetObject<Spec, Status> {
    type DynamicType = Arc<ApiResource>;
    // Dynamic, as for `DynamicObject`: `Api::namespaced_with` and `Api::all_with` need it.
    type Scope = DynamicResourceScope;

    fn kind(resource: &Arc<ApiResource>) -> Cow<'_, str> {
        Cow::Borrowed(&resource.kind)
    }

    fn group(resource: &Arc<ApiResource>) -> Cow<'_, str> {
        Cow::Borrowed(&resource.group)
    }

    fn version(resource: &Arc<ApiResource>) -> Cow<'_, str> {
        Cow::Borrowed(&resource.version)
    }

    fn api_version(resource: &Arc<ApiResource>) -> Cow<'_, str> {
        Cow::Borrowed(&resource.api_version)
    }

    fn plural(resource: &Arc<ApiResource>) -> Cow<'_, str> {
        Cow::Borrowed(&resource.plural)
    }

    fn meta(&self) -> &ObjectMeta {
        &self.metadata
    }

    fn meta_mut(&mut self) -> &mut ObjectMeta {
        &mut self.metadata
    }
}

#[cfg(test)]
mod tests {
    use kube::Resource;

    use super::*;
    use crate::objects::TrafficManagerProfile;

    #[test]
    fn url_path_uses_discovered_version() {
        let resource = Arc::new(ApiResource {
            group: "networking.fleet.azure.com".to_owned(),
            version: "v1alpha1".to_owned(),
            api_version: "networking.fleet.azure.com/v1alpha1".to_owned(),
            kind: "TrafficManagerProfile".to_owned(),
            plural: "trafficmanagerprofiles".to_owned(),
        });
        assert_eq!(
            TrafficManagerProfile::url_path(&resource, Some("team-a")),
            "/apis/networking.fleet.azure.com/v1alpha1/namespaces/team-a/trafficmanagerprofiles"
        );
        assert_eq!(
            TrafficManagerProfile::url_path(&resource, None),
            "/apis/networking.fleet.azure.com/v1alpha1/trafficmanagerprofiles"
        );
    }
}
