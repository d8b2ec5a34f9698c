#!/usr/bin/env bash
# deps.sh installs the tools that local runs, tests and CI need, idempotently and
# without prompts. Usage:
#   infra/scripts/deps.sh [java] [dynamodb] [rie] [chromium] [actionlint] [cfnlint] [gotools] [valgrind] [all]
# With no argument it installs everything. It prints one line per component.
#
# Everything lands either in Debian's system paths (apt) or under the repository's
# git-ignored .cache/ folder, so a second run is a no-op.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/../.."
ROOT=$PWD
CACHE="$ROOT/.cache"

# Pinned versions. Bump them here and nowhere else.
DDB_NPM_PKG="amplify-dynamodb-simulator@2.9.30" # ships DynamoDB Local 1.25.1
# sha512 of the npm tarball (its dist.integrity, in hex), so a changed tarball fails loudly.
DDB_NPM_SHA512="c5379e44bbf311fab2779961ddb1f8734907bd21c79a6843e590ec1c5280439836665e89aa515dbad6908422c7cf1129e91cb5a3b4c1ea7888a17b9002749ec1"
RIE_MODULE="github.com/aws/aws-lambda-runtime-interface-emulator/cmd/aws-lambda-rie"
RIE_VERSION="v0.0.0-20261030222936-bef5c4ba774d"
# The linters `make test` runs on .github/workflows/ and template.yaml.
ACTIONLINT_MODULE="github.com/rhysd/actionlint/cmd/actionlint"
ACTIONLINT_VERSION="v1.7.12"
CFNLINT_VERSION="1.51.0" # installed only when no cfn-lint is on PATH
# The Go linters `make lint` runs beside go vet: staticcheck, and unparam for
# parameters no caller varies or no body reads.
STATICCHECK_MODULE="honnef.co/go/tools/cmd/staticcheck"
STATICCHECK_VERSION="v0.8.2"
UNPARAM_MODULE="mvdan.cc/unparam"
UNPARAM_VERSION="v0.0.0-20260823230713-2fa3d841b0c8"

export DEBIAN_FRONTEND=noninteractive

CLEANUP=()
cleanup() { [ ${#CLEANUP[@]} -eq 0 ] || rm -rf "${CLEANUP[@]}"; }
trap cleanup EXIT

log() { printf '%-9s %s\n' "$1:" "$2"; }
die() { printf 'deps.sh: %s\n' "$*" >&2; exit 1; }

APT_UPDATED=0
apt_install() {
  command -v apt-get >/dev/null || die "apt-get not found; install $* by hand"
  if [ "$(id -u)" -ne 0 ]; then
    die "installing $* needs root (apt-get); rerun as root or install them yourself"
  fi
  if [ "$APT_UPDATED" -eq 0 ]; then
    apt-get update -qq >/dev/null
    APT_UPDATED=1
  fi
  apt-get install -y -qq --no-install-recommends "$@" >/dev/null
}

# java_major prints the major version of `java` on PATH, or 0 when there is none.
java_major() {
  command -v java >/dev/null || { echo 0; return; }
  local v
  v=$(java -version 2>&1 | sed -n 's/.*version "\([^"]*\)".*/\1/p' | head -n1)
  case "$v" in
    1.*) v=${v#1.}; echo "${v%%.*}" ;; # 1.8.0_402 -> 8
    "") echo 0 ;;
    *) v=${v%%[.+-]*}; echo "${v:-0}" ;;
  esac
}

dep_java() {
  local major
  major=$(java_major)
  if [ "$major" -ge 17 ]; then
    log java "ok (java $major already installed)"
    return
  fi
  apt_install openjdk-17-jre-headless
  # Another JDK may still come first through the alternatives system.
  if [ "$(java_major)" -lt 17 ]; then
    local j17
    j17=$(ls -d /usr/lib/jvm/java-17-openjdk-*/bin/java 2>/dev/null | head -n1 || true)
    [ -z "$j17" ] || update-alternatives --set java "$j17" >/dev/null
  fi
  major=$(java_major)
  [ "$major" -ge 17 ] || die "java 17 installed but 'java -version' still reports $major"
  log java "installed openjdk-17-jre-headless (java $major)"
}

dep_dynamodb() {
  local dest="$CACHE/dynamodb-local"
  if [ -f "$dest/DynamoDBLocal.jar" ] && [ -d "$dest/DynamoDBLocal_lib" ]; then
    log dynamodb "ok ($dest)"
    return
  fi
  if ! command -v npm >/dev/null; then
    apt_install npm
  fi
  local tmp
  tmp=$(mktemp -d)
  CLEANUP+=("$tmp")
  (cd "$tmp" && npm pack --silent --no-fund --no-audit "$DDB_NPM_PKG" >/dev/null)
  local tgz
  tgz=$(ls "$tmp"/*.tgz)
  local got
  got=$(sha512sum "$tgz" | cut -d' ' -f1)
  [ "$got" = "$DDB_NPM_SHA512" ] || die "$DDB_NPM_PKG: sha512 $got, want $DDB_NPM_SHA512"
  tar -xzf "$tgz" -C "$tmp" package/emulator
  [ -f "$tmp/package/emulator/DynamoDBLocal.jar" ] || die "$DDB_NPM_PKG has no emulator/DynamoDBLocal.jar"
  # Copy next to the final folder, then rename, so an interrupted run never leaves
  # a half-filled folder that the check above would accept.
  mkdir -p "$CACHE"
  rm -rf "$dest.tmp" "$dest"
  cp -R "$tmp/package/emulator" "$dest.tmp"
  mv "$dest.tmp" "$dest"
  log dynamodb "installed DynamoDB Local from $DDB_NPM_PKG into $dest"
}

# go_tool installs a Go command at a pinned module version into .cache/bin,
# outside the repo's module (nothing is added to our go.mod). The binary's
# own build record says which version it is, so a bumped pin replaces it.
go_tool() {
  local name="$1" pkg="$2" version="$3" bin="$CACHE/bin/$(basename "$2")"
  if [ -x "$bin" ] && go version -m "$bin" 2>/dev/null | grep -q "[[:space:]]$version[[:space:]]"; then
    log "$name" "ok ($bin $version)"
    return
  fi
  command -v go >/dev/null || die "go not found on PATH"
  mkdir -p "$CACHE/bin"
  GOBIN="$CACHE/bin" go install "$pkg@$version"
  log "$name" "installed $pkg@$version into $bin"
}

dep_rie() { go_tool rie "$RIE_MODULE" "$RIE_VERSION"; }

dep_chromium() {
  if [ -x /usr/bin/chromium ]; then
    log chromium "ok ($(/usr/bin/chromium --version 2>/dev/null || echo /usr/bin/chromium))"
    return
  fi
  # Fonts so that screenshots show text instead of boxes.
  apt_install chromium fonts-dejavu-core fonts-liberation
  log chromium "installed $(/usr/bin/chromium --version 2>/dev/null || echo chromium)"
}

# valgrind counts instructions for `make bench`'s -callgrind (opt-in, not in
# all): a Debian package, installed non-interactively.
dep_valgrind() {
  if command -v valgrind >/dev/null; then
    log valgrind "ok ($(valgrind --version))"
    return
  fi
  apt_install valgrind
  log valgrind "installed $(valgrind --version)"
}

dep_actionlint() { go_tool actionlint "$ACTIONLINT_MODULE" "$ACTIONLINT_VERSION"; }

dep_gotools() {
  go_tool staticcheck "$STATICCHECK_MODULE" "$STATICCHECK_VERSION"
  go_tool unparam "$UNPARAM_MODULE" "$UNPARAM_VERSION"
}

# cfn-lint is a Python tool. One already on PATH (any 1.x) is used as is;
# otherwise the pinned version goes into a virtual environment under .cache/,
# so neither the system's Python nor its externally-managed packages change.
dep_cfnlint() {
  if command -v cfn-lint >/dev/null; then
    log cfnlint "ok ($(command -v cfn-lint), $(cfn-lint --version 2>/dev/null || echo 'version unknown'))"
    return
  fi
  local venv="$CACHE/cfn-lint" bin="$CACHE/bin/cfn-lint"
  if [ -x "$bin" ] && [ "$("$bin" --version 2>/dev/null)" = "cfn-lint $CFNLINT_VERSION" ]; then
    log cfnlint "ok ($bin, cfn-lint $CFNLINT_VERSION)"
    return
  fi
  if ! command -v python3 >/dev/null || ! python3 -c 'import venv, ensurepip' 2>/dev/null; then
    apt_install python3 python3-venv
  fi
  rm -rf "$venv"
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet --disable-pip-version-check "cfn-lint==$CFNLINT_VERSION"
  mkdir -p "$CACHE/bin"
  ln -sf "$venv/bin/cfn-lint" "$bin"
  log cfnlint "installed cfn-lint $CFNLINT_VERSION into $venv"
}

want=("$@")
[ ${#want[@]} -gt 0 ] || want=(all)
declare -A wanted=()
for w in "${want[@]}"; do
  case "$w" in
    all) wanted[java]=1 wanted[dynamodb]=1 wanted[rie]=1 wanted[chromium]=1 wanted[actionlint]=1 wanted[cfnlint]=1 wanted[gotools]=1 ;;
    java | dynamodb | rie | chromium | actionlint | cfnlint | gotools | valgrind) wanted[$w]=1 ;;
    -h | --help) sed -n '2,5s/^# \{0,1\}//p' "$0"; exit 0 ;;
    *) die "unknown component '$w' (want java, dynamodb, rie, chromium, actionlint, cfnlint, gotools, valgrind or all)" ;;
  esac
done
# DynamoDB Local is a Java program: asking for it brings Java too.
[ -z "${wanted[dynamodb]:-}" ] || wanted[java]=1

# Test packages run in parallel and each may call this script: one run at a
# time, so two never unpack into the same folder or wait on apt's lock.
mkdir -p "$CACHE"
if command -v flock >/dev/null; then
  exec 9>"$CACHE/.deps.lock"
  flock 9
fi

# Fixed order: java before dynamodb.
for c in java dynamodb rie chromium actionlint cfnlint gotools valgrind; do
  [ -z "${wanted[$c]:-}" ] || "dep_$c"
done
