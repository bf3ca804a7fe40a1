#!/usr/bin/env bash
# Installs Google's Firestore emulator (Debian package google-cloud-cli-firestore-emulator,
# from Google's apt repository) and a Java 17 runtime when the emulator's jar is missing.
# The Google Cloud adapters' tests run against it and fail, never skip, without it.
set -euo pipefail
jar=${OMTX_FIRESTORE_EMULATOR_JAR:-/usr/lib/google-cloud-sdk/platform/cloud-firestore-emulator/cloud-firestore-emulator.jar}
if [ -f "$jar" ] && command -v java >/dev/null 2>&1; then exit 0; fi
install="apt-get install google-cloud-cli-firestore-emulator openjdk-17-jre-headless (Google's apt repository: https://cloud.google.com/sdk/docs/install#deb)"
if [ "$(id -u)" -ne 0 ] || ! command -v apt-get >/dev/null; then
  echo "Google's Firestore emulator is missing ($jar); install it with: sudo $install" >&2
  exit 1
fi
echo "installing Google's Firestore emulator and Java 17" >&2
export DEBIAN_FRONTEND=noninteractive
if ! apt-cache policy google-cloud-cli-firestore-emulator 2>/dev/null | grep -q Candidate; then
  apt-get update -qq >&2
  apt-get install -y -qq --no-install-recommends ca-certificates curl gnupg >&2
  curl -fsSL https://packages.cloud.google.com/apt/doc/apt-key.gpg | gpg --dearmor --yes -o /usr/share/keyrings/cloud.google.gpg
  echo "deb [signed-by=/usr/share/keyrings/cloud.google.gpg] https://packages.cloud.google.com/apt cloud-sdk main" \
    >/etc/apt/sources.list.d/google-cloud-sdk.list
fi
apt-get update -qq >&2
apt-get install -y -qq --no-install-recommends google-cloud-cli-firestore-emulator openjdk-17-jre-headless >&2
