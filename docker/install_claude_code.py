"""Install the pinned Claude Code CLI from its native npm package, verified.

Runs in the image's claude-code stage. The package `@anthropic-ai/claude-code-linux-x64`
is a tarball holding one self-contained ELF, `package/claude`: no Node.js is needed.

Where the tarball comes from, in this order:
  1. the build context: docker/claude-code/claude-code-linux-x64-<version>.tgz, put
     there on the host by tests/offline/prepare.sh (containers on an offline host
     reach no npm registry);
  2. otherwise the npm registry (--registry), downloaded here.
Either way its sha512 must equal the pinned npm `dist.integrity`, or nothing is
installed and the build fails. A tarball found in the context that does not match
is an error too: it is never silently replaced by a download.

Exit codes: 0 installed (or skipped with --install 0), 1 verification or download failed,
2 bad arguments.
"""

import argparse
import base64
import hashlib
import os
import platform
import shutil
import sys
import tarfile
import urllib.request

PACKAGE = "@anthropic-ai/claude-code-linux-x64"
MEMBER = "package/claude"


def fail(message, code=1):
    print(f"install_claude_code: {message}", file=sys.stderr)
    sys.exit(code)


def tarball_name(version):
    return f"claude-code-linux-x64-{version}.tgz"


def integrity_of(path):
    """The npm Subresource Integrity string of a file: sha512-<base64>."""
    digest = hashlib.sha512()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return "sha512-" + base64.b64encode(digest.digest()).decode("ascii")


def download(registry, version, target, timeout):
    url = f"{registry.rstrip('/')}/{PACKAGE}/-/{tarball_name(version)}"
    print(f"install_claude_code: downloading {url}", file=sys.stderr)
    partial = target + ".part"
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response, open(partial, "wb") as out:
            shutil.copyfileobj(response, out, 1 << 20)
    except OSError as error:
        fail(
            f"cannot download Claude Code {version} from {url}: {error}\n"
            "  on a host whose containers reach no npm registry, run `bash tests/offline/prepare.sh`:\n"
            f"  it puts the package into docker/claude-code/ so that the build needs no network\n"
            "  (or build without the CLI: --build-arg INSTALL_CLAUDE_CODE=0)"
        )
    os.replace(partial, target)


def extract_cli(tarball, destination):
    os.makedirs(destination, exist_ok=True)
    with tarfile.open(tarball, "r:gz") as archive:
        try:
            member = archive.getmember(MEMBER)
        except KeyError:
            fail(f"{tarball} holds no {MEMBER}: not the native Claude Code package")
        if not member.isfile():
            fail(f"{MEMBER} in {tarball} is not a regular file")
        source = archive.extractfile(member)
        target = os.path.join(destination, "claude")
        with source, open(target + ".tmp", "wb") as out:
            shutil.copyfileobj(source, out, 1 << 20)
    os.chmod(target + ".tmp", 0o755)
    os.replace(target + ".tmp", target)
    return target


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--version", required=True, help="the pinned Claude Code version")
    parser.add_argument("--integrity", required=True, help="its npm dist.integrity (sha512-...)")
    parser.add_argument("--context-dir", required=True, help="where a pre-fetched tarball may be")
    parser.add_argument("--registry", default="https://registry.npmjs.org")
    parser.add_argument("--dest", required=True, help="directory that receives the `claude` binary")
    parser.add_argument("--timeout", type=float, default=60.0)
    parser.add_argument("--install", choices=("0", "1"), default="1",
                        help="0 installs nothing (INSTALL_CLAUDE_CODE=0)")
    args = parser.parse_args(argv)

    os.makedirs(args.dest, exist_ok=True)
    if args.install == "0":
        print("install_claude_code: INSTALL_CLAUDE_CODE=0: no Claude Code in this image", file=sys.stderr)
        return 0
    if not args.integrity.startswith("sha512-"):
        fail(f"--integrity must be an npm sha512 integrity (sha512-...), got {args.integrity!r}", 2)
    if platform.machine() not in ("x86_64", "amd64"):
        fail(f"the pinned package is {PACKAGE}; this build runs on {platform.machine()}")

    tarball = os.path.join(args.context_dir, tarball_name(args.version))
    from_context = os.path.isfile(tarball)
    if not from_context:
        tarball = os.path.join("/tmp", tarball_name(args.version))
        download(args.registry, args.version, tarball, args.timeout)
    actual = integrity_of(tarball)
    if actual != args.integrity:
        where = "docker/claude-code/ in the build context" if from_context else "the registry"
        fail(
            f"{tarball_name(args.version)} from {where} does not match the pinned integrity\n"
            f"  pinned:   {args.integrity}\n  received: {actual}\n"
            "  a corrupt or substituted package: delete it and fetch it again "
            "(bash tests/offline/prepare.sh)"
        )
    installed = extract_cli(tarball, args.dest)
    if not from_context:
        os.remove(tarball)
    print(f"install_claude_code: installed Claude Code {args.version} ({actual[:19]}...) as {installed}",
          file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
