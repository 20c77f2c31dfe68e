//! API discovery: which version of each kind the hub serves, if any.

use kube::Client;
use kube::core::ApiResource;
use kube::discovery::ApiGroup;

use crate::catalogue::Kind;
use crate::objects::API_GROUP;

/// Versions to use, most preferred first. The Traffic Manager kinds moved to `v1beta1`;
/// older fleet-networking releases serve them only as `v1alpha1`, and ServiceImport and
/// InternalServiceExport exist only as `v1alpha1`.
pub const VERSIONS: [&str; 2] = ["v1beta1", "v1alpha1"];

/// The resource to watch for each kind, `None` where the hub does not serve the kind.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Discovered {
    resources: [Option<ApiResource>; Kind::ALL.len()],
}

impl Discovered {
    pub fn resource(&self, kind: Kind) -> Option<&ApiResource> {
        self.resources[kind as usize].as_ref()
    }

    /// Picks the most preferred served version of each kind from a discovered group.
    fn from_group(group: &ApiGroup) -> Discovered {
        let mut discovered = Discovered::default();
        for kind in Kind::ALL {
            discovered.resources[kind as usize] = VERSIONS.iter().find_map(|version| {
                group
                    .versioned_resources(version)
                    .into_iter()
                    .map(|(resource, _)| resource)
                    .find(|resource| {
                        resource.plural == kind.plural() && resource.kind == kind.as_str()
                    })
            });
        }
        discovered
    }
}

/// Queries `/apis` and the group's versions. A hub without the group at all (no
/// fleet-networking CRDs) is not an error: every kind is then missing.
pub async fn discover(client: &Client) -> Result<Discovered, kube::Error> {
    match kube::discovery::group(client, API_GROUP).await {
        Ok(group) => Ok(Discovered::from_group(&group)),
        Err(kube::Error::Discovery(kube::error::DiscoveryError::MissingApiGroup(_))) => {
            Ok(Discovered::default())
        }
        Err(error) => Err(error),
    }
}
