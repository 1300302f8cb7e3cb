#!/usr/bin/env bash
# End-to-end benchmark on loopback, one run, side by side (not part of CI):
#   (a) 1 KiB text: `burnlink send` then `burnlink open` as fresh processes, median of 20, and where the time goes
#       (the CLI's BURNLINK_TIMINGS phase marks: runtime up, connected, created/claimed, stored/verified, acked, done);
#   (b) 1 GiB file, each leg alone: `send --wait` (the sender's wait until stored), then `open` of the stored link;
#       throughput and peak RSS of sender, relay and receiver; three runs, medians; the disk's own 1 GiB synced
#       write before and after (both legs end in one);
#   (b') 1 GiB live: `send` and, as soon as it prints the link, `open`: from send's start to a verified file (three
#       runs, median), with each process's CPU seconds (what bounds it on a small machine);
#   (c) magic-wormhole (PyPI, mailbox server and transit relay on 127.0.0.1, forced through the transit relay) for the
#       same 1 KiB text (median of 5) and a 256 MiB file (three runs; the ratios use its fastest, the figure least
#       kind to burnlink), beside burnlink's 256 MiB.
# Installs what it needs (Debian `time`, a Python venv with magic-wormhole) under target/bench/.
# Usage: tests/bench/e2e.sh [--no-wormhole]
set -euo pipefail
# Times come from bash's $EPOCHREALTIME, not `date`: a `date` process per mark cost a 10 ms text ~1.5 ms here.
LC_NUMERIC=C # $EPOCHREALTIME's decimal point (this shell only)
cd "$(dirname "$0")/../.."
root=$PWD
work=$root/target/bench
rm -rf "$work/run"; mkdir -p "$work/run"
run=$work/run

{ [ -x /usr/bin/time ] && command -v bc >/dev/null; } || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq time bc >/dev/null; }
cargo build --release --locked --quiet -p burnlink-relay -p burnlink-cli
bl=$root/target/release/burnlink
relay_bin=$root/target/release/burnlink-relay

median() { sort -g | awk '{a[NR]=$1} END {print (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}'; }
mb() { awk -v b="$1" -v s="$2" 'BEGIN {printf "%.0f", b/s/1e6}'; }
rss() { awk '/Maximum resident set size/ {printf "%.1f", $NF/1024}' "$1"; }
cpu() { awk -F': ' '/User time|System time/ {s += $2} END {printf "%.2f", s}' "$1"; } # user+sys seconds of a time -v file
relay_cpu() { awk -v hz="$(getconf CLK_TCK)" '{printf "%.2f", ($14 + $15) / hz}' "/proc/$relay_pid/stat"; }

# --- relay
"$relay_bin" --data "$run/relay" --rate 0 --max-upload $((2 << 30)) >"$run/ready" 2>"$run/relay.log" &
relay_pid=$!
trap 'kill $relay_pid 2>/dev/null; [ -n "${wh_pids:-}" ] && kill $wh_pids 2>/dev/null; true' EXIT
for _ in $(seq 100); do [ -s "$run/ready" ] && break; sleep 0.05; done
export BURNLINK_RELAY=$(python3 -c 'import json,sys; print(json.load(sys.stdin)["url"])' <"$run/ready")
export BURNLINK_CA=$(python3 -c 'import json,sys; print(json.load(sys.stdin)["ca"])' <"$run/ready")
export BURNLINK_STATE_DIR=$run/state
echo "relay: $BURNLINK_RELAY (pid $relay_pid)"

# --- (a) 1 KiB text
head -c 768 /dev/urandom | base64 -w0 | head -c 1024 >"$run/text"
for i in $(seq 20); do
    t0=$EPOCHREALTIME
    link=$("$bl" send - <"$run/text")
    "$bl" open "$link" >"$run/text.out"
    t1=$EPOCHREALTIME
    cmp -s "$run/text" "$run/text.out" || { echo "text mismatch"; exit 1; }
    echo "$t1 - $t0" | bc -l
done >"$run/text.times"
bl_text=$(median <"$run/text.times")
printf 'burnlink 1 KiB text send+open: median %.1f ms (min %.1f, max %.1f) over 20\n' \
    "$(echo "$bl_text*1000" | bc -l)" "$(sort -g "$run/text.times" | head -1 | awk '{print $1*1000}')" \
    "$(sort -g "$run/text.times" | tail -1 | awk '{print $1*1000}')"
# Where it goes: each command's wall time and its phase marks (ms since main), medians of 20 more runs.
: >"$run/send.marks"; : >"$run/open.marks"
for i in $(seq 20); do
    t0=$EPOCHREALTIME
    link=$(BURNLINK_TIMINGS=1 "$bl" send - <"$run/text" 2>>"$run/send.marks")
    t1=$EPOCHREALTIME
    BURNLINK_TIMINGS=1 "$bl" open "$link" >/dev/null 2>>"$run/open.marks"
    t2=$EPOCHREALTIME
    echo "burnlink timing: wall $(echo "($t1 - $t0)*1000" | bc -l) ms" >>"$run/send.marks"
    echo "burnlink timing: wall $(echo "($t2 - $t1)*1000" | bc -l) ms" >>"$run/open.marks"
done
for t in 1 2 3 4 5 6 7 8 9 10; do t0=$EPOCHREALTIME; "$bl" --version >/dev/null; t1=$EPOCHREALTIME; echo "($t1 - $t0)*1000" | bc -l; done >"$run/start.times"
phases() { # marks file -> "phase median, ..."
    for p in $(awk '/^burnlink timing:/ {print $3}' "$1" | awk '!seen[$0]++'); do
        printf '%s %.1f, ' "$p" "$(awk -v p="$p" '$1=="burnlink" && $3==p {print $4}' "$1" | median)"
    done
}
printf '  send (ms since main, medians): %s\n' "$(phases "$run/send.marks")"
printf '  open (ms since main, medians): %s\n' "$(phases "$run/open.marks")"
printf '  process start and exit alone (burnlink --version): median %.1f ms\n' "$(median <"$run/start.times")"

# --- (b) files through the relay: send then open, each timed and measured
file_run() { # size_bytes label
    local size=$1 label=$2
    head -c "$size" /dev/urandom >"$run/$label.bin"
    local want; want=$(sha256sum <"$run/$label.bin" | cut -d' ' -f1)
    rm -rf "$run/out"; mkdir "$run/out"
    sync # the test file's own writeback is not the transfer's
    local t0 t1 t2 link
    t0=$EPOCHREALTIME
    link=$(/usr/bin/time -v -o "$run/$label.send.time" "$bl" send --wait "$run/$label.bin")
    t1=$EPOCHREALTIME
    /usr/bin/time -v -o "$run/$label.open.time" "$bl" open "$link" --out "$run/out" 2>/dev/null
    t2=$EPOCHREALTIME
    [ "$(sha256sum <"$run/out/$label.bin" | cut -d' ' -f1)" = "$want" ] || { echo "$label hash mismatch"; exit 1; }
    local ts to tt; ts=$(echo "$t1 - $t0" | bc -l); to=$(echo "$t2 - $t1" | bc -l); tt=$(echo "$t2 - $t0" | bc -l)
    printf 'burnlink %s: send %.2f s (%s MB/s), open %.2f s (%s MB/s), send+open %.2f s (%s MB/s); peak RSS sender %s MiB, receiver %s MiB\n' \
        "$label" "$ts" "$(mb "$size" "$ts")" "$to" "$(mb "$size" "$to")" "$tt" "$(mb "$size" "$tt")" \
        "$(rss "$run/$label.send.time")" "$(rss "$run/$label.open.time")"
    echo "$ts" >>"$run/$label.send.times"; echo "$to" >>"$run/$label.open.times"; echo "$tt" >>"$run/$label.total.times"
    eval "bl_${label}_send=$(median <"$run/$label.send.times") bl_${label}_open=$(median <"$run/$label.open.times")"
    eval "bl_${label}_total=$(median <"$run/$label.total.times")"
    rm -f "$run/$label.bin" "$run/out/$label.bin"
}
live_run() { # size_bytes label: send (live) and open as soon as the link is printed
    local size=$1 label=$2
    head -c "$size" /dev/urandom >"$run/$label.bin"
    local want; want=$(sha256sum <"$run/$label.bin" | cut -d' ' -f1)
    rm -rf "$run/out"; mkdir "$run/out"; : >"$run/$label.link"
    sync
    local t0 t1 sp r0
    r0=$(relay_cpu)
    t0=$EPOCHREALTIME
    /usr/bin/time -v -o "$run/$label.lsend.time" "$bl" send "$run/$label.bin" >"$run/$label.link" &
    sp=$!
    while [ "$(wc -l <"$run/$label.link")" -lt 1 ]; do sleep 0.001; done
    local tl; tl=$EPOCHREALTIME
    /usr/bin/time -v -o "$run/$label.lopen.time" "$bl" open "$(cat "$run/$label.link")" --out "$run/out" 2>/dev/null
    t1=$EPOCHREALTIME
    wait $sp
    [ "$(sha256sum <"$run/out/$label.bin" | cut -d' ' -f1)" = "$want" ] || { echo "$label live hash mismatch"; exit 1; }
    local tt; tt=$(echo "$t1 - $t0" | bc -l)
    printf 'burnlink %s live: link after %.0f ms, verified file after %.2f s (%s MB/s); peak RSS sender %s MiB, receiver %s MiB\n' \
        "$label" "$(echo "($tl - $t0)*1000" | bc -l)" "$tt" "$(mb "$size" "$tt")" \
        "$(rss "$run/$label.lsend.time")" "$(rss "$run/$label.lopen.time")"
    # What bounds it: the three processes share the machine's cores for the whole transfer.
    local cs co cr; cs=$(cpu "$run/$label.lsend.time"); co=$(cpu "$run/$label.lopen.time"); cr=$(echo "$(relay_cpu) - $r0" | bc -l)
    printf '  CPU seconds: sender %s, relay %.2f, receiver %s; total %.2f on %s cores = at least %.2f s\n' \
        "$cs" "$cr" "$co" "$(echo "$cs + $cr + $co" | bc -l)" "$(nproc)" "$(echo "($cs + $cr + $co) / $(nproc)" | bc -l)"
    echo "$tt" >>"$run/$label.live.times"
    eval "bl_${label}_live=$(median <"$run/$label.live.times")"
    rm -f "$run/$label.bin" "$run/out/$label.bin"
}
# The disk under both legs: the relay syncs what it stores before `send --wait` returns, and the recipient syncs
# what it received before its ack lets the relay destroy its copy. Each 1 GiB leg writes and syncs 1 GiB.
disk() {
    local t0 t1; t0=$EPOCHREALTIME
    dd if=/dev/zero of="$run/disk.bin" bs=1M count=1024 conv=fsync status=none
    t1=$EPOCHREALTIME; rm -f "$run/disk.bin"
    printf 'disk: 1 GiB written and synced in %.2f s (%s MB/s)\n' "$(echo "$t1 - $t0" | bc -l)" "$(mb $((1 << 30)) "$(echo "$t1 - $t0" | bc -l)")"
}
# Three runs of each (the disk and the machine's neighbours vary): the ratios use the medians.
disk
for _ in 1 2 3; do file_run $((1 << 30)) 1GiB; done
for _ in 1 2 3; do live_run $((1 << 30)) 1GiB; done
disk
printf 'burnlink 1GiB, medians of 3: send --wait %.2f s (%s MB/s), open %.2f s (%s MB/s), live %.2f s (%s MB/s)\n' \
    "$bl_1GiB_send" "$(mb $((1 << 30)) "$bl_1GiB_send")" "$bl_1GiB_open" "$(mb $((1 << 30)) "$bl_1GiB_open")" \
    "$bl_1GiB_live" "$(mb $((1 << 30)) "$bl_1GiB_live")"
printf 'relay peak RSS since start (VmHWM): %s MiB\n' "$(awk '/VmHWM/ {printf "%.1f", $2/1024}' /proc/$relay_pid/status)"
file_run $((256 << 20)) 256MiB

[ "${1:-}" = "--no-wormhole" ] && exit 0

# --- (c) magic-wormhole on loopback, forced through its transit relay
venv=$work/wormhole-venv
if [ ! -x "$venv/bin/wormhole" ]; then
    python3 -m venv "$venv"
    "$venv/bin/pip" install -q magic-wormhole magic-wormhole-mailbox-server magic-wormhole-transit-relay
fi
"$venv/bin/wormhole" --version
mport=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
tport=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
(cd "$run" && "$venv/bin/twist" wormhole-mailbox --port "tcp:$mport:interface=127.0.0.1" >"$run/mailbox.log" 2>&1) &
wh_pids=$!
(cd "$run" && "$venv/bin/twist" transitrelay --port "tcp:$tport:interface=127.0.0.1" --usage-db "$run/transit-usage.sqlite" >"$run/transit.log" 2>&1) &
wh_pids="$wh_pids $!"
for _ in $(seq 100); do
    (exec 3<>/dev/tcp/127.0.0.1/$mport) 2>/dev/null && (exec 3<>/dev/tcp/127.0.0.1/$tport) 2>/dev/null && break
    sleep 0.1
done
wh=("$venv/bin/wormhole" --relay-url "ws://127.0.0.1:$mport/v1" --transit-helper "tcp:127.0.0.1:$tport")

for i in $(seq 5); do
    code="$i-bench-text"
    t0=$EPOCHREALTIME
    "${wh[@]}" send --no-listen --code "$code" --text "$(cat "$run/text")" >/dev/null 2>&1 &
    sp=$!
    "${wh[@]}" receive --no-listen --only-text "$code" >"$run/wh.text.out" 2>/dev/null
    wait $sp
    t1=$EPOCHREALTIME
    echo "$t1 - $t0" | bc -l
done >"$run/wh.text.times"
wh_text=$(median <"$run/wh.text.times")
printf 'magic-wormhole 1 KiB text send+receive: median %.1f ms over 5\n' "$(echo "$wh_text*1000" | bc -l)"

size=$((256 << 20))
head -c "$size" /dev/urandom >"$run/wh.bin"
sync
for i in 1 2 3; do
    rm -rf "$run/whout"; mkdir "$run/whout"
    t0=$EPOCHREALTIME
    "${wh[@]}" send --no-listen --code "$i-bench-file" "$run/wh.bin" >/dev/null 2>&1 &
    sp=$!
    (cd "$run/whout" && "${wh[@]}" receive --no-listen --accept-file "$i-bench-file" >/dev/null 2>&1)
    wait $sp
    t1=$EPOCHREALTIME
    cmp -s "$run/wh.bin" "$run/whout/wh.bin" || { echo "wormhole file mismatch"; exit 1; }
    echo "$t1 - $t0" | bc -l
done >"$run/wh.file.times"
# Proof that the bytes went through the transit relay: its usage database records each relayed connection.
python3 - "$run/transit-usage.sqlite" <<'PY'
import sqlite3, sys
n, total = sqlite3.connect(sys.argv[1]).execute("select count(*), coalesce(sum(total_bytes), 0) from usage").fetchone()
print(f"transit relay usage: {n} relayed transfers, {total} bytes")
PY
wh_file=$(sort -g "$run/wh.file.times" | head -1)
printf 'magic-wormhole 256MiB send+receive (via transit relay), 3 runs: %s MB/s; fastest %.2f s (%s MB/s)\n' \
    "$(while read -r t; do printf '%s ' "$(mb "$size" "$t")"; done <"$run/wh.file.times")" "$wh_file" "$(mb "$size" "$wh_file")"
printf 'ratio 256MiB throughput burnlink/magic-wormhole: %.2fx\n' "$(echo "$wh_file / $bl_256MiB_total" | bc -l)"
# Against magic-wormhole's end-to-end throughput (its 256 MiB run): each 1 GiB figure as a multiple of it.
wh_rate=$(echo "$size / $wh_file" | bc -l)
for leg in "1GiB live:$bl_1GiB_live" "1GiB send --wait:$bl_1GiB_send" "1GiB open (stored):$bl_1GiB_open"; do
    printf 'ratio %s throughput / magic-wormhole end to end: %.2fx\n' "${leg%%:*}" \
        "$(echo "(1073741824 / ${leg##*:}) / $wh_rate" | bc -l)"
done
printf 'ratio 1 KiB text time magic-wormhole/burnlink: %.1fx\n' "$(echo "$wh_text / $bl_text" | bc -l)"
