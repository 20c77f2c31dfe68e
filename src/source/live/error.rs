//! Classes of hub API errors for metric labels, and the next step each log message names.

use kube::runtime::watcher;

use crate::objects::API_GROUP;

/// Name of the ClusterRole in `deploy/` that grants the exporter read access.
pub const CLUSTER_ROLE: &str = "fleet-dns-lb-exporter";

/// Coarse class of a failed request, used as the `error` label value.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ErrorClass {
    /// 401: the credentials were rejected.
    Unauthorized,
    /// 403: RBAC denies the request.
    Forbidden,
    /// 404: the resource is not served.
    NotFound,
    /// 410: the resourceVersion is older than the server's watch history.
    Gone,
    /// No response within the request timeout, or a silent connection.
    Timeout,
    /// The connection failed or was cut.
    Connection,
    /// The response body was not valid JSON of the expected shape.
    Decode,
    /// Any other error status from the API server.
    Api,
    /// An error outside the classes above.
    Other,
}

impl ErrorClass {
    pub const fn as_str(self) -> &'static str {
        match self {
            ErrorClass::Unauthorized => "unauthorized",
            ErrorClass::Forbidden => "forbidden",
            ErrorClass::NotFound => "not_found",
            ErrorClass::Gone => "gone",
            ErrorClass::Timeout => "timeout",
            ErrorClass::Connection => "connection",
            ErrorClass::Decode => "decode",
            ErrorClass::Api => "api",
            ErrorClass::Other => "other",
        }
    }

    fn from_status_code(code: u16) -> ErrorClass {
        match code {
            401 => ErrorClass::Unauthorized,
            403 => ErrorClass::Forbidden,
            404 => ErrorClass::NotFound,
            410 => ErrorClass::Gone,
            408 | 504 => ErrorClass::Timeout,
            _ => ErrorClass::Api,
        }
    }

    /// Classifies a client error; transport errors are `timeout` when a timeout caused them.
    pub fn of_client(error: &kube::Error) -> ErrorClass {
        match error {
            kube::Error::Api(status) => ErrorClass::from_status_code(status.code),
            kube::Error::SerdeError(_) | kube::Error::LinesCodecMaxLineLengthExceeded => {
                ErrorClass::Decode
            }
            kube::Error::Discovery(_) => ErrorClass::NotFound,
            kube::Error::HyperError(_) | kube::Error::Service(_) | kube::Error::ReadEvents(_) => {
                if chain_has_timeout(error) {
                    ErrorClass::Timeout
                } else {
                    ErrorClass::Connection
                }
            }
            _ => ErrorClass::Other,
        }
    }

    pub fn of_watcher(error: &watcher::Error) -> ErrorClass {
        match error {
            watcher::Error::InitialListFailed(e)
            | watcher::Error::WatchStartFailed(e)
            | watcher::Error::WatchFailed(e) => ErrorClass::of_client(e),
            watcher::Error::WatchError(status) => ErrorClass::from_status_code(status.code),
            watcher::Error::NoResourceVersion => ErrorClass::Api,
        }
    }
}

/// Returns whether the request timeout or a socket read timeout caused `error`.
fn chain_has_timeout(error: &(dyn std::error::Error + 'static)) -> bool {
    let mut source = Some(error);
    while let Some(error) = source {
        if error.is::<tower::timeout::error::Elapsed>() {
            return true;
        }
        if let Some(io) = error.downcast_ref::<std::io::Error>()
            && io.kind() == std::io::ErrorKind::TimedOut
        {
            return true;
        }
        source = error.source();
    }
    false
}

/// Returns the API verb of the request that failed.
pub fn failed_verb(error: &watcher::Error) -> &'static str {
    match error {
        watcher::Error::InitialListFailed(_) => "list",
        _ => "watch",
    }
}

/// Returns the next step for an error class, naming the ClusterRole where RBAC is at fault.
pub fn next_step(class: ErrorClass, verb: &str, plural: &str, scope: &str) -> String {
    match class {
        ErrorClass::Forbidden => format!(
            "RBAC denies {verb} on {plural}.{API_GROUP} {scope}; bind the exporter's service account to the ClusterRole {CLUSTER_ROLE} from deploy/clusterrole.yaml (kubectl apply -k deploy/), which grants get, list and watch on it"
        ),
        ErrorClass::Unauthorized => {
            "the API server rejected the credentials; check the kubeconfig user or the service account token".to_owned()
        }
        ErrorClass::NotFound => format!(
            "the API server does not serve {plural}.{API_GROUP}; the exporter checks discovery again and resumes when the CRD is installed"
        ),
        ErrorClass::Gone => {
            "the resourceVersion expired from the server's watch history; listing again".to_owned()
        }
        ErrorClass::Timeout | ErrorClass::Connection => {
            "retrying with backoff; check the network path to the API server if this repeats".to_owned()
        }
        ErrorClass::Decode | ErrorClass::Api | ErrorClass::Other => {
            "retrying with backoff".to_owned()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forbidden_step_names_cluster_role() {
        let step = next_step(
            ErrorClass::Forbidden,
            "list",
            "trafficmanagerprofiles",
            "at cluster scope",
        );
        assert!(step.contains("list on trafficmanagerprofiles.networking.fleet.azure.com"));
        assert!(step.contains("ClusterRole fleet-dns-lb-exporter"));
        assert!(step.contains("deploy/clusterrole.yaml"));
    }

    #[test]
    fn status_codes_classified() {
        let status = |code| {
            kube::Error::Api(Box::new(kube::core::Status {
                code,
                ..Default::default()
            }))
        };
        assert_eq!(ErrorClass::of_client(&status(403)), ErrorClass::Forbidden);
        assert_eq!(ErrorClass::of_client(&status(410)), ErrorClass::Gone);
        assert_eq!(ErrorClass::of_client(&status(500)), ErrorClass::Api);
    }
}
