# Sourced by the scripts that start servers (run, contract, bench, guard):
# free_port prints a TCP port nothing on this machine listens on, picked at
# random below the kernel's ephemeral range (so no outgoing connection takes
# it meanwhile), checked against /proc/net/tcp and tcp6. Every server the
# project starts listens on loopback, on a port from here.
free_port() {
  local low p
  low=$(cut -f1 /proc/sys/net/ipv4/ip_local_port_range 2> /dev/null || echo 32768)
  for _ in $(seq 200); do
    p=$((10000 + RANDOM % (low - 10000)))
    grep -qi ":$(printf '%04X' "$p") " /proc/net/tcp /proc/net/tcp6 2> /dev/null || { echo "$p"; return 0; }
  done
  return 1
}
