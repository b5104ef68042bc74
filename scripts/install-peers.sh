#!/usr/bin/env bash
# Installs the real peers used by the e2e tests and benchmarks (Debian 12 packages):
#   crowdsec 1.4.6 (LAPI, agent, cscli) and crowdsec-firewall-bouncer (nftables);
#   the DNS anchors and tools: nsd (the lab's authoritative server), unbound, dnsmasq-base (the binary
#   only: the `dnsmasq` package would add a system service), dnsdist, dnsperf, dig (bind9-dnsutils), kdig;
#   prometheus for its `promtool check metrics` (the metrics e2e parses /metrics with it; the server stays off).
# Idempotent; run as root on a fresh Debian 12 (CI) or a developer machine.
#
# Offline rules:
#  - crowdsec's postinst runs `cscli capi register` (needs api.crowdsec.net) unless
#    /etc/crowdsec/online_api_credentials.yaml is non-empty (README.Debian): we write a comment there first.
#  - services must not start: a policy-rc.d that denies every start is in place during the install,
#    and afterwards any daemon the postinst managed to start is stopped (systemd or not), so no system
#    crowdsec listens on 127.0.0.1:8080, no system bouncer touches the host's nftables ruleset, and no
#    system nsd/unbound/dnsdist holds port 53 on the host (the tests start their own, with private configs).
#  - every step that might wait on the network runs under `timeout`.
set -euo pipefail

log() { printf 'install-peers: %s\n' "$*" >&2; }

if [[ $(id -u) -ne 0 ]]; then
  log "must run as root"
  exit 1
fi

export DEBIAN_FRONTEND=noninteractive
DNS_PKGS=(nsd unbound dnsmasq-base dnsdist dnsperf bind9-dnsutils knot-dnsutils)
# The shaper's fairness tests and bench drive real TCP downloads through the lab with iperf3.
SHAPER_PKGS=(iperf3)
# The metrics test checks /metrics with promtool (Debian's prometheus package), a real text-format parser.
METRICS_PKGS=(prometheus)
PKGS=(crowdsec crowdsec-firewall-bouncer nftables "${DNS_PKGS[@]}" "${SHAPER_PKGS[@]}" "${METRICS_PKGS[@]}")
# Debian 12 ships one crowdsec-firewall-bouncer package (nftables + iptables backends); newer
# releases split it into -nftables / -iptables flavours: prefer the nftables one when it exists.
if apt-cache show crowdsec-firewall-bouncer-nftables >/dev/null 2>&1; then
  PKGS=(crowdsec crowdsec-firewall-bouncer-nftables nftables "${DNS_PKGS[@]}" "${SHAPER_PKGS[@]}" "${METRICS_PKGS[@]}")
fi
# The captive portal's browser tests: playwright-core drives Debian's chromium inside a lab client.
PKGS+=(chromium)

all_installed() {
  local p
  for p in "${PKGS[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q '^install ok installed$' || return 1
  done
}

# 1. The CAPI escape hatch, before the postinst can run.
mkdir -p /etc/crowdsec
if [[ ! -s /etc/crowdsec/online_api_credentials.yaml ]]; then
  echo '# offline: CAPI registration disabled (gatehouse install-peers.sh)' >/etc/crowdsec/online_api_credentials.yaml
fi

# 2. Deny service starts while dpkg runs (invoke-rc.d / deb-systemd-invoke honour policy-rc.d).
POLICY=/usr/sbin/policy-rc.d
OWN_POLICY=0
if [[ ! -e $POLICY ]]; then
  printf '#!/bin/sh\n# gatehouse install-peers.sh: no service starts during install\nexit 101\n' >"$POLICY"
  chmod 755 "$POLICY"
  OWN_POLICY=1
fi
cleanup() { if [[ $OWN_POLICY == 1 ]]; then rm -f "$POLICY"; fi; }
trap cleanup EXIT

# 3. Install (or finish a half-configured install from an earlier offline attempt).
if ! all_installed; then
  if ! apt-cache show crowdsec >/dev/null 2>&1; then
    timeout 300 apt-get update -o Acquire::http::Timeout=20 -o Acquire::Retries=1 || log "apt-get update failed; trying with the current lists"
  fi
  timeout 120 dpkg --configure -a || true
  timeout 900 apt-get install -y --no-install-recommends \
    -o Acquire::http::Timeout=20 -o Acquire::Retries=2 \
    -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold "${PKGS[@]}"
fi
timeout 120 dpkg --configure -a

# 4. Stop and disable whatever the packages would run as system services.
UNITS=(crowdsec.service crowdsec-firewall-bouncer.service nsd.service unbound.service unbound-resolvconf.service dnsdist.service prometheus.service)
if [[ -d /run/systemd/system ]] && command -v systemctl >/dev/null 2>&1; then
  for u in "${UNITS[@]}"; do
    timeout 30 systemctl stop "$u" 2>/dev/null || true
    timeout 30 systemctl disable "$u" 2>/dev/null || true
    timeout 30 systemctl mask "$u" 2>/dev/null || true
  done
else
  # No systemd as PID 1: make sure a later boot with systemd won't start them either.
  for u in "${UNITS[@]}"; do
    rm -f "/etc/systemd/system/multi-user.target.wants/$u"
  done
fi

# Kill system daemons by exact executable, only those using the *system* config: the e2e tests run their
# own private crowdsec/bouncer/nsd/unbound/dnsdist processes with `-c <private config>` (dnsdist: `-C`)
# and must not be touched.
kill_system_daemon() {
  local exe=$1 syscfg=$2 flag=${3:--c} pid cmdline
  # pgrep matches the kernel's 15-character comm; the exe link then says which program it really is.
  for pid in $(pgrep -x "$(basename "$exe" | cut -c1-15)" 2>/dev/null || true); do
    [[ $(readlink "/proc/$pid/exe" 2>/dev/null || true) == "$exe" ]] || continue
    cmdline=$(tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null || true)
    if [[ $cmdline != *" $flag "* || $cmdline == *" $flag $syscfg"* ]]; then
      log "stopping system $(basename "$exe") (pid $pid): $cmdline"
      kill "$pid" 2>/dev/null || true
      for _ in 1 2 3 4 5 6 7 8 9 10; do kill -0 "$pid" 2>/dev/null || break; sleep 0.5; done
      kill -9 "$pid" 2>/dev/null || true
    fi
  done
}
kill_system_daemon /usr/bin/crowdsec /etc/crowdsec/config.yaml
kill_system_daemon /usr/bin/crowdsec-firewall-bouncer /etc/crowdsec/bouncers/crowdsec-firewall-bouncer.yaml
kill_system_daemon /usr/sbin/nsd /etc/nsd/nsd.conf
kill_system_daemon /usr/sbin/unbound /etc/unbound/unbound.conf
kill_system_daemon /usr/bin/dnsdist /etc/dnsdist/dnsdist.conf -C
kill_system_daemon /usr/bin/prometheus /etc/prometheus/prometheus.yml --config.file

# 5. Verify.
command -v crowdsec >/dev/null && command -v cscli >/dev/null && command -v crowdsec-firewall-bouncer >/dev/null
for tool in nsd unbound dnsmasq dnsdist dnsperf dig kdig promtool; do
  command -v "$tool" >/dev/null || { log "missing after install: $tool"; exit 1; }
done
if command -v ss >/dev/null 2>&1 && ss -Hltn 'sport = :8080' 2>/dev/null | grep -q .; then
  log "warning: something still listens on :8080 (not started by this script?)"
fi
if command -v ss >/dev/null 2>&1 && ss -Hlntu 'sport = :53' 2>/dev/null | grep -q .; then
  log "warning: something still listens on port 53 on the host (not started by this script?)"
fi
log "ok: $(crowdsec -version 2>&1 | head -1)"
