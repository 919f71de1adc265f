# SPDX-License-Identifier: GPL-3.0-or-later
# Plots of a bench/run result directory: gnuplot -e "dir='DIR'" bench/plot.gp
# DIR/throughput.dat: hosts events_per_s p50_ms p99_ms
# DIR/latency.dat:    "label" p50_ms p99_ms p999_ms events_per_s
set terminal pngcairo size 900,500 font ",10" noenhanced
set output dir."/throughput.png"
set title "collectord: events/s against concurrent hosts (batch 100, as fast as possible)"
set xlabel "concurrent hosts"
set ylabel "events/s acknowledged (durable)"
set y2label "Ack latency, ms"
set logscale x
set y2tics
set ytics nomirror
set key top left
set grid
set yrange [0:*]
plot dir."/throughput.dat" using 1:2 with linespoints lw 2 title "events/s", \
     "" using 1:3 axes x1y2 with linespoints dt 2 title "p50 Ack latency (ms)", \
     "" using 1:4 axes x1y2 with linespoints dt 3 title "p99 Ack latency (ms)"

set output dir."/latency.png"
unset logscale x
unset y2tics
unset y2label
set autoscale y
set title "collectord: Ack latency percentiles at fixed offered rates (batch 100)"
set xlabel "offered rate"
set ylabel "request-to-Ack latency, ms"
set logscale y
set style data histogram
set style histogram clustered gap 1
set style fill solid 0.8 border -1
set boxwidth 0.9
plot dir."/latency.dat" using 2:xtic(1) title "p50", "" using 3 title "p99", \
     "" using 4 title "p99.9"
