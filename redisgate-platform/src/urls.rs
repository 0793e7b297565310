//! The URLs the management API hands out for instances.

/// How users reach instances, for the URLs the API hands out.
#[derive(Debug, Clone)]
pub struct PublicUrls {
    /// The gateway's own base URL, e.g. `http://127.0.0.1:8080`.
    pub base: String,
    /// With a domain, instance `n` is also `http://n.<domain>`.
    pub domain: Option<String>,
}

impl PublicUrls {
    /// The REST URL of instance `name`: by host name when a domain is configured, else by path prefix.
    #[must_use]
    pub fn rest_url(&self, name: &str) -> String {
        match &self.domain {
            Some(domain) => {
                let scheme = self.base.split("://").next().unwrap_or("http");
                let port = self.base.rsplit_once(':').map(|(_, p)| p).filter(|p| p.bytes().all(|b| b.is_ascii_digit()));
                match port {
                    Some(port) => format!("{scheme}://{name}.{domain}:{port}"),
                    None => format!("{scheme}://{name}.{domain}"),
                }
            }
            None => self.path_url(name),
        }
    }

    /// `<base>/db/<name>`: works without wildcard DNS.
    #[must_use]
    pub fn path_url(&self, name: &str) -> String {
        format!("{}/db/{name}", self.base.trim_end_matches('/'))
    }
}
