#!/usr/bin/env bash
# `.ci/deps` against PATHs without the tools it provides: a missing or too-old tool is named
# and installed, a missing command never passes for a good version, and the final check fails
# loudly when an install did not help. Run by `make test`.
set -euo pipefail
deps="$(cd "$(dirname "$0")/.." && pwd)/.ci/deps"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
failures=0

fail() { echo "FAIL: $*" >&2; failures=$((failures + 1)); }

# A bin directory with the plain tools the script uses and none that it provides (no python3
# either, so pip's script directory is not consulted unless a case adds a python3).
base_path() {
  local dir=$1 t
  mkdir -p "$dir"
  for t in bash sh env sed grep sort head id ls printf cat mkdir chmod rm; do
    ln -sf "$(command -v "$t")" "$dir/$t"
  done
}

# fake NAME OUTPUT: a command that prints OUTPUT and succeeds.
fake() {
  printf '#!/bin/sh\necho "%s"\n' "$2" >"$3/$1"
  chmod +x "$3/$1"
}

run_deps() { # DIR MODE -> stdout+stderr in $out, status in $rc
  rc=0
  out=$(env -i PATH="$1" HOME="$tmp" LIBCLANG_PATH="${LIBCLANG_PATH:-}" bash "$deps" "$2" 2>&1) || rc=$?
}

expect() { # DESCRIPTION WANT_RC PATTERN...
  local what=$1 want=$2 p
  shift 2
  [ "$rc" = "$want" ] || fail "$what: exit $rc, wanted $want; output:
$out"
  for p in "$@"; do
    grep -q -- "$p" <<<"$out" || fail "$what: output lacks '$p':
$out"
  done
}

requirements="$(cd "$(dirname "$0")" && pwd)/python/requirements.txt"
venv="$tmp/.cache/housing-flow/venv"
# fake_pyenv [REQUIREMENTS]: a virtualenv whose python imports anything, made from REQUIREMENTS
# (the real file unless given).
fake_pyenv() {
  rm -rf "$venv"; mkdir -p "$venv/bin"
  printf '#!/bin/sh
exit 0
' >"$venv/bin/python"; chmod +x "$venv/bin/python"
  cat "${1:-$requirements}" >"$venv/requirements.txt"
}

CHROMIUM="Chromium 156.0.8078.114 built on Debian GNU/Linux 12 (bookworm)"
libdir="$tmp/libclang"
mkdir -p "$libdir"
touch "$libdir/libclang.so.1"
export LIBCLANG_PATH="$libdir"

# 1. Nothing installed: every tool is named, the check fails.
d="$tmp/none"; base_path "$d"
run_deps "$d" check
expect "no tools" 1 "cmake: not found" "clang: not found" "promtool: not found" "cargo: not found" "python-env: " \
  "tansu: not found" "chromium: not found"

# 2. cmake present but old.
d="$tmp/old"; base_path "$d"
fake cmake "cmake version 3.25.1" "$d"; fake clang "clang version 14" "$d"
fake promtool "promtool 2.42" "$d"; fake tansu "tansu 0.6.0" "$d"; fake chromium "$CHROMIUM" "$d"; fake cargo "cargo 1.95" "$d"
run_deps "$d" check
expect "old cmake" 1 "cmake: version 3.25.1 is older than 3.28"
grep -q "clang: not found" <<<"$out" && fail "old cmake: clang reported missing though present"

# 3. A cmake that fails (a broken install) is not a good version.
d="$tmp/broken"; base_path "$d"
printf '#!/bin/sh\nexit 127\n' >"$d/cmake"; chmod +x "$d/cmake"
fake clang "clang version 14" "$d"; fake promtool "promtool 2.42" "$d"; fake tansu "tansu 0.6.0" "$d"; fake chromium "$CHROMIUM" "$d"; fake cargo "cargo 1.95" "$d"
run_deps "$d" check
expect "failing cmake" 1 "cmake: not found"

# 4. Everything new enough: the check passes.
d="$tmp/good"; base_path "$d"; fake_pyenv
fake cmake "cmake version 3.31.6" "$d"; fake clang "clang version 14" "$d"
fake promtool "promtool 2.42" "$d"; fake tansu "tansu 0.6.0" "$d"; fake chromium "$CHROMIUM" "$d"; fake cargo "cargo 1.95" "$d"
run_deps "$d" check
expect "all present" 0 "deps: cmake 3.31.6"

# 5. `install` with no cmake at all installs it through pip and then passes (the bug: with
#    no cmake, nothing was installed and the failure was hidden).
d="$tmp/install"; base_path "$d"; fake_pyenv
fake clang "clang version 14" "$d"; fake promtool "promtool 2.42" "$d"; fake tansu "tansu 0.6.0" "$d"; fake chromium "$CHROMIUM" "$d"; fake cargo "cargo 1.95" "$d"
mkdir -p "$tmp/pyscripts"
cat >"$d/python3" <<PY
#!/bin/sh
case "\$*" in
  *sysconfig*) echo "$tmp/pyscripts" ;;
  *"pip install"*) echo "pip \$*" >>"$tmp/pip.log"
     printf '#!/bin/sh\necho "cmake version 3.31.6"\n' >"$tmp/pyscripts/cmake"; chmod +x "$tmp/pyscripts/cmake" ;;
esac
PY
chmod +x "$d/python3"
run_deps "$d" install
expect "install missing cmake" 0 "installing cmake" "deps: cmake 3.31.6"
grep -q "cmake>=3.28" "$tmp/pip.log" 2>/dev/null || fail "install missing cmake: pip was not asked for cmake>=3.28"

# 6. `install` whose pip does nothing: the final check fails and names cmake.
d="$tmp/install_fails"; base_path "$d"
fake clang "clang version 14" "$d"; fake promtool "promtool 2.42" "$d"; fake tansu "tansu 0.6.0" "$d"; fake chromium "$CHROMIUM" "$d"; fake cargo "cargo 1.95" "$d"
printf '#!/bin/sh\nexit 0\n' >"$d/python3"; chmod +x "$d/python3"
run_deps "$d" install
expect "install that does not help" 1 "cmake: not found"

# 7. A virtualenv made from other requirements is out of date; one whose python cannot import
#    the clients is broken. Both are named.
d="$tmp/stale_env"; base_path "$d"
fake cmake "cmake version 3.31.6" "$d"; fake clang "clang version 14" "$d"
fake promtool "promtool 2.42" "$d"; fake tansu "tansu 0.6.0" "$d"; fake chromium "$CHROMIUM" "$d"; fake cargo "cargo 1.95" "$d"
echo "schemathesis==0.1" >"$tmp/old-requirements.txt"; fake_pyenv "$tmp/old-requirements.txt"
run_deps "$d" check
expect "stale python env" 1 "python-env: $venv is missing or not made from"
fake_pyenv; printf '#!/bin/sh\nexit 1\n' >"$venv/bin/python"
run_deps "$d" check
expect "python env that cannot import" 1 "python-env: "

# 8. `install` with no virtualenv creates it with `python3 -m venv` and installs the
#    requirements into it with its own pip.
d="$tmp/install_env"; base_path "$d"; rm -rf "$venv"
fake cmake "cmake version 3.31.6" "$d"; fake clang "clang version 14" "$d"
fake promtool "promtool 2.42" "$d"; fake tansu "tansu 0.6.0" "$d"; fake chromium "$CHROMIUM" "$d"; fake cargo "cargo 1.95" "$d"
cat >"$d/python3" <<PY
#!/bin/sh
case "\$*" in
  *sysconfig*) echo "$tmp/pyscripts" ;;
  "-m venv "*) mkdir -p "\$3/bin"
     printf '#!/bin/sh\\necho "\$*" >>"$tmp/venv-pip.log"\\nexit 0\\n' >"\$3/bin/python"; chmod +x "\$3/bin/python" ;;
esac
PY
chmod +x "$d/python3"
run_deps "$d" install
expect "install python env" 0 "creating $venv" "python env $venv"
grep -q -- "-m pip install -q -r $requirements" "$tmp/venv-pip.log" 2>/dev/null ||
  fail "install python env: the venv's pip was not asked for the requirements: $(cat "$tmp/venv-pip.log" 2>&1)"

# 9. A tansu of another version is named; `install` builds the pinned one with cargo, in its
#    own build folder (not a shared CARGO_TARGET_DIR).
d="$tmp/tansu"; base_path "$d"; fake_pyenv
fake cmake "cmake version 3.31.6" "$d"; fake clang "clang version 14" "$d"; fake promtool "promtool 2.42" "$d"
fake tansu "tansu 0.5.1" "$d"; fake chromium "$CHROMIUM" "$d"
cat >"$d/cargo" <<CARGO
#!/bin/sh
case "\$1" in
  install) echo "cargo \$* target=\${CARGO_TARGET_DIR:-unset}" >>"$tmp/cargo.log"
     mkdir -p "$tmp/.cargo/bin"; rm -f "$d/tansu"
     printf '#!/bin/sh\\necho "tansu 0.6.0"\\n' >"$tmp/.cargo/bin/tansu"; chmod +x "$tmp/.cargo/bin/tansu" ;;
  *) echo "cargo 1.95" ;;
esac
CARGO
chmod +x "$d/cargo"
run_deps "$d" check
expect "old tansu" 1 "tansu: version 0.5.1 is not 0.6.0"
rc=0; out=$(env -i PATH="$d" HOME="$tmp" CARGO_TARGET_DIR=/somewhere LIBCLANG_PATH="$LIBCLANG_PATH" bash "$deps" install 2>&1) || rc=$?
expect "install tansu" 0 "building tansu 0.6.0" "tansu 0.6.0, python env"
grep -q -- "install tansu --version 0.6.0 --locked --no-default-features --features dynostore,libsql" "$tmp/cargo.log" 2>/dev/null ||
  fail "install tansu: cargo was not asked for the pinned tansu: $(cat "$tmp/cargo.log" 2>&1)"
grep -q "target=unset" "$tmp/cargo.log" 2>/dev/null || fail "install tansu: built inside CARGO_TARGET_DIR: $(cat "$tmp/cargo.log" 2>&1)"

# 10. No Chromium: it is named, and `install` asks apt for the Debian package `chromium`.
d="$tmp/chromium"; base_path "$d"; fake_pyenv
fake cmake "cmake version 3.31.6" "$d"; fake clang "clang version 14" "$d"; fake promtool "promtool 2.42" "$d"
fake tansu "tansu 0.6.0" "$d"; fake cargo "cargo 1.95" "$d"
run_deps "$d" check
expect "no chromium" 1 "chromium: not found"
cat >"$d/apt-get" <<APT
#!/bin/sh
echo "\$*" >>"$tmp/apt.log"
case "\$*" in
  *install*chromium*) printf '#!/bin/sh\\necho "$CHROMIUM"\\n' >"$d/chromium"; chmod +x "$d/chromium" ;;
esac
APT
chmod +x "$d/apt-get"
run_deps "$d" install
expect "install chromium" 0 "installing chromium" "chromium 156.0.8078.114"
grep -q -- "install -y -qq chromium" "$tmp/apt.log" 2>/dev/null ||
  fail "install chromium: apt-get was not asked for chromium: $(cat "$tmp/apt.log" 2>&1)"

if [ "$failures" -gt 0 ]; then
  echo "tests/deps.sh: $failures failure(s)" >&2
  exit 1
fi
echo "tests/deps.sh: 10 cases passed"
