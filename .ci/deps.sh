#!/usr/bin/env bash
# Installs everything harpy's tests need on a clean Debian 12 machine.
# Idempotent: a second run installs nothing new.
set -euo pipefail

export DEBIAN_FRONTEND=noninteractive
pkgs=(
  # compile HAProxy
  build-essential libssl-dev libpcre2-dev libpcre3-dev zlib1g-dev liblua5.4-dev libsystemd-dev
  # packaging tools used as judges
  rpm rpmlint rpm2cpio cpio createrepo-c dnf dpkg-dev gpg gpg-agent procps lintian
  # config and logging judges
  haproxy rsyslog logrotate shellcheck systemd systemd-container
  # live servers for traffic tests
  nginx-light mariadb-server mariadb-client dnsmasq-base wrk socat curl iproute2 tmux openssh-server
  # source tarballs, bench arithmetic
  dpkg-dev bc
  # base tools the tests call (present on Debian, listed so a slimmer image gets them)
  e2fsprogs util-linux binutils coreutils
)
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
