#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# The PNG of a convert.sh CSV (medians per case and variant, log scale),
# next to it: tests/bench/convert-plot.sh CSV [TITLE]
# Installs gnuplot-nox when missing and run as root.
set -euo pipefail
csv=$1
title=${2:-"qemu-img convert: ours vs 7.2"}
if ! command -v gnuplot >/dev/null && [ "$(id -u)" = 0 ]; then
    apt-get install -y -q gnuplot-nox >/dev/null 2>&1 || true
fi
if command -v gnuplot >/dev/null; then
    png=${csv%.csv}.png
    python3 - "$csv" "${csv%.csv}.dat" <<'PY'
import csv, sys
rows = list(csv.DictReader(open(sys.argv[1])))
cases, places = [], []
for r in rows:
    key = (r['place'], r['case'])
    if key not in cases:
        cases.append(key)
with open(sys.argv[2], 'w') as f:
    f.write('# case ours 7.2 7.2-W\n')
    for place, case in cases:
        v = {r['variant']: r['median_s'] for r in rows
             if r['place'] == place and r['case'] == case}
        f.write('"%s %s" %s %s %s\n' % (place, case.replace(' ', '_'),
                v.get('ours', '?'), v.get('7.2', '?'), v.get('7.2 -m 8 -W', '?')))
PY
    gnuplot <<EOF
set terminal png size 1400,600
set output "$png"
set style data histograms
set style histogram clustered gap 1
set style fill solid 0.8 border -1
set ylabel "seconds (median)"
set logscale y
set yrange [0.005:*]
set xtics rotate by -30
set key top left
set title "$title"
plot "${csv%.csv}.dat" using 2:xtic(1) title "ours", '' using 3 title "7.2", '' using 4 title "7.2 -m 8 -W"
EOF
    echo "plot: $png"
fi
