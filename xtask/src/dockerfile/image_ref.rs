//! Image references: `[registry[:port]/]repository[:tag][@digest]` with Docker's
//! rules (the first path component is a registry host when it contains `.` or `:`,
//! is `localhost`, or has an uppercase letter; the default registry is `docker.io`,
//! where one-component names live under `library/`).

use std::fmt;

/// The registry Docker uses when a reference names none.
pub const DEFAULT_REGISTRY: &str = "docker.io";

/// A parsed image reference. [`fmt::Display`] renders it back exactly as written.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct ImageRef {
    /// The registry host (and port) as written, if any.
    pub registry: Option<String>,
    /// The repository path as written (`python`, `library/python`, `org/app`).
    pub repository: String,
    pub tag: Option<String>,
    /// The digest as written, e.g. `sha256:<64 hex>`.
    pub digest: Option<String>,
}

impl ImageRef {
    /// Parses a reference; the error says what is wrong with it.
    pub fn parse(text: &str) -> Result<ImageRef, String> {
        if text.is_empty() {
            return Err("empty image reference".to_string());
        }
        let (name_tag, digest) = match text.split_once('@') {
            Some((name, digest)) => (name, Some(check_digest(digest)?)),
            None => (text, None),
        };
        let last_slash = name_tag.rfind('/').map_or(0, |i| i + 1);
        let (name, tag) = match name_tag[last_slash..].rfind(':') {
            Some(i) => {
                let tag = &name_tag[last_slash + i + 1..];
                check_tag(tag)?;
                (&name_tag[..last_slash + i], Some(tag.to_string()))
            }
            None => (name_tag, None),
        };
        if name.len() > 255 {
            return Err(format!("repository name longer than 255 characters: {name}"));
        }
        let (registry, repository) = split_registry(name);
        if let Some(registry) = registry {
            check_registry(registry)?;
        }
        check_repository(repository)?;
        Ok(ImageRef {
            registry: registry.map(str::to_string),
            repository: repository.to_string(),
            tag,
            digest,
        })
    }

    /// The registry host to talk to: as written, or `docker.io` (`index.docker.io`
    /// is the same registry and reported as `docker.io`).
    pub fn registry_host(&self) -> &str {
        match self.registry.as_deref() {
            None | Some("index.docker.io") => DEFAULT_REGISTRY,
            Some(host) => host,
        }
    }

    /// The repository path on its registry: `python` becomes `library/python` on Docker Hub.
    pub fn repository_path(&self) -> String {
        if self.registry_host() == DEFAULT_REGISTRY && !self.repository.contains('/') {
            format!("library/{}", self.repository)
        } else {
            self.repository.clone()
        }
    }

    /// The fully qualified name without tag or digest: `docker.io/library/python`.
    pub fn full_name(&self) -> String {
        format!("{}/{}", self.registry_host(), self.repository_path())
    }

    /// The name as written, without tag or digest: `python`, `ghcr.io/org/app`.
    pub fn name(&self) -> String {
        match &self.registry {
            Some(registry) => format!("{registry}/{}", self.repository),
            None => self.repository.clone(),
        }
    }

    /// The tag as written, or `latest` when there is neither tag nor digest.
    pub fn effective_tag(&self) -> Option<&str> {
        match (&self.tag, &self.digest) {
            (Some(tag), _) => Some(tag),
            (None, None) => Some("latest"),
            (None, Some(_)) => None,
        }
    }

    /// The `<64 hex>` of a `sha256:` digest, if the reference is pinned by one.
    pub fn sha256(&self) -> Option<&str> {
        let hex = self.digest.as_deref()?.strip_prefix("sha256:")?;
        is_sha256_hex(hex).then_some(hex)
    }

    /// Whether the reference is pinned by a `sha256:<64 lowercase hex>` digest.
    pub fn is_pinned(&self) -> bool {
        self.sha256().is_some()
    }
}

impl fmt::Display for ImageRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.name())?;
        if let Some(tag) = &self.tag {
            write!(f, ":{tag}")?;
        }
        if let Some(digest) = &self.digest {
            write!(f, "@{digest}")?;
        }
        Ok(())
    }
}

/// Whether `hex` is exactly 64 lowercase hexadecimal digits.
pub fn is_sha256_hex(hex: &str) -> bool {
    hex.len() == 64 && hex.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

fn split_registry(name: &str) -> (Option<&str>, &str) {
    match name.split_once('/') {
        Some((first, rest))
            if first.contains(['.', ':'])
                || first == "localhost"
                || first.chars().any(|c| c.is_ascii_uppercase()) =>
        {
            (Some(first), rest)
        }
        _ => (None, name),
    }
}

fn check_digest(digest: &str) -> Result<String, String> {
    let Some((algorithm, hex)) = digest.split_once(':') else {
        return Err(format!("invalid digest {digest:?}: expected algorithm:hex"));
    };
    if algorithm == "sha256" {
        if !is_sha256_hex(hex) {
            return Err(format!(
                "invalid sha256 digest {digest:?}: expected 64 lowercase hex digits"
            ));
        }
    } else if algorithm.is_empty()
        || !algorithm
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"+._-".contains(&b))
        || hex.len() < 32
        || !hex.bytes().all(|b| b.is_ascii_hexdigit())
    {
        return Err(format!("invalid digest {digest:?}"));
    }
    Ok(digest.to_string())
}

fn check_tag(tag: &str) -> Result<(), String> {
    let word = |c: char| c.is_ascii_alphanumeric() || c == '_';
    let valid = tag.len() <= 128
        && tag.starts_with(word)
        && tag.chars().all(|c| word(c) || c == '.' || c == '-');
    if valid {
        Ok(())
    } else {
        Err(format!("invalid tag {tag:?}"))
    }
}

fn check_registry(registry: &str) -> Result<(), String> {
    let invalid = || format!("invalid registry {registry:?}");
    let (host, port) = if let Some(rest) = registry.strip_prefix('[') {
        let (inside, after) = rest.split_once(']').ok_or_else(invalid)?;
        if inside.is_empty() || !inside.chars().all(|c| c.is_ascii_hexdigit() || c == ':') {
            return Err(invalid());
        }
        match after {
            "" => (None, None),
            _ => (None, Some(after.strip_prefix(':').ok_or_else(invalid)?)),
        }
    } else {
        match registry.split_once(':') {
            Some((host, port)) => (Some(host), Some(port)),
            None => (Some(registry), None),
        }
    };
    let label_ok = |l: &str| {
        !l.is_empty()
            && l.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
            && !l.starts_with('-')
            && !l.ends_with('-')
    };
    let host_ok = host.map_or(true, |h| h.split('.').all(label_ok));
    let port_ok = port.map_or(true, |p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()));
    if host_ok && port_ok {
        Ok(())
    } else {
        Err(invalid())
    }
}

/// Path components: lowercase alphanumerics joined by `.`, `_`, `__` or runs of `-`.
fn check_repository(repository: &str) -> Result<(), String> {
    let component_ok = |c: &str| {
        let bytes = c.as_bytes();
        let alnum = |b: u8| b.is_ascii_lowercase() || b.is_ascii_digit();
        if bytes.is_empty() || !alnum(bytes[0]) || !alnum(bytes[bytes.len() - 1]) {
            return false;
        }
        let mut i = 0;
        while i < bytes.len() {
            if alnum(bytes[i]) {
                i += 1;
                continue;
            }
            let start = i;
            while i < bytes.len() && !alnum(bytes[i]) {
                i += 1;
            }
            let separator = &c[start..i];
            let ok = matches!(separator, "." | "_" | "__") || separator.bytes().all(|b| b == b'-');
            if !ok {
                return false;
            }
        }
        true
    };
    if repository.split('/').all(component_ok) {
        Ok(())
    } else {
        Err(format!(
            "invalid repository name {repository:?}: \
             use lowercase letters, digits and . _ - separators"
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const HEX: &str = "1a3c6dbfd2173971abba880c3cc2ec4643690901f6ad6742d0827bae6cefc925";

    #[test]
    fn docker_hub_defaults() {
        let r = ImageRef::parse("python:3.12-slim").unwrap();
        assert_eq!(
            (r.registry_host(), r.repository_path()),
            ("docker.io", "library/python".into())
        );
        assert_eq!(r.full_name(), "docker.io/library/python");
        assert_eq!(r.effective_tag(), Some("3.12-slim"));
        assert!(!r.is_pinned());
        let r = ImageRef::parse("org/app").unwrap();
        assert_eq!((r.repository_path(), r.effective_tag()), ("org/app".into(), Some("latest")));
    }

    #[test]
    fn registry_hosts() {
        for (text, host, repo) in [
            ("localhost/app", "localhost", "app"),
            ("localhost:5000/a/b:1", "localhost:5000", "a/b"),
            ("ghcr.io/org/app", "ghcr.io", "org/app"),
            ("Registry/app", "Registry", "app"),
            ("[::1]:5000/app", "[::1]:5000", "app"),
        ] {
            let r = ImageRef::parse(text).unwrap();
            assert_eq!((r.registry_host(), r.repository_path().as_str()), (host, repo), "{text}");
            assert_eq!(r.to_string(), text);
        }
    }

    #[test]
    fn digests_and_rendering() {
        let text = format!("python:3.14.2-slim@sha256:{HEX}");
        let r = ImageRef::parse(&text).unwrap();
        assert_eq!(r.sha256(), Some(HEX));
        assert_eq!(r.to_string(), text);
        let other = format!("sha256:{}", "0".repeat(64));
        let replaced = ImageRef { digest: Some(other.clone()), ..r.clone() };
        assert_eq!(replaced.to_string(), format!("python:3.14.2-slim@{other}"));
        assert!(ImageRef::parse(&format!("python@sha256:{}", &HEX[..63])).is_err());
        assert!(ImageRef::parse(&format!("python@sha256:{}", HEX.to_uppercase())).is_err());
    }

    #[test]
    fn invalid_references() {
        for bad in ["", "Python", "python:", "a//b", "-a", "a:b:c", "python:-x", "a__b_"] {
            assert!(ImageRef::parse(bad).is_err(), "{bad}");
        }
        assert!(ImageRef::parse("a__b-c.d---e").is_ok());
    }
}
