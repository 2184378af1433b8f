#!/usr/bin/env bash
# Makes a throwaway OpenPGP key (RSA 3072, valid one day, no passphrase) for a release build without a real key:
# `mvn -Prelease verify` with MAVEN_GPG_KEY unset signs every published artifact with it, and release-check's
# SignaturesTest verifies each signature against public.asc. A bundle signed with it is never uploaded (see
# docs/releasing.md). Usage: throwaway-signing-key.sh <output directory>; writes secret.asc and public.asc there.
set -euo pipefail
out="$1"
command -v gpg >/dev/null || { echo "a throwaway signing key needs GnuPG: install the gpg package" >&2; exit 1; }
rm -rf "$out" && mkdir -p "$out"
home="$(mktemp -d)"
trap 'gpgconf --homedir "$home" --kill all >/dev/null 2>&1 || true; rm -rf "$home"' EXIT
g() { gpg --homedir "$home" --batch --quiet --pinentry-mode loopback --passphrase '' "$@"; }
g --quick-gen-key 'Tether throwaway release key <throwaway@tether.invalid>' rsa3072 sign 1d 2>/dev/null
g --armor --export > "$out/public.asc"
g --armor --export-secret-keys > "$out/secret.asc"
