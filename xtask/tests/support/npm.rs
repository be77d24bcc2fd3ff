//! A real HTTP server standing in for the npm registry: Python's `http.server`
//! serving a temporary directory on 127.0.0.1, with the package document of
//! `@anthropic-ai/claude-code-linux-x64` captured from registry.npmjs.org
//! (tests/fixtures/npm/claude-code-linux-x64.json, the abbreviated
//! `application/vnd.npm.install-v1+json` form, trimmed to four versions).
//! Tests edit `dist-tags.latest` in their copy, so they never depend on what
//! the public registry calls latest today. [`fake_package`] makes a small package
//! tarball for tests that install or fetch one.

use std::io::{BufRead as _, BufReader};
use std::path::Path;
use std::process::{Child, Stdio};

use serde_json::Value;

use super::project::{command, project_root, text, TempDir};

/// The captured package document.
pub fn captured_document() -> Value {
    let path = project_root().join("tests/fixtures/npm/claude-code-linux-x64.json");
    serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap()
}

/// `versions[version].dist.integrity` of the captured document.
pub fn integrity(version: &str) -> String {
    captured_document()["versions"][version]["dist"]["integrity"].as_str().unwrap().to_string()
}

/// A package tarball whose `package/claude` prints `VERSION (Claude Code)`, and its
/// npm integrity (sha512-<base64>), made by Python's tarfile, hashlib and base64.
pub fn fake_package(dir: &Path, version: &str) -> (Vec<u8>, String) {
    let path = dir.join("package.tgz");
    let script = "import base64, hashlib, io, sys, tarfile\n\
        body = ('#!/bin/sh\\necho \"%s (Claude Code)\"\\n' % sys.argv[2]).encode()\n\
        with tarfile.open(sys.argv[1], 'w:gz') as archive:\n\
        \x20   info = tarfile.TarInfo('package/claude'); info.size = len(body); info.mode = 0o755\n\
        \x20   archive.addfile(info, io.BytesIO(body))\n\
        data = open(sys.argv[1], 'rb').read()\n\
        print('sha512-' + base64.b64encode(hashlib.sha512(data).digest()).decode())\n";
    let out = command("python3").args(["-c", script]).arg(&path).arg(version).output().unwrap();
    assert!(out.status.success(), "{}", text(&out.stderr));
    (std::fs::read(&path).unwrap(), text(&out.stdout).trim().to_string())
}

/// Where Claude Code's package document is served (GET
/// /@anthropic-ai%2fclaude-code-linux-x64 is unquoted to this path).
pub const DOCUMENT_PATH: &str = "@anthropic-ai/claude-code-linux-x64";

/// A registry serving files from a temporary directory; stopped on drop.
pub struct Registry {
    pub url: String,
    root: TempDir,
    child: Child,
}

impl Registry {
    /// Serves `document` as Claude Code's package document on a free port of 127.0.0.1.
    pub fn serve(document: &Value) -> Registry {
        Registry::serve_files("127.0.0.1", &[(DOCUMENT_PATH, document.to_string().into_bytes())])
    }

    /// Serves `files` (path under the root, content) on a free port of `address`.
    pub fn serve_files(address: &str, files: &[(&str, Vec<u8>)]) -> Registry {
        let root = TempDir::new("npm-registry");
        for (path, content) in files {
            write(&root.path.join(path), content);
        }
        let mut child = command("python3")
            .args(["-u", "-m", "http.server", "0", "--bind", address, "--directory"])
            .arg(&root.path)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("python3 -m http.server runs");
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap()).read_line(&mut line).unwrap();
        // "Serving HTTP on 127.0.0.1 port 40123 (http://127.0.0.1:40123/) ..."
        let port = line
            .split_whitespace()
            .skip_while(|w| *w != "port")
            .nth(1)
            .unwrap_or_else(|| panic!("no port in http.server's first line: {line:?}"))
            .to_string();
        Registry { url: format!("http://{address}:{port}"), root, child }
    }

    /// Replaces the served package document.
    pub fn publish(&self, document: &Value) {
        write(&self.root.path.join(DOCUMENT_PATH), document.to_string().as_bytes());
    }
}

fn write(path: &Path, content: &[u8]) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, content).unwrap();
}

impl Drop for Registry {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
