# What a benchmark records about the machine it ran on (sourced by the ingest
# and leads benchmarks): the CPU model and kernel, and the CPU time the VM's
# host took. The machines these benchmarks run on are 2-core VMs whose speed
# differs between machines (PostgreSQL ~1.8x, the gateway's /healthz ~1.6-2x) and drifts
# within minutes when the host gives our cores to other guests ("steal"), so a
# figure without these says little.

# "<CPU model>, Linux <kernel release>".
machine_model() {
  local model
  model=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -1)
  echo "${model:-unknown CPU}, Linux $(uname -r)"
}

# Busy, total and stolen ticks of the whole machine since boot (steal: time the
# VM's host gave our virtual CPUs to someone else; counted as busy).
machine_ticks() { awk '/^cpu /{print $2+$3+$4+$7+$8+$9, $2+$3+$4+$5+$6+$7+$8+$9, $9; exit}' /proc/stat; }

# Percentage of all CPU time stolen between two machine_ticks readings.
steal_pct() {  # total0 steal0 total1 steal1
  python3 -c "print(f'{100.0 * ($4 - $2) / max(1, $3 - $1):.0f}')"
}
