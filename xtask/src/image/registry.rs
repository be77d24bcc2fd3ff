//! The Registry HTTP API v2, just enough to ask which manifest digest a tag
//! points to now: `HEAD /v2/<repo>/manifests/<tag>` with every manifest and
//! index media type accepted, read `Docker-Content-Digest`. Anonymous bearer
//! tokens (Docker Hub and most public registries) are fetched on a 401.
//! Loopback registries are spoken to over plain HTTP, like the engine does.
//!
//! `ureq` is used because talking to real registries needs TLS; hand-written
//! HTTP would only cover the local test registry.

use std::time::Duration;

use anyhow::{anyhow, Result};

use crate::dockerfile::ImageRef;

const ACCEPT: &str = "application/vnd.oci.image.index.v1+json, \
    application/vnd.docker.distribution.manifest.list.v2+json, \
    application/vnd.oci.image.manifest.v1+json, \
    application/vnd.docker.distribution.manifest.v2+json";

/// The API endpoint of a registry host (`docker.io` is served elsewhere).
pub fn base_url(registry: &str) -> String {
    let host = if registry == "docker.io" { "registry-1.docker.io" } else { registry };
    let bare = host.rsplit_once(':').map(|(h, _)| h).unwrap_or(host);
    let loopback = bare == "localhost" || bare.starts_with("127.") || bare == "[::1]";
    format!("{}://{host}", if loopback { "http" } else { "https" })
}

/// Parses `Bearer realm="...",service="...",scope="..."` into (realm, query).
pub fn parse_bearer_challenge(header: &str) -> Option<(String, Vec<(String, String)>)> {
    let rest =
        header.trim().strip_prefix("Bearer ").or_else(|| header.trim().strip_prefix("bearer "))?;
    let mut realm = None;
    let mut query = Vec::new();
    for part in split_params(rest) {
        let (key, value) = part.split_once('=')?;
        let value = value.trim().trim_matches('"').to_string();
        match key.trim() {
            "realm" => realm = Some(value),
            other => query.push((other.to_string(), value)),
        }
    }
    Some((realm?, query))
}

fn split_params(text: &str) -> Vec<String> {
    // Commas inside quotes (scope lists) do not split.
    let mut parts = Vec::new();
    let mut current = String::new();
    let mut quoted = false;
    for c in text.chars() {
        match c {
            '"' => {
                quoted = !quoted;
                current.push(c);
            }
            ',' if !quoted => parts.push(std::mem::take(&mut current)),
            _ => current.push(c),
        }
    }
    if !current.trim().is_empty() {
        parts.push(current);
    }
    parts
}

/// Asks the registry which digest `image`'s tag points to now.
pub fn current_digest(image: &ImageRef, timeout: Duration) -> Result<String> {
    let tag =
        image.effective_tag().ok_or_else(|| anyhow!("{} has no tag to look up", image.name()))?;
    let registry = image.registry_host().to_string();
    let url = format!("{}/v2/{}/manifests/{tag}", base_url(&registry), image.repository_path());
    let agent = ureq::AgentBuilder::new().timeout(timeout).build();
    let head = |token: Option<&str>| {
        let mut request = agent.head(&url).set("Accept", ACCEPT);
        if let Some(token) = token {
            request = request.set("Authorization", &format!("Bearer {token}"));
        }
        request.call().map_err(Box::new)
    };
    let response = match head(None) {
        Ok(response) => response,
        Err(error) => match *error {
            ureq::Error::Status(401, response) => {
                let challenge = response.header("WWW-Authenticate").unwrap_or_default().to_string();
                let token = fetch_token(&agent, &challenge)?;
                head(Some(&token)).map_err(|e| describe(&registry, *e))?
            }
            other => return Err(describe(&registry, other)),
        },
    };
    response.header("Docker-Content-Digest").map(str::to_string).ok_or_else(|| {
        anyhow!("registry {registry} sent no Docker-Content-Digest for {}", image.name())
    })
}

fn fetch_token(agent: &ureq::Agent, challenge: &str) -> Result<String> {
    let (realm, query) = parse_bearer_challenge(challenge).ok_or_else(|| {
        anyhow!("the registry asked for credentials this tool does not have ({challenge})")
    })?;
    let mut request = agent.get(&realm);
    for (key, value) in &query {
        request = request.query(key, value);
    }
    let body: serde_json::Value = serde_json::from_reader(
        request.call().map_err(|e| anyhow!("cannot get a token from {realm}: {e}"))?.into_reader(),
    )?;
    body["token"]
        .as_str()
        .or_else(|| body["access_token"].as_str())
        .map(str::to_string)
        .ok_or_else(|| anyhow!("the token service {realm} sent no token"))
}

fn describe(registry: &str, error: ureq::Error) -> anyhow::Error {
    match error {
        ureq::Error::Status(404, _) => anyhow!("registry {registry} has no such tag (404)"),
        ureq::Error::Status(code, _) => anyhow!("registry {registry} answered HTTP {code}"),
        ureq::Error::Transport(transport) => {
            anyhow!("registry {registry} does not answer: {transport}")
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loopback_registries_use_http() {
        assert_eq!(base_url("127.0.0.1:5000"), "http://127.0.0.1:5000");
        assert_eq!(base_url("localhost:5000"), "http://localhost:5000");
        assert_eq!(base_url("docker.io"), "https://registry-1.docker.io");
        assert_eq!(base_url("ghcr.io"), "https://ghcr.io");
    }

    #[test]
    fn parses_a_bearer_challenge_with_commas_in_scope() {
        let header = concat!(
            r#"Bearer realm="https://auth.docker.io/token",service="registry.docker.io","#,
            r#"scope="repository:library/python:pull,push""#
        );
        let (realm, query) = parse_bearer_challenge(header).unwrap();
        assert_eq!(realm, "https://auth.docker.io/token");
        assert_eq!(
            query,
            vec![
                ("service".to_string(), "registry.docker.io".to_string()),
                ("scope".to_string(), "repository:library/python:pull,push".to_string())
            ]
        );
        assert!(parse_bearer_challenge("Basic realm=x").is_none());
    }
}
